"""Accepting a webhook delivery: verify, store raw with a dedupe key, process after commit."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ..conf import get_setting
from ..messaging.models import WebhookDelivery
from .signature import signature_is_valid

logger = logging.getLogger("wagtail_wa_consent.webhooks")


@dataclass(frozen=True)
class IngestResult:
    status: int
    reason: str
    delivery_id: int | None = None


def ingest(body: bytes, signature_header: str | None) -> IngestResult:
    """Everything the POST view does, without HTTP: also used by the in-process simulator.

    401 without a signature, 403 with a wrong one, 400 for a body that is not a WhatsApp
    webhook; nothing is stored in those cases. A valid delivery is stored once (Meta retries
    the same bytes) and processed by a Celery task after the transaction commits.
    """
    if not signature_header:
        return IngestResult(401, "missing X-Hub-Signature-256 header")
    if not signature_is_valid(body, signature_header, get_setting("APP_SECRET")):
        return IngestResult(403, "invalid X-Hub-Signature-256 signature")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return IngestResult(400, "body is not valid JSON")
    if not isinstance(document, dict) or document.get("object") != "whatsapp_business_account":
        return IngestResult(400, "not a whatsapp_business_account webhook")
    key = hashlib.sha256(body).hexdigest()
    try:
        # One INSERT; Meta's retry of the same bytes hits the unique key instead of a prior SELECT.
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(dedupe_key=key, body=body.decode())
    except IntegrityError:
        existing = WebhookDelivery.objects.filter(dedupe_key=key).values_list("pk", flat=True).first()
        return IngestResult(200, "duplicate delivery ignored", existing)
    transaction.on_commit(lambda: _schedule(delivery.pk), robust=True)
    return IngestResult(200, "stored", delivery.pk)


#: Deliveries stored within this many seconds of a drain being queued ride on that drain.
DRAIN_WINDOW = 0.05
_drain_lock = threading.Lock()
_last_drain = 0.0


def _schedule(delivery_id: int) -> None:
    """Hand the delivery to a worker.

    Under load one drain task per DRAIN_WINDOW (per process) carries every delivery stored in
    that window: it is queued with a countdown of one window, so it starts only after all of
    them have committed. This keeps the webhook answer fast (one broker publish per window,
    not per delivery) and costs at most DRAIN_WINDOW of latency.
    """
    global _last_drain
    from celery import current_app

    from ..tasks import drain_webhooks, process_webhook

    try:
        if current_app.conf.task_always_eager:
            process_webhook.apply_async((delivery_id,), retry=False)
            return
        now = time.monotonic()
        with _drain_lock:
            if now - _last_drain < DRAIN_WINDOW:
                return
            _last_drain = now
        drain_webhooks.apply_async(countdown=DRAIN_WINDOW, retry=False)
    except Exception as error:  # broker down: the sweep processes stored deliveries later
        logger.warning(
            "could not queue webhook delivery %s (%s); the sweep will process it",
            delivery_id,
            type(error).__name__,
        )
