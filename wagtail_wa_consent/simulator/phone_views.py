"""The phone page: each number's chat as the person would see it, with the buttons they can tap."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import webhooks
from .access import requires_simulator
from .models import SimMessage, SimPhone, SimTemplate

_NON_DIGITS = re.compile(r"\D")


@require_http_methods(["GET", "POST"])
@requires_simulator
def phone_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        digits = _NON_DIGITS.sub("", request.POST.get("number", ""))
        if not 7 <= len(digits) <= 15:
            phones = SimPhone.objects.order_by("digits")
            error = _("Enter the number with its country code, for example +49 151 23456789.")
            return render(
                request, "wa_simulator/phone_list.html", {"phones": phones, "error": error}, status=400
            )
        SimPhone.objects.get_or_create(digits=digits)
        return redirect("wa_simulator:chat", digits=digits)
    return render(request, "wa_simulator/phone_list.html", {"phones": SimPhone.objects.order_by("digits")})


@require_http_methods(["GET"])
@requires_simulator
def chat(request: HttpRequest, digits: str) -> HttpResponse:
    phone, _created = SimPhone.objects.get_or_create(digits=digits)
    for message in phone.messages.filter(direction=SimMessage.OUT, status="delivered"):
        # Opening the chat is the person reading it: Meta would send "read" now.
        SimMessage.objects.filter(pk=message.pk).update(status="read")
        webhooks.deliver(webhooks.status_body(message.wamid, "read", digits, message.callback_data))
    items = [_render(m) for m in phone.messages.all()]
    return render(request, "wa_simulator/chat.html", {"phone": phone, "items": items})


@require_POST
@requires_simulator
def act(request: HttpRequest, digits: str) -> HttpResponse:
    phone = get_object_or_404(SimPhone, digits=digits)
    action = request.POST.get("action", "")
    if action == "text":
        text = request.POST.get("text", "").strip()
        if not text:
            return HttpResponseBadRequest(_("Type a message first."))
        _inbound(phone, "text", {"body": text[:4096]})
    elif action in ("button", "interactive"):
        sent = get_object_or_404(SimMessage, wamid=request.POST.get("message", ""), phone=phone)
        title, reply_id = request.POST.get("title", "")[:20], request.POST.get("id", "")[:256]
        if action == "button":
            _inbound(phone, "button", {"text": title, "payload": reply_id or title}, context=sent.wamid)
        else:
            part = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
            _inbound(phone, "interactive", part, context=sent.wamid)
    elif action == "stop_marketing":
        phone.marketing_stopped = True
        phone.save(update_fields=["marketing_stopped"])
        webhooks.deliver(webhooks.marketing_preference_body(digits, "stop"))
    elif action == "toggle_unreachable":
        phone.unreachable = not phone.unreachable
        phone.save(update_fields=["unreachable"])
    else:
        return HttpResponseBadRequest(_("Unknown action."))
    return redirect("wa_simulator:chat", digits=digits)


def _inbound(phone: SimPhone, kind: str, part: dict[str, Any], context: str = "") -> None:
    wamid = webhooks.new_wamid()
    phone.last_inbound_at = timezone.now()
    phone.save(update_fields=["last_inbound_at"])
    SimMessage.objects.create(direction=SimMessage.IN, phone=phone, wamid=wamid, kind=kind, payload=part)
    webhooks.deliver(webhooks.inbound_body(phone.digits, wamid, kind, part, context))


def _render(message: SimMessage) -> dict[str, Any]:
    """Text, footer and buttons of one message, as the phone shows it."""
    item: dict[str, Any] = {"message": message, "text": "", "footer": "", "buttons": [], "button_action": ""}
    payload = message.payload
    if message.direction == SimMessage.IN:
        item["text"] = (
            payload.get("body") or payload.get("text") or (payload.get("button_reply") or {}).get("title", "")
        )
    elif message.kind == "template":
        _render_template(item, payload.get("template") or {})
    elif message.kind == "interactive":
        interactive = payload.get("interactive") or {}
        item["text"] = (interactive.get("body") or {}).get("text", "")
        item["button_action"] = "interactive"
        item["buttons"] = [
            {"id": b["reply"]["id"], "title": b["reply"]["title"]}
            for b in (interactive.get("action") or {}).get("buttons", [])
            if "reply" in b
        ]
    else:
        item["text"] = (payload.get("text") or {}).get("body", "")
    return item


def _render_template(item: dict[str, Any], spec: dict[str, Any]) -> None:
    template = SimTemplate.objects.filter(
        name=spec.get("name"), language=(spec.get("language") or {}).get("code")
    ).first()
    if template is None:
        item["text"] = spec.get("name", "")
        return
    components = spec.get("components", [])
    params = next((c.get("parameters", []) for c in components if c.get("type") == "body"), [])
    text = template.body_text()
    for index, param in enumerate(params, start=1):
        text = text.replace(f"{{{{{index}}}}}", str(param.get("text", "")))
    payloads = {
        int(c.get("index", 0)): c["parameters"][0].get("payload", "")
        for c in components
        if c.get("type") == "button" and c.get("parameters")
    }
    item.update(
        text=text,
        footer=template.footer_text(),
        button_action="button",
        buttons=[
            {"id": payloads.get(i, label), "title": label} for i, label in enumerate(template.quick_replies())
        ],
    )
