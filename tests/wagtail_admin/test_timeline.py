"""The contact timeline: consent events, evidence and messages of one contact, oldest first."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_wa_consent.wagtail_admin.timeline import CONSENT, INBOUND, OUTBOUND, build_timeline

from . import MASKED, PHONE, VIEW_LEDGER, VIEW_PHONE, admin_user, contact, event, inbound, outbound

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 5, 1, 9, 0)


def at(minutes: int) -> datetime:
    return timezone.make_aware(T0 + timedelta(minutes=minutes))


@pytest.fixture
def history():
    person = contact()
    other = contact("+4917612345678")
    rows = {
        "requested": event(
            person,
            at=at(0),
            page_url="https://shop.example/offers/",
            ip_address="203.0.113.77",
            user_agent="UA/1",
        ),
        "double_opt_in": outbound(
            person, "read", at=at(1), category="consent_notice", template_name="confirm_opt_in", read_at=at(3)
        ),
        "yes": inbound(person, "Yes", at=at(5), keyword="yes"),
        "confirmed": event(
            person,
            event_type="confirmed",
            at=at(5),
            level="confirmed",
            source="whatsapp",
            message_id="wamid.Y",
        ),
        "offer": outbound(
            person,
            "failed",
            at=at(60),
            template_name="spring_sale",
            error_code=131026,
            error_title="Undeliverable",
        ),
        "stop": inbound(person, "STOP", at=at(90), keyword="stop"),
        "withdrawn": event(
            person, event_type="withdrawn", at=at(90), source="whatsapp", message_id="wamid.S"
        ),
        # Someone else's history never shows up here.
        "foreign": event(other, at=at(30)),
    }
    return person, rows


def test_build_timeline_merges_kinds_in_time_order(history):
    person, rows = history
    timeline = build_timeline(person)
    assert [entry.item for entry in timeline.entries] == [
        rows["requested"],
        rows["double_opt_in"],
        rows["yes"],  # at one instant: the person's message first, then the consent it caused
        rows["confirmed"],
        rows["offer"],
        rows["stop"],
        rows["withdrawn"],
    ]
    assert [entry.kind for entry in timeline.entries] == [
        CONSENT,
        OUTBOUND,
        INBOUND,
        CONSENT,
        OUTBOUND,
        INBOUND,
        CONSENT,
    ]
    assert timeline.entries[0].evidence is not None and not timeline.truncated


def test_build_timeline_keeps_the_most_recent_window(history):
    person, rows = history
    timeline = build_timeline(person, limit=2)
    assert timeline.truncated
    # Only consent events were cut (3 > 2, oldest kept: "confirmed" at minute 5), so the window
    # starts there: the older outbound message goes too, or the page would show a gap as history.
    assert [entry.item for entry in timeline.entries] == [
        rows["yes"],
        rows["confirmed"],
        rows["offer"],
        rows["stop"],
        rows["withdrawn"],
    ]


def test_timeline_page_lists_events_and_messages_in_order(client, history):
    person, rows = history
    client.force_login(admin_user(VIEW_LEDGER))
    response = client.get(reverse("wa_consent_admin:contact_timeline", args=[person.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    markers = [
        "Consent Offers and news: Requested",
        "confirm_opt_in (en)",
        "Message from the contact",
        "Consent Offers and news: Confirmed",
        "spring_sale (en)",
        "STOP",
        "Consent Offers and news: Withdrawn",
    ]
    positions = [html.index(marker) for marker in markers]
    assert positions == sorted(positions)
    # Statuses and evidence.
    assert "Read" in html and "Failed" in html and "131026 Undeliverable" in html
    assert "203.0.113.0" in html and "UA/1" in html and "https://shop.example/offers/" in html
    assert rows["requested"].hash in html and rows["requested"].wording.text in html
    assert rows["foreign"].hash not in html
    # Current state table.
    assert "Unsubscribed" in html


def test_timeline_masks_the_phone_number_without_the_permission(client, history):
    person, _rows = history
    url = reverse("wa_consent_admin:contact_timeline", args=[person.pk])
    client.force_login(admin_user(VIEW_LEDGER))
    html = client.get(url).content.decode()
    assert MASKED in html and PHONE not in html and person.phone_e164[1:] not in html

    client.force_login(admin_user(VIEW_LEDGER, VIEW_PHONE))
    assert PHONE in client.get(url).content.decode()


def test_unknown_contact_is_404(client, db):
    client.force_login(admin_user(VIEW_LEDGER))
    assert client.get(reverse("wa_consent_admin:contact_timeline", args=[999_999])).status_code == 404
