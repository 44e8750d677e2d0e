"""Appending to the ledger: one event, its chain link, its personal evidence and the state cache."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..conf import get_setting
from . import hashing
from .enums import REQUEST_EVENTS, STATUS_AFTER_EVENT
from .evidence import Evidence
from .models import ConsentEvent, ConsentEvidence, ConsentState, ConsentWording, Contact


def store_wording(text: str, language: str) -> ConsentWording | None:
    """Each distinct (text, language) is stored once and then referenced by its digest."""
    if not text:
        return None
    digest = hashing.wording_digest(text, language)
    wording = ConsentWording.objects.filter(digest=digest).first()
    if wording is None:
        try:
            # A savepoint: two first uses of one text at once must not fail the second opt-in.
            with transaction.atomic():
                wording = ConsentWording(text=text, language=language)
                wording.save()
        except IntegrityError:
            wording = ConsentWording.objects.get(digest=digest)
    return wording


def lock_contact(contact: Contact) -> Contact:
    """Serialise writers of one contact's chain (a no-op lock on SQLite, which serialises anyway)."""
    return Contact.objects.select_for_update().get(pk=contact.pk)


def append_event(
    contact: Contact,
    *,
    category: str,
    event_type: str,
    evidence: Evidence,
    opt_in_level: str = "",
    occurred_at: datetime | None = None,
) -> ConsentEvent:
    """Write one event chained to the contact's previous one and update the state cache.

    Must run inside ``transaction.atomic()`` with the contact locked (see :func:`lock_contact`).
    """
    assert transaction.get_connection().in_atomic_block, "append_event needs a transaction"
    previous = contact.consent_events.order_by("-sequence").only("sequence", "hash").first()
    wording = store_wording(evidence.wording, evidence.language)
    event = ConsentEvent(
        contact=contact,
        sequence=previous.sequence + 1 if previous else 1,
        category=category,
        event_type=event_type,
        source=evidence.source,
        opt_in_level=opt_in_level,
        wording=wording,
        language=evidence.language,
        policy_revision=evidence.policy_revision[:200],
        page_url=evidence.page_url,
        reference=evidence.reference[:100],
        user_action=evidence.user_action[:200],
        actor=evidence.actor[:100],
        confirming_message_id=evidence.message_id[:200],
        phone_digest=contact.phone_digest,
        ip_digest=hashing.keyed_digest(evidence.ip_address, "ip"),
        user_agent_digest=hashing.keyed_digest(evidence.user_agent, "user_agent"),
        occurred_at=occurred_at or timezone.now(),
        prev_hash=previous.hash if previous else hashing.GENESIS_HASH,
    )
    event.hash = event.compute_hash(wording.digest if wording else "")
    event.save()
    if evidence.ip_address or evidence.user_agent:
        ConsentEvidence.objects.create(
            event=event, ip_address=evidence.ip_address, user_agent=evidence.user_agent
        )
    _update_state(contact, event)
    return event


def _update_state(contact: Contact, event: ConsentEvent) -> None:
    expires_at = None
    if event.event_type in REQUEST_EVENTS:
        expires_at = event.occurred_at + timedelta(days=get_setting("DOUBLE_OPT_IN_EXPIRY_DAYS"))
    ConsentState.objects.update_or_create(
        contact=contact,
        category=event.category,
        defaults={
            "status": STATUS_AFTER_EVENT[event.event_type],
            "opt_in_level": event.opt_in_level,
            "pending_expires_at": expires_at,
            "last_event": event,
            "updated_at": event.occurred_at,
        },
    )
