"""Shared pieces of the order-notification tests: the demo shop, the registry, a guest checkout."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from oscar.core.loading import get_model

from wagtail_wa_consent.orders.defaults import placed_rule as default_placed_rule
from wagtail_wa_consent.orders.models import NotificationRule
from wagtail_wa_consent.simulator.seed import copy_to_registry

Order = get_model("order", "Order")
Product = get_model("catalogue", "Product")

ADDRESS = {
    "first_name": "Lena",
    "last_name": "Berg",
    "line1": "Hauptstr. 1",
    "line4": "Berlin",
    "postcode": "10115",
    "country": "DE",
    "phone_number": "0151 23456789",
}
PHONE = "+4915123456789"


@pytest.fixture
def shop(db) -> None:
    call_command("sandbox_demo_data", verbosity=0)
    copy_to_registry()


@pytest.fixture
def placed_rule(shop) -> NotificationRule:
    """The order confirmation rule, as the sandbox's demo data sets it up."""
    return default_placed_rule()


def guest_checkout(client: Any, capture: Any, **boxes: str) -> Any:
    """Buy one product as a guest; ``boxes`` are extra fields posted with "Place order"."""
    product = Product.objects.filter(stockrecords__isnull=False).first()
    assert client.post(f"/basket/add/{product.pk}/", {"quantity": 1}).status_code == 302
    client.post("/checkout/", {"options": "anonymous", "username": "guest@example.com"})
    assert client.post("/checkout/shipping-address/", ADDRESS).status_code == 302
    preview = client.get("/checkout/preview/", follow=True)
    assert preview.status_code == 200
    with capture(execute=True):
        placed = client.post(
            "/checkout/preview/",
            {"action": "place_order", **boxes},
            HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) checkout-test",
            REMOTE_ADDR="203.0.113.77",
            HTTP_REFERER="http://testserver/checkout/preview/?x=1",
        )
    assert placed.status_code == 302 and placed.url.endswith("/checkout/thank-you/"), placed.content[:500]
    return Order.objects.order_by("-pk").first()
