"""What each retention rule selects, as read-only querysets shared by ``plan`` and ``apply``.

Each function returns nothing (``.none()``) while its setting is ``None``. The filters also
leave out what an earlier run already handled (blank bodies, erased numbers), so running twice
changes nothing more than running once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..conf import get_setting
from ..consent.enums import EventType, Status
from ..consent.models import ConsentEvent, ConsentState, Contact
from ..consent.service import enabled_categories
from ..dates import add_months
from ..messaging.models import InboundMessage, OutboundMessage, OutboundStatus, WebhookDelivery
from ..rights.models import DataSubjectRequest

#: Outbound rows that will not change any more: only their delivery record is still needed.
FINAL_OUTBOUND = (
    OutboundStatus.SENT,
    OutboundStatus.DELIVERED,
    OutboundStatus.READ,
    OutboundStatus.FAILED,
    OutboundStatus.DENIED,
)
#: Outbound rows that reached the person: they keep a consent alive.
REACHED_OUTBOUND = (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ)
#: The events of someone who never agreed to anything.
NEVER_CONFIRMED_EVENTS = (EventType.REQUESTED, EventType.EXPIRED, EventType.DECLINED)
#: A category in one of these states still needs the number.
LIVE_STATUSES = (Status.SUBSCRIBED, Status.PENDING)
#: Open requests that need the contact's data to be answered (an erasure request does not).
HOLDING_REQUESTS = (
    DataSubjectRequest.Kind.ACCESS,
    DataSubjectRequest.Kind.PORTABILITY,
    DataSubjectRequest.Kind.RECTIFICATION,
)


def days_before(now: datetime, setting: str) -> datetime | None:
    """``now`` minus the setting's days, or None when the setting is None (rule off)."""
    days = get_setting(setting)
    return None if days is None else now - timedelta(days=days)


def dormancy_cutoff(now: datetime) -> datetime | None:
    months = get_setting("DORMANT_CONSENT_MONTHS")
    return None if months is None else add_months(now, -months)


# --- blanking rules -------------------------------------------------------------------------


def outbound_bodies(now: datetime) -> QuerySet[OutboundMessage]:
    """Final outbound rows older than MESSAGE_RETENTION_DAYS that still hold parameters or content."""
    cutoff = days_before(now, "MESSAGE_RETENTION_DAYS")
    if cutoff is None:
        return OutboundMessage.objects.none()
    return OutboundMessage.objects.filter(status__in=FINAL_OUTBOUND, created_at__lt=cutoff).exclude(
        parameters=[], content={}
    )


def inbound_bodies(now: datetime) -> QuerySet[InboundMessage]:
    cutoff = days_before(now, "INBOUND_MESSAGE_RETENTION_DAYS")
    if cutoff is None:
        return InboundMessage.objects.none()
    return InboundMessage.objects.filter(received_at__lt=cutoff).exclude(text="", payload="")


def webhook_bodies(now: datetime) -> QuerySet[WebhookDelivery]:
    """Processed deliveries only: an unprocessed body is work still to do."""
    cutoff = days_before(now, "WEBHOOK_BODY_RETENTION_DAYS")
    if cutoff is None:
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.filter(processed_at__lt=cutoff).exclude(body="")


# --- consent rules --------------------------------------------------------------------------


def overdue_requests(now: datetime) -> QuerySet[ConsentState]:
    """Pending categories past their confirmation deadline (what ``expire_overdue`` expires)."""
    return ConsentState.objects.filter(status=Status.PENDING, pending_expires_at__lte=now)


def _events(*conditions: Q, **filters: object) -> Exists:
    return Exists(ConsentEvent.objects.filter(*conditions, contact=OuterRef("pk"), **filters))


def _idle_contacts(cutoff: datetime) -> QuerySet[Contact]:
    """Contacts that still hold a number, have a ledger, nothing subscribed or pending, and no
    ledger event since ``cutoff``; ``open_request`` tells whether a data-subject request still
    needs their data (the caller keeps those)."""
    live = ConsentState.objects.filter(contact=OuterRef("pk"), status__in=LIVE_STATUSES)
    requests = DataSubjectRequest.objects.filter(
        contact=OuterRef("pk"), state=DataSubjectRequest.State.OPEN, kind__in=HOLDING_REQUESTS
    )
    return (
        Contact.objects.filter(phone_e164__isnull=False)
        .annotate(open_request=Exists(requests))
        .filter(_events())
        .exclude(Exists(live))
        .exclude(_events(occurred_at__gte=cutoff))
        .order_by("pk")
    )


def never_confirmed_contacts(now: datetime) -> QuerySet[Contact]:
    """Contacts whose every event is a request, an expiry or a decline (they never agreed), the
    last one older than PENDING_OPT_IN_RETENTION_DAYS."""
    cutoff = days_before(now, "PENDING_OPT_IN_RETENTION_DAYS")
    if cutoff is None:
        return Contact.objects.none()
    return _idle_contacts(cutoff).exclude(_events(~Q(event_type__in=NEVER_CONFIRMED_EVENTS)))


def withdrawn_contacts(now: datetime) -> QuerySet[Contact]:
    """Contacts who once agreed or withdrew, with nothing subscribed or pending now, the last
    event older than WITHDRAWN_CONTACT_RETENTION_DAYS. Open orders are checked by the caller."""
    cutoff = days_before(now, "WITHDRAWN_CONTACT_RETENTION_DAYS")
    if cutoff is None:
        return Contact.objects.none()
    # The never-confirmed are the rule above's (whose None must mean "keep" for them too).
    return _idle_contacts(cutoff).filter(_events(~Q(event_type__in=NEVER_CONFIRMED_EVENTS)))


def dormant_states(now: datetime) -> QuerySet[ConsentState]:
    """Subscribed categories agreed to before the dormancy cutoff that got no message since.

    A re-confirmation makes a new CONFIRMED event (the clock restarts); one still waiting for
    its answer leaves the category pending, so it is not asked twice.
    """
    cutoff = dormancy_cutoff(now)
    if cutoff is None:
        return ConsentState.objects.none()
    reached = OutboundMessage.objects.filter(
        contact=OuterRef("contact"), category=OuterRef("category"), status__in=REACHED_OUTBOUND
    ).filter(Q(sent_at__gte=cutoff) | Q(sent_at__isnull=True, created_at__gte=cutoff))
    return (
        ConsentState.objects.filter(
            status=Status.SUBSCRIBED,
            category__in=enabled_categories(),
            contact__phone_e164__isnull=False,
            last_event__occurred_at__lt=cutoff,
        )
        .exclude(Exists(reached))
        .select_related("contact")
        .order_by("contact_id", "category")
    )
