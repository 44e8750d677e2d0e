"""Accepting a webhook delivery: verify, store raw with a dedupe key, process after commit."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction

from ..conf import get_setting
from ..messaging.models import WebhookDelivery
from .signature import signature_is_valid


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
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            dedupe_key=key, defaults={"body": body.decode()}
        )
    if created:
        transaction.on_commit(lambda: _schedule(delivery.pk), robust=True)
        return IngestResult(200, "stored", delivery.pk)
    return IngestResult(200, "duplicate delivery ignored", delivery.pk)


def _schedule(delivery_id: int) -> None:
    from ..tasks import process_webhook

    try:
        process_webhook.apply_async((delivery_id,), retry=False)
    except Exception:  # broker down: the sweep processes stored deliveries later
        import logging

        logging.getLogger("wagtail_wa_consent.webhooks").warning(
            "could not queue webhook delivery %s; the sweep will process it", delivery_id
        )
