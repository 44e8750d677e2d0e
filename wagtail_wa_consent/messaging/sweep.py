"""The periodic sweep: sends rows that a crash or a broker outage left behind."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ..conf import get_setting
from .models import OutboundMessage, OutboundStatus


def sweep(now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Re-queue stale claims, then dispatch every due row (at most ``limit`` per run).

    A row claimed but never marked sent (the worker died mid-send) is re-queued only after
    SENDING_TIMEOUT_SECONDS: by then Meta's status webhook, which carries the row's idempotency
    key, has normally marked it sent, so the row is not sent twice.
    """
    from .dispatcher import _eager, dispatch
    from .outbox import schedule_dispatch

    now = now or timezone.now()
    stale_before = now - timedelta(seconds=get_setting("SENDING_TIMEOUT_SECONDS"))
    requeued = OutboundMessage.objects.filter(
        status=OutboundStatus.SENDING, claimed_at__lt=stale_before
    ).update(status=OutboundStatus.QUEUED, reason="requeued_after_stale_claim", next_attempt_at=now)
    due = list(
        OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        dispatch(pk) if _eager() else schedule_dispatch(pk)
    return {"requeued": requeued, "dispatched": len(due)}
