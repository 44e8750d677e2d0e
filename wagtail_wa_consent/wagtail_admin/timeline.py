"""One contact's history in time order: consent events, outbound and inbound messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..consent.models import ConsentEvent, ConsentEvidence, Contact
from ..messaging.models import InboundMessage, OutboundMessage
from .evidence import evidence_of

#: Most recent rows read of each kind; a contact with more shows a "truncated" notice.
TIMELINE_LIMIT = 500

CONSENT = "consent"
OUTBOUND = "outbound"
INBOUND = "inbound"
# At one instant, the person's message comes first, then the consent it caused, then our reply.
_KIND_RANK = {INBOUND: 0, CONSENT: 1, OUTBOUND: 2}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    item: Any
    #: Personal evidence of a consent event (None when there is none or it was erased).
    evidence: ConsentEvidence | None = None

    @property
    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _KIND_RANK[self.kind], self.item.pk)


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry] = field(default_factory=list)
    #: True when older entries were left out (see TIMELINE_LIMIT).
    truncated: bool = False


def build_timeline(contact: Contact, limit: int = TIMELINE_LIMIT) -> Timeline:
    """The newest ``limit`` rows of each kind, merged and sorted oldest first (three queries)."""
    events = list(
        ConsentEvent.objects.filter(contact=contact)
        .select_related("wording", "personal_evidence")
        .order_by("-occurred_at", "-sequence")[: limit + 1]
    )
    outbound = list(
        OutboundMessage.objects.filter(contact=contact).order_by("-created_at", "-pk")[: limit + 1]
    )
    inbound = list(
        InboundMessage.objects.filter(contact=contact).order_by("-received_at", "-pk")[: limit + 1]
    )
    truncated = any(len(rows) > limit for rows in (events, outbound, inbound))
    entries = [
        *(TimelineEntry(e.occurred_at, CONSENT, e, evidence_of(e)) for e in events[:limit]),
        *(TimelineEntry(m.created_at, OUTBOUND, m) for m in outbound[:limit]),
        *(TimelineEntry(m.received_at, INBOUND, m) for m in inbound[:limit]),
    ]
    entries.sort(key=lambda entry: entry.sort_key)
    cutoffs = [_time(rows[limit - 1]) for rows in (events, outbound, inbound) if len(rows) > limit]
    if cutoffs:
        # Kinds were cut at different times: keep only the window where none is missing.
        entries = [entry for entry in entries if entry.at >= max(cutoffs)]
    return Timeline(entries=entries, truncated=truncated)


def _time(item: Any) -> datetime:
    if isinstance(item, ConsentEvent):
        return item.occurred_at
    if isinstance(item, OutboundMessage):
        return item.created_at
    return item.received_at
