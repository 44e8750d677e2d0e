"""Message contents, inbound texts and raw webhook bodies are blanked after their periods;
the rows stay as the delivery record."""

from __future__ import annotations

import pytest

from tests.conftest import wa_settings
from wagtail_wa_consent import retention
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.messaging.models import InboundMessage, OutboundMessage, WebhookDelivery

from .helpers import inbound, outbound, subscribed, webhook

pytestmark = pytest.mark.django_db


def test_final_outbound_rows_lose_their_contents_after_the_period(clock):
    contact = subscribed("marketing")
    old = {
        status: outbound(contact, status=status)
        for status in ("sent", "delivered", "read", "failed", "denied")
    }
    waiting = outbound(contact, status="queued")
    clock.travel(days=181)
    recent = outbound(contact, status="delivered")

    report = retention.apply(clock.now)

    assert report["message_bodies"].count == 5
    for status, row in old.items():
        row.refresh_from_db()
        assert (row.parameters, row.content) == ([], {})
        # The delivery record stays: what was sent, when, and how it went.
        assert row.status == status and row.template_name == "spring_sale" and row.wamid
    for row in (waiting, recent):
        row.refresh_from_db()
        assert row.parameters == ["Lena", "20%"], "queued rows and recent rows keep their contents"
    assert retention.apply(clock.now)["message_bodies"].count == 0


def test_outbound_row_just_inside_the_period_is_kept(clock):
    row = outbound(subscribed("marketing"))
    clock.travel(days=179)
    assert retention.apply(clock.now)["message_bodies"].count == 0
    row.refresh_from_db()
    assert row.content == {"quick_replies": ["STOP_PROMOTIONS"]}


def test_inbound_texts_and_payloads_are_blanked(clock):
    contact = subscribed("support")
    old = inbound(contact)
    clock.travel(days=91)
    recent = inbound(contact, "Thanks!")

    assert retention.apply(clock.now)["inbound_messages"].count == 1

    old.refresh_from_db()
    assert (old.text, old.payload) == ("", "")
    assert old.keyword == "HELP" and old.wamid and old.contact_id == contact.pk
    assert InboundMessage.objects.get(pk=recent.pk).text == "Thanks!"
    assert retention.apply(clock.now)["inbound_messages"].count == 0


def test_processed_raw_webhooks_are_blanked_and_keep_their_dedupe_key(clock):
    processed = webhook()
    unprocessed = webhook(processed=False)
    clock.travel(days=31)
    recent = webhook()

    assert retention.apply(clock.now)["webhook_bodies"].count == 1

    processed.refresh_from_db()
    assert processed.body == "" and processed.dedupe_key.startswith("dedupe")
    # An unprocessed body is work still to do; a recent one is inside its period.
    assert WebhookDelivery.objects.get(pk=unprocessed.pk).body
    assert WebhookDelivery.objects.get(pk=recent.pk).body


def test_none_keeps_everything(clock):
    contact = subscribed("marketing")
    row, text, raw = outbound(contact), inbound(contact), webhook()
    clock.travel(days=3650)
    off = {"MESSAGE_RETENTION_DAYS": None, "INBOUND_MESSAGE_RETENTION_DAYS": None}
    with wa_settings(**off, WEBHOOK_BODY_RETENTION_DAYS=None, DORMANT_CONSENT_MONTHS=None):
        report = retention.apply(clock.now)
    for key in ("message_bodies", "inbound_messages", "webhook_bodies"):
        assert report[key].count == 0 and not report[key].enabled
    assert OutboundMessage.objects.get(pk=row.pk).parameters == ["Lena", "20%"]
    assert InboundMessage.objects.get(pk=text.pk).text
    assert WebhookDelivery.objects.get(pk=raw.pk).body


def test_shorter_period_from_the_settings(clock):
    row = outbound(subscribed("marketing"))
    clock.travel(days=8)
    with wa_settings(MESSAGE_RETENTION_DAYS=7):
        assert retention.apply(clock.now)["message_bodies"].count == 1
    row.refresh_from_db()
    assert row.parameters == []
    assert verify_ledger().ok
