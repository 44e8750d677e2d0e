"""The phone pages: each number's chat as the person sees it, and what the person can do there.

Every action is a CSRF-protected POST answered with a redirect (Post/Redirect/Get). What the person
does reaches the site as the webhook Meta would send, delivered after the request commits.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import core, webhooks
from .access import requires_simulator
from .models import DeliveryStatus, SimMessage, SimPhone, SimTemplate
from .rendering import QUICK_REPLY, REPLY, Bubble, bubble

_SEPARATORS = re.compile(r"[\s().\-/]")
_DIGITS = re.compile(r"^\d{7,15}$")
MAX_TEXT = core.MAX_TEXT


@requires_simulator
@require_GET
def phone_list(request: HttpRequest) -> HttpResponse:
    """Every number with messages, and a form to open the chat of any number (``?number=+49…``)."""
    error = ""
    if "number" in request.GET:
        digits = parse_number(request.GET["number"])
        if digits:
            return redirect("wa_simulator:chat", digits=digits)
        error = _("Enter a number in international format with its country code, e.g. +49 151 23456789.")
    phones = (
        SimMessage.objects.values("phone")
        .annotate(count=Count("pk"), last_at=Max("created_at"))
        .order_by("-last_at", "phone")
    )
    context = {"phones": phones, "error": error, "number": request.GET.get("number", "")}
    return render(request, "wa_simulator/phone_list.html", context, status=400 if error else 200)


def parse_number(raw: str) -> str:
    """The digits of an E.164 number typed with or without ``+``/``00``, spaces or dashes; "" if invalid."""
    text = _SEPARATORS.sub("", raw or "")
    if text.startswith("00"):
        text = text[2:]
    text = text.removeprefix("+")
    return text if _DIGITS.match(text) else ""


@requires_simulator
@require_GET
def chat(request: HttpRequest, digits: str) -> HttpResponse:
    """The chat of ``digits``. Opening it reads every delivered message: Meta then sends ``read``."""
    for message in SimMessage.objects.filter(phone=digits, direction=SimMessage.OUT, status="delivered"):
        # Only the first reader moves the row on (two tabs must not both send "read").
        if SimMessage.objects.filter(pk=message.pk, status="delivered").update(status=DeliveryStatus.READ):
            webhooks.deliver(
                webhooks.status_body(
                    message.wamid,
                    DeliveryStatus.READ,
                    digits,
                    callback=message.callback_data,
                    category=core.pricing_category(message),
                    business_number_id=message.phone_number_id or None,
                )
            )
    return _chat_page(request, digits)


def _chat_page(request: HttpRequest, digits: str, *, error: str = "", status: int = 200) -> HttpResponse:
    phone = SimPhone.objects.filter(digits=digits).first() or SimPhone(digits=digits)
    messages = list(SimMessage.objects.filter(phone=digits))
    templates = {(t.name, t.language): t for t in SimTemplate.objects.all()}
    context = {
        "phone": phone,
        "bubbles": [bubble(m, templates) for m in messages],
        "window_closes_at": phone.window_closes_at() if phone.window_open() else None,
        "error": error,
        "max_text": MAX_TEXT,
    }
    return render(request, "wa_simulator/chat.html", context, status=status)


@requires_simulator
@require_POST
def act(request: HttpRequest, digits: str) -> HttpResponse:
    """One thing the person does: type, tap a button, change WhatsApp settings, or (for tests) vanish."""
    action = request.POST.get("action", "")
    handler = _ACTIONS.get(action)
    if handler is None:
        return _chat_page(request, digits, error=_("Unknown action."), status=400)
    phone, _created = SimPhone.objects.get_or_create(digits=digits)
    error = handler(request, phone)
    if error:
        return _chat_page(request, digits, error=error, status=400)
    return redirect("wa_simulator:chat", digits=digits)


def _type_text(request: HttpRequest, phone: SimPhone) -> str:
    text = request.POST.get("text", "").strip()
    if not text:
        return _("Type a message first.")
    if len(text) > MAX_TEXT:
        return _("A message can have at most %(count)d characters.") % {"count": MAX_TEXT}
    wamid = webhooks.new_wamid()
    _received(phone, wamid, webhooks.text_body(phone.digits, text, wamid=wamid))
    return ""


def _tap(request: HttpRequest, phone: SimPhone) -> str:
    """A quick reply under a template (``button`` webhook) or a reply button (``interactive`` webhook)."""
    sent = SimMessage.objects.filter(
        phone=phone.digits, direction=SimMessage.OUT, wamid=request.POST.get("message", "")
    ).first()
    button = _button(bubble(sent), request.POST.get("index", "")) if sent else None
    if sent is None or button is None or button.kind not in (QUICK_REPLY, REPLY):
        return _("That button is not in this chat.")
    wamid = webhooks.new_wamid()
    if button.kind == QUICK_REPLY:
        body = webhooks.button_body(
            phone.digits, text=button.label, payload=button.payload, context_id=sent.wamid, wamid=wamid
        )
    else:
        body = webhooks.interactive_reply_body(
            phone.digits, reply_id=button.payload, title=button.label, context_id=sent.wamid, wamid=wamid
        )
    _received(phone, wamid, body)
    return ""


def _button(item: Bubble, index: str) -> Any:
    return next((b for b in item.buttons if str(b.index) == index), None)


def _marketing(request: HttpRequest, phone: SimPhone) -> str:
    """WhatsApp's own setting: stop (or allow again) offers from this business."""
    value = "resume" if request.POST.get("value") == "resume" else "stop"
    phone.marketing_stopped = value == "stop"
    phone.save(update_fields=["marketing_stopped"])
    SimMessage.objects.create(
        direction=SimMessage.IN,
        phone=phone.digits,
        wamid=f"sim.preference.{webhooks.new_wamid()}",  # not a message: Meta gives it no wamid
        kind="user_preferences",
        payload={"value": value},
    )
    webhooks.deliver(webhooks.marketing_preference_body(phone.digits, value))
    return ""


def _toggle_unreachable(request: HttpRequest, phone: SimPhone) -> str:
    phone.unreachable = not phone.unreachable
    phone.save(update_fields=["unreachable"])
    return ""


def _received(phone: SimPhone, wamid: str, body: dict[str, Any]) -> None:
    """Record an inbound message, open the service window, and owe its webhook."""
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    phone.last_inbound_at = timezone.now()
    phone.save(update_fields=["last_inbound_at"])
    SimMessage.objects.create(
        direction=SimMessage.IN, phone=phone.digits, wamid=wamid, kind=message["type"], payload=message
    )
    webhooks.deliver(body)


_ACTIONS = {
    "text": _type_text,
    "tap": _tap,
    "marketing": _marketing,
    "toggle_unreachable": _toggle_unreachable,
}
