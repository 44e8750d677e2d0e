"""Numbers for the dashboard panel: three aggregate queries, no rows loaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..consent.enums import EventType, OptInLevel
from ..consent.models import ConsentEvent
from ..messaging.models import OutboundMessage, OutboundStatus

#: Days the dashboard looks back, today included.
WINDOW_DAYS = 30


@dataclass(frozen=True)
class Window:
    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        """Midnight at the start of ``first_day`` in the active time zone."""
        return timezone.make_aware(datetime.combine(self.first_day, time.min))

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]


def last_days(days: int = WINDOW_DAYS, now: datetime | None = None) -> Window:
    today = timezone.localdate(now or timezone.now())
    return Window(first_day=today - timedelta(days=days - 1), last_day=today)


@dataclass(frozen=True)
class Funnel:
    """Double opt-in steps recorded in the window (event counts, not a cohort)."""

    requested: int
    confirmed: int
    declined: int
    expired: int

    @property
    def confirmation_rate(self) -> float | None:
        return self.confirmed / self.requested if self.requested else None


def opt_in_funnel(window: Window) -> Funnel:
    counts = ConsentEvent.objects.filter(occurred_at__gte=window.start).aggregate(
        requested=Count("pk", filter=Q(event_type=EventType.REQUESTED)),
        # Single opt-ins (checkout) are "confirmed" too but never went through the funnel.
        confirmed=Count("pk", filter=Q(event_type=EventType.CONFIRMED, opt_in_level=OptInLevel.CONFIRMED)),
        declined=Count("pk", filter=Q(event_type=EventType.DECLINED)),
        expired=Count("pk", filter=Q(event_type=EventType.EXPIRED)),
    )
    return Funnel(**counts)


def opt_outs_per_day(window: Window) -> list[tuple[date, int]]:
    """Withdrawn events per local day, every day of the window listed (0 when none)."""
    rows = (
        ConsentEvent.objects.filter(event_type=EventType.WITHDRAWN, occurred_at__gte=window.start)
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day")
        .annotate(count=Count("pk"))
    )
    by_day = {row["day"]: row["count"] for row in rows}
    return [(day, by_day.get(day, 0)) for day in window.days]


@dataclass(frozen=True)
class Delivery:
    """Outbound messages created in the window, by how far they got."""

    #: Handed to WhatsApp: accepted by Meta, or failed.
    total: int
    sent: int
    delivered: int
    read: int
    failed: int


_SENT = Q(sent_at__isnull=False) | Q(
    status__in=[OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ]
)
# A "read" status can arrive without the "delivered" one (Meta does not promise both).
_DELIVERED = (
    Q(delivered_at__isnull=False)
    | Q(read_at__isnull=False)
    | Q(status__in=[OutboundStatus.DELIVERED, OutboundStatus.READ])
)
_READ = Q(read_at__isnull=False) | Q(status=OutboundStatus.READ)
_FAILED = Q(status=OutboundStatus.FAILED)


def delivery(window: Window) -> Delivery:
    counts = OutboundMessage.objects.filter(created_at__gte=window.start).aggregate(
        total=Count("pk", filter=_SENT | _FAILED),
        sent=Count("pk", filter=_SENT),
        delivered=Count("pk", filter=_DELIVERED),
        read=Count("pk", filter=_READ),
        failed=Count("pk", filter=_FAILED),
    )
    return Delivery(**counts)
