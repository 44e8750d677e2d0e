"""Webhook bodies shaped exactly like Meta's (CLOUD-API.md 1.5-1.8), signed and delivered to the site.

Delivery goes to ``settings.WA_SIMULATOR_WEBHOOK_URL`` over HTTP when that is set (from a background
thread, so a Graph API request answers first, as Meta's does), else straight into
:func:`wagtail_wa_consent.webhooks.ingest.ingest` in this process after the current transaction
commits. Either way a webhook is stored first and stays owed until the site accepts it; :func:`flush`
retries owed ones, as Meta retries for days.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from ..conf import get_setting
from ..webhooks.signature import sign
from .models import DeliveryStatus, SimWebhook

# Never log phone numbers or bodies: only webhook row ids and error class names.
logger = logging.getLogger("wagtail_wa_consent.simulator")

#: The simulated business number as people see it (Meta's ``display_phone_number``).
DISPLAY_NUMBER = "15550009999"
#: The profile name every simulated phone reports.
PROFILE_NAME = "Simulated phone"
#: Seconds an HTTP delivery may take.
HTTP_TIMEOUT = 10.0


def phone_number_id() -> str:
    """The business phone number id: ``PHONE_NUMBER_ID`` (or ``WA_PHONE_NUMBER_ID``), else SIMPHONE."""
    return get_setting("PHONE_NUMBER_ID") or "SIMPHONE"


def waba_id() -> str:
    """The business account id: ``BUSINESS_ACCOUNT_ID`` (or ``WA_BUSINESS_ACCOUNT_ID``), else SIMWABA."""
    return get_setting("BUSINESS_ACCOUNT_ID") or "SIMWABA"


def new_wamid() -> str:
    """A fresh message id in Meta's ``wamid.`` form."""
    return f"wamid.SIM{uuid.uuid4().hex.upper()}"


def now_timestamp() -> str:
    """Unix seconds as a string, as Meta sends message and status timestamps."""
    return str(int(time.time()))


# --- builders -------------------------------------------------------------------------------------


def envelope(field: str, value: dict[str, Any]) -> dict[str, Any]:
    """The ``whatsapp_business_account`` envelope around one change."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id(), "changes": [{"value": value, "field": field}]}],
    }


def _value(sender: str | None, business_number_id: str | None, **parts: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": DISPLAY_NUMBER,
            "phone_number_id": business_number_id or phone_number_id(),
        },
    }
    if sender:
        value["contacts"] = [{"profile": {"name": PROFILE_NAME}, "wa_id": sender}]
    return {**value, **parts}


def pricing(category: str) -> dict[str, Any]:
    """The ``pricing`` object of a status: service (free-form) messages in the window are free."""
    if category == "service":
        return {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
    return {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}


def status_body(
    wamid: str,
    status: str,
    recipient: str,
    *,
    callback: str = "",
    category: str = "utility",
    errors: list[dict[str, Any]] | None = None,
    business_number_id: str | None = None,
) -> dict[str, Any]:
    """A ``statuses[]`` webhook: ``sent``, ``delivered``, ``read`` or ``failed`` (with ``errors``)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": now_timestamp(),
        "recipient_id": recipient,
    }
    if callback:
        item["biz_opaque_callback_data"] = callback
    if status == "failed":
        item["errors"] = errors or []
    else:
        item["pricing"] = pricing(category)
    return envelope("messages", _value(recipient, business_number_id, statuses=[item]))


def message_body(
    sender: str,
    kind: str,
    part: dict[str, Any],
    *,
    wamid: str | None = None,
    context_id: str = "",
) -> dict[str, Any]:
    """An inbound ``messages[]`` webhook of type ``kind`` whose ``kind`` object is ``part``."""
    message: dict[str, Any] = {
        "from": sender,
        "id": wamid or new_wamid(),
        "timestamp": now_timestamp(),
        "type": kind,
        kind: part,
    }
    if context_id:  # the business message replied to (or whose button was tapped)
        message["context"] = {"from": DISPLAY_NUMBER, "id": context_id}
    return envelope("messages", _value(sender, None, messages=[message]))


def text_body(sender: str, text: str, *, wamid: str | None = None) -> dict[str, Any]:
    """A typed text message (STOP keywords arrive this way)."""
    return message_body(sender, "text", {"body": text}, wamid=wamid)


def button_body(sender: str, *, text: str, payload: str, context_id: str, wamid: str | None = None) -> dict:
    """A tap on a template's quick-reply button: ``type: button`` with the payload set at send time."""
    return message_body(
        sender, "button", {"payload": payload, "text": text}, wamid=wamid, context_id=context_id
    )


def interactive_reply_body(
    sender: str, *, reply_id: str, title: str, context_id: str, wamid: str | None = None
) -> dict[str, Any]:
    """A tap on an interactive reply button: ``interactive.button_reply`` with the button's id."""
    part = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
    return message_body(sender, "interactive", part, wamid=wamid, context_id=context_id)


def marketing_preference_body(sender: str, value: str = "stop") -> dict[str, Any]:
    """A ``user_preferences`` webhook: the person stopped (or resumed) offers in WhatsApp's settings."""
    preference = {
        "wa_id": sender,
        "detail": f"User requested to {value} marketing messages",
        "category": "marketing_messages",
        "value": value,
        "timestamp": int(time.time()),
    }
    return envelope("user_preferences", _value(sender, None, user_preferences=[preference]))


# --- delivery ---------------------------------------------------------------------------------------


def owed_statuses() -> tuple[str, ...]:
    """The statuses each accepted send owes: ``sent`` and ``delivered``, or none when
    ``settings.WA_SIMULATOR_STATUS_WEBHOOKS`` is False (the dispatch benchmark measures the send
    path alone; webhook ingest has its own benchmark)."""
    if not getattr(settings, "WA_SIMULATOR_STATUS_WEBHOOKS", True):
        return ()
    return (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)


def webhook_url() -> str:
    """``settings.WA_SIMULATOR_WEBHOOK_URL``, or "" for in-process delivery."""
    return getattr(settings, "WA_SIMULATOR_WEBHOOK_URL", "") or ""


def serialise(body: dict[str, Any]) -> tuple[bytes, str]:
    """The raw bytes Meta would post for ``body`` and their ``X-Hub-Signature-256`` value.

    Like Meta, non-ASCII is escaped (``\\u00e4``) and so is ``/`` (``\\/``): a site that verifies
    a re-serialised body instead of the raw bytes fails here as it would in production.
    """
    raw = json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()
    return raw, sign(raw, get_setting("APP_SECRET"))


def deliver(body: dict[str, Any]) -> SimWebhook:
    """Owe one webhook and deliver it once the current transaction commits.

    The row is written first, so a webhook lost with its process is still owed and :func:`flush`
    delivers it later, as Meta retries until the endpoint answers 200.
    """
    owed = SimWebhook.objects.create(body=body)
    transaction.on_commit(lambda: _after_commit(owed.pk))
    return owed


def flush() -> int:
    """Deliver every owed webhook, oldest first (Meta's retries). Returns how many were delivered."""
    pending = SimWebhook.objects.filter(delivered_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    return sum(deliver_owed(pk) for pk in list(pending))


def deliver_owed(pk: int) -> bool:
    """Try to deliver owed webhook ``pk`` now; True if the site accepted it."""
    owed = SimWebhook.objects.filter(pk=pk, delivered_at__isnull=True).first()
    if owed is None:
        return False
    SimWebhook.objects.filter(pk=pk).update(attempts=owed.attempts + 1)
    # Always the stored body, so a retry posts the same bytes and the site's dedupe sees a repeat.
    raw, signature = serialise(owed.body)
    url = webhook_url()
    accepted = _post(url, raw, signature) if url else _ingest(raw, signature)
    if accepted:
        SimWebhook.objects.filter(pk=pk).update(delivered_at=timezone.now())
    else:
        logger.warning("simulated webhook %s was not accepted; it stays owed", pk)
    return accepted


def _after_commit(pk: int) -> None:
    if webhook_url():
        _in_background(pk)
    else:
        deliver_owed(pk)


def _ingest(raw: bytes, signature: str) -> bool:
    # Looked up at call time so tests can monkeypatch wagtail_wa_consent.webhooks.ingest.ingest.
    from ..webhooks import ingest as ingest_module

    try:
        return ingest_module.ingest(raw, signature).status == 200
    except Exception as error:  # a broken handler must not break the send that owed the webhook
        logger.warning("in-process webhook delivery failed: %s", type(error).__name__)
        return False


def _post(url: str, raw: bytes, signature: str) -> bool:
    import httpx

    try:
        response = httpx.post(
            url,
            content=raw,
            headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
    except httpx.HTTPError as error:
        logger.warning("simulated webhook POST failed: %s", type(error).__name__)
        return False
    return response.status_code == 200


# One FIFO worker thread per process keeps "sent" ahead of "delivered", as Meta orders them.
_queue: queue.SimpleQueue[int] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def _in_background(pk: int) -> None:
    """Hand owed webhook ``pk`` to the background sender (tests replace this to run inline)."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="wa-simulator-webhooks", daemon=True)
            _worker.start()
    _queue.put(pk)


def _work() -> None:
    while True:
        pk = _queue.get()
        try:
            deliver_owed(pk)
        except Exception as error:  # keep the thread alive; the row stays owed for flush()
            logger.warning("simulated webhook %s failed: %s", pk, type(error).__name__)
        finally:
            close_old_connections()


def _forget_worker_in_child() -> None:
    # A forked child (Celery prefork, runserver reloader) has no copy of the parent's thread.
    global _queue, _worker, _worker_lock
    _queue, _worker, _worker_lock = queue.SimpleQueue(), None, threading.Lock()


os.register_at_fork(after_in_child=_forget_worker_in_child)
