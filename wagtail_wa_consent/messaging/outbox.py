"""Writing to the outbox. A message is a row in the caller's transaction; it is sent after commit.

The idempotency key is unique: asking twice for the same key returns the first row and never
sends twice (DESIGN invariant 3).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..consent.models import Contact
from .models import MessageKind, OutboundMessage

logger = logging.getLogger("wagtail_wa_consent.outbox")


def enqueue_template(
    contact: Contact,
    category: str,
    *,
    key: str,
    template_name: str,
    language: str,
    parameters: Sequence[Any] = (),
    quick_replies: Sequence[str] = (),
) -> OutboundMessage:
    """Queue an approved template message. ``quick_replies`` are the payloads of its buttons."""
    return _enqueue(
        contact,
        category,
        key=key,
        kind=MessageKind.TEMPLATE,
        template_name=template_name,
        template_language=language,
        parameters=[str(p) for p in parameters],
        content={"quick_replies": list(quick_replies)} if quick_replies else {},
    )


def enqueue_text(contact: Contact, category: str, body: str, *, key: str) -> OutboundMessage:
    """Queue a free-form text; it is only sent inside the 24-hour customer-service window."""
    return _enqueue(contact, category, key=key, kind=MessageKind.TEXT, content={"body": body})


def enqueue_interactive(
    contact: Contact, category: str, interactive: dict[str, Any], *, key: str
) -> OutboundMessage:
    """Queue an interactive (reply buttons) message; only inside the service window."""
    return _enqueue(
        contact, category, key=key, kind=MessageKind.INTERACTIVE, content={"interactive": interactive}
    )


def _enqueue(contact: Contact, category: str, *, key: str, **fields: Any) -> OutboundMessage:
    with transaction.atomic():
        message, created = OutboundMessage.objects.get_or_create(
            idempotency_key=key,
            defaults={"contact": contact, "category": category, "next_attempt_at": timezone.now(), **fields},
        )
    if created:
        transaction.on_commit(lambda: schedule_dispatch(message.pk), robust=True)
    else:
        logger.info("outbox key already used, not queued again (message %s)", message.pk)
    return message


def schedule_dispatch(message_id: int, countdown: float = 0) -> None:
    """Hand the row to a Celery worker. If the broker is down the periodic sweep sends it later."""
    from ..tasks import dispatch_outbound

    try:
        dispatch_outbound.apply_async((message_id,), countdown=countdown or None, retry=False)
    except Exception as error:  # broker outage: the row stays queued and the sweep picks it up
        logger.warning(
            "could not queue message %s for dispatch (%s); the sweep will retry",
            message_id,
            type(error).__name__,
        )
