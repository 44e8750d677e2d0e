"""Contacts who never confirmed anything are erased PENDING_OPT_IN_RETENTION_DAYS after their
last request expired or was declined, without going on the suppression list."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.conftest import wa_settings
from wagtail_wa_consent import retention
from wagtail_wa_consent.consent import service, suppression
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.enums import EventType, Status
from wagtail_wa_consent.consent.models import ConsentEvidence, Contact, SuppressionEntry
from wagtail_wa_consent.rights.models import DataSubjectRequest

from .helpers import NO, inbound, outbound, requested, subscribed, withdrawn

pytestmark = pytest.mark.django_db


def test_expired_request_is_erased_thirty_days_after_it_expired(clock):
    contact = requested("marketing")
    number = contact.phone_e164
    clock.travel(days=8)

    first = retention.apply(clock.now)
    # The request expires now; the period runs from the expiry, so the number stays for now.
    assert first["expired_opt_ins"].count == 1 and first["expired_opt_ins"].contact_ids == [contact.pk]
    assert first["pending_opt_ins"].count == 0
    assert service.current_status(contact, "marketing") == Status.EXPIRED

    clock.travel(days=29)
    assert retention.apply(clock.now)["pending_opt_ins"].count == 0
    clock.travel(days=2)
    report = retention.apply(clock.now)

    assert report["pending_opt_ins"].contact_ids == [contact.pk]
    contact.refresh_from_db()
    assert contact.phone_e164 is None and contact.erased_at is not None
    assert not ConsentEvidence.objects.filter(event__contact=contact).exists()
    # Never confirmed: the person did not ask to be blocked, so the number is not listed.
    assert not SuppressionEntry.objects.exists()
    assert not suppression.is_suppressed(number)
    # The ledger keeps the anonymised proof, closed by the erasure's withdrawal.
    assert contact.consent_events.filter(event_type=EventType.REQUESTED).exists()
    last = contact.consent_events.order_by("-sequence").first()
    assert (last.event_type, last.source, last.actor) == (EventType.WITHDRAWN, "system", "system")
    assert "30 days" in last.user_action
    assert verify_ledger().ok


def test_declined_request_is_erased_with_its_messages_blanked(clock):
    contact = requested("marketing")
    question = outbound(contact, category="consent_notice")
    answer = inbound(contact, "No")
    service.decline(contact, NO)
    clock.travel(days=31)

    report = retention.apply(clock.now)

    assert report["pending_opt_ins"].contact_ids == [contact.pk]
    question.refresh_from_db()
    answer.refresh_from_db()
    assert question.parameters == [] and answer.text == ""
    assert verify_ledger().ok


def test_earlier_suppression_entry_is_left_as_it_was(clock):
    contact = requested("marketing")
    entry = suppression.suppress(contact.phone_digest, SuppressionEntry.Reason.REQUESTED)
    clock.travel(days=8)
    retention.apply(clock.now)
    clock.travel(days=31)

    assert retention.apply(clock.now)["pending_opt_ins"].count == 1

    after = SuppressionEntry.objects.get()
    assert (after.reason, after.created_at, after.lifted_at) == (entry.reason, entry.created_at, None)


def test_request_still_waiting_is_kept_even_with_a_short_period(clock):
    contact = requested("marketing")
    clock.travel(days=3)
    with wa_settings(PENDING_OPT_IN_RETENTION_DAYS=1):
        report = retention.apply(clock.now)
    assert report["pending_opt_ins"].count == 0 and report["expired_opt_ins"].count == 0
    assert Contact.objects.get(pk=contact.pk).phone_e164


def test_contacts_who_ever_agreed_are_not_this_rules(clock):
    agreed, stopped = subscribed("marketing"), withdrawn("marketing")
    declined_then = requested("transactional")
    service.decline(declined_then, NO)
    clock.travel(days=31)
    with wa_settings(WITHDRAWN_CONTACT_RETENTION_DAYS=None):
        report = retention.apply(clock.now)
    assert report["pending_opt_ins"].contact_ids == [declined_then.pk]
    assert Contact.objects.filter(pk__in=[agreed.pk, stopped.pk], phone_e164__isnull=False).count() == 2


def test_none_keeps_never_confirmed_contacts_also_from_the_withdrawn_rule(clock):
    contact = requested("marketing")
    service.decline(contact, NO)
    clock.travel(days=3650)
    with wa_settings(PENDING_OPT_IN_RETENTION_DAYS=None):
        report = retention.apply(clock.now)
    assert not report["pending_opt_ins"].enabled
    assert report["withdrawn_contacts"].count == 0
    assert Contact.objects.get(pk=contact.pk).phone_e164


def test_open_access_request_holds_the_number(clock):
    contact = requested("marketing")
    service.decline(contact, NO)
    request = DataSubjectRequest.objects.create(
        kind=DataSubjectRequest.Kind.ACCESS, channel="admin", contact=contact, received_at=timezone.now()
    )
    clock.travel(days=31)

    assert retention.plan(clock.now)["pending_opt_ins"].held_contact_ids == [contact.pk]
    report = retention.apply(clock.now)
    assert report["pending_opt_ins"].count == 0 and report["pending_opt_ins"].held_contact_ids == [contact.pk]
    assert Contact.objects.get(pk=contact.pk).phone_e164

    request.state = DataSubjectRequest.State.DONE
    request.save()
    assert retention.apply(clock.now)["pending_opt_ins"].contact_ids == [contact.pk]
