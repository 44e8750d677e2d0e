"""Campaign services: select the audience as a stream, queue it into the outbox, pause, resume,
cancel, and report. Views and tasks call these; they take and return models.

Settings read (defaults below; none is in ``conf.DEFAULTS`` yet):
``CAMPAIGN_FREQUENCY_CAP`` / ``CAMPAIGN_FREQUENCY_DAYS``: at most N marketing messages per contact
per D days (``None`` cap disables it); ``CAMPAIGN_QUIET_HOURS``: ``(start hour, end hour)`` in the
recipient's local time, or ``None``; ``CAMPAIGN_CHUNK_SIZE``: rows read and written per round trip.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from phonenumbers import timezone as phone_timezone

from ..conf import get_setting
from ..consent.enums import Category, EventType, OptInLevel, Status
from ..consent.models import ConsentEvent, ConsentState
from ..messaging import ratelimit
from ..messaging.models import MessageKind, OutboundMessage, OutboundStatus
from ..phone import region_of
from .models import Campaign, CampaignStatus

logger = logging.getLogger("wagtail_wa_consent.campaigns")

#: How far a paused campaign's rows are pushed into the future (and pulled back on resume).
PAUSE_OFFSET = timedelta(days=365 * 100)
#: Outbox statuses that count towards the frequency cap (a denied or failed row reached nobody).
CAPPED_STATUSES = [
    OutboundStatus.QUEUED,
    OutboundStatus.SENDING,
    OutboundStatus.SENT,
    OutboundStatus.DELIVERED,
    OutboundStatus.READ,
]


class CampaignStateError(Exception):
    """The campaign is not in a state that allows this action."""


# --- audience -------------------------------------------------------------------------------


def audience_states(campaign: Campaign) -> QuerySet[ConsentState]:
    """Confirmed marketing consent of contacts that are not erased, narrowed by the filters that
    the database can apply (the country filter is finished in Python: see :func:`iter_audience`)."""
    states = ConsentState.objects.filter(
        category=Category.MARKETING,
        status=Status.SUBSCRIBED,
        opt_in_level=OptInLevel.CONFIRMED,
        contact__erased_at__isnull=True,
        contact__phone_e164__isnull=False,
    ).exclude(contact__phone_e164="")
    if languages := campaign.language_list():
        language_q = Q()
        for code in languages:  # "de" matches "de" and "de-AT"
            language_q |= Q(contact__language__iexact=code) | Q(contact__language__istartswith=f"{code}-")
        states = states.filter(language_q)
    if countries := campaign.country_list():
        codes = {phonenumbers.country_code_for_region(c) for c in countries} - {0}
        prefix_q = Q(pk__in=[])
        for code in codes:
            prefix_q |= Q(contact__phone_e164__startswith=f"+{code}")
        states = states.filter(prefix_q)
    if campaign.opted_in_since:
        states = states.filter(last_event__occurred_at__date__gte=campaign.opted_in_since)
    if campaign.last_order_from or campaign.last_order_to:
        states = states.filter(contact__user_id__in=_buyers(campaign))
    return states


def _buyers(campaign: Campaign) -> QuerySet:
    """Ids of users whose last Oscar order falls in the campaign's range (orders via the user)."""
    from django.db.models import Max
    from oscar.core.loading import get_model

    order_model = get_model("order", "Order")
    buyers = (
        order_model.objects.filter(user__isnull=False)
        .order_by()
        .values("user_id")
        .annotate(last_order=Max("date_placed"))
    )
    if campaign.last_order_from:
        buyers = buyers.filter(last_order__date__gte=campaign.last_order_from)
    if campaign.last_order_to:
        buyers = buyers.filter(last_order__date__lte=campaign.last_order_to)
    return buyers.values("user_id")


def _recent_marketing(campaign: Campaign, now: datetime) -> Subquery:
    """Marketing rows of the contact within the frequency window, other than this campaign's."""
    days = int(get_setting("CAMPAIGN_FREQUENCY_DAYS"))
    recent = (
        OutboundMessage.objects.filter(
            contact_id=OuterRef("contact_id"),
            category=Category.MARKETING,
            status__in=CAPPED_STATUSES,
            created_at__gte=now - timedelta(days=days),
        )
        .exclude(idempotency_key__startswith=campaign.key_prefix)
        .order_by()
        .values("contact_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(recent, output_field=IntegerField()), Value(0))


@dataclass
class AudienceStats:
    selected: int = 0
    skipped_frequency_cap: int = 0
    skipped_filters: int = 0
    regions: dict[str, int] = field(default_factory=dict)


def iter_audience(
    campaign: Campaign, stats: AudienceStats, now: datetime | None = None
) -> Iterator[tuple[int, str]]:
    """Stream ``(contact id, E.164)`` of every recipient, ``CAMPAIGN_CHUNK_SIZE`` rows per fetch
    (a server-side cursor on PostgreSQL): memory stays flat for any audience size."""
    now = now or timezone.now()
    cap = get_setting("CAMPAIGN_FREQUENCY_CAP")
    countries = set(campaign.country_list())
    states = audience_states(campaign).order_by("contact_id")
    if cap is not None:
        states = states.annotate(recent=_recent_marketing(campaign, now))
        rows = states.values_list("contact_id", "contact__phone_e164", "recent")
    else:
        rows = states.annotate(recent=Value(0)).values_list("contact_id", "contact__phone_e164", "recent")
    for contact_id, phone, recent in rows.iterator(chunk_size=int(get_setting("CAMPAIGN_CHUNK_SIZE"))):
        if countries and _region(phone) not in countries:
            stats.skipped_filters += 1  # a shared calling code (+1, +7, +44): not one of the countries
            continue
        if cap is not None and recent >= int(cap):
            stats.skipped_frequency_cap += 1
            continue
        stats.selected += 1
        yield contact_id, phone


def _region(phone: str) -> str | None:
    try:
        return region_of(phone)
    except phonenumbers.NumberParseException:
        return None


# --- scheduling: quiet hours and the 24 h reach tier -----------------------------------------


_ZONES: dict[str, ZoneInfo] = {}


def zone_for(phone: str) -> ZoneInfo:
    """The number's first time zone. phonenumbers maps at most the first 9 digits to zones
    (``TIMEZONE_LONGEST_PREFIX``), so the answer is cached per 9-digit prefix (bounded)."""
    prefix = phone[:10]
    zone = _ZONES.get(prefix)
    if zone is None:
        if len(_ZONES) > 100_000:
            _ZONES.clear()
        zone = _ZONES[prefix] = _lookup_zone(phone)
    return zone


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _lookup_zone(phone: str) -> ZoneInfo:
    try:
        names = phone_timezone.time_zones_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        names = ()
    for name in names:
        try:
            return _zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return _zone("UTC")


def outside_quiet_hours(when: datetime, phone: str, quiet: tuple[int, int] | None = None) -> datetime:
    """``when``, or the end of the quiet hours in the recipient's time zone if it falls inside them.

    With quiet hours 21-9 a message due at 22:30 local time waits until 09:00 the next morning,
    one due at 06:00 until 09:00 the same day.
    """
    quiet = get_setting("CAMPAIGN_QUIET_HOURS") if quiet is None else quiet
    if not quiet:
        return when
    start, end = int(quiet[0]), int(quiet[1])
    zone = zone_for(phone)
    local = when.astimezone(zone)
    hour = local.hour
    inside = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not inside:
        return when
    day = local.date()
    if start > end and hour >= start:
        day += timedelta(days=1)
    elif start < end:
        day = local.date()  # same-day window such as 12-14: wait until its end today
    return datetime.combine(day, time(end), tzinfo=zone).astimezone(UTC)


def _spread(base: datetime, position: int, per_day: int | None) -> datetime:
    """Rows beyond the portfolio's 24 h unique-recipient tier start on the following days."""
    if not per_day:
        return base
    return base + timedelta(days=position // per_day)


# --- queueing ---------------------------------------------------------------------------------


def start(campaign: Campaign) -> Campaign:
    """Schedule the campaign (``send_at`` in the future) or queue it now."""
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignStateError("Only a draft campaign can be started.")
    campaign.full_clean()
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED, updated_at=now)
    campaign.refresh_from_db()
    if not campaign.send_at or campaign.send_at <= now:
        from ..campaigns.tasks import queue_campaign

        transaction.on_commit(lambda: queue_campaign.delay(campaign.pk), robust=True)
    return campaign


def queue(campaign_id: int, now: datetime | None = None) -> Campaign:
    """Write one outbox row per recipient, in chunks, and mark the campaign sending.

    Idempotent: the keys are ``campaign:<id>:<contact id>`` and rows already there are skipped
    (``ignore_conflicts``), so a crash half-way is repaired by running it again. Consent is still
    checked again by the dispatcher for every row when it is sent.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.select_related("template").get(pk=campaign_id)
    if campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.SENDING):
        raise CampaignStateError(f"campaign {campaign.pk} is {campaign.status}; it is not queued")
    reason = campaign.template.unusable_reason(Category.MARKETING)
    if reason:
        raise CampaignStateError(f"campaign {campaign.pk}: template unusable ({reason})")
    Campaign.objects.filter(pk=campaign.pk, started_at__isnull=True).update(started_at=now)
    base = max(campaign.send_at or now, now)
    per_day = ratelimit.tier_limit()
    chunk_size = int(get_setting("CAMPAIGN_CHUNK_SIZE"))
    quiet = get_setting("CAMPAIGN_QUIET_HOURS")
    stats = AudienceStats()
    prototype = OutboundMessage(
        category=Category.MARKETING,
        kind=MessageKind.TEMPLATE,
        template_name=campaign.template.name,
        template_language=campaign.template.language,
        parameters=campaign.parameter_list(),
    )
    chunk: list[tuple[int, datetime]] = []
    for position, (contact_id, phone) in enumerate(iter_audience(campaign, stats, now)):
        chunk.append((contact_id, outside_quiet_hours(_spread(base, position, per_day), phone, quiet)))
        if len(chunk) >= chunk_size:
            _write(campaign, prototype, chunk)
            chunk = []
            if _stopped(campaign):  # paused or cancelled while queueing: stop writing
                return _settle_stopped(campaign)
    if chunk:
        _write(campaign, prototype, chunk)
    if _stopped(campaign):
        return _settle_stopped(campaign)
    total = campaign_messages(campaign).count()
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
        status=CampaignStatus.SENDING
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        total_recipients=total,
        skipped_frequency_cap=stats.skipped_frequency_cap,
        skipped_filters=stats.skipped_filters,
        queued_at=timezone.now(),
    )
    logger.info(
        "campaign %s queued %s rows (%s skipped by the frequency cap)",
        campaign.pk,
        total,
        stats.skipped_frequency_cap,
    )
    campaign.refresh_from_db()
    return campaign


#: Columns filled per row; every other column takes the prototype row's value.
_PER_ROW = ("idempotency_key", "contact", "next_attempt_at")
_ROW_VALUES = (
    "%s || u.contact_id::text, u.contact_id, u.due "
    "FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(contact_id, due) ON CONFLICT DO NOTHING"
)


def _write(campaign: Campaign, prototype: OutboundMessage, rows: list[tuple[int, datetime]]) -> None:
    """Insert one chunk of outbox rows; rows whose key exists already are skipped.

    On PostgreSQL one ``INSERT ... SELECT FROM unnest(ids, times) ON CONFLICT DO NOTHING`` with
    two array parameters: a model instance per row (``bulk_create``) costs several times more
    Python than the rest of the queueing together. Elsewhere, ``bulk_create(ignore_conflicts)``.
    """
    prefix = campaign.key_prefix
    if connection.vendor != "postgresql":
        OutboundMessage.objects.bulk_create(
            [
                OutboundMessage(
                    **{f.attname: getattr(prototype, f.attname) for f in _constant_fields()},
                    idempotency_key=f"{prefix}{contact_id}",
                    contact_id=contact_id,
                    next_attempt_at=due,
                )
                for contact_id, due in rows
            ],
            ignore_conflicts=True,
        )
        return
    fields = _constant_fields()
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in fields] + [
        quote(OutboundMessage._meta.get_field(name).column) for name in _PER_ROW
    ]
    values = [f"%s::{f.db_type(connection)}" for f in fields]
    params = [f.get_db_prep_save(f.pre_save(prototype, add=True), connection) for f in fields]
    table, names, constants = quote(OutboundMessage._meta.db_table), ", ".join(columns), ", ".join(values)
    # Identifiers come from the model's meta (quoted); every value is a bound parameter.
    sql = f"INSERT INTO {table} ({names}) SELECT {constants}, {_ROW_VALUES}"
    ids, times = zip(*rows, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, prefix, list(ids), list(times)])


def _constant_fields() -> list:
    return [f for f in OutboundMessage._meta.concrete_fields if not f.primary_key and f.name not in _PER_ROW]


def _stopped(campaign: Campaign) -> bool:
    status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).get()
    return status in (CampaignStatus.PAUSED, CampaignStatus.CANCELLED)


def _settle_stopped(campaign: Campaign) -> Campaign:
    """Apply a pause or cancel that came while the rows were being written to the new rows too;
    ``queued_at`` stays empty, so a resume queues the rest (idempotently)."""
    campaign.refresh_from_db()
    rows = campaign_messages(campaign).filter(status=OutboundStatus.QUEUED)
    if campaign.status == CampaignStatus.CANCELLED:
        rows.update(status=OutboundStatus.DENIED, reason="campaign_cancelled", failed_at=timezone.now())
    else:
        rows.exclude(reason="campaign_paused").update(
            next_attempt_at=F("next_attempt_at") + PAUSE_OFFSET, reason="campaign_paused"
        )
    return campaign


def due_campaigns(now: datetime | None = None) -> QuerySet[Campaign]:
    now = now or timezone.now()
    return Campaign.objects.filter(status=CampaignStatus.SCHEDULED).filter(
        Q(send_at__isnull=True) | Q(send_at__lte=now)
    )


# --- pause, resume, cancel: one queryset update each ---------------------------------------------


def campaign_messages(campaign: Campaign) -> QuerySet[OutboundMessage]:
    return OutboundMessage.objects.filter(
        idempotency_key__startswith=campaign.key_prefix, category=Category.MARKETING
    )


def pause(campaign: Campaign) -> int:
    """Keep the queued rows queued but push them ``PAUSE_OFFSET`` ahead so nothing sends them."""
    with transaction.atomic():
        updated = Campaign.objects.filter(
            pk=campaign.pk, status__in=[CampaignStatus.SCHEDULED, CampaignStatus.SENDING]
        ).update(status=CampaignStatus.PAUSED, paused_at=timezone.now())
        if not updated:
            raise CampaignStateError("Only a scheduled or sending campaign can be paused.")
        moved = (
            campaign_messages(campaign)
            .filter(status=OutboundStatus.QUEUED)
            .update(next_attempt_at=F("next_attempt_at") + PAUSE_OFFSET, reason="campaign_paused")
        )
    campaign.refresh_from_db()
    return moved


def resume(campaign: Campaign) -> int:
    """Pull the paused rows back by the same offset: each keeps its quiet-hours and tier slot,
    and the ones whose time passed meanwhile are due now."""
    now = timezone.now()
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.PAUSED).update(
            status=CampaignStatus.SENDING, paused_at=None
        )
        if not updated:
            raise CampaignStateError("Only a paused campaign can be resumed.")
        moved = (
            campaign_messages(campaign)
            .filter(status=OutboundStatus.QUEUED, reason="campaign_paused")
            .update(
                next_attempt_at=Greatest(F("next_attempt_at") - PAUSE_OFFSET, Value(now)),
                reason="",
            )
        )
    campaign.refresh_from_db()
    if campaign.queued_at is None:  # paused before it was queued: queue it now
        from .tasks import queue_campaign

        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED)
        transaction.on_commit(lambda: queue_campaign.delay(campaign.pk), robust=True)
    else:
        from ..tasks import dispatch_due

        transaction.on_commit(lambda: dispatch_due.delay(), robust=True)
    return moved


def cancel(campaign: Campaign) -> int:
    """Deny every row still queued with reason ``campaign_cancelled``."""
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Campaign.objects.filter(pk=campaign.pk)
            .exclude(status__in=[CampaignStatus.CANCELLED, CampaignStatus.DONE])
            .update(status=CampaignStatus.CANCELLED, finished_at=now)
        )
        if not updated:
            raise CampaignStateError("This campaign is already finished.")
        denied = (
            campaign_messages(campaign)
            .filter(status=OutboundStatus.QUEUED)
            .update(status=OutboundStatus.DENIED, reason="campaign_cancelled", failed_at=now)
        )
    campaign.refresh_from_db()
    return denied


def refresh_status(campaign: Campaign) -> Campaign:
    """A sending campaign is done when none of its rows is queued or sending any more."""
    if campaign.status == CampaignStatus.SENDING and campaign.queued_at is not None:
        if (
            not campaign_messages(campaign)
            .filter(status__in=[OutboundStatus.QUEUED, OutboundStatus.SENDING])
            .exists()
        ):
            Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
                status=CampaignStatus.DONE, finished_at=timezone.now()
            )
            campaign.refresh_from_db()
    return campaign


# --- report -----------------------------------------------------------------------------------


@dataclass
class Report:
    total: int = 0
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0
    denied: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    denied_by_reason: dict[str, int] = field(default_factory=dict)
    deferred_by_reason: dict[str, int] = field(default_factory=dict)
    opt_outs: int = 0

    @property
    def finished(self) -> int:
        return self.sent + self.failed + self.denied

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 0


def report(campaign: Campaign) -> Report:
    """Counts by outcome with one grouped query, plus the marketing withdrawals of the audience
    since the campaign started (the opt-outs it may have caused)."""
    result = Report()
    rows = (
        campaign_messages(campaign)
        .order_by()
        .values("status", "reason", "error_code")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        status, n = row["status"], row["n"]
        reason = row["reason"] or (str(row["error_code"]) if row["error_code"] else "") or "unknown"
        if row["error_code"] and row["reason"]:
            reason = f"{row['reason']} ({row['error_code']})"
        result.total += n
        if status in (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ):
            result.sent += n
        if status in (OutboundStatus.DELIVERED, OutboundStatus.READ):
            result.delivered += n
        if status == OutboundStatus.READ:
            result.read += n
        if status == OutboundStatus.FAILED:
            result.failed += n
            result.failed_by_reason[reason] = result.failed_by_reason.get(reason, 0) + n
        if status == OutboundStatus.DENIED:
            result.denied += n
            result.denied_by_reason[reason] = result.denied_by_reason.get(reason, 0) + n
        if status in (OutboundStatus.QUEUED, OutboundStatus.SENDING):
            result.queued += n
            if row["reason"]:
                result.deferred_by_reason[reason] = result.deferred_by_reason.get(reason, 0) + n
    if campaign.started_at:
        result.opt_outs = (
            ConsentEvent.objects.filter(
                category=Category.MARKETING,
                event_type=EventType.WITHDRAWN,
                occurred_at__gte=campaign.started_at,
                contact_id__in=campaign_messages(campaign).values("contact_id"),
            )
            .values("contact_id")
            .distinct()
            .count()
        )
    return result
