"""Audience selection, filters, frequency cap, quiet hours, the reach tier, idempotent queueing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from wagtail_wa_consent.campaigns import service
from wagtail_wa_consent.campaigns.models import Campaign
from wagtail_wa_consent.consent import service as consent
from wagtail_wa_consent.consent.erasure import erase_contact
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.models import Contact
from wagtail_wa_consent.messaging.models import OutboundMessage

from ..conftest import wa_settings
from .helpers import WEB, campaign, consenting, marketing_template, pending, phones

pytestmark = pytest.mark.django_db

NO_QUIET = wa_settings(CAMPAIGN_QUIET_HOURS=None)
STOP = Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.stop")


def queued_contacts(c: Campaign) -> set[int]:
    return set(service.campaign_messages(c).values_list("contact_id", flat=True))


@NO_QUIET
def test_audience_is_confirmed_marketing_only():
    a, single, pend, withdrawn, erased, transactional, b = phones(7)
    confirmed = consenting(a, "marketing")
    also = consenting(b, "marketing", "transactional")
    contact = consent.get_or_create_contact(single)
    consent.grant_single_opt_in(contact, ["marketing"], WEB)
    pending(pend)
    consent.withdraw(consenting(withdrawn, "marketing"), STOP, ["marketing"])
    erase_contact(consenting(erased, "marketing"), Evidence(source="admin", user_action="erasure request"))
    consenting(transactional, "transactional")

    c = service.queue(campaign().pk)

    assert queued_contacts(c) == {confirmed.pk, also.pk}
    assert c.status == "sending" and c.total_recipients == 2
    row = service.campaign_messages(c).get(contact=confirmed)
    assert row.idempotency_key == f"campaign:{c.pk}:{confirmed.pk}"
    assert (row.category, row.kind, row.template_name, row.parameters) == (
        "marketing",
        "template",
        "spring_sale",
        ["Lena"],
    )


@NO_QUIET
def test_requeue_is_idempotent():
    for phone in phones(3):
        consenting(phone, "marketing")
    c = campaign()
    service.queue(c.pk)
    first = list(service.campaign_messages(c).order_by("pk").values_list("pk", "next_attempt_at"))
    late = consenting(phones(1, start=50)[0], "marketing")
    c = service.queue(c.pk)
    again = list(service.campaign_messages(c).order_by("pk").values_list("pk", "next_attempt_at"))
    assert again[:3] == first  # existing rows untouched
    assert len(again) == 4 and c.total_recipients == 4
    assert late.pk in queued_contacts(c)


@NO_QUIET
def test_language_and_country_filters():
    de, de_en = phones(2)
    sa = "+966501234567"
    uz = "+998901234567"
    contacts = {p: consenting(p, "marketing") for p in (de, de_en, sa, uz)}
    Contact.objects.filter(pk=contacts[de].pk).update(language="de")
    Contact.objects.filter(pk=contacts[de_en].pk).update(language="en-GB")
    Contact.objects.filter(pk=contacts[sa].pk).update(language="ar")

    by_language = service.queue(campaign(languages="en, ar").pk)
    assert queued_contacts(by_language) == {contacts[de_en].pk, contacts[sa].pk}

    by_country = service.queue(campaign(countries="sa UZ").pk)
    assert queued_contacts(by_country) == {contacts[sa].pk, contacts[uz].pk}


@NO_QUIET
def test_shared_calling_code_is_filtered_by_region():
    us = consenting("+12025550143", "marketing")  # Washington DC
    ca = consenting("+14165550143", "marketing")  # Toronto
    c = service.queue(campaign(countries="CA").pk)
    assert queued_contacts(c) == {ca.pk}
    assert us.pk not in queued_contacts(c)
    assert c.skipped_filters == 1


@NO_QUIET
def test_opted_in_since_filter():
    contact = consenting(phones(1)[0], "marketing")
    today = timezone.now().date()
    assert queued_contacts(service.queue(campaign(opted_in_since=today).pk)) == {contact.pk}
    assert queued_contacts(service.queue(campaign(opted_in_since=today + timedelta(days=1)).pk)) == set()


@NO_QUIET
def test_last_order_filter(django_user_model):
    from oscar.core.loading import get_model
    from oscar.test.factories import create_order

    buyer = django_user_model.objects.create_user("buyer", "b@example.com", "pw")
    old_buyer = django_user_model.objects.create_user("old", "o@example.com", "pw")
    nobody = django_user_model.objects.create_user("none", "n@example.com", "pw")
    recent, old, never = (consenting(p, "marketing") for p in phones(3))
    Contact.objects.filter(pk=recent.pk).update(user=buyer)
    Contact.objects.filter(pk=old.pk).update(user=old_buyer)
    Contact.objects.filter(pk=never.pk).update(user=nobody)
    order_model = get_model("order", "Order")
    for user, placed in (
        (buyer, datetime(2026, 10, 5, tzinfo=UTC)),
        (old_buyer, datetime(2025, 1, 5, tzinfo=UTC)),
    ):
        order = create_order(user=user)
        order_model.objects.filter(pk=order.pk).update(date_placed=placed)

    c = service.queue(campaign(last_order_from=date(2026, 1, 1)).pk)
    assert queued_contacts(c) == {recent.pk}
    c = service.queue(campaign(last_order_to=date(2025, 12, 31)).pk)
    assert queued_contacts(c) == {old.pk}


@NO_QUIET
def test_frequency_cap_skips_contacts_with_recent_marketing():
    busy, free = (consenting(p, "marketing") for p in phones(2))
    now = timezone.now()
    OutboundMessage.objects.bulk_create(
        OutboundMessage(
            idempotency_key=f"earlier:{i}",
            contact=busy,
            category="marketing",
            kind="template",
            template_name="x",
            status=status,
            next_attempt_at=now,
        )
        for i, status in enumerate(["sent", "delivered", "denied"])
    )
    with wa_settings(CAMPAIGN_FREQUENCY_CAP=2, CAMPAIGN_QUIET_HOURS=None):
        c = service.queue(campaign().pk)
    assert queued_contacts(c) == {free.pk}
    assert c.skipped_frequency_cap == 1
    with wa_settings(CAMPAIGN_FREQUENCY_CAP=3, CAMPAIGN_QUIET_HOURS=None):  # denied rows don't count
        assert queued_contacts(service.queue(campaign().pk)) == {busy.pk, free.pk}
    with wa_settings(CAMPAIGN_FREQUENCY_CAP=2, CAMPAIGN_FREQUENCY_DAYS=7, CAMPAIGN_QUIET_HOURS=None):
        OutboundMessage.objects.update(created_at=now - timedelta(days=8))  # all out of the window
        assert queued_contacts(service.queue(campaign().pk)) == {busy.pk, free.pk}


@pytest.mark.parametrize(
    ("phone", "when", "expected"),
    [
        # Riyadh is UTC+3: 20:00 UTC is 23:00 there -> 09:00 next morning = 06:00 UTC.
        (
            "+966501234567",
            datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
        ),
        # 03:00 UTC is 06:00 in Riyadh -> 09:00 the same day.
        ("+966501234567", datetime(2026, 11, 23, 3, 0, tzinfo=UTC), datetime(2026, 11, 23, 6, 0, tzinfo=UTC)),
        # Tashkent is UTC+5: 20:00 UTC is 01:00 on the 24th there -> 09:00 local = 04:00 UTC.
        (
            "+998901234567",
            datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 4, 0, tzinfo=UTC),
        ),
        # 10:00 UTC is 15:00 in Tashkent: not quiet.
        (
            "+998901234567",
            datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_in_recipient_time_zone(phone, when, expected):
    assert service.outside_quiet_hours(when, phone, (21, 9)) == expected


def test_time_zone_from_number():
    assert service.zone_for("+966501234567").key == "Asia/Riyadh"
    assert service.zone_for("+998901234567").key == "Asia/Tashkent"


def test_queue_applies_quiet_hours():
    riyadh = consenting("+966501234567", "marketing")
    tashkent = consenting("+998901234567", "marketing")
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    with wa_settings(CAMPAIGN_QUIET_HOURS=(21, 9)):
        c = service.queue(campaign().pk, now=now)
    due = dict(service.campaign_messages(c).values_list("contact_id", "next_attempt_at"))
    assert due[riyadh.pk] == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    assert due[tashkent.pk] == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


@NO_QUIET
def test_reach_tier_spreads_rows_over_days(monkeypatch):
    for phone in phones(5):
        consenting(phone, "marketing")
    monkeypatch.setattr(service.ratelimit, "tier_limit", lambda: 2)
    now = timezone.now()
    c = service.queue(campaign().pk, now=now)
    due = sorted(service.campaign_messages(c).values_list("next_attempt_at", flat=True))
    assert due == [now, now, now + timedelta(days=1), now + timedelta(days=1), now + timedelta(days=2)]


@NO_QUIET
def test_send_at_in_the_future_is_respected():
    consenting(phones(1)[0], "marketing")
    later = timezone.now() + timedelta(days=3)
    c = service.queue(campaign(send_at=later).pk)
    assert list(service.campaign_messages(c).values_list("next_attempt_at", flat=True)) == [later]


def test_draft_or_cancelled_campaign_is_not_queued():
    with pytest.raises(service.CampaignStateError):
        service.queue(campaign(status="draft").pk)
    with pytest.raises(service.CampaignStateError):
        service.queue(campaign(status="cancelled").pk)


# --- template validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"opt_out": False}, "no opt-out"),
        ({"status": "PAUSED"}, "PAUSED"),
        ({"status": "REJECTED"}, "REJECTED"),
    ],
)
def test_template_must_be_approved_marketing_with_opt_out(kwargs, message):
    bad = marketing_template("bad_one", **kwargs)
    c = Campaign(name="x", template=bad, parameters="Lena")
    with pytest.raises(ValidationError) as info:
        c.full_clean()
    assert message in " ".join(info.value.message_dict["template"])


def test_utility_template_is_refused():
    from ..messaging.helpers import template

    utility = template("order_update", "UTILITY")
    with pytest.raises(ValidationError) as info:
        Campaign(name="x", template=utility, parameters="Lena").full_clean()
    assert "template" in info.value.message_dict


def test_parameter_count_must_match():
    with pytest.raises(ValidationError) as info:
        Campaign(name="x", template=marketing_template(params=2), parameters="only one").full_clean()
    assert "parameters" in info.value.message_dict
    Campaign(name="x", template=marketing_template("ok", params=2), parameters="a\nb").full_clean()
