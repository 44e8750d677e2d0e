"""The chat bubble on the sandbox shop: a shopper ticks the box, WhatsApp opens with the prefilled
sentence, the shopper sends it from their phone (the simulator) and the consent is confirmed;
and the same done with the keyboard only."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.models import ConsentEvent, Contact

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NUMBER = "+4915123456780"
DIGITS = NUMBER.lstrip("+")


def answer_wa_me(page: Page) -> None:
    """wa.me is WhatsApp's site: answer it locally so the test never leaves the machine."""
    page.route(
        re.compile(r"^https://wa\.me/"),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<title>WhatsApp</title>"),
    )


def send_from_phone(page: Page, base: str, text: str) -> None:
    page.goto(f"{base}/wa-simulator/phone/{DIGITS}/")
    page.locator("#composer-text").fill(text)
    page.locator("form.composer button[type=submit]").click()


def test_bubble_opt_in_confirmed_by_the_shoppers_own_message(page: Page, demo, shot, offline):
    answer_wa_me(page)
    page.goto(f"{demo}/")
    toggle = page.locator("[data-wa-bubble-toggle]")
    expect(toggle).to_be_visible()
    shot("01-home-with-bubble")
    toggle.click()
    panel = page.locator("#wa-bubble-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#wa-bubble-offers")).not_to_be_checked()
    panel.locator("#wa-bubble-offers").check()
    panel.locator("#wa-bubble-phone").fill(NUMBER)
    shot("02-bubble-panel-filled")
    with page.expect_request(re.compile(r"^https://wa\.me/")) as opened:
        panel.locator(".wa-bubble__send").click()
    page.wait_for_url(re.compile(r"^https://wa\.me/"))
    url = urlsplit(opened.value.url)
    text = parse_qs(url.query)["text"][0]
    reference = re.search(r"Ref\. ([A-Z2-9]{6})", text).group(1)
    assert url.path == "/4930901820" and "Sandbox Shop GmbH" in text
    contact = Contact.objects.get(phone_e164=NUMBER)
    assert service.current_status(contact, "marketing") == "pending"
    pending = ConsentEvent.objects.get(contact=contact, event_type="requested")
    assert pending.source == "chat_bubble"
    send_from_phone(page, demo, text)  # the shopper presses "send" in WhatsApp
    shot("03-prefilled-message-sent-from-phone")
    assert service.current_status(contact, "marketing") == "subscribed"
    confirmed = ConsentEvent.objects.get(contact=contact, event_type="confirmed")
    assert confirmed.confirming_message_id.startswith("wamid.") and reference in confirmed.user_action
    assert offline == []


def test_bubble_with_the_keyboard_only(page: Page, demo, shot, offline):
    answer_wa_me(page)
    page.goto(f"{demo}/")
    toggle = page.locator("[data-wa-bubble-toggle]")
    toggle.focus()  # as Tab reaches it: the shop's own links come first in the tab order
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#wa-bubble-panel")).to_be_focused()
    shot("01-opened-with-enter")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the close link
    page.keyboard.press("Tab")
    expect(page.locator("#wa-bubble-offers")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the privacy-policy link in the consent note
    expect(page.locator("#wa-bubble-note a")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#wa-bubble-phone")).to_be_focused()
    page.keyboard.type(NUMBER)
    shot("02-filled-with-keyboard")
    with page.expect_request(re.compile(r"^https://wa\.me/")):
        page.keyboard.press("Enter")
    contact = Contact.objects.get(phone_e164=NUMBER)
    assert service.current_status(contact, "marketing") == "pending"
    assert offline == []
