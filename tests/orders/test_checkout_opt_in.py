"""The checkout boxes: unticked by default, recorded with full evidence, nothing when unticked."""

from __future__ import annotations

import pytest

from wagtail_wa_consent.consent.enums import Status
from wagtail_wa_consent.consent.models import ConsentEvent
from wagtail_wa_consent.consent.service import current_status, find_contact
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.orders.models import CheckoutChoice, OrderSubscription

from .conftest import PHONE, Product, guest_checkout

pytestmark = pytest.mark.django_db


def _to_preview(client):
    product = Product.objects.filter(stockrecords__isnull=False).first()
    client.post(f"/basket/add/{product.pk}/", {"quantity": 1})
    client.post("/checkout/", {"options": "anonymous", "username": "guest@example.com"})
    from .conftest import ADDRESS

    client.post("/checkout/shipping-address/", ADDRESS)
    client.get("/checkout/preview/", follow=True)  # shipping method, payment method, payment details
    return client.get("/checkout/preview/")


def test_preview_shows_two_unticked_boxes_and_the_prefilled_number(client, shop):
    page = _to_preview(client).content.decode()
    assert 'name="wa_order_updates" value="1"' in page and 'name="wa_offers" value="1"' in page
    assert "checked" not in page.split('id="wa-checkout-opt-in"')[1].split("</fieldset>")[0]
    assert f'value="{PHONE}"' in page
    assert 'form="place_order_form"' in page
    assert "Send me updates about this order on WhatsApp from Sandbox Shop GmbH." in page


def test_both_boxes_ticked_record_single_and_double_opt_in(
    client, shop, placed_rule, django_capture_on_commit_callbacks
):
    order = guest_checkout(
        client,
        django_capture_on_commit_callbacks,
        wa_order_updates="1",
        wa_offers="1",
        wa_phone=PHONE,
    )
    contact = find_contact(PHONE)
    assert current_status(contact, "transactional") == Status.SUBSCRIBED
    assert current_status(contact, "marketing") == Status.PENDING
    events = {e.category: e for e in ConsentEvent.objects.filter(contact=contact)}
    transactional = events["transactional"]
    assert transactional.source == "checkout" and transactional.reference == order.number
    assert transactional.opt_in_level == "single"
    assert "updates about this order" in transactional.wording.text and transactional.language == "en"
    assert transactional.page_url == "http://testserver/checkout/preview/"
    assert transactional.personal_evidence.ip_address == "203.0.113.0"
    assert "checkout-test" in transactional.personal_evidence.user_agent
    marketing = events["marketing"]
    assert marketing.reference == order.number and "offers" in marketing.wording.text
    assert OrderSubscription.objects.get(order=order).contact == contact
    assert not CheckoutChoice.objects.exists()
    # The order confirmation went out with the right number and total, plus the double opt-in.
    sent = {m.template_name: m for m in OutboundMessage.objects.filter(contact=contact)}
    confirmation = sent["order_confirmation"]
    assert confirmation.idempotency_key == f"order:{order.number}:placed"
    assert confirmation.status == "sent", confirmation.reason
    assert confirmation.parameters[0] == "Lena" and confirmation.parameters[1] == order.number
    assert "€" in confirmation.parameters[2] and f"{order.total_incl_tax:.2f}" in confirmation.parameters[2]
    templates = [p["template"]["name"] for p in locmem.outbox if p.get("type") == "template"]
    assert "order_confirmation" in templates


def test_unticked_records_and_sends_nothing(client, shop, placed_rule, django_capture_on_commit_callbacks):
    guest_checkout(client, django_capture_on_commit_callbacks, wa_phone=PHONE)
    assert find_contact(PHONE) is None
    assert not ConsentEvent.objects.exists() and not OutboundMessage.objects.exists()
    assert not locmem.outbox and not CheckoutChoice.objects.exists()


def test_only_offers_ticked_sends_no_order_update(
    client, shop, placed_rule, django_capture_on_commit_callbacks
):
    guest_checkout(client, django_capture_on_commit_callbacks, wa_offers="1", wa_phone=PHONE)
    contact = find_contact(PHONE)
    assert current_status(contact, "marketing") == Status.PENDING
    assert current_status(contact, "transactional") == Status.NOT_SUBSCRIBED
    assert not OutboundMessage.objects.filter(idempotency_key__startswith="order:").exists()


def test_number_falls_back_to_the_shipping_address(
    client, shop, placed_rule, django_capture_on_commit_callbacks
):
    guest_checkout(client, django_capture_on_commit_callbacks, wa_order_updates="1", wa_phone="")
    assert current_status(find_contact(PHONE), "transactional") == Status.SUBSCRIBED


def test_invalid_number_records_nothing_and_the_order_still_goes_through(
    client, shop, placed_rule, django_capture_on_commit_callbacks
):
    order = guest_checkout(client, django_capture_on_commit_callbacks, wa_order_updates="1", wa_phone="12")
    assert order is not None
    assert not ConsentEvent.objects.exists() and not OutboundMessage.objects.exists()


def test_signed_in_checkout_links_the_contact_to_the_user(
    client, shop, placed_rule, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    from .conftest import ADDRESS, Order

    user = get_user_model().objects.create_user("lena", "lena@example.com", "pw", first_name="Lena")
    client.force_login(user)
    product = Product.objects.filter(stockrecords__isnull=False).first()
    client.post(f"/basket/add/{product.pk}/", {"quantity": 1})
    assert client.post("/checkout/shipping-address/", ADDRESS).status_code == 302
    client.get("/checkout/preview/", follow=True)
    assert b'id="wa-checkout-opt-in"' in client.get("/checkout/preview/").content
    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post("/checkout/preview/", {"action": "place_order", "wa_order_updates": "1"})
    assert placed.status_code == 302
    order = Order.objects.get(user=user)
    contact = find_contact(PHONE)
    assert contact.user == user and current_status(contact, "transactional") == Status.SUBSCRIBED
    assert OutboundMessage.objects.get(idempotency_key=f"order:{order.number}:placed").status == "sent"


def test_an_abandoned_choice_is_replaced_and_old_ones_are_purged(rf, shop):
    from datetime import timedelta

    from django.utils import timezone

    from wagtail_wa_consent.orders.checkout import store_choice

    old = CheckoutChoice.objects.create(basket_id=999, order_updates=True, phone_e164=PHONE)
    CheckoutChoice.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    request = rf.post("/checkout/preview/", {"wa_order_updates": "1", "wa_phone": PHONE})
    first = store_choice(request, 1)
    assert first is not None and not CheckoutChoice.objects.filter(pk=old.pk).exists()
    assert store_choice(rf.post("/checkout/preview/", {}), 1) is None
    assert not CheckoutChoice.objects.exists()
