"""Meta's webhook JSON -> normalised events (events.py).

Total: for any JSON value it returns a list of events or raises :class:`MalformedWebhook`. A body
that is not a WhatsApp envelope is malformed; inside a good envelope a malformed item is skipped
(and logged without personal data) so one bad item never loses the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from . import events as ev
from .keywords import match_keyword

logger = logging.getLogger("wagtail_wa_consent.webhooks")


class MalformedWebhook(ValueError):
    """The body is not a WhatsApp Business Account webhook."""


def parse_webhook(body: Any) -> list[ev.Event]:
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        raise MalformedWebhook("not a whatsapp_business_account webhook")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise MalformedWebhook("'entry' is not a list")
    found: list[ev.Event] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            logger.warning("webhook entry without a changes list skipped")
            continue
        waba_id = _str(entry.get("id"))
        for change in entry["changes"]:
            found.extend(_safely(_parse_change, change, waba_id))
    return found


def _safely(parse: Callable[..., Iterator[ev.Event]], *args: Any) -> list[ev.Event]:
    try:
        return list(parse(*args))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        logger.warning("malformed webhook item skipped (%s)", type(error).__name__)
        return []


def _parse_change(change: Any, waba_id: str | None) -> Iterator[ev.Event]:
    if not isinstance(change, dict):
        return
    field_name = _str(change.get("field")) or ""
    value = change.get("value")
    if not isinstance(value, dict):
        return
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    ctx = {"phone_number_id": _str(metadata.get("phone_number_id")), "waba_id": waba_id}
    parser = _FIELD_PARSERS.get(field_name)
    if parser is None:
        yield ev.UnknownUpdate(raw=value, field_name=field_name, **ctx)
        return
    yield from parser(value, ctx)


# --- field: messages ---------------------------------------------------------------------------


def _messages(value: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    for message in _list(value.get("messages")):
        yield from _safely(_message, message, contacts, ctx)
    for status in _list(value.get("statuses")):
        yield from _safely(_status, status, ctx)


def _message(message: Any, contacts: list[dict[str, Any]], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    if not isinstance(message, dict) or not _str(message.get("id")):
        return
    kind = _str(message.get("type")) or "unknown"
    sender = _str(message.get("from"))
    contact = _contact_for(contacts, sender)
    if kind == "system":
        yield from _system(message, ctx)
        return
    text, payload = _text_and_payload(message, kind)
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    referral = message.get("referral") if isinstance(message.get("referral"), dict) else None
    yield ev.InboundMessage(
        raw=message,
        message_id=_str(message["id"]) or "",
        from_phone=sender,
        from_user_id=_str(message.get("from_user_id")) or _str(contact.get("user_id")),
        profile_name=_str((contact.get("profile") or {}).get("name"))
        if isinstance(contact.get("profile"), dict)
        else None,
        timestamp=_time(message.get("timestamp")),
        type=kind,
        text=text,
        payload=payload,
        context_message_id=_str(context.get("id")),
        referral=referral,
        keyword=match_keyword(text, payload),
        **ctx,
    )


def _text_and_payload(message: dict[str, Any], kind: str) -> tuple[str | None, str | None]:
    part = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        return _str(part.get("body")), None
    if kind == "button":
        return _str(part.get("text")), _str(part.get("payload"))
    if kind == "interactive":
        for reply_kind in ("button_reply", "list_reply"):
            reply = part.get(reply_kind)
            if isinstance(reply, dict):
                return _str(reply.get("title")), _str(reply.get("id"))
    return None, None


def _system(message: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    system = message.get("system") if isinstance(message.get("system"), dict) else {}
    kind = _str(system.get("type"))
    if kind == "user_changed_number":
        yield ev.NumberChange(
            raw=message,
            old_phone=_str(message.get("from")),
            new_phone=_str(system.get("wa_id")) or _str(system.get("new_wa_id")),
            message_id=_str(message.get("id")),
            **ctx,
        )
    elif kind in ("user_changed_user_id", "user_id_update"):
        yield ev.UserIdUpdate(
            raw=message,
            old_user_id=_str(system.get("previous_user_id") or message.get("from_user_id")),
            new_user_id=_str(system.get("user_id") or system.get("new_user_id")),
            **ctx,
        )
    else:
        yield ev.UnknownUpdate(raw=message, field_name=f"messages.system.{kind}", **ctx)


def _status(status: Any, ctx: dict[str, Any]) -> Iterator[ev.Event]:
    if not isinstance(status, dict) or not _str(status.get("id")):
        return
    pricing = status.get("pricing") if isinstance(status.get("pricing"), dict) else {}
    yield ev.StatusUpdate(
        raw=status,
        message_id=_str(status["id"]) or "",
        status=ev.DeliveryStatus(_str(status.get("status")) or "unknown"),
        timestamp=_time(status.get("timestamp")),
        recipient_phone=_str(status.get("recipient_id")),
        recipient_user_id=_str(status.get("recipient_user_id")),
        biz_opaque_callback_data=_str(status.get("biz_opaque_callback_data")),
        errors=[e for e in _list(status.get("errors")) if isinstance(e, dict)],
        pricing_category=_str(pricing.get("category")),
        **ctx,
    )


# --- other fields ------------------------------------------------------------------------------


def _template_ids(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "template_id": _str(value.get("message_template_id")),
        "template_name": _str(value.get("message_template_name")),
        "language": _str(value.get("message_template_language")),
    }


def _template_status(value: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    yield ev.TemplateStatusUpdate(
        raw=value,
        event=_str(value.get("event")) or "",
        reason=_str(value.get("reason")),
        **_template_ids(value),
        **ctx,
    )


def _template_category(value: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    yield ev.TemplateCategoryUpdate(
        raw=value,
        previous_category=_str(value.get("previous_category")),
        new_category=_str(value.get("new_category")),
        **_template_ids(value),
        **ctx,
    )


def _template_quality(value: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    yield ev.TemplateQualityUpdate(
        raw=value,
        previous_quality_score=_str(value.get("previous_quality_score")),
        new_quality_score=_str(value.get("new_quality_score")),
        **_template_ids(value),
        **ctx,
    )


def _phone_quality(value: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    yield ev.PhoneNumberQualityUpdate(
        raw=value,
        display_phone_number=_str(value.get("display_phone_number")),
        event=_str(value.get("event")),
        current_limit=_str(value.get("current_limit")),
        messaging_limit_tier=_str(
            value.get("whatsapp_business_manager_messaging_limit")
            or value.get("max_daily_conversations_per_business")
        ),
        **ctx,
    )


def _user_preferences(value: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    for pref in _list(value.get("user_preferences")):
        if not isinstance(pref, dict):
            continue
        phone = _str(pref.get("wa_id"))
        contact = _contact_for(contacts, phone)
        yield ev.MarketingPreferenceUpdate(
            raw=pref,
            phone=phone,
            user_id=_str(pref.get("user_id")) or _str(contact.get("user_id")),
            value=(_str(pref.get("value")) or "").lower(),
            category=_str(pref.get("category")),
            timestamp=_time(pref.get("timestamp")),
            **ctx,
        )


def _account(value: dict[str, Any], ctx: dict[str, Any]) -> Iterator[ev.Event]:
    yield ev.AccountUpdate(raw=value, event=_str(value.get("event")), field_name="account_update", **ctx)


_FIELD_PARSERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Iterator[ev.Event]]] = {
    "messages": _messages,
    "message_template_status_update": _template_status,
    "template_category_update": _template_category,
    "message_template_quality_update": _template_quality,
    "phone_number_quality_update": _phone_quality,
    "user_preferences": _user_preferences,
    "account_update": _account,
}


# --- small, total converters ------------------------------------------------------------------


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text or None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _time(value: Any) -> datetime | None:
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, tz=UTC) if 0 <= seconds < 1e11 else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _contact_for(contacts: list[dict[str, Any]], phone: str | None) -> dict[str, Any]:
    for contact in contacts:
        if phone and _str(contact.get("wa_id")) == phone:
            return contact
    return contacts[0] if len(contacts) == 1 else {}
