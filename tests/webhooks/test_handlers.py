"""What webhook events do: STOP and its kin, Yes / No, START, statuses, template updates."""

from __future__ import annotations

import pytest

from wagtail_wa_consent import signals
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.consent.models import ConsentEvent
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.double_opt_in import request_double_opt_in
from wagtail_wa_consent.messaging.models import InboundMessage, MessageTemplate, OutboundMessage
from wagtail_wa_consent.messaging.outbox import enqueue_template

from ..messaging.helpers import (
    WEB,
    button_reply,
    consenting,
    interactive_reply,
    marketing_preference,
    referral_message,
    status_update,
    template,
    template_status,
    text_message,
)

pytestmark = pytest.mark.django_db
PHONE = "4915123456789"
E164 = "+" + PHONE


@pytest.fixture
def doi_template(db):
    return template("opt_in_confirmation", params=2)


def sent_texts():
    return [p["text"]["body"] for p in locmem.outbox if p["type"] == "text"]


@pytest.mark.parametrize("word", ["STOP", "stop", "  Stop! ", "Stopp", "ARRÊT", "стоп", "توقف", "Dur"])
def test_stop_withdraws_everything_and_confirms(deliver, word):
    contact = consenting(E164, "marketing", "transactional", "support")
    deliver(text_message(PHONE, word, "wamid.stop"))
    assert not any(can_send(contact, c) for c in ("marketing", "transactional", "support"))
    event = ConsentEvent.objects.filter(contact=contact, event_type="withdrawn").first()
    assert event.confirming_message_id == "wamid.stop" and event.source == "whatsapp"
    assert len(sent_texts()) == 1 and "no longer receive" in sent_texts()[0]


def test_a_sentence_containing_stop_is_not_stop(deliver):
    contact = consenting(E164, "marketing")
    deliver(text_message(PHONE, "please don't stop the offers", "wamid.x"))
    assert can_send(contact, "marketing")


def test_stop_promotions_button_withdraws_marketing_only(deliver):
    contact = consenting(E164, "marketing", "transactional")
    deliver(button_reply(PHONE, "WA_CONSENT_STOP_PROMOTIONS", "Stop promotions", "wamid.sp"))
    assert not can_send(contact, "marketing") and can_send(contact, "transactional")
    deliver(button_reply(PHONE, "", "Stop promotions", "wamid.sp2"))  # Meta's own button, no payload
    assert can_send(contact, "transactional")


def test_meta_marketing_preference_stop_and_resume(deliver):
    contact = consenting(E164, "marketing", "transactional")
    deliver(marketing_preference(PHONE, "stop"))
    assert not can_send(contact, "marketing") and can_send(contact, "transactional")
    deliver(marketing_preference(PHONE, "resume"))
    assert not can_send(contact, "marketing")  # resume is never a silent re-grant


def test_double_opt_in_yes_button_confirms_with_evidence(
    deliver, doi_template, django_capture_on_commit_callbacks
):
    contact = service.get_or_create_contact(E164)
    with django_capture_on_commit_callbacks(execute=True):
        _events, message = request_double_opt_in(contact, ["marketing"], WEB)
    message.refresh_from_db()
    assert message.status == "sent" and message.template_name == "opt_in_confirmation"
    buttons = [c for c in locmem.outbox[0]["template"]["components"] if c["type"] == "button"]
    assert [b["parameters"][0]["payload"] for b in buttons] == ["WA_CONSENT_YES", "WA_CONSENT_NO"]
    assert not can_send(contact, "marketing")
    deliver(button_reply(PHONE, "WA_CONSENT_YES", "Yes", "wamid.yes", context=message.wamid))
    assert can_send(contact, "marketing")
    confirmed = ConsentEvent.objects.get(contact=contact, event_type="confirmed")
    assert confirmed.confirming_message_id == "wamid.yes" and confirmed.opt_in_level == "confirmed"


def test_no_declines(deliver, doi_template, django_capture_on_commit_callbacks):
    contact = service.get_or_create_contact(E164)
    with django_capture_on_commit_callbacks(execute=True):
        request_double_opt_in(contact, ["marketing"], WEB)
    deliver(interactive_reply(PHONE, "WA_CONSENT_NO", "No", "wamid.no"))
    assert can_send(contact, "marketing").reason == "declined"


def test_window_open_double_opt_in_uses_interactive_buttons(deliver, django_capture_on_commit_callbacks):
    deliver(text_message(PHONE, "Hello shop", "wamid.hello"))
    contact = service.find_contact(E164)
    with django_capture_on_commit_callbacks(execute=True):
        _, message = request_double_opt_in(contact, ["support"], WEB)
    message.refresh_from_db()
    assert message.kind == "interactive" and message.status == "sent"
    ids = [b["reply"]["id"] for b in locmem.outbox[-1]["interactive"]["action"]["buttons"]]
    assert ids == ["WA_CONSENT_YES", "WA_CONSENT_NO"]


def test_start_reopens_a_fresh_request_not_a_grant(deliver):
    contact = consenting(E164, "marketing")
    deliver(text_message(PHONE, "STOP", "wamid.s1"))
    deliver(text_message(PHONE, "START", "wamid.s2"))
    assert can_send(contact, "marketing").reason == "pending_confirmation"
    request = ConsentEvent.objects.filter(contact=contact, event_type="requested").last()
    assert request.confirming_message_id == "wamid.s2" and request.wording_id
    assert locmem.outbox[-1]["type"] == "interactive"  # the Yes / No question
    deliver(interactive_reply(PHONE, "WA_CONSENT_YES", "Yes", "wamid.s3"))
    assert can_send(contact, "marketing")


def test_help_answers_with_how_to_manage(deliver):
    deliver(text_message(PHONE, "help", "wamid.h"))
    assert "STOP" in sent_texts()[0]


def test_ad_referral_never_creates_consent(deliver):
    deliver(referral_message(PHONE, "wamid.ad"))
    contact = service.find_contact(E164)
    assert ConsentEvent.objects.filter(contact=contact).count() == 0
    assert not can_send(contact, "marketing")
    assert InboundMessage.objects.get(wamid="wamid.ad").contact == contact


def test_redelivered_message_is_handled_once(deliver):
    consenting(E164, "marketing")
    payload = text_message(PHONE, "STOP", "wamid.once")
    deliver(payload)
    payload["entry"][0]["id"] = "WABA1 "  # different bytes, same message id
    deliver(payload)
    assert InboundMessage.objects.count() == 1 and len(sent_texts()) == 1


def test_statuses_are_joined_and_never_go_backwards(deliver):
    contact = consenting(E164, "transactional")
    template("order_confirmation", params=1)
    message = enqueue_template(
        contact,
        "transactional",
        key="order:7:placed",
        template_name="order_confirmation",
        language="en",
        parameters=["7"],
    )
    from wagtail_wa_consent.messaging.dispatcher import dispatch

    message = dispatch(message.pk)
    deliver(status_update(message.wamid, "read", PHONE, ts=1_900_000_100))
    deliver(status_update(message.wamid, "delivered", PHONE, ts=1_900_000_050))
    message.refresh_from_db()
    assert message.status == "read" and message.delivered_at and message.read_at


def test_status_joined_by_callback_data_when_wamid_unknown(deliver):
    contact = consenting(E164, "transactional")
    message = OutboundMessage.objects.create(
        idempotency_key="order:9:placed",
        contact=contact,
        category="transactional",
        kind="template",
        template_name="order_confirmation",
        template_language="en",
        status="sending",
        next_attempt_at="2026-01-01T00:00:00Z",
    )
    deliver(status_update("wamid.lost", "sent", PHONE, callback="order:9:placed"))
    message.refresh_from_db()
    assert message.status == "sent" and message.wamid == "wamid.lost"


def test_failed_status_131050_withdraws_marketing(deliver):
    contact = consenting(E164, "marketing")
    OutboundMessage.objects.create(
        idempotency_key="promo",
        contact=contact,
        category="marketing",
        kind="template",
        status="sent",
        wamid="wamid.p",
        next_attempt_at="2026-01-01T00:00:00Z",
    )
    deliver(status_update("wamid.p", "failed", PHONE, error_code=131050))
    assert OutboundMessage.objects.get(wamid="wamid.p").error_code == 131050
    assert not can_send(contact, "marketing")


def test_paused_template_stops_being_used(deliver):
    template("order_confirmation", params=1)
    deliver(template_status("order_confirmation", "en", "PAUSED", template_id="id-order_confirmation-en"))
    assert MessageTemplate.objects.get(name="order_confirmation").status == "PAUSED"
    assert MessageTemplate.objects.get().unusable_reason("transactional") == "template_paused"


def test_signals_are_sent_for_normalised_events(deliver):
    received = []

    def handler(sender, event, **kwargs):
        received.append(type(event).__name__)

    signals.inbound_message_received.connect(handler)
    try:
        deliver(text_message(PHONE, "hello", "wamid.sig"))
    finally:
        signals.inbound_message_received.disconnect(handler)
    assert received == ["InboundMessage"]
