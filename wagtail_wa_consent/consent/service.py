"""The consent service: the only way anything in the project changes or reads consent.

Plain functions that take and return models. Views, webhook handlers, tasks and admin screens call
these and nothing else, so every change lands in the ledger with its evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .. import signals
from ..conf import get_setting
from ..exceptions import ConsentTransitionError
from ..phone import normalise_phone
from . import hashing, suppression
from .enums import Category, EventType, OptInLevel, Source, Status
from .evidence import Evidence
from .ledger import append_event, lock_contact
from .models import ConsentEvent, ConsentState, Contact
from .transitions import check_single_opt_in, check_transition

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


def enabled_categories() -> list[str]:
    return list(get_setting("CATEGORIES"))


def find_contact(phone: str, *, region: str | None = None) -> Contact | None:
    """The contact for a number, found by its keyed digest (also after the number was erased)."""
    e164 = normalise_phone(phone, region)
    return Contact.objects.filter(phone_digest=hashing.phone_digest(e164)).first()


def get_or_create_contact(
    phone: str, *, region: str | None = None, user: AbstractBaseUser | None = None
) -> Contact:
    """Normalise ``phone`` and return its contact, creating it if needed.

    Raises:
        InvalidPhoneNumber: the number is not a valid WhatsApp-capable number.
    """
    e164 = normalise_phone(phone, region)
    contact, created = Contact.objects.get_or_create(
        phone_digest=hashing.phone_digest(e164), defaults={"phone_e164": e164, "user": user}
    )
    if not created and contact.phone_e164 is None:
        # The person comes back after erasure: the number is given again by them, so it is
        # stored again (the keyed digest and the ledger's anonymised proof never left).
        contact.phone_e164 = e164
        contact.save(update_fields=["phone_e164", "phone_digest", "updated_at"])
    if not created and user is not None and contact.user_id is None:
        contact.user = user
        contact.save(update_fields=["user", "updated_at"])
    return contact


def current_status(contact: Contact, category: str) -> Status:
    state = ConsentState.objects.filter(contact=contact, category=category).first()
    return Status(state.status) if state else Status.NOT_SUBSCRIBED


def request_opt_in(contact: Contact, categories: Iterable[str], evidence: Evidence) -> list[ConsentEvent]:
    """Record a web opt-in (first step of the double opt-in) for each category.

    Categories already subscribed are left alone. Returns the events written.

    Raises:
        MissingEvidence: no wording, language or user action in ``evidence``.
    """
    evidence.require_wording()
    evidence.require_action()
    return _apply(contact, _validated(categories), EventType.REQUESTED, evidence, signals.consent_given)


def confirm(
    contact: Contact, evidence: Evidence, categories: Iterable[str] | None = None
) -> list[ConsentEvent]:
    """Confirm pending opt-ins (the person said Yes in WhatsApp). ``None`` means all pending.

    Raises:
        MissingEvidence: no message id / user action.
        ConsentTransitionError: nothing pending (``not_pending``) or the request expired (``expired``).
    """
    evidence.require_action()
    events = _answer(contact, evidence, categories, EventType.CONFIRMED, signals.consent_confirmed)
    if events:
        # The owner of the number opted in again themselves: imports may use it again.
        suppression.lift(contact.phone_digest)
    return events


def decline(
    contact: Contact, evidence: Evidence, categories: Iterable[str] | None = None
) -> list[ConsentEvent]:
    """Record that the person said No to the confirmation request."""
    evidence.require_action()
    return _answer(contact, evidence, categories, EventType.DECLINED, signals.consent_declined)


def grant_single_opt_in(
    contact: Contact,
    categories: Iterable[str],
    evidence: Evidence,
    *,
    level: str = OptInLevel.SINGLE,
) -> list[ConsentEvent]:
    """Record a consent that needs no WhatsApp confirmation (order updates ticked at checkout,
    an import with its original proof). Still requires the person's own recorded action."""
    evidence.require_action()
    if level == OptInLevel.CONFIRMED:
        raise ValueError("A confirmed opt-in comes only from confirm().")
    with transaction.atomic():
        contact = lock_contact(contact)
        events = [
            append_event(
                contact, category=c, event_type=EventType.CONFIRMED, evidence=evidence, opt_in_level=level
            )
            for c in _validated(categories)
            if check_single_opt_in(current_status(contact, c))
        ]
        if events and evidence.source not in (Source.IMPORT, Source.ADMIN):
            suppression.lift(contact.phone_digest)
    _send_on_commit(signals.consent_given, contact, events)
    return events


def request_reconfirmation(
    contact: Contact, categories: Iterable[str] | None, evidence: Evidence
) -> list[ConsentEvent]:
    """Ask a subscribed person to agree again (to a substantially changed wording, or after
    a dormant period). Each subscribed category of ``categories`` (all when ``None``) becomes
    pending until the person answers Yes, and expires like any request when they do not.

    ``evidence`` carries the wording they are now asked to agree to and who asked (an admin or
    the retention task); it is not a consent, so no action of the person is required.

    Raises:
        MissingEvidence: no wording or language.
    """
    evidence.require_wording()
    cats = enabled_categories() if categories is None else _validated(categories)
    return _apply(
        contact, cats, EventType.RECONFIRM_REQUESTED, evidence, signals.consent_reconfirmation_requested
    )


def withdraw(
    contact: Contact, evidence: Evidence, categories: Iterable[str] | None = None
) -> list[ConsentEvent]:
    """Withdraw consent (all categories when ``None``), from any state, effective at once."""
    cats = enabled_categories() if categories is None else _validated(categories)
    return _apply(contact, cats, EventType.WITHDRAWN, evidence, signals.consent_withdrawn)


def expire_overdue(now: datetime | None = None) -> int:
    """Expire every pending opt-in whose confirmation deadline has passed. Returns how many."""
    now = now or timezone.now()
    overdue = ConsentState.objects.filter(status=Status.PENDING, pending_expires_at__lte=now)
    count = 0
    for contact_id in overdue.values_list("contact_id", flat=True).distinct().iterator():
        count += len(_expire_contact(Contact.objects.get(pk=contact_id), now))
    return count


def _expire_contact(contact: Contact, now: datetime) -> list[ConsentEvent]:
    evidence = Evidence(source="system", actor="system", user_action="")
    with transaction.atomic():
        contact = lock_contact(contact)
        events = [
            append_event(contact, category=state.category, event_type=EventType.EXPIRED, evidence=evidence)
            for state in contact.consent_states.filter(
                status=Status.PENDING, pending_expires_at__lte=now
            ).order_by("category")
        ]
    _send_on_commit(signals.consent_expired, contact, events)
    return events


def _answer(
    contact: Contact,
    evidence: Evidence,
    categories: Iterable[str] | None,
    event_type: str,
    signal: Signal,
) -> list[ConsentEvent]:
    now = timezone.now()
    just_expired = {event.category for event in _expire_contact(contact, now)}
    if categories is None:
        categories = list(
            contact.consent_states.filter(status=Status.PENDING).values_list("category", flat=True)
        )
        if not categories:
            code = "expired" if just_expired else "not_pending"
            raise ConsentTransitionError("Nothing is waiting for confirmation.", code=code)
    elif just_expired.intersection(categories):
        raise ConsentTransitionError(
            "The confirmation request has expired; a fresh opt-in is needed.", code="expired"
        )
    return _apply(
        contact,
        _validated(categories),
        event_type,
        evidence,
        signal,
        now=now,
        opt_in_level=OptInLevel.CONFIRMED if event_type == EventType.CONFIRMED else "",
    )


def _apply(
    contact: Contact,
    categories: list[str],
    event_type: str,
    evidence: Evidence,
    signal: Signal,
    *,
    now: datetime | None = None,
    opt_in_level: str = "",
) -> list[ConsentEvent]:
    now = now or timezone.now()
    with transaction.atomic():
        contact = lock_contact(contact)
        events = []
        for category in categories:
            state = ConsentState.objects.filter(contact=contact, category=category).first()
            status = state.status if state else Status.NOT_SUBSCRIBED
            overdue = bool(state and state.pending_expires_at and state.pending_expires_at <= now)
            if check_transition(status, event_type, overdue=overdue):
                events.append(
                    append_event(
                        contact,
                        category=category,
                        event_type=event_type,
                        evidence=evidence,
                        opt_in_level=opt_in_level,
                        occurred_at=now,
                    )
                )
    _send_on_commit(signal, contact, events)
    return events


def _validated(categories: Iterable[str]) -> list[str]:
    cats = list(dict.fromkeys(categories))
    enabled = enabled_categories()
    unknown = [c for c in cats if c not in enabled]
    if unknown:
        raise ValueError(f"Unknown or disabled consent categories: {', '.join(unknown)}")
    if not cats:
        raise ValueError("Choose at least one consent category.")
    return cats


def _send_on_commit(signal: Signal, contact: Contact, events: list[ConsentEvent]) -> None:
    if events:
        transaction.on_commit(lambda: signal.send(sender=Contact, contact=contact, events=events))


__all__ = [
    "Category",
    "confirm",
    "decline",
    "enabled_categories",
    "expire_overdue",
    "find_contact",
    "get_or_create_contact",
    "grant_single_opt_in",
    "request_opt_in",
    "request_reconfirmation",
    "withdraw",
]
