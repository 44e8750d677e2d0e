"""The sandbox is a working shop: demo data loads twice, pages render, a guest can buy."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from oscar.core.loading import get_model

pytestmark = pytest.mark.django_db

Order = get_model("order", "Order")
Product = get_model("catalogue", "Product")


@pytest.fixture
def demo(db):
    call_command("sandbox_demo_data", verbosity=0)


def test_demo_data_is_idempotent(demo):
    products = Product.objects.count()
    call_command("sandbox_demo_data", verbosity=0)
    assert products >= 4 and Product.objects.count() == products


def test_pages_render(client, demo):
    home = client.get("/")
    assert home.status_code == 200 and b"Sandbox" in home.content
    catalogue = client.get("/catalogue/")
    assert catalogue.status_code == 200
    assert Product.objects.first().title.encode() in catalogue.content
    assert client.get("/cms/login/").status_code == 200
    assert client.get("/dashboard/").status_code == 302


def test_guest_checkout_without_payment(client, demo):
    product = Product.objects.filter(stockrecords__isnull=False).first()
    assert client.post(f"/basket/add/{product.pk}/", {"quantity": 1}).status_code == 302
    gateway = client.post("/checkout/", {"options": "anonymous", "username": "guest@example.com"})
    assert gateway.status_code == 302 and gateway.url.endswith("/checkout/shipping-address/")
    address = client.post(
        "/checkout/shipping-address/",
        {
            "first_name": "Lena",
            "last_name": "Berg",
            "line1": "Hauptstr. 1",
            "line4": "Berlin",
            "postcode": "10115",
            "country": "DE",
            "phone_number": "0151 23456789",
        },
    )
    assert address.status_code == 302, address.content[:2000]
    page = client.get("/checkout/preview/", follow=True)
    assert page.status_code == 200
    placed = client.post("/checkout/preview/", {"action": "place_order"})
    assert placed.status_code == 302 and placed.url.endswith("/checkout/thank-you/")
    order = Order.objects.get()
    assert order.guest_email == "guest@example.com"
    assert order.shipping_address.phone_number.as_e164 == "+4915123456789"
    assert order.lines.get().product == product
