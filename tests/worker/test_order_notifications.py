"""Real Oscar orders through the plugin's receivers, with a real Redis broker and real workers:
a worker killed mid-batch and a broker outage delay order notifications but never lose or
duplicate one (issue 5)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import RequestFactory
from oscar.core.loading import get_model
from oscar.test.factories import create_basket, create_order

from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.orders.checkout import FIELD_ORDER_UPDATES, store_choice
from wagtail_wa_consent.orders.defaults import placed_rule
from wagtail_wa_consent.orders.models import CheckoutChoice, OrderSubscription
from wagtail_wa_consent.orders.notify import event_key
from wagtail_wa_consent.simulator.seed import copy_to_registry

from .scenarios import survive_a_broker_outage, survive_a_killed_worker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

Country = get_model("address", "Country")
ShippingAddress = get_model("order", "ShippingAddress")


def _setup_shop() -> None:
    copy_to_registry()
    placed_rule()


def _phone(n: int) -> str:
    return f"+49152{n + 1:08d}"  # never ending in 0000 (the simulator's unreachable numbers)


def _place_order(n: int) -> str:
    """A guest checkout with the "order updates" box ticked, as the receivers see it: the choice is
    stored against the basket before payment (pre_payment), the order is placed in the request's
    transaction (ATOMIC_REQUESTS) and order_placed turns the choice into consent + the outbox row."""
    phone = _phone(n)
    germany, _created = Country.objects.get_or_create(
        iso_3166_1_a2="DE", defaults={"printable_name": "Germany", "name": "Germany"}
    )
    basket = create_basket()
    request = RequestFactory().post(
        "/checkout/preview/",
        {"action": "place_order", FIELD_ORDER_UPDATES: "1"},
        HTTP_USER_AGENT="Mozilla/5.0 worker-test",
        REMOTE_ADDR="203.0.113.7",
    )
    # What on_pre_payment does: the shipping address's phone is the fallback recipient.
    assert store_choice(request, basket.pk, region="DE", fallback_phone=phone) is not None
    with transaction.atomic():
        address = ShippingAddress.objects.create(
            first_name="Lena",
            last_name=f"Berg {n}",
            line1="Hauptstr. 1",
            line4="Berlin",
            postcode="10115",
            country=germany,
            phone_number=phone,
        )
        order = create_order(basket=basket, shipping_address=address)
    order.refresh_from_db()
    subscription = OrderSubscription.objects.select_related("contact").get(order=order)
    assert subscription.contact.phone_e164 == phone
    return event_key(order.number, "placed")


def _place_orders(count: int) -> list[str]:
    keys = [_place_order(n) for n in range(count)]
    assert not CheckoutChoice.objects.exists()  # every choice was consumed by its order
    assert OutboundMessage.objects.filter(idempotency_key__in=keys).count() == count
    return keys


def _assert_parameters(keys: list[str]) -> None:
    for message in OutboundMessage.objects.filter(idempotency_key__in=keys):
        number = message.idempotency_key.split(":")[1]
        assert message.template_name == "order_confirmation"
        assert message.parameters[:2] == ["Lena", number], message.parameters


def test_worker_killed_mid_batch_of_real_orders(worker_factory):
    _setup_shop()
    keys = _place_orders(40)  # the tasks wait in Redis: placing real orders is slower than sending
    assert all(key.startswith("order:") and key.endswith(":placed") for key in keys)
    _assert_parameters(keys)
    survive_a_killed_worker(worker_factory, keys, kill_after=5)


def test_broker_down_while_real_orders_are_placed(worker_factory, celery_broker):
    _setup_shop()
    keys = survive_a_broker_outage(worker_factory, celery_broker, lambda: _place_orders(10))
    _assert_parameters(keys)
