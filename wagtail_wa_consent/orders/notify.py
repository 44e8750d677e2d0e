"""Order events -> outbox rows: one message per (order, event) key, in the order's transaction."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import transaction

from ..consent.enums import Category
from ..messaging.models import OutboundMessage
from ..messaging.outbox import enqueue_template
from .models import NotificationRule, OrderEvent, OrderSubscription
from .rendering import EventContext, choose_language, parameter_values

logger = logging.getLogger("wagtail_wa_consent.orders")

KEY_MAX_LENGTH = 200


def key_prefix(order_number: str) -> str:
    """Every notification key of an order starts with this (the dashboard lists them by it)."""
    return f"order:{order_number}:"


def event_key(order_number: str, event: str, match: str = "") -> str:
    """``order:<number>:<event>[:<status or event type>]``; long keys end in a digest instead."""
    key = key_prefix(order_number) + event
    if match:
        key += ":" + "-".join(match.strip().lower().split())
    if len(key) > KEY_MAX_LENGTH:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        key = f"{key[: KEY_MAX_LENGTH - 33]}#{digest}"
    return key


def find_rule(event: str, match: str = "") -> NotificationRule | None:
    """The enabled rule for the exact status / event type, else the event's catch-all rule."""
    rules = NotificationRule.objects.filter(event=event, enabled=True)
    if match and (exact := rules.filter(match__iexact=match.strip()).first()):
        return exact
    return rules.filter(match="").first()


def notify(
    order: Any, event: str, *, match: str = "", context: EventContext | None = None
) -> OutboundMessage | None:
    """Queue the notification of ``event`` for ``order``, once per key, if the shopper asked for
    order updates at checkout and a rule maps the event. Consent is checked again at dispatch."""
    subscription = OrderSubscription.objects.select_related("contact").filter(order_id=order.pk).first()
    if subscription is None:
        return None
    rule = find_rule(event, match)
    if rule is None:
        return None
    key = event_key(order.number, event, match if event != OrderEvent.PLACED else "")
    existing = OutboundMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    contact = subscription.contact
    user_language = getattr(getattr(order, "user", None), "language", "") or ""
    language = choose_language(rule, [subscription.language, contact.language, user_language])
    parameters = parameter_values(rule, order, context or EventContext(status=match), language)
    with transaction.atomic():
        message = enqueue_template(
            contact,
            Category.TRANSACTIONAL,
            key=key,
            template_name=rule.template_name,
            language=language,
            parameters=parameters,
        )
    logger.info("order notification %s queued as message %s", event, message.pk)
    return message
