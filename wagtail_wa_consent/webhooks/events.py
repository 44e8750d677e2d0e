"""Normalised webhook events. Each keeps ``raw``: the part of Meta's JSON it came from."""

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


class DeliveryStatus(enum.StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    DELETED = "deleted"
    WARNING = "warning"
    PLAYED = "played"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> DeliveryStatus:
        logger.warning("unknown delivery status %r mapped to UNKNOWN", value)
        return cls.UNKNOWN


@dataclass(frozen=True, slots=True)
class Event:
    raw: dict[str, Any]
    phone_number_id: str | None = None
    waba_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        canonical = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str)
        return f"{type(self).__name__}:{hashlib.sha256(canonical.encode()).hexdigest()}"


@dataclass(frozen=True, slots=True)
class InboundMessage(Event):
    message_id: str = ""
    from_phone: str | None = None
    from_user_id: str | None = None
    profile_name: str | None = None
    timestamp: datetime | None = None
    type: str = "unknown"
    text: str | None = None
    payload: str | None = None
    context_message_id: str | None = None
    referral: dict[str, Any] | None = None
    keyword: KeywordIntent | None = None

    @property
    def dedupe_key(self) -> str:
        return f"msg:{self.message_id}"


@dataclass(frozen=True, slots=True)
class StatusUpdate(Event):
    message_id: str = ""
    status: DeliveryStatus = DeliveryStatus.UNKNOWN
    timestamp: datetime | None = None
    recipient_phone: str | None = None
    recipient_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    pricing_category: str | None = None

    @property
    def dedupe_key(self) -> str:
        return f"status:{self.message_id}:{self.status}"


@dataclass(frozen=True, slots=True)
class TemplateStatusUpdate(Event):
    event: str = ""
    template_id: str | None = None
    template_name: str | None = None
    language: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateCategoryUpdate(Event):
    template_id: str | None = None
    template_name: str | None = None
    language: str | None = None
    previous_category: str | None = None
    new_category: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateQualityUpdate(Event):
    template_id: str | None = None
    template_name: str | None = None
    language: str | None = None
    previous_quality_score: str | None = None
    new_quality_score: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneNumberQualityUpdate(Event):
    display_phone_number: str | None = None
    event: str | None = None
    current_limit: str | None = None
    messaging_limit_tier: str | None = None


@dataclass(frozen=True, slots=True)
class MarketingPreferenceUpdate(Event):
    phone: str | None = None
    user_id: str | None = None
    value: str = ""
    category: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class NumberChange(Event):
    old_phone: str | None = None
    new_phone: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class UserIdUpdate(Event):
    old_user_id: str | None = None
    new_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class AccountUpdate(Event):
    event: str | None = None
    field_name: str = ""


@dataclass(frozen=True, slots=True)
class UnknownUpdate(Event):
    field_name: str = ""
