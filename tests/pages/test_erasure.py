"""erase_contact: withdraw everything, remove personal data, keep a verifiable anonymised ledger."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.conftest import DE_MOBILE
from tests.messaging.helpers import YES, consenting
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.enums import Status
from wagtail_wa_consent.consent.erasure import erase_contact
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.consent.models import ConsentEvidence
from wagtail_wa_consent.messaging.models import InboundMessage, OutboundMessage, WebhookDelivery
from wagtail_wa_consent.messaging.outbox import enqueue_template, enqueue_text

pytestmark = pytest.mark.django_db

OTHER_MOBILE = "+4917612345678"
REQUEST = Evidence(
    source="preference_centre", user_action="confirmed Delete my data", ip_address="203.0.113.9"
)


@pytest.fixture
def lena(django_user_model, web_evidence):
    user = django_user_model.objects.create_user("lena", "lena@example.com", "pw")
    contact = service.get_or_create_contact(DE_MOBILE, user=user)
    contact.wa_id, contact.bsuid, contact.language = "4915123456789", "DE.123", "de"
    contact.save()
    service.request_opt_in(contact, ["marketing", "support"], web_evidence)
    service.confirm(contact, YES)
    enqueue_template(
        contact, "support", key="t1", template_name="order_shipped", language="en", parameters=["Lena"]
    )
    enqueue_text(contact, "support", "Your parcel for Lena", key="t2")
    InboundMessage.objects.create(
        contact=contact, wamid="wamid.in", type="text", text="Lena, Hauptstr. 1", received_at=timezone.now()
    )
    return contact


def test_erasure_withdraws_first_and_removes_personal_data(lena):
    erased = erase_contact(lena, REQUEST)
    erased.refresh_from_db()
    assert erased.phone_e164 is None and erased.erased_at is not None
    assert (erased.wa_id, erased.bsuid, erased.language, erased.user) == ("", "", "", None)
    for category in service.enabled_categories():
        assert service.current_status(erased, category) == Status.UNSUBSCRIBED
    last = erased.consent_events.order_by("-sequence").first()
    assert last.event_type == "withdrawn" and last.source == "preference_centre" and last.ip_digest
    assert not ConsentEvidence.objects.filter(event__contact=erased).exists()
    assert all(m.parameters == [] and m.content == {} for m in OutboundMessage.objects.filter(contact=erased))
    assert InboundMessage.objects.get(wamid="wamid.in").text == ""


def test_ledger_chain_still_verifies_after_erasure(lena, web_evidence):
    consenting(OTHER_MOBILE, "marketing")
    events_before = lena.consent_events.count()
    erase_contact(lena, REQUEST)
    report = verify_ledger()
    assert report.ok and report.chains == 2
    assert lena.consent_events.count() == events_before + 3  # one withdrawal per category, nothing removed
    assert lena.consent_events.filter(ip_digest__gt="").exists()  # the digests stay as proof


def test_other_contacts_are_untouched(lena, web_evidence):
    other = service.get_or_create_contact(OTHER_MOBILE)
    service.request_opt_in(other, ["marketing"], web_evidence)
    enqueue_text(other, "support", "Omar's parcel", key="o1")
    erase_contact(lena, REQUEST)
    other.refresh_from_db()
    assert other.phone_e164 == OTHER_MOBILE and other.erased_at is None
    assert ConsentEvidence.objects.filter(event__contact=other).count() == 1
    assert OutboundMessage.objects.get(idempotency_key="o1").content == {"body": "Omar's parcel"}
    assert service.current_status(other, "marketing") == Status.PENDING


def test_erased_number_stays_blocked_and_found(lena):
    erase_contact(lena, REQUEST)
    assert can_send(lena, "support").reason == "erased"
    assert service.find_contact(DE_MOBILE) == lena  # by its keyed digest, for suppression


def test_erasing_twice_is_harmless(lena):
    erase_contact(lena, REQUEST)
    count = lena.consent_events.count()
    erase_contact(lena, REQUEST)
    assert lena.consent_events.count() == count and verify_ledger().ok


def test_processed_raw_webhooks_naming_the_number_are_blanked(lena):
    mine = WebhookDelivery.objects.create(
        dedupe_key="a", body='{"wa_id": "4915123456789", "text": "hi"}', processed_at=timezone.now()
    )
    pending = WebhookDelivery.objects.create(dedupe_key="b", body='{"wa_id": "4915123456789"}')
    theirs = WebhookDelivery.objects.create(
        dedupe_key="c", body='{"wa_id": "4917612345678"}', processed_at=timezone.now()
    )
    erase_contact(lena, REQUEST)
    for row in (mine, pending, theirs):
        row.refresh_from_db()
    assert mine.body == "" and pending.body and theirs.body == '{"wa_id": "4917612345678"}'
