"""Webhook bodies exactly as Meta shapes them, signed and delivered to the plugin."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from ..conf import get_setting
from ..webhooks.signature import sign

logger = logging.getLogger("wagtail_wa_consent.simulator")
DISPLAY_NUMBER = "15550009999"


def phone_number_id() -> str:
    return get_setting("PHONE_NUMBER_ID") or "SIMPHONE"


def waba_id() -> str:
    return get_setting("BUSINESS_ACCOUNT_ID") or "SIMWABA"


def new_wamid() -> str:
    return f"wamid.SIM{uuid.uuid4().hex.upper()}"


def envelope(field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id(), "changes": [{"field": field, "value": value}]}],
    }


def _value(phone: str, **parts: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id()},
        "contacts": [{"profile": {"name": "Simulated phone"}, "wa_id": phone}],
        **parts,
    }


def status_body(
    wamid: str, status: str, phone: str, callback: str = "", error_code: int | None = None
) -> dict:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": phone,
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"},
    }
    if callback:
        item["biz_opaque_callback_data"] = callback
    if error_code:
        item["errors"] = [
            {
                "code": error_code,
                "title": "Simulated failure",
                "message": "Simulated failure",
                "error_data": {"details": "Simulated by the WhatsApp simulator"},
            }
        ]
    value = _value(phone, statuses=[item])
    value.pop("contacts")
    return envelope("messages", value)


def inbound_body(phone: str, wamid: str, kind: str, part: dict[str, Any], context_id: str = "") -> dict:
    message: dict[str, Any] = {
        "from": phone,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: part,
    }
    if context_id:
        message["context"] = {"from": DISPLAY_NUMBER, "id": context_id}
    return envelope("messages", _value(phone, messages=[message]))


def marketing_preference_body(phone: str, value: str) -> dict:
    detail = f"User requested to {value} marketing messages"
    pref = {
        "wa_id": phone,
        "detail": detail,
        "category": "marketing_messages",
        "value": value,
        "timestamp": int(time.time()),
    }
    return envelope("user_preferences", _value(phone, user_preferences=[pref]))


def deliver(body: dict[str, Any]) -> None:
    """Owe one webhook, then try to deliver it after commit. Like Meta, an undelivered webhook
    stays owed until :func:`flush` succeeds, even if the process that sent the message dies."""
    from .models import SimWebhook

    owed = SimWebhook.objects.create(body=body)
    transaction.on_commit(lambda: _deliver_owed(owed.pk))


def flush() -> int:
    """Deliver every owed webhook (Meta's retries). Returns how many were delivered."""
    from .models import SimWebhook

    pending = list(
        SimWebhook.objects.filter(delivered_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    )
    return sum(_deliver_owed(pk) for pk in pending)


def _deliver_owed(pk: int) -> bool:
    from django.utils import timezone

    from .models import SimWebhook

    owed = SimWebhook.objects.filter(pk=pk, delivered_at__isnull=True).first()
    if owed is None:
        return False
    raw = json.dumps(owed.body, separators=(",", ":")).encode()
    signature = sign(raw, get_setting("APP_SECRET"))
    url = getattr(settings, "WA_SIMULATOR_WEBHOOK_URL", "")
    if url:
        if not _post(url, raw, signature):
            return False
    else:
        from ..webhooks.ingest import ingest

        if ingest(raw, signature).status != 200:
            return False
    SimWebhook.objects.filter(pk=pk).update(delivered_at=timezone.now())
    return True


def _post(url: str, raw: bytes, signature: str) -> bool:
    import httpx

    try:
        response = httpx.post(
            url,
            content=raw,
            headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
            timeout=10,
        )
    except httpx.HTTPError as error:
        logger.warning("simulator could not deliver a webhook: %s", type(error).__name__)
        return False
    return response.status_code == 200
