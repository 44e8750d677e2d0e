"""Validating a send the way Meta does, with Meta's error codes and body shapes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone

from . import webhooks
from .models import SimMessage, SimPhone, SimTemplate

_DIGITS = re.compile(r"^\d{7,15}$")
_ERRORS = {
    100: "Invalid parameter",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131050: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages.",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132015: "Template is Paused due to low quality so it cannot be sent in a template message",
    132016: "Template has been paused too many times due to low quality and is now permanently disabled",
}


def error_body(code: int, details: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"(#{code}) {_ERRORS.get(code, 'Error')}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "SIM" + webhooks.new_wamid()[-12:],
        }
    }


def accept_message(payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Returns (HTTP status, JSON body) as Meta's ``POST /<phone-number-id>/messages`` would."""
    to = str(payload.get("to", "")).lstrip("+")
    if not _DIGITS.match(to):
        return 400, error_body(100, "Parameter 'to' is not a valid phone number.")
    phone, _ = SimPhone.objects.get_or_create(digits=to)
    if phone.unreachable or to.endswith("0000"):
        return 400, error_body(131026, "The recipient is not a WhatsApp user or cannot receive this message.")
    kind = payload.get("type", "text")
    problem = _template_problem(payload, phone) if kind == "template" else _window_problem(phone)
    if problem:
        return 400, error_body(*problem)
    wamid = webhooks.new_wamid()
    callback = str(payload.get("biz_opaque_callback_data", ""))[:200]
    SimMessage.objects.create(
        direction=SimMessage.OUT,
        phone=phone,
        wamid=wamid,
        kind=kind,
        payload=payload,
        status="delivered",
        callback_data=callback,
    )
    for status in ("sent", "delivered"):
        webhooks.deliver(webhooks.status_body(wamid, status, to, callback))
    message: dict[str, Any] = {"id": wamid}
    if kind == "template":
        message["message_status"] = "accepted"
    return 200, {
        "messaging_product": "whatsapp",
        "contacts": [{"input": payload.get("to"), "wa_id": to}],
        "messages": [message],
    }


def _template_problem(payload: dict[str, Any], phone: SimPhone) -> tuple[int, str] | None:
    spec = payload.get("template") or {}
    name, language = spec.get("name"), (spec.get("language") or {}).get("code")
    template = SimTemplate.objects.filter(name=name, language=language).first()
    if template is None:
        return 132001, f"template name ({name}) does not exist in {language}"
    if template.status == "PAUSED":
        return 132015, f"template {name} is paused"
    if template.status == "DISABLED":
        return 132016, f"template {name} is disabled"
    if template.status != "APPROVED":
        return 132001, f"template {name} is not approved ({template.status})"
    body = next((c for c in spec.get("components", []) if c.get("type") == "body"), {})
    expected = len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", template.body_text())))
    if len(body.get("parameters", [])) != expected:
        return (
            132000,
            f"body: number of localizable_params ({len(body.get('parameters', []))}) does not "
            f"match the expected number of params ({expected})",
        )
    if template.category == "MARKETING" and phone.marketing_stopped:
        return 131050, "The recipient stopped marketing messages from this business."
    return None


def _window_problem(phone: SimPhone) -> tuple[int, str] | None:
    if phone.last_inbound_at is None or timezone.now() - phone.last_inbound_at > timedelta(hours=24):
        return (
            131047,
            "Message failed to send because more than 24 hours have passed since the customer "
            "last replied to this number.",
        )
    return None
