"""Build the JSON body of Meta's ``POST /<phone-number-id>/messages`` from an outbox row."""

from __future__ import annotations

from typing import Any

from ..consent.enums import Category
from . import replies
from .models import MessageKind, OutboundMessage


def build_payload(message: OutboundMessage, phone_e164: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone_e164.lstrip("+"),
        # Comes back on every status webhook: it joins statuses to the row even without a wamid.
        "biz_opaque_callback_data": message.idempotency_key,
    }
    if message.kind == MessageKind.TEMPLATE:
        payload["type"] = "template"
        payload["template"] = _template(message)
    elif message.kind == MessageKind.TEXT:
        payload["type"] = "text"
        body = message.content["body"]
        if message.category == Category.MARKETING:  # every marketing message carries the opt-out
            body = f"{body}\n\n{replies.opt_out_footer()}"
        payload["text"] = {"body": body, "preview_url": False}
    else:
        payload["type"] = "interactive"
        payload["interactive"] = message.content["interactive"]
    return payload


def _template(message: OutboundMessage) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if message.parameters:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": str(p)} for p in message.parameters]}
        )
    for index, button_payload in enumerate(message.content.get("quick_replies", [])):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": button_payload}],
            }
        )
    template: dict[str, Any] = {
        "name": message.template_name,
        "language": {"code": message.template_language},
    }
    if components:
        template["components"] = components
    return template
