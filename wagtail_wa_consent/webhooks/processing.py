"""Processing a stored delivery: parse it into events, handle each, then send the signals."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..conf import get_setting
from ..messaging.models import WebhookDelivery
from . import handlers
from .parser import MalformedWebhook, parse_webhook

logger = logging.getLogger("wagtail_wa_consent.webhooks")


def process_delivery(delivery_id: int, *, skip_locked: bool = False) -> None:
    """Handle one delivery at most once in effect. A handler error rolls the whole delivery
    back and leaves it unprocessed, with the error noted, for the sweep to retry."""
    try:
        with transaction.atomic():
            locked = WebhookDelivery.objects.select_for_update(skip_locked=skip_locked)
            delivery = locked.filter(pk=delivery_id).first()
            if delivery is None or delivery.processed_at:
                return  # done, or another worker holds it right now
            try:
                events = parse_webhook(
                    json.loads(delivery.body), extra_keywords=get_setting("EXTRA_KEYWORDS")
                )
            except (MalformedWebhook, ValueError) as error:
                events = []
                delivery.error = f"malformed: {error}"[:2000]
            for event in events:
                handlers.handle(event)
            delivery.processed_at = timezone.now()
            delivery.save(update_fields=["processed_at", "error"])
            transaction.on_commit(lambda: handlers.send_signals(events))
    except Exception as error:
        logger.exception("webhook delivery %s failed; it stays queued for the sweep", delivery_id)
        WebhookDelivery.objects.filter(pk=delivery_id).update(error=f"{type(error).__name__}: {error}"[:2000])
        raise


def drain(batch: int = 500) -> int:
    """Process unprocessed deliveries oldest first until none is left; workers may drain together."""
    done = 0
    while True:
        pending = list(
            WebhookDelivery.objects.filter(processed_at__isnull=True, error="")
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not pending:
            return done
        for pk in pending:
            try:
                process_delivery(pk, skip_locked=True)
                done += 1
            except Exception:  # noqa: S112 - logged and noted on the row; the sweep retries it
                continue


def sweep_deliveries(older_than: timedelta = timedelta(seconds=30), limit: int = 1000) -> int:
    """Process deliveries a broker outage or a crash left unprocessed."""
    cutoff = timezone.now() - older_than
    pending = list(
        WebhookDelivery.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in pending:
        try:
            process_delivery(pk)
            done += 1
        except Exception:  # noqa: S112 - already logged and noted on the row
            continue
    return done
