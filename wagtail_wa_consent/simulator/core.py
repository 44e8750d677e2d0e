"""Accepting or refusing a send the way Meta does, with Meta's error codes and body shapes.

Reference: CLOUD-API.md sections 2 (sending) and 3 (error codes and the error body).
"""

from __future__ import annotations

import copy
import re
import secrets
from typing import Any

from . import webhooks
from .models import (
    DeliveryStatus,
    SimMessage,
    SimPhone,
    SimTemplate,
    TemplateCategory,
    TemplateStatus,
    placeholders,
)
from .seed import ensure_seeded

_DIGITS = re.compile(r"^\d{7,15}$")
#: Message types Meta accepts on ``POST /<phone-number-id>/messages``; all but templates are free-form.
MESSAGE_TYPES = frozenset(
    "text template interactive image audio video document sticker location contacts reaction".split()
)
#: Meta's titles, used in ``error.message`` as ``(#code) title``.
TITLES: dict[int, str] = {
    100: "Invalid parameter",
    131009: "Parameter value is not valid",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131050: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages "
    "on WhatsApp from your business.",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132015: "Template is Paused",
    132016: "Template has been paused too many times and is now permanently disabled",
    190: "Invalid OAuth access token - Cannot parse access token",
}
#: Limits Meta enforces on fields the plugin fills in (CLOUD-API.md 2.2 and 2.4).
MAX_TEXT, MAX_CALLBACK, MAX_BUTTONS, MAX_TITLE, MAX_REPLY_ID = 4096, 512, 3, 20, 256


class Refusal(Exception):
    """Meta refuses the request: an HTTP status and Meta's error body."""

    def __init__(self, code: int, details: str, *, status: int = 400, subcode: int | None = None) -> None:
        super().__init__(code)
        self.code, self.details, self.status, self.subcode = code, details, status, subcode

    def response(self) -> tuple[int, dict[str, Any]]:
        return self.status, error_body(self.code, self.details, subcode=self.subcode)


def error_body(code: int, details: str, *, subcode: int | None = None) -> dict[str, Any]:
    """Meta's error body: ``{"error": {message, type, code, error_subcode?, error_data, fbtrace_id}}``."""
    error: dict[str, Any] = {
        "message": f"(#{code}) {TITLES.get(code, 'Error')}",
        "type": "OAuthException",
        "code": code,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return {"error": error}


def accept_message(payload: dict[str, Any], *, phone_number_id: str) -> tuple[int, dict[str, Any]]:
    """Answer ``POST /<phone_number_id>/messages`` as Meta would: ``(HTTP status, JSON body)``.

    On success the message is stored and ``sent`` then ``delivered`` status webhooks are owed
    (delivered after the current transaction commits). Nothing is stored for a refused request.
    """
    try:
        kind, to = _check_request(payload)
        template = _check_template(payload.get("template")) if kind == "template" else None
        if kind != "template":
            _check_free_form(kind, payload)
        # An unknown number is a reachable phone that never wrote: no row needed to send to it.
        phone = SimPhone.objects.filter(digits=to).first() or SimPhone(digits=to)
        _check_recipient(phone, template)
    except Refusal as refusal:
        return refusal.response()
    wamid = webhooks.new_wamid()
    callback = str(payload.get("biz_opaque_callback_data") or "")
    SimMessage.objects.create(
        direction=SimMessage.OUT,
        phone=to,
        wamid=wamid,
        kind=kind,
        payload=copy.deepcopy(payload),
        status=DeliveryStatus.DELIVERED,  # both webhooks are owed from now on
        callback_data=callback,
        phone_number_id=phone_number_id,
    )
    category = template.category.lower() if template else "service"
    for status in webhooks.owed_statuses():
        webhooks.deliver(
            webhooks.status_body(
                wamid, status, to, callback=callback, category=category, business_number_id=phone_number_id
            )
        )
    message: dict[str, Any] = {"id": wamid}
    if template is not None:
        message["message_status"] = "accepted"
    return 200, {
        "messaging_product": "whatsapp",
        "contacts": [{"input": str(payload.get("to")), "wa_id": to}],
        "messages": [message],
    }


def _check_request(payload: Any) -> tuple[str, str]:
    """The message type and the recipient's digits, or a (#100) refusal."""
    if not isinstance(payload, dict):
        raise Refusal(100, "The request body must be a JSON object.")
    if payload.get("messaging_product") != "whatsapp":
        raise Refusal(100, "The parameter messaging_product is required and must be 'whatsapp'.")
    if payload.get("recipient_type", "individual") != "individual":
        raise Refusal(100, "The simulator only sends to individual recipients.")
    raw_to = payload.get("to")
    if raw_to in (None, ""):
        raise Refusal(100, "The parameter to is required.")
    to = str(raw_to).strip().removeprefix("+")
    if not _DIGITS.match(to):
        raise Refusal(100, "Parameter 'to' is not a valid phone number in E.164 format.")
    kind = payload.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise Refusal(100, f"Param type must be one of {{{', '.join(sorted(MESSAGE_TYPES))}}}.")
    callback = payload.get("biz_opaque_callback_data")
    if callback is not None and (not isinstance(callback, str) or len(callback) > MAX_CALLBACK):
        raise Refusal(100, f"biz_opaque_callback_data must be a string of at most {MAX_CALLBACK} characters.")
    return kind, to


def _check_template(spec: Any) -> SimTemplate:
    """The approved template the payload names, with the right number of parameters."""
    if not isinstance(spec, dict) or not spec.get("name"):
        raise Refusal(100, "The parameter template['name'] is required.")
    name, language = spec["name"], (spec.get("language") or {}).get("code")
    if not language:
        raise Refusal(100, "The parameter template['language']['code'] is required.")
    template = SimTemplate.objects.filter(name=name, language=language).first()
    if template is None and ensure_seeded():  # a fresh simulator gets its default templates
        template = SimTemplate.objects.filter(name=name, language=language).first()
    if template is None:
        # Meta answers a missing translation with 404 (CLOUD-API.md 3).
        raise Refusal(132001, f"template name ({name}) does not exist in {language}", status=404)
    if template.status == TemplateStatus.PAUSED:
        raise Refusal(132015, f"Template {name} ({language}) is paused because of low quality.")
    if template.status == TemplateStatus.DISABLED:
        raise Refusal(132016, f"Template {name} ({language}) was paused too often and is now disabled.")
    if template.status != TemplateStatus.APPROVED:
        raise Refusal(132001, f"template name ({name}) is not approved in {language} ({template.status})")
    components = spec.get("components") or []
    for kind, text in (("header", template.header_text()), ("body", template.body_text())):
        given = sum(len(c.get("parameters") or []) for c in components if c.get("type") == kind)
        expected = placeholders(text)
        if given != expected:
            raise Refusal(
                132000,
                f"{kind}: number of localizable_params ({given}) does not match the expected number "
                f"of params ({expected})",
            )
    buttons = template.buttons()
    for component in components:
        if component.get("type") == "button" and component.get("sub_type") == "quick_reply":
            # ``index`` is the button's position among all the template's buttons.
            index = str(component.get("index", ""))
            if (
                not index.isdigit()
                or int(index) >= len(buttons)
                or buttons[int(index)].get("type") != "QUICK_REPLY"
            ):
                raise Refusal(131009, f"Button at index {index} is not a quick reply button of {name}.")
    return template


def pricing_category(message: SimMessage) -> str:
    """The ``pricing.category`` of ``message``'s statuses: the template's category, else ``service``."""
    if message.kind != "template":
        return "service"
    spec = message.payload.get("template") or {}
    template = SimTemplate.objects.filter(
        name=spec.get("name"), language=(spec.get("language") or {}).get("code")
    )
    category = template.values_list("category", flat=True).first()
    return category.lower() if category else "utility"


def _check_free_form(kind: str, payload: dict[str, Any]) -> None:
    """The content of a session (non-template) message."""
    part = payload.get(kind)
    if not isinstance(part, dict):
        raise Refusal(100, f"The parameter {kind} is required for messages of type {kind}.")
    if kind == "text":
        body = part.get("body")
        if not isinstance(body, str) or not body.strip():
            raise Refusal(100, "The parameter text['body'] is required.")
        if len(body) > MAX_TEXT:
            raise Refusal(100, f"text['body'] is longer than {MAX_TEXT} characters.")
    elif kind == "interactive" and part.get("type") == "button":
        _check_reply_buttons(part)


def _check_reply_buttons(part: dict[str, Any]) -> None:
    if not str((part.get("body") or {}).get("text") or "").strip():
        raise Refusal(100, "The parameter interactive['body']['text'] is required.")
    buttons = (part.get("action") or {}).get("buttons") or []
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise Refusal(131009, f"Number of buttons must be between 1 and {MAX_BUTTONS}.")
    titles, ids = [], []
    for button in buttons:
        reply = button.get("reply") or {}
        title, reply_id = str(reply.get("title") or ""), str(reply.get("id") or "")
        if not 1 <= len(title) <= MAX_TITLE:
            raise Refusal(131009, f"Button title length invalid. Min length: 1, Max length: {MAX_TITLE}")
        if not 1 <= len(reply_id) <= MAX_REPLY_ID or reply_id != reply_id.strip():
            raise Refusal(131009, f"Button id length invalid. Min length: 1, Max length: {MAX_REPLY_ID}")
        titles.append(title)
        ids.append(reply_id)
    if len(set(titles)) != len(titles) or len(set(ids)) != len(ids):
        raise Refusal(131009, "Button titles and ids must be unique within a message.")


def _check_recipient(phone: SimPhone, template: SimTemplate | None) -> None:
    """What Meta knows about the person: reachable, marketing preference, service window."""
    if phone.is_unreachable:
        raise Refusal(
            131026, "Message undeliverable: the recipient cannot receive this message (or blocked you)."
        )
    if template is None:
        if not phone.window_open():
            raise Refusal(
                131047,
                "Message failed to send because more than 24 hours have passed since the customer last "
                "replied to this number.",
            )
    elif template.category == TemplateCategory.MARKETING and phone.marketing_stopped:
        raise Refusal(
            131050,
            "This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
        )
