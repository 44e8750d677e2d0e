"""Verification of the per-contact hash chains of the consent ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from . import hashing
from .enums import STATUS_AFTER_EVENT
from .models import ConsentEvent, ConsentEvidence, ConsentState, Contact


@dataclass(frozen=True)
class BrokenLink:
    """The first link of one contact's chain that does not verify."""

    contact_id: int
    sequence: int
    event_id: int
    reason: str

    def __str__(self) -> str:
        return f"contact {self.contact_id}, event #{self.sequence} (id {self.event_id}): {self.reason}"


@dataclass
class VerificationReport:
    events: int = 0
    chains: int = 0
    broken: list[BrokenLink] | None = None

    @property
    def ok(self) -> bool:
        return not self.broken


def verify_ledger(contact_ids: list[int] | None = None, chunk_size: int = 2000) -> VerificationReport:
    """Recompute every chain in one ordered pass and report the first broken link of each."""
    report = VerificationReport(broken=[])
    events = ConsentEvent.objects.select_related("wording", "personal_evidence").order_by(
        "contact_id", "sequence"
    )
    if contact_ids is not None:
        events = events.filter(contact_id__in=contact_ids)
    current_contact: int | None = None
    expected_prev = hashing.GENESIS_HASH
    expected_sequence = 1
    broken_contact: int | None = None
    for event in events.iterator(chunk_size=chunk_size):
        report.events += 1
        if event.contact_id != current_contact:
            current_contact, expected_prev, expected_sequence = event.contact_id, hashing.GENESIS_HASH, 1
            report.chains += 1
        if event.contact_id == broken_contact:
            continue
        reason = next(_problems(event, expected_prev, expected_sequence), None)
        if reason:
            report.broken.append(BrokenLink(event.contact_id, event.sequence, event.pk, reason))
            broken_contact = event.contact_id
        expected_prev, expected_sequence = event.hash, event.sequence + 1
    return report


def derived_states(contact: Contact) -> dict[str, tuple[str, str]]:
    """Fold a contact's ledger into ``{category: (status, opt-in level)}``."""
    states: dict[str, tuple[str, str]] = {}
    for event_type, category, level in contact.consent_events.order_by("sequence").values_list(
        "event_type", "category", "opt_in_level"
    ):
        states[category] = (STATUS_AFTER_EVENT[event_type], level)
    return states


def state_cache_mismatches(contact: Contact) -> list[str]:
    """Categories whose cached ConsentState differs from what the ledger says."""
    derived = derived_states(contact)
    cached = {s.category: (s.status, s.opt_in_level) for s in ConsentState.objects.filter(contact=contact)}
    return sorted(c for c in derived.keys() | cached.keys() if derived.get(c) != cached.get(c))


def _problems(event: ConsentEvent, expected_prev: str, expected_sequence: int) -> Iterator[str]:
    if event.sequence != expected_sequence:
        yield f"sequence gap: expected #{expected_sequence} (an event was removed)"
    if event.prev_hash != expected_prev:
        yield "previous-hash link does not match the event before it"
    if event.compute_hash() != event.hash:
        yield "stored hash does not match the event's content (the row was changed)"
    if event.wording_id and hashing.wording_digest(event.wording.text, event.wording.language) != (
        event.wording.digest
    ):
        yield "the stored wording text does not match its digest"
    evidence = _evidence_of(event)
    if evidence is not None:
        if hashing.keyed_digest(evidence.ip_address, "ip") != event.ip_digest:
            yield "personal evidence (IP) does not match its digest"
        if hashing.keyed_digest(evidence.user_agent, "user_agent") != event.user_agent_digest:
            yield "personal evidence (user agent) does not match its digest"


def _evidence_of(event: ConsentEvent) -> ConsentEvidence | None:
    try:
        return event.personal_evidence
    except ConsentEvidence.DoesNotExist:
        return None
