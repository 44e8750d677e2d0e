"""Normalised webhook events, made by :func:`~wagtail_wa_consent.webhooks.parser.parse_webhook`.

Every event is a frozen dataclass that keeps ``raw`` (the piece of Meta's JSON it came from: a
message, a status, a ``user_preferences`` item or a change ``value``) and the envelope context:
``waba_id`` (``entry[].id``), ``phone_number_id`` (``value.metadata.phone_number_id``) and
``entry_time`` (``entry[].time``, sent on template and account fields only). Identifiers are
strings exactly as Meta sends them (phone numbers are digits without "+"); a field Meta left
out is ``None``. Users with a WhatsApp username may come with a BSUID (``*_user_id``) and no
phone number at all.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .keywords import KeywordIntent

logger = logging.getLogger("wagtail_wa_consent.webhooks")

__all__ = [
    "AccountUpdate",
    "DeliveryStatus",
    "Event",
    "InboundMessage",
    "KeywordIntent",
    "MarketingPreferenceUpdate",
    "MessageType",
    "NumberChange",
    "PhoneNumberQualityUpdate",
    "StatusUpdate",
    "TemplateCategoryUpdate",
    "TemplateQualityUpdate",
    "TemplateStatusUpdate",
    "UnknownUpdate",
    "UserIdUpdate",
]


class _LenientEnum(enum.StrEnum):
    """A StrEnum that folds case and maps values Meta adds later to ``UNKNOWN`` (logged)."""

    @classmethod
    def _missing_(cls, value: object) -> _LenientEnum:
        if isinstance(value, str):
            folded = value.strip().lower()
            for member in cls:
                if member.value == folded:
                    return member
        logger.warning("unknown %s %r mapped to UNKNOWN", cls.__name__, str(value)[:40])
        return cls("unknown")


class DeliveryStatus(_LenientEnum):
    """``statuses[].status``."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    DELETED = "deleted"
    WARNING = "warning"
    PLAYED = "played"  # a voice message was played
    UNKNOWN = "unknown"


class MessageType(_LenientEnum):
    """``messages[].type`` of an inbound message."""

    TEXT = "text"
    BUTTON = "button"  # a quick-reply button on a template
    INTERACTIVE = "interactive"  # reply button, list, flow or call-permission reply
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"
    REACTION = "reaction"
    LOCATION = "location"
    CONTACTS = "contacts"
    ORDER = "order"
    REQUEST_WELCOME = "request_welcome"
    UNSUPPORTED = "unsupported"  # Meta's own "unknown", with errors[] code 131051
    UNKNOWN = "unknown"


def _digest(*parts: Any) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event."""

    raw: dict[str, Any]
    phone_number_id: str | None = None
    waba_id: str | None = None
    entry_time: datetime | None = None

    @property
    def dedupe_key(self) -> str:
        """``<kind>:<sha256>`` over the canonical JSON of ``raw`` and ``entry_time``.

        ``entry_time`` is included because template and account values carry no time of their
        own: APPROVED -> PAUSED -> APPROVED must give two different APPROVED keys, while Meta's
        re-delivery of the same body gives the same key.
        """
        stamp = self.entry_time.isoformat() if self.entry_time else None
        return f"{type(self).__name__}:{_digest(self.raw, stamp)}"


@dataclass(frozen=True, slots=True)
class InboundMessage(Event):
    """A message a person sent (``value.messages[]``, any type but ``system``/``revoke``/``edit``)."""

    message_id: str = ""
    from_phone: str | None = None
    from_user_id: str | None = None
    from_parent_user_id: str | None = None
    username: str | None = None
    profile_name: str | None = None
    timestamp: datetime | None = None
    type: MessageType = MessageType.UNKNOWN
    text: str | None = None
    payload: str | None = None
    context_message_id: str | None = None
    referral: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    keyword: KeywordIntent | None = None

    @property
    def dedupe_key(self) -> str:
        return f"msg:{self.message_id}"


@dataclass(frozen=True, slots=True)
class StatusUpdate(Event):
    """Delivery status of a message the business sent (``value.statuses[]``)."""

    message_id: str = ""
    status: DeliveryStatus = DeliveryStatus.UNKNOWN
    timestamp: datetime | None = None
    recipient_phone: str | None = None
    recipient_user_id: str | None = None
    recipient_type: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    pricing_category: str | None = None

    @property
    def error_code(self) -> int | None:
        """Code of the first error (``failed`` statuses), e.g. 131050."""
        return self.errors[0].get("code") if self.errors else None

    @property
    def dedupe_key(self) -> str:
        return f"status:{self.message_id}:{self.status}"


@dataclass(frozen=True, slots=True)
class TemplateStatusUpdate(Event):
    """``message_template_status_update``: ``event`` is APPROVED, REJECTED, PAUSED, DISABLED, …"""

    event: str = ""
    template_id: str | None = None
    template_name: str | None = None
    language: str | None = None
    reason: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateCategoryUpdate(Event):
    """``template_category_update``: Meta re-categorised a template (e.g. UTILITY -> MARKETING)."""

    template_id: str | None = None
    template_name: str | None = None
    language: str | None = None
    previous_category: str | None = None
    new_category: str | None = None
    correct_category: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateQualityUpdate(Event):
    """``message_template_quality_update``: scores GREEN, YELLOW, RED or UNKNOWN."""

    template_id: str | None = None
    template_name: str | None = None
    language: str | None = None
    previous_quality_score: str | None = None
    new_quality_score: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneNumberQualityUpdate(Event):
    """``phone_number_quality_update``: ``event`` is DOWNGRADE, FLAGGED, UPGRADE, … (not a rating).

    ``messaging_limit_tier`` is the best limit Meta sent: ``max_daily_conversations_per_business``,
    else the deprecated ``current_limit``.
    """

    display_phone_number: str | None = None
    event: str | None = None
    current_limit: str | None = None
    old_limit: str | None = None
    max_daily_conversations_per_business: str | None = None
    messaging_limit_tier: str | None = None


@dataclass(frozen=True, slots=True)
class MarketingPreferenceUpdate(Event):
    """The person stopped or resumed marketing in WhatsApp's settings (``user_preferences``).

    ``value`` is ``stop``, ``resume`` or ``signup`` (lower case); ``category`` is
    ``marketing_messages``.
    """

    phone: str | None = None
    user_id: str | None = None
    value: str = ""
    category: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class NumberChange(Event):
    """System message: the person moved WhatsApp to a new number (``user_changed_number``,
    ``customer_changed_number``, or ``user_changed_user_id`` in the BSUID era).

    ``old_phone`` is the message's ``from``, ``new_phone`` is ``system.wa_id``; either may be
    missing for username users. ``new_user_id`` is ``system.user_id`` (the BSUID changes with the
    number); ``old_user_id`` is the message's ``from_user_id``.
    """

    old_phone: str | None = None
    new_phone: str | None = None
    old_user_id: str | None = None
    new_user_id: str | None = None
    message_id: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserIdUpdate(Event):
    """The person's BSUID changed (``user_id_update`` field, or a number-change system message)."""

    phone: str | None = None
    old_user_id: str | None = None
    new_user_id: str | None = None
    old_parent_user_id: str | None = None
    new_parent_user_id: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccountUpdate(Event):
    """Account-level news: ``account_update``, ``account_alerts``, ``business_capability_update``,
    ``account_review_update``, ``phone_number_name_update``, ``security``.

    ``event`` is the value's ``event`` (or ``alert_type`` / ``decision``);
    ``restriction_types`` lists ``restriction_info[].restriction_type`` of an
    ACCOUNT_RESTRICTION, e.g. RESTRICTED_BIZ_INITIATED_MESSAGING.
    """

    event: str | None = None
    field_name: str = ""
    restriction_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnknownUpdate(Event):
    """Anything else, kept whole: calls, echoes, flows, edits, deletions, new fields.

    ``field_name`` is the change's ``field``, or ``messages.<type>`` for a message the plugin
    does not treat as an inbound message (``messages.edit``, ``messages.revoke``,
    ``messages.system.customer_identity_changed``, ``messages.errors`` …).
    """

    field_name: str = ""
