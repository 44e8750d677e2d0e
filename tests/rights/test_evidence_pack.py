"""The printable evidence pack: each consent's full proof and the verdict of the hash chain."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.conftest import DE_MOBILE
from tests.rights.conftest import tamper
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.erasure import erase_contact
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.models import ConsentEvent
from wagtail_wa_consent.messaging.models import InboundMessage
from wagtail_wa_consent.messaging.outbox import enqueue_text
from wagtail_wa_consent.rights.evidence_pack import (
    BROKEN,
    UNVERIFIED,
    VERIFIED,
    evidence_pack_context,
    evidence_pack_response,
    render_evidence_pack,
)
from wagtail_wa_consent.rights.numbers import change_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(contact, web_evidence, yes_evidence):
    service.request_opt_in(contact, ["marketing"], web_evidence)
    service.confirm(contact, yes_evidence)
    service.withdraw(contact, yes_evidence.with_changes(user_action="sent STOP", message_id="wamid.stop"))
    enqueue_text(contact, "support", "Your parcel is on its way", key="k1")
    InboundMessage.objects.create(
        contact=contact, wamid="wamid.in1", type="text", text="Thanks!", received_at=timezone.now()
    )
    return list(ConsentEvent.objects.filter(contact=contact).order_by("sequence"))


def test_intact_chain_shows_verified_and_every_proof(contact, history, web_evidence):
    html = render_evidence_pack(contact)
    assert 'data-chain="verified"' in html and "Chain verified" in html and "BROKEN" not in html
    assert html.count('<article class="consent"') == len(history) == 5
    assert html.count('data-chain="verified"') == 1 + len(history)  # banner + each event
    first = history[0]
    for shown in (
        web_evidence.wording,
        first.wording.digest,
        "page:3/revision:7",
        "https://shop.example/offers/",  # the page, without its query string
        web_evidence.user_action,
        "203.0.113.0",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "wamid.HBgLNDk=",
        first.hash,
        first.prev_hash,
        history[1].prev_hash,
        DE_MOBILE,
        "Your parcel is on its way",
        "Thanks!",
        "Offers and news",
        "Opt-in block on a web page",
    ):
        assert shown in html, shown
    assert "matches the text" in html and "does NOT match" not in html


def test_pack_is_a_standalone_printable_document(contact, history):
    html = render_evidence_pack(contact)
    assert html.lstrip().startswith("<!DOCTYPE html>") and '<html lang="en" dir="ltr">' in html
    assert "@media print" in html and "break-before: page" in html
    # Nothing loaded from anywhere: no scripts, stylesheets, images or fonts by URL.
    assert not re.search(r"<script|<link|<img|src=|url\(|@import", html)


def test_pack_follows_the_language_and_direction(contact, history, settings):
    from django.utils import translation

    with translation.override("ar"):
        html = render_evidence_pack(contact)
    assert '<html lang="ar" dir="rtl">' in html


def test_tampered_row_shows_the_chain_broken_at_that_event(contact, history):
    tamper(
        "wa_consent_consentevent",
        "UPDATE wa_consent_consentevent SET event_type = %s WHERE id = %s",
        ["confirmed", history[2].pk],
    )
    context = evidence_pack_context(contact)
    assert not context["chain_ok"] and context["broken"].sequence == 3
    assert [p.chain for p in context["events"]] == [VERIFIED, VERIFIED, BROKEN, UNVERIFIED, UNVERIFIED]
    html = render_evidence_pack(contact)
    assert "Chain BROKEN at #3" in html and 'data-chain="broken"' in html
    assert "stored hash does not match" in html
    assert "Chain verified" not in html


def test_changed_wording_text_is_flagged(contact, history):
    wording = history[0].wording
    tamper(
        "wa_consent_consentwording",
        "UPDATE wa_consent_consentwording SET text = %s WHERE id = %s",
        ["Yes, you may send me anything.", wording.pk],
    )
    context = evidence_pack_context(contact)
    assert context["events"][0].wording_ok is False and not context["wordings_ok"]
    html = render_evidence_pack(contact)
    assert "does NOT match the text" in html and "Chain BROKEN at #1" in html


def test_erased_contact_pack_still_verifies_without_personal_data(contact, history):
    erased = erase_contact(contact, Evidence(source="admin", actor="admin:1", user_action="erasure request"))
    html = render_evidence_pack(erased)
    assert "Chain verified" in html and "Erased" in html
    for gone in (DE_MOBILE, "203.0.113.0", "Mozilla", "Thanks!", "Your parcel is on its way"):
        assert gone not in html, gone
    assert "not held (never recorded, or erased)" in html


def test_number_change_is_listed_and_the_chain_still_verifies(contact, history):
    change = change_number(contact, "+4917612345678", source="admin", actor="admin:1")
    html = render_evidence_pack(contact)
    assert "Chain verified" in html and change.old_digest in html and change.new_digest in html
    assert "Admin (rectification request)" in html


def test_download_response_is_an_attachment_that_runs_nothing(contact, history):
    response = evidence_pack_response(contact)
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="whatsapp-evidence-')
    assert "default-src 'none'" in response["Content-Security-Policy"]
