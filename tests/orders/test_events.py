"""Oscar order events -> the mapped approved templates, once per (order, event) key."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oscar.apps.order.signals import order_line_status_changed
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.messaging import ratelimit
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.models import MessageTemplate, OutboundMessage
from wagtail_wa_consent.orders.defaults import placed_rule
from wagtail_wa_consent.orders.models import NotificationRule, OrderSubscription
from wagtail_wa_consent.orders.notify import event_key, notify
from wagtail_wa_consent.orders.rendering import EventContext
from wagtail_wa_consent.simulator.seed import copy_to_registry

pytestmark = pytest.mark.django_db

ShippingEventType = get_model("order", "ShippingEventType")
ShippingEvent = get_model("order", "ShippingEvent")
PaymentEventType = get_model("order", "PaymentEventType")
PaymentEvent = get_model("order", "PaymentEvent")

CHECKOUT = Evidence(
    source="checkout", user_action="ticked the box at checkout", wording="Order updates", language="en"
)
STOP = Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.stop")
numbers = (f"+4915{n:09d}" for n in itertools.count(200000000))


@pytest.fixture
def rules(db) -> None:
    copy_to_registry()
    NotificationRule.objects.create(
        event="status",
        match="Being processed",
        template_name="order_status_update",
        language="en",
        parameters=["order_number", "status"],
    )
    NotificationRule.objects.create(
        event="shipping",
        template_name="order_shipped",
        language="en",
        parameters=["customer_name", "order_number", "tracking_url"],
        tracking_url="https://track.example/{reference}",
    )
    NotificationRule.objects.create(
        event="payment",
        match="refund",
        template_name="order_status_update",
        language="en",
        parameters=["order_number", "status"],
    )
    NotificationRule.objects.create(
        event="line_status",
        template_name="order_status_update",
        language="en",
        parameters=["order_number", "status"],
    )


def subscribed_order(phone: str | None = None):
    order = create_order()
    order.refresh_from_db()  # the factory leaves an int number on the instance
    contact = service.get_or_create_contact(phone or next(numbers))
    service.grant_single_opt_in(contact, ["transactional"], CHECKOUT.with_changes(reference=order.number))
    OrderSubscription.objects.create(order=order, contact=contact, language="en")
    return order, contact


def test_status_change_sends_the_mapped_template(rules, django_capture_on_commit_callbacks):
    order, _contact = subscribed_order()
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Being processed")
    message = OutboundMessage.objects.get(idempotency_key=f"order:{order.number}:status:being-processed")
    assert message.template_name == "order_status_update" and message.status == "sent"
    assert message.parameters == [order.number, "Being processed"]
    assert locmem.outbox[-1]["template"]["name"] == "order_status_update"
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Complete")  # no rule for "Complete": nothing
    assert OutboundMessage.objects.count() == 1


def test_no_subscription_no_message(rules, django_capture_on_commit_callbacks):
    order = create_order()
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Being processed")
    assert not OutboundMessage.objects.exists()


def test_shipping_event_carries_the_tracking_url(rules, django_capture_on_commit_callbacks):
    order, _contact = subscribed_order()
    shipped = ShippingEventType.objects.create(name="Shipped")
    with django_capture_on_commit_callbacks(execute=True):
        ShippingEvent.objects.create(order=order, event_type=shipped, notes="TRK123")
    message = OutboundMessage.objects.get(idempotency_key=f"order:{order.number}:shipping:shipped")
    assert message.parameters[1:] == [order.number, "https://track.example/TRK123"]
    assert message.status == "sent"


def test_refund_payment_event(rules, django_capture_on_commit_callbacks):
    order, _contact = subscribed_order()
    refund = PaymentEventType.objects.create(name="Refund")
    with django_capture_on_commit_callbacks(execute=True):
        PaymentEvent.objects.create(order=order, event_type=refund, amount=order.total_incl_tax)
    assert (
        OutboundMessage.objects.get(idempotency_key=f"order:{order.number}:payment:refund").status == "sent"
    )


def test_line_status_change(rules, django_capture_on_commit_callbacks):
    order, _contact = subscribed_order()
    line = order.lines.get()
    # Oscar's own signal, as AbstractLine.set_status sends it (the sandbox has no line pipeline).
    with django_capture_on_commit_callbacks(execute=True):
        for _repeat in range(2):
            order_line_status_changed.send(sender=line, line=line, old_status="Pending", new_status="Shipped")
    assert OutboundMessage.objects.filter(
        idempotency_key=f"order:{order.number}:line_status:shipped"
    ).exists()


def test_stop_before_shipping_prevents_the_shipping_message(rules, django_capture_on_commit_callbacks):
    order, contact = subscribed_order()
    service.withdraw(contact, STOP)
    shipped = ShippingEventType.objects.create(name="Shipped")
    with django_capture_on_commit_callbacks(execute=True):
        ShippingEvent.objects.create(order=order, event_type=shipped, notes="TRK123")
    message = OutboundMessage.objects.get(idempotency_key=f"order:{order.number}:shipping:shipped")
    assert (message.status, message.reason) == ("denied", "withdrawn")
    assert not locmem.outbox


def test_paused_template_fails_visibly(rules, django_capture_on_commit_callbacks):
    MessageTemplate.objects.filter(name="order_status_update").update(status="PAUSED")
    order, _contact = subscribed_order()
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Being processed")
    message = OutboundMessage.objects.get()
    assert (message.status, message.reason) == ("denied", "template_paused")


def test_customer_language_with_fallback(rules, django_capture_on_commit_callbacks):
    NotificationRule.objects.create(
        event="placed",
        template_name="order_confirmation",
        language="en",
        parameters=["customer_name", "order_number", "total"],
    )
    german, _ = subscribed_order()
    OrderSubscription.objects.filter(order=german).update(language="de-de")
    with django_capture_on_commit_callbacks(execute=True):
        de = notify(german, "placed")
        german.set_status("Being processed")  # order_status_update has no German version
    assert de.template_language == "de" and "€" in de.parameters[2]
    status = OutboundMessage.objects.get(idempotency_key__endswith=":status:being-processed")
    assert status.template_language == "en"


EVENTS = [
    ("placed", ""),
    ("status", "Being processed"),
    ("status", "Complete"),
    ("shipping", "shipped"),
    ("payment", "refund"),
    ("line_status", "Shipped"),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=15))
def test_random_and_repeated_events_never_send_twice_per_key(rules, sequence):
    placed_rule()
    locmem.outbox.clear()
    ratelimit.reset()  # rolled-back examples reuse the contact's id
    try:
        with transaction.atomic():
            order, _contact = subscribed_order()
            for event, match in sequence:
                notify(order, event, match=match, context=EventContext(status=match))
            rows = list(OutboundMessage.objects.filter(idempotency_key__startswith=f"order:{order.number}:"))
            keys = Counter(m.idempotency_key for m in rows)
            expected = {
                event_key(order.number, e, m if e != "placed" else "")
                for e, m in sequence
                if not (e == "status" and m == "Complete")  # no rule
            }
            assert set(keys) == expected and max(keys.values(), default=1) == 1
            # Dispatching every row, twice over, sends each key once.
            from wagtail_wa_consent.messaging.dispatcher import dispatch

            for message in rows + rows:
                dispatch(message.pk)
            states = [(m.idempotency_key, m.status, m.reason) for m in OutboundMessage.objects.all()]
            assert len(locmem.outbox) == len(expected), states
            raise _Rollback
    except _Rollback:
        pass


class _Rollback(Exception):
    pass
