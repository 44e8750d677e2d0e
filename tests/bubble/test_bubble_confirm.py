"""The shopper's own WhatsApp message with the bubble's reference confirms the pending opt-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentState, Contact
from wagtail_wa_consent.messaging.backends import locmem

from ..messaging.helpers import envelope, text_message
from .test_bubble import PHONE, bubble_on, post, reference_from  # noqa: F401 (bubble_on is a fixture)

pytestmark = pytest.mark.django_db
SENDER = PHONE.lstrip("+")
OTHER = "4915198765432"


@pytest.fixture(autouse=True)
def _clear_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def pending(request):
    """A ticked bubble form: (contact, prefilled text, reference)."""
    request.getfixturevalue("bubble_on")
    text, reference = reference_from(post()["Location"])
    contact = Contact.objects.get(phone_e164=PHONE)
    assert status(contact) == "pending"
    return contact, text, reference


def status(contact: Contact) -> str:
    return ConsentState.objects.get(contact=contact, category="marketing").status


def sent_texts() -> list[str]:
    return [p["text"]["body"] for p in locmem.outbox if p["type"] == "text"]


def test_prefilled_message_from_the_same_number_confirms(pending, deliver):
    contact, text, reference = pending
    deliver(text_message(SENDER, text, "wamid.bubble1"))
    assert status(contact) == "subscribed" and can_send(contact, "marketing")
    event = ConsentEvent.objects.filter(contact=contact).last()
    assert (event.event_type, event.source, event.opt_in_level) == ("confirmed", "whatsapp", "confirmed")
    assert event.confirming_message_id == "wamid.bubble1" and event.reference == reference
    assert event.user_action == f"sent the prefilled opt-in message with reference {reference}"
    assert any("confirmed" in body for body in sent_texts())


def test_edited_message_keeping_the_reference_confirms(pending, deliver):
    contact, _text, reference = pending
    deliver(text_message(SENDER, f"hi! ref {reference.lower()} thanks", "wamid.edited"))
    assert status(contact) == "subscribed"


def test_reference_sent_from_another_number_confirms_nothing(pending, deliver):
    contact, text, _reference = pending
    deliver(text_message(OTHER, text, "wamid.other"))
    assert status(contact) == "pending"
    other = Contact.objects.get(phone_e164="+" + OTHER)
    assert not ConsentEvent.objects.filter(contact=other).exists()
    assert sent_texts() == []


@pytest.mark.parametrize("body", ["Hello, is the shop open on Sunday?", "Ref. XXXXXX", "yesABC"])
def test_message_without_the_reference_leaves_it_pending(pending, deliver, body):
    contact, _text, reference = pending
    deliver(text_message(SENDER, body, "wamid.plain"))
    deliver(text_message(SENDER, f"code X{reference}", "wamid.glued"))  # not a whole token
    assert status(contact) == "pending"
    assert ConsentEvent.objects.filter(contact=contact).count() == 1


def test_stop_wins_and_a_later_reference_does_not_revive(pending, deliver):
    contact, text, _reference = pending
    deliver(text_message(SENDER, "STOP", "wamid.stop"))
    assert status(contact) == "unsubscribed"
    deliver(text_message(SENDER, text, "wamid.late"))
    assert status(contact) == "unsubscribed" and not can_send(contact, "marketing")
    assert not ConsentEvent.objects.filter(contact=contact, event_type="confirmed").exists()


def test_a_renewed_request_accepts_the_earlier_reference(pending, deliver):
    contact, first_text, _reference = pending
    reference_from(post()["Location"])  # a second click renews the request with a new reference
    deliver(text_message(SENDER, first_text, "wamid.first"))
    assert status(contact) == "subscribed"


def test_expired_request_is_not_confirmed(pending, deliver):
    contact, text, _reference = pending
    ConsentState.objects.filter(contact=contact).update(pending_expires_at=timezone.now() - timedelta(days=1))
    deliver(text_message(SENDER, text, "wamid.expired"))
    assert status(contact) == "expired"
    assert not ConsentEvent.objects.filter(contact=contact, event_type="confirmed").exists()


def test_redelivery_confirms_once(pending, deliver):
    contact, text, _reference = pending
    deliver(text_message(SENDER, text, "wamid.twice"))
    deliver(text_message(SENDER, text, "wamid.twice", ts=1_900_000_001))  # Meta retries, new body
    assert ConsentEvent.objects.filter(contact=contact, event_type="confirmed").count() == 1
    assert len(sent_texts()) == 1


def test_ad_referral_carrying_the_reference_is_no_consent(pending, deliver):
    contact, text, _reference = pending
    message = {
        "from": SENDER,
        "id": "wamid.ad",
        "timestamp": "1900000000",
        "type": "text",
        "text": {"body": text},
        "referral": {"source_url": "https://fb.me/ad", "source_type": "ad", "source_id": "1"},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PHONE1"},
        "contacts": [{"profile": {"name": "Lena"}, "wa_id": SENDER}],
        "messages": [message],
    }
    deliver(envelope("messages", value))
    assert status(contact) == "pending"
