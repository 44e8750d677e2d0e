"""A guest buys in the sandbox in a real browser: with both WhatsApp boxes ticked the simulator
phone shows the order confirmation with the order number and total; unticked, nothing is sent; a
STOP typed on the phone before shipping stops the shipping message."""

from __future__ import annotations

import pytest
from oscar.core.loading import get_model
from playwright.sync_api import Page, expect

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.models import Contact
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.orders.models import NotificationRule

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

Order = get_model("order", "Order")
ShippingEvent = get_model("order", "ShippingEvent")
ShippingEventType = get_model("order", "ShippingEventType")
Product = get_model("catalogue", "Product")
NUMBER = "+4915123456789"
DIGITS = NUMBER.lstrip("+")


@pytest.fixture
def placed_rule(demo) -> str:
    """The demo data's notification rules (order confirmation, status, shipping) are in place."""
    assert NotificationRule.objects.filter(event__in=["placed", "shipping"]).count() == 2
    return demo


def buy_as_guest(page: Page, base: str, shot, *, tick: bool) -> None:
    product = Product.objects.filter(stockrecords__isnull=False).first()
    page.goto(f"{base}{product.get_absolute_url()}")
    page.locator("#add_to_basket_form button[type=submit]").click()
    page.goto(f"{base}/checkout/")
    page.fill("#id_username", "guest@example.com")
    page.check("input[name=options][value=anonymous]")
    page.locator("form button[type=submit]", has_text="Continue").first.click()
    page.fill("#id_first_name", "Lena")
    page.fill("#id_last_name", "Berg")
    page.fill("#id_line1", "Hauptstr. 1")
    page.fill("#id_line4", "Berlin")
    page.fill("#id_postcode", "10115")
    if page.locator("#id_country").count():
        page.select_option("#id_country", "DE")
    page.fill("#id_phone_number", "0151 23456789")
    page.locator("#new_shipping_address button[type=submit]").click()
    page.locator("#view_preview").click()
    boxes = page.locator("#wa-checkout-opt-in input[type=checkbox]")
    expect(boxes).to_have_count(2)
    for i in range(2):
        expect(boxes.nth(i)).not_to_be_checked()  # never pre-ticked
    expect(page.locator("#wa_phone")).to_have_value(NUMBER)  # from the shipping address
    if tick:
        page.check("#wa_order_updates")
        page.check("#wa_offers")
    step = "ticked" if tick else "unticked"
    shot(f"01-preview-{step}")
    page.locator("#place-order").click()
    page.wait_for_url("**/checkout/thank-you/")
    shot(f"02-thank-you-{step}")


def test_guest_checkout_sends_the_confirmation_only_when_ticked(page: Page, placed_rule, shot, offline):
    """One browser test for both purchases (a second live-server test in this module would have
    to restore the serialized database, which Playwright's event loop does not allow here)."""
    # Unticked: the order goes through, nothing is recorded or sent.
    buy_as_guest(page, placed_rule, shot, tick=False)
    assert Order.objects.count() == 1
    assert not Contact.objects.filter(phone_e164=NUMBER).exists()
    assert not OutboundMessage.objects.exists()

    # Both boxes ticked: single opt-in for order updates, double opt-in request for offers, and
    # the order confirmation on the simulator's phone with the order number and total.
    buy_as_guest(page, placed_rule, shot, tick=True)
    order = Order.objects.order_by("-pk").first()
    contact = Contact.objects.get(phone_e164=NUMBER)
    assert service.current_status(contact, "transactional") == "subscribed"
    assert service.current_status(contact, "marketing") == "pending"
    message = OutboundMessage.objects.get(idempotency_key=f"order:{order.number}:placed")
    assert message.status in {"sent", "delivered", "read"}, message.reason
    assert OutboundMessage.objects.filter(idempotency_key__startswith="order:").count() == 1
    page.goto(f"{placed_rule}/wa-simulator/phone/{DIGITS}/")
    chat = page.locator("body")
    expect(chat).to_contain_text(f"thank you for your order {order.number}")
    expect(chat).to_contain_text(message.parameters[2])  # the total with its currency
    expect(chat).to_contain_text(f"{order.total_incl_tax:.2f}")
    shot("03-phone")

    # The shopper types STOP before the parcel leaves: the shipping message must not go out.
    page.locator("#composer-text").fill("STOP")
    page.locator("form.composer button[type=submit]").click()
    assert service.current_status(contact, "transactional") == "unsubscribed"
    shot("04-stop-on-phone")
    shipped = ShippingEventType.objects.get_or_create(name="Shipped")[0]
    ShippingEvent.objects.create(order=order, event_type=shipped, notes="TRK123")  # the merchant ships
    shipping = OutboundMessage.objects.get(idempotency_key=f"order:{order.number}:shipping:shipped")
    assert (shipping.status, shipping.reason) == ("denied", "withdrawn")
    page.goto(f"{placed_rule}/wa-simulator/phone/{DIGITS}/")
    expect(page.locator("body")).not_to_contain_text("is on its way")
    shot("05-no-shipping-message")
    assert offline == []
