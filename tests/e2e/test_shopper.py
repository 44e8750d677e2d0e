"""What a shopper does in a real browser: opt in on a page, confirm in WhatsApp (the simulator's
phone), see it in the preference centre, withdraw everything; the Arabic page reads right to left."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.models import Contact

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NUMBER = "+4915123456789"
#: "Get updates on WhatsApp" in the shipped Arabic catalogue.
ARABIC_HEADING = "احصل على التحديثات عبر واتساب"
DIGITS = NUMBER.lstrip("+")


def opt_in(page: Page, base: str, shot, *categories: str) -> None:
    page.goto(f"{base}/whatsapp-updates/")
    form = page.locator("form.wa-opt-in__form")
    boxes = form.locator("input[type=checkbox]")
    expect(boxes).to_have_count(2)
    for i in range(2):
        expect(boxes.nth(i)).not_to_be_checked()  # never pre-ticked
    shot("01-opt-in-form")
    form.get_by_label(re.compile("number", re.I)).fill(NUMBER)
    for category in categories:
        form.locator(f"input[value={category}]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator(".wa-opt-in__status")).to_contain_text("Check WhatsApp to confirm")
    shot("02-check-whatsapp")


def open_phone(page: Page, base: str) -> None:
    page.goto(f"{base}/wa-simulator/phone/{DIGITS}/")


def tap(page: Page, label: str) -> None:
    page.locator(".bubble__buttons button", has_text=label).last.click()


def unlock_preference_centre(page: Page, base: str, shot) -> None:
    """Ask for a link on the preference centre, read it on the phone, open it."""
    page.goto(f"{base}/preferences/")
    page.locator("form.wa-prefs__form input[type=tel], form.wa-prefs__form input[name=phone]").first.fill(
        NUMBER
    )
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator(".wa-prefs__status")).not_to_be_empty()
    open_phone(page, base)
    link = re.search(
        r"https?://\S+/preferences/open/\S+?/(?=\s|$)", page.locator("main, body").first.inner_text()
    )
    assert link, "the preference-centre link did not arrive on the phone"
    shot("05-link-on-phone")
    page.goto(link.group(0).replace("http://127.0.0.1:8000", base))


def test_opt_in_confirm_on_the_phone_and_see_it_in_the_preference_centre(page: Page, demo, shot, offline):
    opt_in(page, demo, shot, "marketing")
    contact = Contact.objects.get(phone_e164=NUMBER)
    assert service.current_status(contact, "marketing") == "pending"
    open_phone(page, demo)
    expect(page.locator(".bubble__buttons button", has_text="Yes").last).to_be_visible()
    shot("03-confirmation-request-on-phone")
    tap(page, "Yes")
    assert service.current_status(contact, "marketing") == "subscribed"
    shot("04-tapped-yes")
    unlock_preference_centre(page, demo, shot)
    contact_section = page.locator(".wa-prefs__contact").first
    expect(contact_section).to_contain_text("Turn off")
    shot("06-preference-centre-confirmed")
    assert offline == []  # no third-party request on any page of the flow


def test_withdraw_everything_in_one_click(page: Page, demo, shot, offline):
    contact = service.get_or_create_contact(NUMBER)
    service.request_opt_in(
        contact,
        ["marketing", "transactional"],
        Evidence(source="web_block", user_action="ticked both boxes", wording="Yes, send me…", language="en"),
    )
    service.confirm(contact, Evidence(source="whatsapp", user_action="tapped Yes", message_id="wamid.e2e"))
    unlock_preference_centre(page, demo, shot)
    shot("06-before-withdrawing")
    page.get_by_role("button", name=re.compile("Withdraw everything")).click()
    expect(page.locator(".wa-prefs__status")).not_to_be_empty()
    shot("07-withdrawn")
    assert {service.current_status(contact, c) for c in ("marketing", "transactional")} == {"unsubscribed"}


def test_the_arabic_page_reads_right_to_left(page: Page, demo, shot, offline):
    page.context.add_cookies([{"name": "django_language", "value": "ar", "url": demo}])
    page.goto(f"{demo}/whatsapp-updates/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    form = page.locator("form.wa-opt-in__form")
    assert form.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # The demo page's editor left the heading empty: the plugin's Arabic default is shown.
    expect(page.locator("section.wa-opt-in h2")).to_have_text(ARABIC_HEADING)
    expect(page.locator("#wa-bubble")).to_have_attribute("dir", "rtl")
    shot("01-arabic-opt-in")
