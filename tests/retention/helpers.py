"""Builders of the retention tests: a settable clock, contacts with a history, message rows."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from django.apps import apps
from django.utils import timezone

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.models import Contact
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.models import InboundMessage, OutboundMessage, WebhookDelivery

WEB = Evidence(
    source="web_block",
    user_action="ticked unticked checkbox and submitted the form",
    wording="Yes, Sandbox Shop GmbH may send me WhatsApp messages.",
    language="en",
    ip_address="203.0.113.77",
    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
)
YES = Evidence(source="whatsapp", user_action="tapped Yes", message_id="wamid.yes")
NO = Evidence(source="whatsapp", user_action="tapped No", message_id="wamid.no")
STOP = Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.stop")

_numbers = itertools.count(200_000_000)
_keys = itertools.count(1)


def new_number() -> str:
    return f"+4915{next(_numbers):09d}"


class Clock:
    """Stands in for ``django.utils.timezone.now``: every row written takes its time from it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def travel(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@contextmanager
def frozen_clock(start: datetime | None = None) -> Iterator[Clock]:
    clock = Clock(start or timezone.now())
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


def requested(*categories: str, phone: str | None = None) -> Contact:
    contact = service.get_or_create_contact(phone or new_number())
    service.request_opt_in(contact, list(categories or ["marketing"]), WEB)
    return contact


def subscribed(*categories: str, phone: str | None = None) -> Contact:
    contact = requested(*categories, phone=phone)
    service.confirm(contact, YES)
    return contact


def withdrawn(*categories: str, phone: str | None = None) -> Contact:
    contact = subscribed(*categories, phone=phone)
    service.withdraw(contact, STOP)
    return contact


def outbound(contact: Contact, *, status: str = "delivered", category: str = "marketing", **fields: Any):
    now = timezone.now()
    defaults: dict[str, Any] = {
        "idempotency_key": f"test:{next(_keys)}",
        "contact": contact,
        "category": category,
        "kind": "template",
        "template_name": "spring_sale",
        "template_language": "en",
        "parameters": ["Lena", "20%"],
        "content": {"quick_replies": ["STOP_PROMOTIONS"]},
        "status": status,
        "next_attempt_at": now,
        "sent_at": now if status in ("sent", "delivered", "read") else None,
        "wamid": f"wamid.out{next(_keys)}",
    }
    return OutboundMessage.objects.create(**{**defaults, **fields})


def inbound(contact: Contact | None, text: str = "Where is my order?") -> InboundMessage:
    return InboundMessage.objects.create(
        contact=contact,
        wamid=f"wamid.in{next(_keys)}",
        type="text",
        text=text,
        payload="ORDER_HELP",
        keyword="HELP",
        received_at=timezone.now(),
    )


def webhook(*, processed: bool = True, body: str = '{"wa_id": "4915123456789"}') -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        dedupe_key=f"dedupe{next(_keys)}", body=body, processed_at=timezone.now() if processed else None
    )


def snapshot() -> dict[str, Any]:
    """Every row of every table (and the test backend's sent messages), to compare before/after."""
    tables = {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }
    return {**tables, "locmem.outbox": list(map(repr, locmem.outbox))}


def always_open(contact: Contact) -> bool:
    """A ``RETENTION_OPEN_ORDER_CHECK`` for the tests: every contact has an open order."""
    return True
