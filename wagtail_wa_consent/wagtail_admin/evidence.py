"""Access to the personal evidence beside a ledger event."""

from __future__ import annotations

from ..consent.models import ConsentEvent, ConsentEvidence


def evidence_of(event: ConsentEvent) -> ConsentEvidence | None:
    """The event's IP and user agent row, or None.

    Evidence is optional (answers given in WhatsApp have none) and is erased with the person's data.
    """
    try:
        return event.personal_evidence
    except ConsentEvidence.DoesNotExist:
        return None
