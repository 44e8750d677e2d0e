"""The double opt-in state machine, the gate and the signals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from wagtail_wa_consent import signals
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.enums import OptInLevel, Status
from wagtail_wa_consent.consent.evidence import Evidence, truncate_ip
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentState, Contact
from wagtail_wa_consent.exceptions import (
    ConsentTransitionError,
    InvalidPhoneNumber,
    MissingEvidence,
)

pytestmark = pytest.mark.django_db


def status(contact, category):
    return service.current_status(contact, category)


def test_contacts_are_keyed_on_e164(db):
    a = service.get_or_create_contact("0151 23456789", region="DE")
    b = service.get_or_create_contact("+49 151 234 567 89")
    assert a.pk == b.pk and a.phone_e164 == "+4915123456789"
    assert service.find_contact("+4915123456789") == a
    assert service.find_contact("+4915199999999") is None
    with pytest.raises(InvalidPhoneNumber):
        service.get_or_create_contact("+49 30 12345678")
    assert Contact.objects.count() == 1


def test_a_number_given_again_after_erasure_is_stored_again(db):
    contact = service.get_or_create_contact("+4915123456789")
    Contact.objects.filter(pk=contact.pk).update(phone_e164=None, erased_at=timezone.now())
    again = service.get_or_create_contact("0151 23456789", region="DE")
    assert again.pk == contact.pk and again.phone_e164 == "+4915123456789"
    assert Contact.objects.get(pk=contact.pk).phone_e164 == "+4915123456789"


def test_contact_links_to_a_user(django_user_model):
    user = django_user_model.objects.create_user("shopper", "s@example.com", "pw")
    contact = service.get_or_create_contact("+4915123456789", user=user)
    assert contact.user == user and user.whatsapp_contacts.get() == contact


def test_double_opt_in_happy_path(contact, web_evidence, yes_evidence):
    events = service.request_opt_in(contact, ["marketing"], web_evidence)
    assert [e.event_type for e in events] == ["requested"]
    assert status(contact, "marketing") == Status.PENDING
    assert can_send(contact, "marketing").reason == "pending_confirmation"

    (confirmed,) = service.confirm(contact, yes_evidence)
    assert confirmed.confirming_message_id == "wamid.HBgLNDk="
    assert confirmed.opt_in_level == OptInLevel.CONFIRMED
    assert can_send(contact, "marketing").allowed
    # Other categories were never asked for.
    assert can_send(contact, "transactional").reason == "no_consent"


def test_categories_are_independent(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing", "transactional", "support"], web_evidence)
    service.confirm(contact, yes_evidence)
    service.withdraw(contact, yes_evidence.with_changes(user_action="Stop promotions"), ["marketing"])
    assert not can_send(contact, "marketing")
    assert can_send(contact, "marketing").reason == "withdrawn"
    assert can_send(contact, "transactional") and can_send(contact, "support")


def test_decline(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)
    (declined,) = service.decline(contact, yes_evidence.with_changes(user_action="tapped No"))
    assert declined.event_type == "declined"
    assert can_send(contact, "marketing").reason == "declined"
    with pytest.raises(ConsentTransitionError) as info:
        service.confirm(contact, yes_evidence)
    assert info.value.code == "not_pending"


def test_withdrawn_consent_needs_a_fresh_request(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)
    service.confirm(contact, yes_evidence)
    service.withdraw(contact, yes_evidence.with_changes(user_action="sent STOP"))
    with pytest.raises(ConsentTransitionError):
        service.confirm(contact, yes_evidence, ["marketing"])
    assert not can_send(contact, "marketing")
    service.request_opt_in(contact, ["marketing"], web_evidence)
    service.confirm(contact, yes_evidence)
    assert can_send(contact, "marketing")


def test_withdraw_everything_from_any_state(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)  # pending
    service.request_opt_in(contact, ["support"], web_evidence)
    service.confirm(contact, yes_evidence, ["support"])  # subscribed
    events = service.withdraw(contact, Evidence(source="preference_centre", user_action="clicked"))
    assert {e.category for e in events} == {"marketing", "transactional", "support"}
    assert all(status(contact, c) == Status.UNSUBSCRIBED for c in ("marketing", "support"))
    # Withdrawing again changes nothing and writes nothing.
    assert service.withdraw(contact, Evidence(source="whatsapp", user_action="STOP", message_id="w")) == []


def test_pending_expires(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)
    state = ConsentState.objects.get(contact=contact)
    assert state.pending_expires_at - state.updated_at == timedelta(days=7)
    assert service.expire_overdue(now=timezone.now() + timedelta(days=6)) == 0
    assert service.expire_overdue(now=timezone.now() + timedelta(days=7, seconds=1)) == 1
    assert status(contact, "marketing") == Status.EXPIRED
    with pytest.raises(ConsentTransitionError):
        service.confirm(contact, yes_evidence)


@override_settings(WAGTAIL_WA_CONSENT={"BUSINESS_NAME": "X", "DOUBLE_OPT_IN_EXPIRY_DAYS": 2})
def test_late_yes_is_refused_and_records_the_expiry(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)
    ConsentState.objects.filter(contact=contact).update(
        pending_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ConsentTransitionError) as info:
        service.confirm(contact, yes_evidence)
    assert info.value.code == "expired"
    assert list(contact.consent_events.values_list("event_type", flat=True)) == ["requested", "expired"]
    assert not can_send(contact, "marketing")


def test_nothing_is_confirmed_without_evidence_of_an_action(contact, web_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)
    with pytest.raises(MissingEvidence):
        service.confirm(contact, Evidence(source="whatsapp", user_action="tapped Yes"))  # no wamid
    with pytest.raises(MissingEvidence):
        service.confirm(contact, Evidence(source="admin", actor="admin:1"))  # no action
    with pytest.raises(MissingEvidence):
        service.grant_single_opt_in(contact, ["transactional"], Evidence(source="checkout"))
    with pytest.raises(MissingEvidence):
        service.request_opt_in(contact, ["support"], Evidence(source="web_block", user_action="x"))
    assert can_send(contact, "marketing").reason == "pending_confirmation"
    assert ConsentEvent.objects.count() == 1


def test_single_opt_in_at_checkout_allows_order_updates_not_marketing(contact):
    evidence = Evidence(
        source="checkout",
        user_action="ticked order updates box",
        reference="100023",
        wording="Send me order updates on WhatsApp",
        language="de",
    )
    (event,) = service.grant_single_opt_in(contact, ["transactional"], evidence)
    assert event.opt_in_level == OptInLevel.SINGLE and event.reference == "100023"
    assert can_send(contact, "transactional")
    service.grant_single_opt_in(contact, ["marketing"], evidence)
    assert can_send(contact, "marketing").reason == "double_opt_in_required"
    with override_settings(
        WAGTAIL_WA_CONSENT={"BUSINESS_NAME": "X", "MARKETING_REQUIRES_CONFIRMED_OPT_IN": False}
    ):
        assert can_send(contact, "marketing")
    with pytest.raises(ValueError):
        service.grant_single_opt_in(contact, ["support"], evidence, level=OptInLevel.CONFIRMED)


def test_gate_reasons(contact, web_evidence):
    assert can_send(None, "marketing").reason == "no_contact"
    assert can_send(contact, "newsletter").reason == "unknown_category"
    with override_settings(WAGTAIL_WA_CONSENT={"BUSINESS_NAME": "X", "CATEGORIES": ["support"]}):
        assert can_send(contact, "marketing").reason == "category_disabled"
        with pytest.raises(ValueError):
            service.request_opt_in(contact, ["marketing"], web_evidence)


def test_gate_reads_the_database_at_call_time(contact, web_evidence, yes_evidence):
    """A STOP written by another process between queueing and sending wins."""
    service.request_opt_in(contact, ["marketing"], web_evidence)
    service.confirm(contact, yes_evidence)
    queued_contact = Contact.objects.get(pk=contact.pk)  # what a queued task would hold
    assert can_send(queued_contact, "marketing")
    service.withdraw(Contact.objects.get(pk=contact.pk), yes_evidence.with_changes(user_action="STOP"))
    assert can_send(queued_contact, "marketing").reason == "withdrawn"


def test_erased_number_is_never_sent_to(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["support"], web_evidence)
    service.confirm(contact, yes_evidence)
    Contact.objects.filter(pk=contact.pk).update(phone_e164=None)
    assert can_send(contact, "support").reason == "erased"


def test_signals_are_sent_after_commit(
    contact, web_evidence, yes_evidence, django_capture_on_commit_callbacks
):
    received = []

    def handler(signal, sender, contact, events, **kwargs):
        received.append((signal, [e.category for e in events]))

    for signal in (
        signals.consent_given,
        signals.consent_confirmed,
        signals.consent_withdrawn,
        signals.consent_declined,
    ):
        signal.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            service.request_opt_in(contact, ["marketing"], web_evidence)
        assert received == []  # nothing before the transaction commits
        for callback in callbacks:
            callback()
        with django_capture_on_commit_callbacks(execute=True):
            service.confirm(contact, yes_evidence)
            service.withdraw(contact, yes_evidence.with_changes(user_action="STOP"), ["marketing"])
    finally:
        for signal in (
            signals.consent_given,
            signals.consent_confirmed,
            signals.consent_withdrawn,
            signals.consent_declined,
        ):
            signal.disconnect(handler)
    assert received == [
        (signals.consent_given, ["marketing"]),
        (signals.consent_confirmed, ["marketing"]),
        (signals.consent_withdrawn, ["marketing"]),
    ]


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("not-an-ip", ""),
        ("", ""),
    ],
)
def test_ip_addresses_are_truncated(address, kept):
    assert truncate_ip(address) == kept


def test_evidence_from_request(rf):
    request = rf.post(
        "/offers/?token=secret",
        HTTP_USER_AGENT="UA/1",
        REMOTE_ADDR="198.51.100.9",
        HTTP_REFERER="https://shop.example/offers/?email=a@b.c#x",
    )
    evidence = Evidence.from_request(request, source="web_block", user_action="ticked")
    assert evidence.page_url == "https://shop.example/offers/"
    assert evidence.ip_address == "198.51.100.0" and evidence.user_agent == "UA/1"
    assert evidence.language == "en"
    with pytest.raises(ValueError):
        Evidence(source="carrier-pigeon")
    # A malformed Referer (here an unclosed IPv6 host) records no page rather than failing.
    broken = rf.post("/offers/", HTTP_REFERER="http://[::1/offers/")
    assert Evidence.from_request(broken, source="web_block", user_action="ticked").page_url == ""


def test_expiry_task_and_command(contact, web_evidence, capsys):
    from django.core.management import call_command

    from wagtail_wa_consent.tasks import expire_pending_opt_ins

    service.request_opt_in(contact, ["marketing", "support"], web_evidence)
    assert expire_pending_opt_ins.delay().get() == 0
    ConsentState.objects.filter(contact=contact).update(pending_expires_at=timezone.now())
    call_command("wa_expire_pending")
    assert "Expired 2 pending opt-in(s)." in capsys.readouterr().out
    assert status(contact, "support") == Status.EXPIRED
