"""Meta's webhook JSON -> normalised events (``events.py``). Pure Python: no database, no settings.

:func:`parse_webhook` is total: for any JSON value it returns a list of events, or raises
:class:`MalformedWebhook` (and nothing else) when the body is not a WhatsApp envelope. Inside a
good envelope each entry, change, message, status and list item is parsed on its own; a
malformed one is skipped and logged at warning level with the exception type only (no phone
numbers, no message text), so one bad item never loses the others. An unknown field becomes an
:class:`~.events.UnknownUpdate`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from . import events as ev
from .keywords import match_keyword

logger = logging.getLogger("wagtail_wa_consent.webhooks")

__all__ = ["MalformedWebhook", "parse_webhook"]

Ctx = dict[str, Any]
FieldParser = Callable[[dict[str, Any], Ctx], Iterator[ev.Event]]


class MalformedWebhook(ValueError):
    """The body is not a WhatsApp Business Account webhook envelope."""


def parse_webhook(body: Any, *, extra_keywords: Mapping[str, Any] | None = None) -> list[ev.Event]:
    """Normalised events of one webhook body (the decoded JSON), in payload order.

    ``extra_keywords`` is passed to :func:`~.keywords.match_keyword` (the ``EXTRA_KEYWORDS``
    setting). Raises :class:`MalformedWebhook` only for a body that is not an envelope.
    """
    if not isinstance(body, dict):
        raise MalformedWebhook("body is not a JSON object")
    if body.get("object") != "whatsapp_business_account":
        raise MalformedWebhook("'object' is not 'whatsapp_business_account'")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise MalformedWebhook("'entry' is not a list")
    keywords = extra_keywords if isinstance(extra_keywords, Mapping) else None
    found: list[ev.Event] = []
    for entry in entries:
        found.extend(_safely(_entry, entry, keywords))
    return found


def _safely(parse: Callable[..., Iterator[ev.Event]], *args: Any) -> list[ev.Event]:
    """Run one item's parser; any error skips that item only (totality beats a lost batch)."""
    try:
        return list(parse(*args))
    except Exception as error:
        logger.warning("malformed webhook item skipped (%s)", type(error).__name__)
        return []


def _entry(entry: Any, keywords: Mapping[str, Any] | None) -> Iterator[ev.Event]:
    if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
        logger.warning("webhook entry without a changes list skipped")
        return
    base: Ctx = {"waba_id": _str(entry.get("id")), "entry_time": _time(entry.get("time"))}
    for change in entry["changes"]:
        yield from _safely(_change, change, base, keywords)


def _change(change: Any, base: Ctx, keywords: Mapping[str, Any] | None) -> Iterator[ev.Event]:
    if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
        logger.warning("webhook change without a value object skipped")
        return
    field_name = _str(change.get("field")) or ""
    value: dict[str, Any] = change["value"]
    ctx = {**base, "phone_number_id": _str(_dict(value.get("metadata")).get("phone_number_id"))}
    if field_name == "messages":
        yield from _messages(value, ctx, keywords)
        return
    parser = _FIELD_PARSERS.get(field_name)
    if parser is None:
        yield ev.UnknownUpdate(raw=value, field_name=field_name, **ctx)
    else:
        yield from parser(value, ctx)


# --- field: messages (inbound messages and statuses) --------------------------------------------


def _messages(value: dict[str, Any], ctx: Ctx, keywords: Mapping[str, Any] | None) -> Iterator[ev.Event]:
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    value_errors = _errors(value.get("errors"))
    for message in _list(value.get("messages")):
        yield from _safely(_message, message, contacts, value_errors, ctx, keywords)
    for status in _list(value.get("statuses")):
        yield from _safely(_status, status, contacts, ctx)
    if "messages" not in value and "statuses" not in value:
        # e.g. a value-level error with nothing else: keep it visible rather than drop it.
        name = "messages.errors" if value_errors else "messages"
        yield ev.UnknownUpdate(raw=value, field_name=name, **ctx)


def _message(
    message: Any,
    contacts: list[dict[str, Any]],
    value_errors: list[dict[str, Any]],
    ctx: Ctx,
    keywords: Mapping[str, Any] | None,
) -> Iterator[ev.Event]:
    if not isinstance(message, dict) or not _id(message.get("id")):
        logger.warning("inbound message without an id skipped")
        return
    kind = _str(message.get("type")) or "unknown"
    if kind == "system":
        yield from _system(message, ctx)
        return
    if kind in ("revoke", "edit"):
        # Changes to an earlier message, not a new one: no keyword, no service window.
        yield ev.UnknownUpdate(raw=message, field_name=f"messages.{kind}", **ctx)
        return
    sender, sender_id = _str(message.get("from")), _id(message.get("from_user_id"))
    contact = _contact_for(contacts, sender, sender_id)
    profile = _dict(contact.get("profile"))
    text, payload = _text_and_payload(message, kind)
    yield ev.InboundMessage(
        raw=message,
        message_id=_id(message["id"]) or "",
        from_phone=sender,
        from_user_id=sender_id or _id(contact.get("user_id")),
        from_parent_user_id=_id(message.get("from_parent_user_id")) or _id(contact.get("parent_user_id")),
        username=_str(profile.get("username")),
        profile_name=_str(profile.get("name")),
        timestamp=_time(message.get("timestamp")),
        type=ev.MessageType(kind),
        text=text,
        payload=payload,
        context_message_id=_id(_dict(message.get("context")).get("id")),
        referral=message["referral"] if isinstance(message.get("referral"), dict) else None,
        errors=_errors(message.get("errors")) or value_errors,
        keyword=match_keyword(text, payload, extra=keywords),
        **ctx,
    )


def _text_and_payload(message: dict[str, Any], kind: str) -> tuple[str | None, str | None]:
    """The words a person sent or tapped, and the button's payload/id (keywords read these)."""
    part = _dict(message.get(kind))
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


_NUMBER_CHANGES = ("user_changed_number", "customer_changed_number", "user_changed_user_id")


def _system(message: dict[str, Any], ctx: Ctx) -> Iterator[ev.Event]:
    system = _dict(message.get("system"))
    kind = _str(system.get("type")) or "unknown"
    timestamp = _time(message.get("timestamp"))
    if kind in _NUMBER_CHANGES:
        old_phone, new_phone = _str(message.get("from")), _str(system.get("wa_id") or system.get("new_wa_id"))
        old_id = _id(message.get("from_user_id") or system.get("previous_user_id"))
        new_id = _id(system.get("user_id"))
        common = {"raw": message, "old_user_id": old_id, "new_user_id": new_id, "timestamp": timestamp, **ctx}
        message_id = _id(message.get("id"))
        yield ev.NumberChange(old_phone=old_phone, new_phone=new_phone, message_id=message_id, **common)
        if new_id and new_id != old_id:
            # The BSUID changes with the number; say so the same way user_id_update does.
            yield ev.UserIdUpdate(
                phone=new_phone or old_phone,
                old_parent_user_id=_id(message.get("from_parent_user_id")),
                new_parent_user_id=_id(system.get("parent_user_id")),
                **common,
            )
    else:
        yield ev.UnknownUpdate(raw=message, field_name=f"messages.system.{kind}", **ctx)


def _status(status: Any, contacts: list[dict[str, Any]], ctx: Ctx) -> Iterator[ev.Event]:
    if not isinstance(status, dict) or not _id(status.get("id")):
        logger.warning("status without a message id skipped")
        return
    group = _str(status.get("recipient_type")) == "group"  # then recipient_id is the group's id
    phone = _str(status.get("recipient_participant_id" if group else "recipient_id"))
    user_id = _id(status.get("recipient_participant_user_id" if group else "recipient_user_id"))
    yield ev.StatusUpdate(
        raw=status,
        message_id=_id(status["id"]) or "",
        status=ev.DeliveryStatus(_str(status.get("status")) or "unknown"),
        timestamp=_time(status.get("timestamp")),
        recipient_phone=phone,
        recipient_user_id=user_id or _id(_contact_for(contacts, phone, None, loose=False).get("user_id")),
        recipient_type=_str(status.get("recipient_type")),
        biz_opaque_callback_data=_str(status.get("biz_opaque_callback_data")),
        errors=_errors(status.get("errors")),
        pricing_category=_str(_dict(status.get("pricing")).get("category")),
        **ctx,
    )


# --- other fields -------------------------------------------------------------------------------


def _ids(value: dict[str, Any]) -> dict[str, str | None]:
    """A template's id (Meta sends a number), name and language."""
    name, language = _str(value.get("message_template_name")), _str(value.get("message_template_language"))
    return {
        "template_id": _str(value.get("message_template_id")),
        "template_name": name,
        "language": language,
    }


def _template_status(value: dict[str, Any], ctx: Ctx) -> Iterator[ev.Event]:
    yield ev.TemplateStatusUpdate(
        raw=value,
        event=_upper(value.get("event")) or "",
        reason=_str(value.get("reason")),
        category=_upper(value.get("message_template_category")),
        **_ids(value),
        **ctx,
    )


def _template_category(value: dict[str, Any], ctx: Ctx) -> Iterator[ev.Event]:
    yield ev.TemplateCategoryUpdate(
        raw=value,
        previous_category=_upper(value.get("previous_category")),
        new_category=_upper(value.get("new_category")),
        correct_category=_upper(value.get("correct_category")),
        **_ids(value),
        **ctx,
    )


def _template_quality(value: dict[str, Any], ctx: Ctx) -> Iterator[ev.Event]:
    yield ev.TemplateQualityUpdate(
        raw=value,
        previous_quality_score=_upper(value.get("previous_quality_score")),
        new_quality_score=_upper(value.get("new_quality_score")),
        **_ids(value),
        **ctx,
    )


def _phone_quality(value: dict[str, Any], ctx: Ctx) -> Iterator[ev.Event]:
    current = _str(value.get("current_limit"))
    max_daily = _str(value.get("max_daily_conversations_per_business"))
    yield ev.PhoneNumberQualityUpdate(
        raw=value,
        display_phone_number=_str(value.get("display_phone_number")),
        event=_upper(value.get("event")),
        current_limit=current,
        old_limit=_str(value.get("old_limit")),
        max_daily_conversations_per_business=max_daily,
        messaging_limit_tier=max_daily or current,
        **ctx,
    )


def _items(key: str, parse: Callable[..., Iterator[ev.Event]]) -> FieldParser:
    """A parser for a field whose value holds a list of items (``value[key]``), each on its own."""

    def parse_all(value: dict[str, Any], ctx: Ctx) -> Iterator[ev.Event]:
        contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
        for item in _list(value.get(key)):
            yield from _safely(parse, item, contacts, ctx)

    return parse_all


def _preference(item: Any, contacts: list[dict[str, Any]], ctx: Ctx) -> Iterator[ev.Event]:
    if not isinstance(item, dict):
        return
    phone, user_id = _str(item.get("wa_id")), _id(item.get("user_id"))
    yield ev.MarketingPreferenceUpdate(
        raw=item,
        phone=phone,
        user_id=user_id or _id(_contact_for(contacts, phone, None).get("user_id")),
        value=(_str(item.get("value")) or "").lower(),
        category=_str(item.get("category")),
        timestamp=_time(item.get("timestamp")),
        **ctx,
    )


def _user_id_update(item: Any, _contacts: list[dict[str, Any]], ctx: Ctx) -> Iterator[ev.Event]:
    if not isinstance(item, dict):
        return
    ids, parents = _dict(item.get("user_id")), _dict(item.get("parent_user_id"))
    yield ev.UserIdUpdate(
        raw=item,
        phone=_str(item.get("wa_id")),
        old_user_id=_id(ids.get("previous")),
        new_user_id=_id(ids.get("current")),
        old_parent_user_id=_id(parents.get("previous")),
        new_parent_user_id=_id(parents.get("current")),
        timestamp=_time(item.get("timestamp")),
        **ctx,
    )


_ACCOUNT_FIELDS = ["account_update", "account_alerts", "business_capability_update"]
_ACCOUNT_FIELDS += ["account_review_update", "phone_number_name_update", "security"]


def _account(field_name: str) -> FieldParser:
    """A parser for an account-level field: its event name and restrictions, the rest in raw."""

    def parse(value: dict[str, Any], ctx: Ctx) -> Iterator[ev.Event]:
        alert = _dict(value.get("alert_info"))  # account_alerts nests its type here
        name = value.get("event") or value.get("alert_type") or alert.get("alert_type")
        items = _list(value.get("restriction_info"))
        restrictions = [_str(_dict(item).get("restriction_type")) for item in items]
        yield ev.AccountUpdate(
            raw=value,
            event=_str(name or value.get("decision")),
            field_name=field_name,
            restriction_types=tuple(kind for kind in restrictions if kind),
            **ctx,
        )

    return parse


_FIELD_PARSERS: dict[str, FieldParser] = {
    "message_template_status_update": _template_status,
    "template_category_update": _template_category,
    "message_template_quality_update": _template_quality,
    "phone_number_quality_update": _phone_quality,
    "user_preferences": _items("user_preferences", _preference),
    "user_id_update": _items("user_id_update", _user_id_update),
    **{name: _account(name) for name in _ACCOUNT_FIELDS},
}


# --- small, total converters --------------------------------------------------------------------


def _str(value: Any) -> str | None:
    """A non-empty stripped string from a str or a number (ids arrive as either), else None.

    Storable in any database: NUL characters (PostgreSQL refuses them) are removed and lone
    surrogates (valid as JSON escapes, not as UTF-8) become U+FFFD.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        text = str(value).strip()
    except ValueError:  # an int too long to print
        return None
    if "\x00" in text:
        text = text.replace("\x00", "").strip()
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return text or None


#: Longer ids are not Meta's (a wamid has about 60 characters, a BSUID about 25) and fit no column.
MAX_ID_LENGTH = 128
_SURROGATE = re.compile("[\ud800-\udfff]")


def _id(value: Any) -> str | None:
    """A message or user id, or None when it is missing or too long to be one."""
    text = _str(value)
    return text if text is None or len(text) <= MAX_ID_LENGTH else None


def _upper(value: Any) -> str | None:
    text = _str(value)
    return text.upper() if text else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _time(value: Any) -> datetime | None:
    """An aware UTC datetime from unix seconds (Meta sends a string or a number)."""
    try:
        seconds = float(value) if _str(value) else -1.0
    except (ValueError, OverflowError):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC) if 0 <= seconds < 1e11 else None  # NaN fails too


def _errors(value: Any) -> list[dict[str, Any]]:
    """``errors[]`` as ``{code, title, message, details}``; ``code`` an int when it is one."""
    found = []
    for error in _list(value):
        if not isinstance(error, dict):
            continue
        code = _str(error.get("code"))
        code = int(code) if code and code.isdigit() and len(code) < 12 else code
        title, message = _str(error.get("title")), _str(error.get("message"))
        details = _str(_dict(error.get("error_data")).get("details"))
        found.append({"code": code, "title": title, "message": message, "details": details})
    return found


def _contact_for(
    contacts: list[dict[str, Any]], phone: str | None, user_id: str | None, *, loose: bool = True
) -> dict[str, Any]:
    """The ``contacts[]`` entry for a sender, matched on wa_id or BSUID, else ``{}``.

    With ``loose``, a single contact that contradicts neither identifier is taken (a username
    user may come without wa_id). A contact whose wa_id or user_id differs is never taken: the
    BSUID of one person must not be pinned on another.
    """
    for contact in contacts:
        if (user_id and _str(contact.get("user_id")) == user_id) or (
            phone and _str(contact.get("wa_id")) == phone
        ):
            return contact
    if loose and len(contacts) == 1:
        contact = contacts[0]
        their_phone, their_id = _str(contact.get("wa_id")), _str(contact.get("user_id"))
        if not (phone and their_phone) and not (user_id and their_id):
            return contact
    return {}
