"""Builders shared by the messaging and webhook tests."""

from __future__ import annotations

from typing import Any

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.graph.errors import WhatsAppAPIError
from wagtail_wa_consent.messaging.templates import upsert_template

WEB = Evidence(source="web_block", user_action="ticked", wording="Yes, send me offers", language="en")
YES = Evidence(source="whatsapp", user_action="tapped Yes", message_id="wamid.yes")


def template(
    name: str,
    category: str = "UTILITY",
    *,
    params: int = 1,
    status: str = "APPROVED",
    opt_out: bool = False,
    language: str = "en",
) -> Any:
    body = " ".join(f"{{{{{i}}}}}" for i in range(1, params + 1)) or "Hello"
    components: list[dict[str, Any]] = [{"type": "BODY", "text": f"Hi {body} there"}]
    if opt_out:
        components += [
            {"type": "FOOTER", "text": "Not interested? Tap Stop promotions"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]},
        ]
    return upsert_template(
        {
            "name": name,
            "language": language,
            "category": category,
            "status": status,
            "components": components,
            "id": f"id-{name}-{language}",
        }
    )


def consenting(phone: str, *categories: str):
    contact = service.get_or_create_contact(phone)
    service.request_opt_in(contact, list(categories), WEB)
    service.confirm(contact, YES)
    return contact


def api_error(code: int, status: int = 400) -> WhatsAppAPIError:
    return WhatsAppAPIError.from_response(
        status, {"error": {"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "trace"}}
    )


# --- Meta-shaped webhook bodies (shapes as in shared/wa-contract/pywa-payloads) ---------------

APP_SECRET = "test-app-secret"


def envelope(field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"field": field, "value": value}]}],
    }


def _messages_value(message: dict[str, Any], phone: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PHONE1"},
        "contacts": [{"profile": {"name": "Lena"}, "wa_id": phone}],
        "messages": [message],
    }


def text_message(phone: str, text: str, wamid: str, ts: int = 1_900_000_000) -> dict[str, Any]:
    message = {"from": phone, "id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": text}}
    return envelope("messages", _messages_value(message, phone))


def button_reply(
    phone: str, payload: str, text: str, wamid: str, context: str = "wamid.ctx"
) -> dict[str, Any]:
    message = {
        "from": phone,
        "id": wamid,
        "timestamp": "1900000000",
        "type": "button",
        "context": {"from": "15550001111", "id": context},
        "button": {"payload": payload, "text": text},
    }
    return envelope("messages", _messages_value(message, phone))


def interactive_reply(phone: str, button_id: str, title: str, wamid: str) -> dict[str, Any]:
    message = {
        "from": phone,
        "id": wamid,
        "timestamp": "1900000000",
        "type": "interactive",
        "context": {"from": "15550001111", "id": "wamid.ctx"},
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
    }
    return envelope("messages", _messages_value(message, phone))


def referral_message(phone: str, wamid: str) -> dict[str, Any]:
    message = {
        "from": phone,
        "id": wamid,
        "timestamp": "1900000000",
        "type": "text",
        "text": {"body": "Yes I want the offer"},
        "referral": {
            "source_url": "https://fb.me/ad",
            "source_type": "ad",
            "source_id": "1",
            "headline": "Sale",
            "body": "20% off",
            "ctwa_clid": "abc",
        },
    }
    return envelope("messages", _messages_value(message, phone))


def status_update(
    wamid: str,
    status: str,
    phone: str,
    *,
    callback: str | None = None,
    ts: int = 1_900_000_000,
    error_code: int | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": phone}
    if callback:
        item["biz_opaque_callback_data"] = callback
    if error_code:
        item["errors"] = [
            {"code": error_code, "title": "error", "message": "error", "error_data": {"details": "details"}}
        ]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PHONE1"},
        "statuses": [item],
    }
    return envelope("messages", value)


def marketing_preference(phone: str, value: str) -> dict[str, Any]:
    return envelope(
        "user_preferences",
        {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PHONE1"},
            "contacts": [{"profile": {"name": "Lena"}, "wa_id": phone}],
            "user_preferences": [
                {
                    "wa_id": phone,
                    "detail": "User requested to stop marketing messages",
                    "category": "marketing_messages",
                    "value": value,
                    "timestamp": 1900000000,
                }
            ],
        },
    )


def template_status(name: str, language: str, event: str, template_id: str = "tid") -> dict[str, Any]:
    return envelope(
        "message_template_status_update",
        {
            "event": event,
            "message_template_id": template_id,
            "message_template_name": name,
            "message_template_language": language,
            "reason": "NONE",
        },
    )
