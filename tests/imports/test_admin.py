"""The admin upload screen: permission, CSRF, dry run by default, masked report, form errors."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from wagtail_wa_consent.consent import hashing, suppression
from wagtail_wa_consent.consent.models import ConsentEvent, SuppressionEntry
from wagtail_wa_consent.imports import admin_views

from ..wagtail_admin import VIEW_LEDGER, VIEW_PHONE, admin_user
from . import DE, SA, csv_bytes, row, table_counts

pytestmark = pytest.mark.django_db

URL = reverse("wa_consent_admin:import")
IMPORT = "wa_consent.import_contacts"


def upload(data: bytes, name: str = "opt-ins.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def post(client: Client, data: bytes, **fields):
    return client.post(URL, {"file": upload(data), "region": "DE", **fields})


def count(html: str, outcome: str) -> int:
    return int(re.search(rf'data-count="{outcome}">(\d+)<', html).group(1))


def test_users_without_the_permission_are_turned_away(client):
    client.force_login(admin_user(VIEW_LEDGER, VIEW_PHONE))
    refused = client.get(URL)
    assert refused.status_code == 302 and refused.url == reverse("wagtailadmin_home")
    before = table_counts()
    assert post(client, csv_bytes([row(DE)]), dry_run="").status_code == 302
    assert table_counts() == before
    ajax = client.get(URL, headers={"x-requested-with": "XMLHttpRequest"})
    assert ajax.status_code == 403


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("wagtailadmin_login") in response.url


def test_form_has_dry_run_ticked_and_the_default_country(client):
    client.force_login(admin_user(IMPORT))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<input[^>]*name="dry_run"[^>]*checked', html)
    assert 'enctype="multipart/form-data"' in html and "csrfmiddlewaretoken" in html
    assert re.search(r'name="region"[^>]*value="DE"', html)


def test_post_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user(IMPORT))
    before = table_counts()
    assert post(client, csv_bytes([row(DE)]), dry_run="").status_code == 403
    assert table_counts() == before


def test_dry_run_shows_the_report_and_writes_nothing(client):
    client.force_login(admin_user(IMPORT))
    suppression.suppress(hashing.phone_digest(SA), SuppressionEntry.Reason.ERASED)
    before = table_counts()
    response = post(client, csv_bytes([row(DE), row(SA), row("0151 9"), row(DE)]), dry_run="on")
    assert response.status_code == 200
    assert table_counts() == before
    html = response.content.decode()
    assert (count(html, "imported"), count(html, "unchanged"), count(html, "refused")) == (1, 0, 3)
    for number, code in ((3, "suppressed"), (4, "invalid_phone"), (5, "duplicate")):
        assert f'data-row="{number}" data-code="{code}"' in html
    assert "Dry run" in html
    assert "until they confirm in WhatsApp" in html  # the marketing note
    # Numbers are masked for a user without the phone permission; refused raw input too.
    assert DE not in html and SA not in html and "0151 9" not in html
    assert "+49 151 ••••• 89" in html
    assert "Offers and news" in html  # category labels, not codes
    # The form comes back with dry run ticked again.
    assert re.search(r'<input[^>]*name="dry_run"[^>]*checked', html)


def test_real_import_records_the_admin_as_actor(client):
    user = admin_user(IMPORT, VIEW_PHONE, VIEW_LEDGER)
    client.force_login(user)
    response = post(client, csv_bytes([row("0151 23456789")]))  # the dry run box left unticked
    assert response.status_code == 200
    html = response.content.decode()
    assert count(html, "imported") == 1
    recorded = ConsentEvent.objects.get(source="import")
    assert recorded.actor == f"admin:{user.pk}"
    assert DE in html  # this user may see numbers
    assert reverse("wa_consent_admin:contact_timeline", args=[recorded.contact_id]) in html


def test_file_refused_as_a_whole_is_a_form_error(client):
    client.force_login(admin_user(IMPORT))
    response = post(client, b"name,email\r\nAnna,anna@example.com\r\n")
    assert response.status_code == 200
    form = response.context["form"]
    assert "lacks the columns" in form.errors["file"][0]
    assert ConsentEvent.objects.count() == 0


def test_too_large_file_is_a_form_error(client, monkeypatch):
    monkeypatch.setattr(admin_views, "MAX_BYTES", 100)
    client.force_login(admin_user(IMPORT))
    response = post(client, csv_bytes([row(DE)] * 3))
    assert "larger than" in response.context["form"].errors["file"][0]


def test_real_run_of_a_long_file_points_to_the_command(client, monkeypatch):
    monkeypatch.setattr(admin_views, "RECORD_LIMIT", 2)
    client.force_login(admin_user(IMPORT))
    data = csv_bytes([row(DE), row(SA), row("+79123456789")])
    response = post(client, data)
    assert "wa_import_opt_ins" in response.context["form"].errors["file"][0]
    assert ConsentEvent.objects.count() == 0
    dry = post(client, data, dry_run="on")  # a dry run still checks the whole file
    assert count(dry.content.decode(), "imported") == 3


def test_invalid_country_is_a_form_error(client):
    client.force_login(admin_user(IMPORT))
    response = post(client, csv_bytes([row(DE)]), region="Germany")
    assert response.context["form"].errors["region"]
    assert ConsentEvent.objects.count() == 0


def test_menu_item_follows_the_permission(client):
    client.force_login(admin_user(VIEW_LEDGER))
    assert URL not in client.get(reverse("wagtailadmin_home")).content.decode()
    client.force_login(admin_user(IMPORT))
    assert URL in client.get(reverse("wagtailadmin_home")).content.decode()
