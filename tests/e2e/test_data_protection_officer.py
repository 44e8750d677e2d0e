"""What a data-protection officer does in the Wagtail admin: record an access request, download
the evidence pack and print it, then answer an erasure request and see the number gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.messaging.helpers import consenting
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.models import Contact, SuppressionEntry
from wagtail_wa_consent.rights.models import DataSubjectRequest

from .test_editor import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NUMBER = "+4915112345678"


def record_request(page: Page, base: str, kind_label: str) -> None:
    page.goto(f"{base}/cms/wa-consent/requests/new/")
    page.get_by_label("Request").select_option(label=kind_label)
    page.get_by_label(re.compile("WhatsApp number")).fill(NUMBER)
    page.get_by_role("button", name=re.compile("save|record|create", re.I)).first.click()
    expect(page.locator("#wa-request-contact")).to_be_visible()


def test_access_request_evidence_pack_then_erasure(page: Page, demo, shot, offline, tmp_path):
    contact = consenting(NUMBER, "marketing")
    log_in(page, demo)

    record_request(page, demo, "Access (Art. 15)")
    shot("01-access-request")
    expect(page.locator("#wa-request-heading ~ dl")).to_contain_text("Open")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("evidence pack", re.I)).click()
    pack = tmp_path / "pack.html"
    download.value.save_as(pack)
    html = pack.read_text(encoding="utf-8")
    assert "Chain verified" in html and NUMBER in html

    # The pack is a standalone document (nothing to fetch): show it and print it to PDF as a
    # DPO would.
    detail_url = page.url
    page.set_content(html)
    expect(page.get_by_role("status")).to_contain_text("Chain verified")
    expect(page.locator("article.consent[data-chain=verified]")).to_have_count(2)
    shot("02-evidence-pack")
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000

    page.goto(detail_url)
    page.get_by_role("button", name="Complete the request").click()
    expect(page.locator(".messages")).to_be_visible()
    assert DataSubjectRequest.objects.get(kind="access").state == "done"

    record_request(page, demo, "Erasure (Art. 17)")
    page.get_by_role("button", name=re.compile("Erase")).click()
    shot("03-erasure-confirmation")
    page.get_by_role("button", name="Yes, erase").click()
    expect(page.locator(".messages")).to_be_visible()
    shot("04-erased")

    contact.refresh_from_db()
    assert contact.phone_e164 is None and contact.erased_at is not None
    assert SuppressionEntry.objects.filter(phone_digest=contact.phone_digest, lifted_at=None).exists()
    assert not Contact.objects.filter(phone_e164=NUMBER).exists()
    assert verify_ledger().ok
    assert offline == []
