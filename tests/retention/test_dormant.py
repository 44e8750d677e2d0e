"""A consent with no message for DORMANT_CONSENT_MONTHS is asked again (Yes / No) or withdrawn,
once per dormancy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import wa_settings
from wagtail_wa_consent import retention
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
from wagtail_wa_consent.consent.enums import EventType, Status
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.dates import add_months
from wagtail_wa_consent.exceptions import WaConsentConfigurationError
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.webhooks.keywords import PAYLOAD_NO, PAYLOAD_YES

from .helpers import YES, outbound, subscribed

pytestmark = pytest.mark.django_db

TWO_YEARS_AND_A_DAY = 2 * 365 + 2


def last_event(contact):
    return contact.consent_events.order_by("-sequence").first()


def test_dormant_consent_is_asked_again_and_yes_restores_it(
    clock, confirmation_template, django_capture_on_commit_callbacks
):
    contact = subscribed("marketing")
    clock.travel(days=TWO_YEARS_AND_A_DAY)

    with django_capture_on_commit_callbacks(execute=True):
        report = retention.apply(clock.now)

    dormant = report["dormant_consents"]
    assert (dormant.count, dormant.contact_ids, dormant.action) == (1, [contact.pk], "reconfirm")
    event = last_event(contact)
    assert (event.event_type, event.source, event.actor) == (
        EventType.RECONFIRM_REQUESTED,
        "system",
        "system",
    )
    assert "Sandbox Shop GmbH" in event.wording.text and "Offers and news" in event.wording.text
    assert event.language == "en" and "24 months" in event.user_action
    assert service.current_status(contact, "marketing") == Status.PENDING
    assert not can_send(contact, "marketing")
    # The Yes / No question, as the approved template outside the service window.
    question = OutboundMessage.objects.get(contact=contact)
    assert question.category == "consent_notice" and question.template_name == "opt_in_confirmation"
    assert question.content == {"quick_replies": [PAYLOAD_YES, PAYLOAD_NO]}
    assert len(locmem.outbox) == 1

    # Asked once per dormancy: waiting for the answer, nothing is sent again.
    clock.travel(days=1)
    assert retention.apply(clock.now)["dormant_consents"].count == 0
    assert OutboundMessage.objects.count() == 1

    service.confirm(contact, YES)
    assert service.current_status(contact, "marketing") == Status.SUBSCRIBED and can_send(
        contact, "marketing"
    )
    # The new confirmation restarts the clock.
    clock.travel(days=700)
    assert retention.apply(clock.now)["dormant_consents"].count == 0
    clock.travel(days=40)
    assert retention.apply(clock.now)["dormant_consents"].contact_ids == [contact.pk]
    assert verify_ledger().ok and not state_cache_mismatches(contact)


def test_unanswered_reconfirmation_expires(clock, confirmation_template):
    contact = subscribed("marketing")
    clock.travel(days=TWO_YEARS_AND_A_DAY)
    retention.apply(clock.now)
    clock.travel(days=8)
    assert retention.apply(clock.now)["expired_opt_ins"].contact_ids == [contact.pk]
    assert service.current_status(contact, "marketing") == Status.EXPIRED


def test_a_message_that_reached_the_person_keeps_the_consent_alive(clock, confirmation_template):
    kept = subscribed("marketing")
    only_failed = subscribed("marketing")
    other_category = subscribed("marketing", "transactional")
    clock.travel(days=600)
    outbound(kept, status="read")
    outbound(only_failed, status="failed")
    outbound(other_category, status="delivered", category="transactional")
    clock.travel(days=200)

    report = retention.apply(clock.now)

    assert report["dormant_consents"].contact_ids == [only_failed.pk, other_category.pk]
    assert service.current_status(kept, "marketing") == Status.SUBSCRIBED
    assert service.current_status(other_category, "transactional") == Status.SUBSCRIBED
    assert service.current_status(other_category, "marketing") == Status.PENDING


def test_one_question_per_contact_for_all_its_dormant_categories(clock, confirmation_template):
    contact = subscribed("marketing", "support")
    clock.travel(days=TWO_YEARS_AND_A_DAY)
    report = retention.apply(clock.now)
    assert report["dormant_consents"].count == 2
    assert OutboundMessage.objects.filter(contact=contact).count() == 1
    assert "Offers and news, Customer support" in last_event(contact).wording.text


def test_the_contacts_language_is_used(clock, confirmation_template):
    contact = subscribed("marketing")
    contact.language = "de"
    contact.save()
    clock.travel(days=TWO_YEARS_AND_A_DAY)
    retention.apply(clock.now)
    event = last_event(contact)
    assert event.language == "de" and event.wording.language == "de"


def test_expire_action_withdraws_the_dormant_consent(clock):
    contact = subscribed("marketing", "transactional")
    clock.travel(days=600)
    outbound(contact, category="transactional")
    clock.travel(days=200)
    with wa_settings(DORMANT_CONSENT_ACTION="expire"):
        report = retention.apply(clock.now)
    assert (report["dormant_consents"].count, report["dormant_consents"].action) == (1, "expire")
    event = last_event(contact)
    assert (event.event_type, event.category, event.actor) == (EventType.WITHDRAWN, "marketing", "system")
    assert event.user_action == "retention: no message for 24 months"
    assert service.current_status(contact, "marketing") == Status.UNSUBSCRIBED
    assert service.current_status(contact, "transactional") == Status.SUBSCRIBED
    assert not OutboundMessage.objects.filter(category="consent_notice").exists()
    assert verify_ledger().ok


def test_none_turns_the_rule_off_and_a_bad_action_is_refused(clock):
    contact = subscribed("marketing")
    clock.travel(days=3650)
    with wa_settings(DORMANT_CONSENT_MONTHS=None):
        report = retention.apply(clock.now)
    assert not report["dormant_consents"].enabled and report["dormant_consents"].action == ""
    assert service.current_status(contact, "marketing") == Status.SUBSCRIBED
    with wa_settings(DORMANT_CONSENT_ACTION="delete"), pytest.raises(WaConsentConfigurationError):
        retention.apply(clock.now)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 3, 31, 12, tzinfo=UTC), 1, datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 24, datetime(2024, 1, 15, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), 12, datetime(2023, 2, 28, tzinfo=UTC)),
        (datetime(2026, 1, 10, tzinfo=UTC), 13, datetime(2024, 12, 10, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(moment, months, expected):
    assert add_months(moment, -months) == expected
