"""Number changes (Art. 16): the service, and Meta's number-change webhook through the signed path."""

from __future__ import annotations

import copy
import logging

import pytest
from django.utils import timezone

from tests.conftest import DE_MOBILE
from tests.messaging.helpers import consenting, text_message
from tests.webhooks.payloads import case
from wagtail_wa_consent.consent import hashing, service
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.enums import Status
from wagtail_wa_consent.consent.erasure import erase_contact
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.models import ConsentEvent, Contact
from wagtail_wa_consent.exceptions import InvalidPhoneNumber
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.messaging.outbox import enqueue_text
from wagtail_wa_consent.pages.export import export_contact
from wagtail_wa_consent.rights.models import NumberChange
from wagtail_wa_consent.rights.numbers import NumberChangeRefused, change_number, link_carrier

pytestmark = pytest.mark.django_db

NEW_MOBILE = "+4917612345678"
OLD_DIGITS, NEW_DIGITS = DE_MOBILE.lstrip("+"), NEW_MOBILE.lstrip("+")


def number_change_payload(old: str, new: str) -> dict:
    """Meta's captured ``user_changed_number`` delivery (pywa's system.json), with our numbers:
    the captured ones are Israeli test numbers that are not valid mobile numbers."""
    body = copy.deepcopy(case("system", "phone_number_change"))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["from"] = old
    message["system"].update(wa_id=new, body=f"User A changed from {old} to {new}")
    return body


# --- The service ----------------------------------------------------------------------------


def test_change_keeps_the_contact_and_records_digests(contact):
    change = change_number(contact, "0176 12345678", source="admin", actor="admin:7")
    contact.refresh_from_db()
    assert contact.phone_e164 == NEW_MOBILE and contact.phone_digest == hashing.phone_digest(NEW_MOBILE)
    assert change.old_digest == hashing.phone_digest(DE_MOBILE)
    assert change.new_digest == contact.phone_digest and change.actor == "admin:7"
    assert DE_MOBILE not in str(NumberChange.objects.values().get())  # digests only


def test_processed_raw_webhooks_naming_the_old_number_are_blanked_at_the_change(contact):
    from wagtail_wa_consent.messaging.models import WebhookDelivery

    naming_old = WebhookDelivery.objects.create(
        dedupe_key="old", body=f'{{"from": "{OLD_DIGITS}", "text": "hi"}}', processed_at=timezone.now()
    )
    pending = WebhookDelivery.objects.create(dedupe_key="pending", body=f'{{"from": "{OLD_DIGITS}"}}')
    change_number(contact, NEW_MOBILE, source="admin")
    naming_old.refresh_from_db()
    pending.refresh_from_db()
    # Erasure later looks for the current number only, so the old one must not linger.
    assert naming_old.body == "" and naming_old.dedupe_key == "old"
    assert OLD_DIGITS in pending.body  # not processed yet: its processing must not be lost


def test_change_refuses_a_number_another_contact_with_history_holds(contact):
    other = consenting(NEW_MOBILE, "marketing")
    with pytest.raises(NumberChangeRefused) as error:
        change_number(contact, NEW_MOBILE, source="admin")
    assert error.value.code == "in_use"
    contact.refresh_from_db()
    other.refresh_from_db()
    assert (contact.phone_e164, other.phone_e164) == (DE_MOBILE, NEW_MOBILE)
    assert not NumberChange.objects.exists()


def test_change_refuses_an_erased_contacts_number(contact):
    erased = service.get_or_create_contact(NEW_MOBILE)
    erase_contact(erased, Evidence(source="admin", actor="admin:1", user_action="erasure request"))
    with pytest.raises(NumberChangeRefused) as error:
        change_number(contact, NEW_MOBILE, source="admin")
    assert error.value.code == "erased_number"


def test_change_to_the_same_number_is_refused(contact):
    with pytest.raises(NumberChangeRefused) as error:
        change_number(contact, "+49 151 23456789", source="admin")
    assert error.value.code == "unchanged"


def test_change_refuses_invalid_numbers_and_erased_contacts(contact):
    with pytest.raises(InvalidPhoneNumber):
        change_number(contact, "12", source="admin")
    erase_contact(contact, Evidence(source="admin", actor="admin:1", user_action="erasure request"))
    with pytest.raises(NumberChangeRefused) as error:
        change_number(contact, NEW_MOBILE, source="admin")
    assert error.value.code == "erased"


def test_an_empty_holder_of_the_new_number_is_merged(contact):
    carrier = link_carrier(NEW_MOBILE)
    link = enqueue_text(carrier, "consent_notice", "confirm your new number", key="k")
    change_number(contact, NEW_MOBILE, source="preference_centre")
    assert not Contact.objects.filter(pk=carrier.pk).exists()
    link.refresh_from_db()
    assert link.contact_id == contact.pk  # the message to that number stays in the history


def test_link_carrier_is_none_for_an_erased_number(contact):
    erase_contact(contact, Evidence(source="admin", actor="admin:1", user_action="erasure request"))
    assert link_carrier(DE_MOBILE) is None
    assert link_carrier(NEW_MOBILE).phone_e164 == NEW_MOBILE


# --- Meta's number-change webhook -----------------------------------------------------------


def test_captured_payload_unchanged_is_accepted_and_ignored(deliver, caplog):
    """The capture's numbers (+972 9…) are not valid mobile numbers: nothing to move, no error."""
    consenting(DE_MOBILE, "marketing")
    with caplog.at_level(logging.INFO, logger="wagtail_wa_consent.webhooks"):
        deliver(case("system", "phone_number_change"))
    assert not NumberChange.objects.exists()
    assert "972" not in caplog.text  # no number in the logs


def test_webhook_number_change_moves_the_whole_history(deliver, web_evidence, caplog):
    contact = consenting(DE_MOBILE, "marketing", "support")
    service.request_opt_in(contact, ["transactional"], web_evidence)
    before = list(ConsentEvent.objects.filter(contact=contact).order_by("sequence"))
    with caplog.at_level(logging.INFO):
        deliver(number_change_payload(OLD_DIGITS, NEW_DIGITS))

    contact.refresh_from_db()
    assert contact.phone_e164 == NEW_MOBILE and Contact.objects.count() == 1
    change = NumberChange.objects.get()
    assert (change.contact, change.source, change.actor) == (contact, "whatsapp", "meta")
    assert change.old_digest == hashing.phone_digest(DE_MOBILE) == before[0].phone_digest
    # The old events are untouched and still verify; consent carries over to the new number.
    assert list(ConsentEvent.objects.filter(contact=contact).order_by("sequence")) == before
    assert verify_ledger([contact.pk]).ok
    assert service.current_status(contact, "marketing") == Status.SUBSCRIBED
    assert DE_MOBILE.lstrip("+") not in caplog.text and NEW_DIGITS not in caplog.text

    exported = export_contact(contact)
    assert exported["contact"]["phone_number"] == NEW_MOBILE
    (listed,) = exported["number_changes"]
    assert listed["source"] == "whatsapp" and listed["old_number_digest"] == change.old_digest
    assert listed["new_number_digest"] == change.new_digest and listed["changed_at"]
    assert exported["consent_events"][0]["number_digest"] == change.old_digest

    # STOP from the new number reaches the same contact and is recorded under the new digest.
    deliver(text_message(NEW_DIGITS, "STOP", "wamid.stop-new"))
    assert service.current_status(contact, "marketing") == Status.UNSUBSCRIBED
    stop = ConsentEvent.objects.filter(contact=contact, confirming_message_id="wamid.stop-new").first()
    assert stop.phone_digest == change.new_digest
    assert verify_ledger([contact.pk]).ok and Contact.objects.count() == 1


def test_webhook_redelivery_and_a_second_notice_change_nothing_more(deliver):
    contact = consenting(DE_MOBILE, "marketing")
    body = number_change_payload(OLD_DIGITS, NEW_DIGITS)
    deliver(body)
    deliver(body)  # Meta's retry: deduplicated
    second = number_change_payload(OLD_DIGITS, NEW_DIGITS)
    second["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.other"
    deliver(second)  # the old number is no longer known: nothing to move
    assert NumberChange.objects.count() == 1
    contact.refresh_from_db()
    assert contact.phone_e164 == NEW_MOBILE


def test_webhook_number_change_onto_a_taken_number_is_not_applied(deliver, caplog):
    contact = consenting(DE_MOBILE, "marketing")
    other = consenting(NEW_MOBILE, "support")
    with caplog.at_level(logging.WARNING, logger="wagtail_wa_consent.webhooks"):
        deliver(number_change_payload(OLD_DIGITS, NEW_DIGITS))
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE and not NumberChange.objects.exists()
    assert f"number change of contact {contact.pk} not applied (in_use)" in caplog.text
    assert service.current_status(other, "support") == Status.SUBSCRIBED


def test_webhook_for_an_unknown_old_number_creates_nothing(deliver):
    deliver(number_change_payload(OLD_DIGITS, NEW_DIGITS))
    assert not Contact.objects.exists() and not NumberChange.objects.exists()
    assert not OutboundMessage.objects.exists()
