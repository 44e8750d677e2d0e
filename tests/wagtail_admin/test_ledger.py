"""The consent ledger report: filters, masked phone numbers and the streamed CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from . import MASKED, PHONE, VIEW_LEDGER, VIEW_PHONE, admin_user, contact, event

pytestmark = pytest.mark.django_db

URL = "wa_consent_admin:ledger"
RESULTS = "wa_consent_admin:ledger_results"
OTHER_PHONE = "+4917612345678"


@pytest.fixture
def ledger():
    """Two contacts, five events on different days, sources and levels."""
    lena, omar = contact(PHONE), contact(OTHER_PHONE)
    day = timezone.make_aware(datetime(2030, 3, 10, 12, 0))
    return {
        "requested": event(lena, "marketing", "requested", at=day, page_url="https://shop.example/offers/"),
        "confirmed": event(
            lena,
            "marketing",
            "confirmed",
            at=day + timedelta(hours=1),
            level="confirmed",
            source="whatsapp",
            message_id="wamid.YES1",
        ),
        "checkout": event(
            omar, "transactional", "confirmed", at=day + timedelta(days=2), level="single", source="checkout"
        ),
        "withdrawn": event(
            lena,
            "marketing",
            "withdrawn",
            at=day + timedelta(days=5),
            source="whatsapp",
            message_id="wamid.STOP",
        ),
        "declined": event(
            omar,
            "marketing",
            "declined",
            at=day + timedelta(days=9),
            source="whatsapp",
            message_id="wamid.NO",
        ),
    }


def hashes(response) -> set[str]:
    """Rows of the listing, by the short hash the table shows."""
    html = response.content.decode()
    return {h for h in html.split() if len(h) == 12 and all(c in "0123456789abcdef" for c in h)}


def shown(events) -> set[str]:
    return {e.hash[:12] for e in events}


def test_listing_shows_every_event(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    response = client.get(reverse(URL))
    assert response.status_code == 200
    assert shown(ledger.values()) <= hashes(response)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "transactional"}, {"checkout"}),
        ({"event_type": ["withdrawn", "declined"]}, {"withdrawn", "declined"}),
        ({"source": "checkout"}, {"checkout"}),
        ({"source": "whatsapp", "event_type": "confirmed"}, {"confirmed"}),
        ({"opt_in_level": "single"}, {"checkout"}),
        ({"occurred_at_from": "2030-03-12", "occurred_at_to": "2030-03-15"}, {"checkout", "withdrawn"}),
        ({"occurred_at_to": "2030-03-10"}, {"requested", "confirmed"}),
    ],
)
def test_filters_filter(client, ledger, params, expected):
    client.force_login(admin_user(VIEW_LEDGER))
    response = client.get(reverse(RESULTS), params)
    assert response.status_code == 200
    found = hashes(response) & shown(ledger.values())
    assert found == shown(ledger[name] for name in expected)


def test_search_finds_an_event_by_message_id_or_reference(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    response = client.get(reverse(RESULTS), {"q": "wamid.STOP"})
    assert hashes(response) & shown(ledger.values()) == shown([ledger["withdrawn"]])
    order = event(contact(), reference="ORDER-100042")
    response = client.get(reverse(RESULTS), {"q": "100042"})
    assert hashes(response) & {order.hash[:12], *shown(ledger.values())} == {order.hash[:12]}


def test_header_offers_the_ledger_search_and_filters_only(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    html = client.get(reverse(URL)).content.decode()
    assert 'name="q"' in html and 'name="event_type"' in html and 'name="occurred_at_from"' in html
    assert 'name="sort_by"' not in html  # the shop's (Oscar's) search form stays out


def test_phone_numbers_are_masked_without_the_permission(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    html = client.get(reverse(URL)).content.decode()
    assert MASKED in html
    assert PHONE not in html and OTHER_PHONE not in html and "15123456789" not in html


def test_phone_numbers_are_shown_with_the_permission(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER, VIEW_PHONE))
    html = client.get(reverse(URL)).content.decode()
    assert PHONE in html and OTHER_PHONE in html
    assert MASKED not in html


def test_listing_is_newest_first_and_sortable(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    newest_first = client.get(reverse(RESULTS)).content.decode()
    oldest_first = client.get(reverse(RESULTS), {"ordering": "occurred_at"}).content.decode()
    declined, requested = ledger["declined"].hash[:12], ledger["requested"].hash[:12]
    assert newest_first.index(declined) < newest_first.index(requested)
    assert oldest_first.index(requested) < oldest_first.index(declined)


def test_contact_links_to_its_timeline(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    html = client.get(reverse(URL)).content.decode()
    assert reverse("wa_consent_admin:contact_timeline", args=[ledger["requested"].contact_id]) in html


def export(client, **params) -> tuple[list[str], list[dict[str, str]]]:
    """The CSV export as (header, rows)."""
    response = client.get(reverse(URL), {"export": "csv", **params})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)  # streamed, not built in memory
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = lines[0], lines[1:]
    return header, [dict(zip(header, line, strict=True)) for line in body]


HEADER = [
    "Time (UTC)",
    "Contact ID",
    "Phone number",
    "Category",
    "Event",
    "Source",
    "Opt-in level",
    "Wording digest",
    "Language",
    "Privacy policy revision",
    "Page URL",
    "User action",
    "Reference",
    "Recorded by",
    "IP address (truncated)",
    "WhatsApp message ID",
    "Hash",
]


def test_csv_export_has_a_header_and_one_row_per_event(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER, VIEW_PHONE))
    header, rows = export(client)
    assert header == HEADER
    assert {row["Hash"] for row in rows} == {e.hash for e in ledger.values()}
    # Newest first, like the listing.
    assert rows[0]["Hash"] == ledger["declined"].hash
    row = next(r for r in rows if r["Hash"] == ledger["requested"].hash)
    assert row["Contact ID"] == str(ledger["requested"].contact_id)
    assert row["Phone number"] == PHONE
    assert row["Category"] == "marketing" and row["Event"] == "requested" and row["Source"] == "web_block"
    assert row["Wording digest"] == ledger["requested"].wording.digest
    assert row["Language"] == "en"
    assert row["Page URL"] == "https://shop.example/offers/"
    assert row["Time (UTC)"] == "2030-03-10T12:00:00.000000+00:00"
    confirmed = next(r for r in rows if r["Hash"] == ledger["confirmed"].hash)
    assert confirmed["WhatsApp message ID"] == "wamid.YES1" and confirmed["Opt-in level"] == "confirmed"


def test_csv_export_masks_phone_numbers_without_the_permission(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    _header, rows = export(client)
    assert rows and {row["Phone number"] for row in rows} == {MASKED, "+49 176 ••••• 78"}


def test_csv_export_applies_the_filters(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    _header, rows = export(client, event_type="withdrawn")
    assert [row["Hash"] for row in rows] == [ledger["withdrawn"].hash]


def test_csv_export_carries_the_truncated_ip(client, db):
    person = contact()
    recorded = event(person, ip_address="203.0.113.77", user_agent="Mozilla/5.0")
    client.force_login(admin_user(VIEW_LEDGER))
    _header, rows = export(client)
    (row,) = [r for r in rows if r["Hash"] == recorded.hash]
    assert row["IP address (truncated)"] == recorded.personal_evidence.ip_address
    assert row["IP address (truncated)"] != "203.0.113.77"  # only the network prefix is kept


def test_csv_export_neutralises_formulas(client, db):
    person = contact()
    event(person, policy_revision='=HYPERLINK("https://evil.example")')
    client.force_login(admin_user(VIEW_LEDGER))
    _header, rows = export(client)
    assert rows[0]["Privacy policy revision"].startswith("'=")


def test_only_csv_is_offered(client, ledger):
    client.force_login(admin_user(VIEW_LEDGER))
    html = client.get(reverse(URL)).content.decode()
    assert "export=csv" in html
    assert "export=xlsx" not in html
    # An XLSX request gets the normal page, not an in-memory workbook.
    response = client.get(reverse(URL), {"export": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
