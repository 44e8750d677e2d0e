"""Processing a stored delivery: parse it into events, handle each, then send the signals."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..messaging.models import WebhookDelivery
from . import handlers
from .parser import MalformedWebhook, parse_webhook

logger = logging.getLogger("wagtail_wa_consent.webhooks")


def process_delivery(delivery_id: int) -> None:
    """Handle one delivery at most once in effect. A handler error rolls the whole delivery
    back and leaves it unprocessed, with the error noted, for the sweep to retry."""
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
            if delivery.processed_at:
                return
            try:
                events = parse_webhook(json.loads(delivery.body))
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
