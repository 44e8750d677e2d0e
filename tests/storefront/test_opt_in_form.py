"""The opt-in block's POST: errors, ticks, honeypot, rate limits, CSRF, forgery, evidence, sameness."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from tests.conftest import wa_settings
from tests.messaging.helpers import consenting, template
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentEvidence, ConsentWording, Contact
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.storefront.forms import sign_token

from . import (
    KNOWN,
    LANDLINE,
    OPT_IN_URL,
    UNKNOWN,
    build_shop,
    edit_block,
    post_opt_in,
    rendered_wording,
    section,
    token_of,
    without_csrf,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_timing_floor():
    # The floor that hides timing differences is tested on its own; elsewhere it only slows tests.
    with wa_settings(OPT_IN_MIN_RESPONSE_SECONDS=0):
        yield


@pytest.fixture
def shop():
    return build_shop()


@pytest.fixture
def doi_template(db):
    return template("opt_in_confirmation", params=2)


def nothing_recorded() -> bool:
    return not (Contact.objects.exists() or ConsentEvent.objects.exists() or OutboundMessage.objects.exists())


def after_redirect(client: Client, response, shop):
    assert response.status_code == 303
    return section(client.get(response["Location"]).content, shop.block_id)


def ticked(block) -> list[str]:
    return [
        box["value"] for box in block.find_all("input", attrs={"type": "checkbox"}) if box.has_attr("checked")
    ]


# --- Success and its evidence ------------------------------------------------------------------


def test_opt_in_records_full_evidence_and_queues_the_whatsapp_confirmation(
    client, shop, doi_template, django_capture_on_commit_callbacks
):
    shown = rendered_wording(section(client.get(shop.page.url).content, shop.block_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_opt_in(
            client,
            shop,
            phone="0151 23456789",
            categories=("marketing", "transactional"),
            REMOTE_ADDR="203.0.113.77",
            HTTP_USER_AGENT="Mozilla/5.0 (TestBrowser)",
        )
    assert response.status_code == 303
    assert (
        response["Location"] == f"/whatsapp-news/?wa_opt_in={shop.block_id}#wa-opt-in-{shop.block_id}-status"
    )
    events = list(ConsentEvent.objects.order_by("category"))
    assert [(e.category, e.event_type, e.source) for e in events] == [
        ("marketing", "requested", "web_block"),
        ("transactional", "requested", "web_block"),
    ]
    event = events[0]
    assert event.wording.text == shown and event.wording.language == "en" and event.language == "en"
    assert "Test Shop GmbH" in shown and "Privacy policy <http://localhost/privacy/>" in shown
    shop.privacy.refresh_from_db()
    assert event.policy_revision == f"page:{shop.privacy.pk}/revision:{shop.privacy.live_revision_id}"
    assert event.page_url == "http://localhost/whatsapp-news/"
    assert "ticked marketing, transactional" in event.user_action and "unticked" in event.user_action
    personal = ConsentEvidence.objects.get(event=event)
    assert personal.ip_address == "203.0.113.0" and personal.user_agent == "Mozilla/5.0 (TestBrowser)"
    assert Contact.objects.get().phone_e164 == UNKNOWN
    # One confirmation request, sent to the number through the backend.
    assert [payload["to"] for payload in locmem.outbox] == [UNKNOWN.lstrip("+")]
    assert locmem.outbox[0]["template"]["name"] == "opt_in_confirmation"
    block = after_redirect(client, response, shop)
    status = block.find(id=f"wa-opt-in-{shop.block_id}-status")
    assert status["role"] == "status" and status.has_attr("autofocus") and status["tabindex"] == "-1"
    assert "Check WhatsApp to confirm." in status.get_text()
    assert ticked(block) == [] and block.find("input", attrs={"name": "phone"})["value"] == ""


def test_the_language_shown_is_the_language_recorded(client, shop):
    response = post_opt_in(client, shop, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 303
    event = ConsentEvent.objects.get()
    assert event.language == "de" and event.wording.language == "de"


def test_the_state_after_a_redirect_is_shown_once(client, shop):
    response = post_opt_in(client, shop, phone="12", categories=("marketing",))
    block = after_redirect(client, response, shop)
    assert block.find(id=f"wa-opt-in-{shop.block_id}-phone-error") and ticked(block) == ["marketing"]
    again = section(client.get(response["Location"]).content, shop.block_id)
    assert not again.select(".wa-opt-in__error") and ticked(again) == []


# --- Errors next to the fields, ticks kept, nothing pre-ticked ---------------------------------


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12", "This phone number is not valid. Check the country code and the digits."),
        ("call me", "This is not a phone number."),
        (LANDLINE, "This looks like a landline. Enter a mobile number that uses WhatsApp."),
        ("", "Enter your mobile number."),
    ],
)
def test_phone_errors_appear_next_to_the_field_with_the_ticks_kept(client, shop, phone, message):
    response = post_opt_in(client, shop, phone=phone, categories=("transactional",))
    assert response["Location"].endswith(f"#wa-opt-in-{shop.block_id}-phone")
    block = after_redirect(client, response, shop)
    field = block.find("input", attrs={"name": "phone"})
    error = block.find(id=f"wa-opt-in-{shop.block_id}-phone-error")
    assert error.get_text(strip=True) == message
    assert field["aria-invalid"] == "true" and error["id"] in field["aria-describedby"].split()
    assert field.has_attr("autofocus") and field["value"] == phone
    assert ticked(block) == ["transactional"]  # what the shopper ticked, and nothing else
    assert nothing_recorded()


def test_no_box_ticked_is_an_error_on_the_boxes(client, shop):
    response = post_opt_in(client, shop, categories=())
    assert response["Location"].endswith(f"#wa-opt-in-{shop.block_id}-categories_0")
    block = after_redirect(client, response, shop)
    error_id = f"wa-opt-in-{shop.block_id}-categories-error"
    assert block.find(id=error_id).get_text(strip=True) == "Tick at least one box."
    assert block.find("fieldset")["aria-describedby"] == error_id
    first = block.find("input", attrs={"type": "checkbox"})
    assert first["aria-invalid"] == "true" and first.has_attr("autofocus")
    assert ticked(block) == [] and block.find("input", attrs={"name": "phone"})["value"] == UNKNOWN
    assert nothing_recorded()


def test_the_country_reads_a_national_number(client, shop):
    response = post_opt_in(client, shop, phone="07400 123456", country="GB")
    assert response["Location"].endswith("-status")
    assert Contact.objects.get().phone_e164 == "+447400123456"


# --- Honeypot, rate limits, CSRF ---------------------------------------------------------------


def test_honeypot_answers_like_success_and_records_nothing(client, shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        trapped = post_opt_in(client, shop, website="http://spam.example")
    assert trapped.status_code == 303 and trapped["Location"].endswith("-status")
    assert "Check WhatsApp to confirm." in after_redirect(client, trapped, shop).get_text()
    assert nothing_recorded() and locmem.outbox == []


def test_ip_rate_limit_refuses_the_next_attempt_and_records_nothing(client, shop):
    with wa_settings(OPT_IN_IP_LIMIT=2):
        for phone in ("+4915123456781", "+4915123456782"):
            assert post_opt_in(client, shop, phone=phone)["Location"].endswith("-status")
        refused = post_opt_in(client, shop, phone="+4915123456783", categories=("transactional",))
        assert refused["Location"].endswith(f"#wa-opt-in-{shop.block_id}-errors")
        block = after_redirect(client, refused, shop)
        alert = block.find(id=f"wa-opt-in-{shop.block_id}-errors")
        assert alert["role"] == "alert" and "Too many attempts" in alert.get_text()
        assert ticked(block) == ["transactional"]
        # Another address is not affected.
        assert post_opt_in(client, shop, phone="+4915123456784", REMOTE_ADDR="198.51.100.9")[
            "Location"
        ].endswith("-status")
    assert not Contact.objects.filter(phone_e164="+4915123456783").exists()
    assert Contact.objects.count() == 3


def test_phone_rate_limit_refuses_the_next_attempt_from_any_address(client, shop):
    with wa_settings(OPT_IN_PHONE_LIMIT=2):
        for index in range(2):
            response = post_opt_in(client, shop, REMOTE_ADDR=f"198.51.100.{index + 1}")
            assert response["Location"].endswith("-status")
        events = ConsentEvent.objects.count()
        refused = post_opt_in(client, shop, REMOTE_ADDR="198.51.100.3")
    assert "Too many attempts" in after_redirect(client, refused, shop).get_text()
    assert ConsentEvent.objects.count() == events == 2


def test_csrf_is_enforced(shop):
    client = Client(enforce_csrf_checks=True)
    page = client.get(shop.page.url)
    form = section(page.content, shop.block_id).find("form")
    data = {"token": token_of(form), "country": "DE", "phone": UNKNOWN, "categories": ["marketing"]}
    assert client.post(OPT_IN_URL, data).status_code == 403
    assert nothing_recorded()
    data["csrfmiddlewaretoken"] = form.find("input", attrs={"name": "csrfmiddlewaretoken"})["value"]
    assert client.post(OPT_IN_URL, data).status_code == 303
    assert ConsentEvent.objects.filter(category="marketing").count() == 1


def test_only_post_is_allowed(client):
    assert client.get(OPT_IN_URL).status_code == 405


# --- Nothing the client sends decides the categories, the wording or the page ------------------


def test_a_category_not_offered_is_refused(client):
    shop = build_shop(categories=["marketing"])
    response = post_opt_in(client, shop, categories=("marketing", "support"))
    block = after_redirect(client, response, shop)
    assert "not offered" in block.find(id=f"wa-opt-in-{shop.block_id}-categories-error").get_text()
    assert nothing_recorded()


def test_posted_wording_language_and_page_fields_are_ignored(client, shop):
    shown = rendered_wording(section(client.get(shop.page.url).content, shop.block_id))
    post_opt_in(
        client, shop, wording="I agree to everything", language="xx", page_url="https://evil.example/"
    )
    event = ConsentEvent.objects.get()
    assert event.wording.text == shown and event.language == "en"
    assert event.page_url == "http://localhost/whatsapp-news/"


@pytest.mark.parametrize("forgery", ["tampered", "other_block", "unpublished"])
def test_a_forged_or_stale_token_is_refused(client, shop, forgery):
    token = token_of(section(client.get(shop.page.url).content, shop.block_id))
    if forgery == "tampered":
        token = token.replace(token[5], "A" if token[5] != "A" else "B", 1)
    elif forgery == "other_block":
        token = sign_token(page_id=shop.page.pk, block_id="not-a-block", language="en", wording_digest="x")
    else:
        shop.page.unpublish()
    data = {"token": token, "country": "DE", "phone": UNKNOWN, "categories": ["marketing"]}
    response = client.post(OPT_IN_URL, data)
    assert response.status_code == 400 and b"This form is no longer available" in response.content
    assert nothing_recorded()


# --- Wording versions ----------------------------------------------------------------------------


def test_each_distinct_wording_is_stored_once(client, shop):
    post_opt_in(client, shop, phone="+4915123456781")
    post_opt_in(client, shop, phone="+4915123456782")
    assert ConsentWording.objects.count() == 1
    first = ConsentWording.objects.get()
    edit_block(shop.page, intro="Yes, Test Shop GmbH may message me on WhatsApp. I can reply STOP.")
    shown = rendered_wording(section(client.get(shop.page.url).content, shop.block_id))
    post_opt_in(client, shop, phone="+4915123456783")
    assert ConsentWording.objects.count() == 2
    newest = ConsentEvent.objects.order_by("-pk").first().wording
    assert newest != first and newest.text == shown and "may message me" in newest.text
    assert set(ConsentEvent.objects.values_list("wording", flat=True)) == {first.pk, newest.pk}


def test_a_form_shown_before_the_editor_changed_the_text_is_not_recorded(client, shop):
    token = token_of(section(client.get(shop.page.url).content, shop.block_id))
    edit_block(shop.page, intro="A new text the shopper has not seen.")
    response = client.post(
        OPT_IN_URL, {"token": token, "country": "DE", "phone": UNKNOWN, "categories": ["marketing"]}
    )
    block = after_redirect(client, response, shop)
    assert "has changed since you opened the page" in block.find(class_="wa-opt-in__alert").get_text()
    assert "A new text the shopper has not seen." in block.get_text()
    assert ticked(block) == []  # the tick was given to the old text
    assert nothing_recorded()


# --- The same answer whether or not the number is known ------------------------------------------


def test_known_and_unknown_numbers_get_the_same_answer(
    shop, doi_template, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consenting(KNOWN, "marketing")
    known_contact = Contact.objects.get(phone_e164=KNOWN)
    known_events = known_contact.consent_events.count()
    answers = []
    for phone in (KNOWN, UNKNOWN):
        client = Client()
        with django_capture_on_commit_callbacks(execute=True):
            response = post_opt_in(client, shop, phone=phone)
        page = client.get(response["Location"])
        answers.append(
            (
                response.status_code,
                response["Location"],
                sorted(response.cookies.keys()),
                page.status_code,
                without_csrf(str(section(page.content, shop.block_id))),
            )
        )
    assert answers[0] == answers[1]
    assert "Check WhatsApp to confirm." in answers[0][4]
    # Yet only the unknown number was asked: the subscribed one got no duplicate request.
    assert known_contact.consent_events.count() == known_events
    assert [payload["to"] for payload in locmem.outbox] == [UNKNOWN.lstrip("+")]


def test_every_sent_answer_takes_at_least_the_floor(client, shop):
    consenting(KNOWN, "marketing")
    with wa_settings(OPT_IN_MIN_RESPONSE_SECONDS=0.3):
        for phone, extra in ((KNOWN, {}), (UNKNOWN, {}), (UNKNOWN, {"website": "bot"})):
            page = client.get(shop.page.url)
            data = {
                "token": token_of(section(page.content, shop.block_id)),
                "phone": phone,
                "country": "DE",
                "categories": ["marketing"],
                **extra,
            }
            started = time.monotonic()
            response = client.post(OPT_IN_URL, data)
            assert response["Location"].endswith("-status")
            assert time.monotonic() - started >= 0.3
