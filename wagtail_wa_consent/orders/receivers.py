"""Receivers on Oscar's signals. Thin: they call ``checkout`` and ``notify``.

Shipping and payment events have no Oscar signal (they are made by the order app's EventHandler),
so their rows' ``post_save`` is used; this works without forking Oscar's order app.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from oscar.apps.checkout.signals import pre_payment
from oscar.apps.order.signals import order_line_status_changed, order_placed, order_status_changed
from oscar.core.loading import get_model

from .checkout import apply_choice, store_choice
from .models import OrderEvent
from .notify import notify
from .rendering import EventContext

logger = logging.getLogger("wagtail_wa_consent.orders")


def _safely(what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``func`` in a savepoint: a WhatsApp problem must never cost the shop an order."""
    try:
        with transaction.atomic():
            return func(*args, **kwargs)
    except Exception:
        logger.exception("WhatsApp %s failed", what)
        return None


def on_pre_payment(sender: Any, view: Any, **kwargs: Any) -> None:
    request = view.request
    basket = getattr(request, "basket", None)
    if basket is None or not basket.pk:
        return
    region, phone = None, ""
    try:
        address = view.get_shipping_address(basket)
    except Exception:  # no shipping needed (digital goods) or an incomplete session
        address = None
    if address is not None:
        region = getattr(getattr(address, "country", None), "iso_3166_1_a2", None)
        phone = address.phone_number.as_e164 if getattr(address, "phone_number", None) else ""
    _safely("checkout choice", store_choice, request, basket.pk, region=region, fallback_phone=phone)


def on_order_placed(sender: Any, order: Any, user: Any = None, **kwargs: Any) -> None:
    _safely("checkout opt-in", apply_choice, order, user)
    _safely("order notification", notify, order, OrderEvent.PLACED)


def on_order_status_changed(sender: Any, order: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
    _safely(
        "order notification",
        notify,
        order,
        OrderEvent.STATUS,
        match=new_status,
        context=EventContext(status=new_status),
    )


def on_line_status_changed(sender: Any, line: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
    _safely(
        "order notification",
        notify,
        line.order,
        OrderEvent.LINE_STATUS,
        match=new_status,
        context=EventContext(status=new_status),
    )


def on_shipping_event(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if not created or raw:
        return
    event_type = instance.event_type
    _safely(
        "order notification",
        notify,
        instance.order,
        OrderEvent.SHIPPING,
        match=event_type.code,
        context=EventContext(status=event_type.name, tracking_reference=(instance.notes or "").strip()[:200]),
    )


def on_payment_event(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if not created or raw:
        return
    event_type = instance.event_type
    _safely(
        "order notification",
        notify,
        instance.order,
        OrderEvent.PAYMENT,
        match=event_type.code,
        context=EventContext(status=event_type.name),
    )


def connect() -> None:
    pre_payment.connect(on_pre_payment, dispatch_uid="wa_orders_pre_payment")
    order_placed.connect(on_order_placed, dispatch_uid="wa_orders_order_placed")
    order_status_changed.connect(on_order_status_changed, dispatch_uid="wa_orders_status_changed")
    order_line_status_changed.connect(on_line_status_changed, dispatch_uid="wa_orders_line_status_changed")
    post_save.connect(
        on_shipping_event, sender=get_model("order", "ShippingEvent"), dispatch_uid="wa_orders_shipping_event"
    )
    post_save.connect(
        on_payment_event, sender=get_model("order", "PaymentEvent"), dispatch_uid="wa_orders_payment_event"
    )
