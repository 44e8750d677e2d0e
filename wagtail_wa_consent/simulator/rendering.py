"""How a phone shows each message: template text with its parameters, footer, and tappable buttons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .models import DeliveryStatus, SimMessage, SimTemplate

#: Button kinds the page can tap (the others are shown as links or labels).
QUICK_REPLY, REPLY, URL, PHONE, OTHER = "quick_reply", "reply", "url", "phone", "other"


@dataclass
class Button:
    """One button under a message. ``payload`` is what a tap sends back (quick replies and replies)."""

    index: int
    label: str
    kind: str
    payload: str = ""
    url: str = ""


@dataclass
class Bubble:
    """One message as the chat shows it."""

    message: SimMessage
    header: str = ""
    text: str = ""
    footer: str = ""
    note: str = ""
    buttons: list[Button] = field(default_factory=list)

    @property
    def outgoing(self) -> bool:
        return self.message.direction == SimMessage.OUT

    @property
    def tappable(self) -> bool:
        return any(b.kind in (QUICK_REPLY, REPLY) for b in self.buttons)

    def status_label(self) -> str:
        return {
            DeliveryStatus.SENT: _("Sent"),
            DeliveryStatus.DELIVERED: _("Delivered"),
            DeliveryStatus.READ: _("Read"),
            DeliveryStatus.FAILED: _("Failed"),
        }.get(self.message.status, "")

    def status_ticks(self) -> str:
        """The tick marks WhatsApp shows (hidden from screen readers, which get the label)."""
        return {"sent": "✓", "delivered": "✓✓", "read": "✓✓", "failed": "!"}.get(self.message.status, "")


def bubble(message: SimMessage, templates: dict[tuple[str, str], SimTemplate] | None = None) -> Bubble:
    """Render ``message``; ``templates`` (by name and language) saves a query per template message."""
    item = Bubble(message=message)
    payload = message.payload or {}
    if message.direction == SimMessage.IN:
        item.text = inbound_text(message)
    elif message.kind == "template":
        _template(item, payload.get("template") or {}, templates)
    elif message.kind == "interactive":
        _interactive(item, payload.get("interactive") or {})
    elif message.kind == "text":
        item.text = str((payload.get("text") or {}).get("body", ""))
    else:
        # Translators: shown instead of a media message the simulator does not display, e.g. "[image]".
        item.note = _("[%(type)s]") % {"type": message.kind}
    return item


def inbound_text(message: SimMessage) -> str:
    """What the person sent, tapped or changed, as one line."""
    payload = message.payload or {}
    kind = message.kind
    if kind == "text":
        return str((payload.get("text") or {}).get("body", ""))
    if kind == "button":
        return str((payload.get("button") or {}).get("text", ""))
    if kind == "interactive":
        return str(((payload.get("interactive") or {}).get("button_reply") or {}).get("title", ""))
    if kind == "user_preferences":
        if payload.get("value") == "resume":
            return _("WhatsApp settings: offers from this business allowed again")
        return _("WhatsApp settings: offers from this business stopped")
    return kind


def find_template(spec: dict[str, Any]) -> SimTemplate | None:
    """The template a send payload's ``template`` object names."""
    return SimTemplate.objects.filter(
        name=spec.get("name"), language=(spec.get("language") or {}).get("code")
    ).first()


def parameter_text(parameter: dict[str, Any]) -> str:
    """How the phone shows one parameter (currency and dates by their fallback value)."""
    kind = parameter.get("type", "text")
    if kind == "text":
        return str(parameter.get("text", ""))
    if kind in ("currency", "date_time"):
        return str((parameter.get(kind) or {}).get("fallback_value", ""))
    return f"[{kind}]"


def fill(text: str, parameters: list[dict[str, Any]]) -> str:
    """``text`` with ``{{1}}``, ``{{2}}`` ... replaced by the parameters in order."""
    for number, parameter in enumerate(parameters, start=1):
        text = text.replace(f"{{{{{number}}}}}", parameter_text(parameter))
    return text


def _template(
    item: Bubble, spec: dict[str, Any], templates: dict[tuple[str, str], SimTemplate] | None
) -> None:
    key = (str(spec.get("name")), str((spec.get("language") or {}).get("code")))
    template = templates.get(key) if templates is not None else find_template(spec)
    if template is None:
        item.note = pgettext("simulator", "Template %(name)s (no longer known)") % {"name": key[0]}
        return
    components = spec.get("components") or []

    def params(kind: str) -> list[dict[str, Any]]:
        return [p for c in components if c.get("type") == kind for p in (c.get("parameters") or [])]

    item.header = fill(template.header_text(), params("header"))
    item.text = fill(template.body_text(), params("body"))
    item.footer = template.footer_text()
    # The dispatcher's button payloads, by the button's index in the template (payloads.py quick_replies).
    given = {
        str(c.get("index")): (c.get("parameters") or [{}])[0] for c in components if c.get("type") == "button"
    }
    for index, button in enumerate(template.buttons()):
        label, kind = str(button.get("text", "")), str(button.get("type", "")).upper()
        parameter = given.get(str(index), {})
        if kind == "QUICK_REPLY":
            # Without a payload from the sender Meta sends the button's text as the payload.
            item.buttons.append(
                Button(index, label, QUICK_REPLY, payload=str(parameter.get("payload") or label))
            )
        elif kind == "URL":
            url = str(button.get("url", "")).replace("{{1}}", str(parameter.get("text", "")))
            item.buttons.append(Button(index, label, URL, url=url))
        elif kind == "PHONE_NUMBER":
            item.buttons.append(Button(index, label, PHONE, url=f"tel:{button.get('phone_number', '')}"))
        else:
            item.buttons.append(Button(index, label, OTHER))


def _interactive(item: Bubble, interactive: dict[str, Any]) -> None:
    item.header = str((interactive.get("header") or {}).get("text", ""))
    item.text = str((interactive.get("body") or {}).get("text", ""))
    item.footer = str((interactive.get("footer") or {}).get("text", ""))
    if interactive.get("type") != "button":
        # Translators: lists and flows are shown but cannot be answered in the simulator.
        item.note = _("(This kind of interactive message cannot be answered here.)")
        return
    for index, button in enumerate((interactive.get("action") or {}).get("buttons") or []):
        reply = button.get("reply") or {}
        item.buttons.append(
            Button(index, str(reply.get("title", "")), REPLY, payload=str(reply.get("id", "")))
        )
