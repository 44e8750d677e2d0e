"""Fixtures of the data-subject rights tests: a published preference centre, fresh throttles,
and raw-SQL tampering that bypasses the ORM (and, on PostgreSQL, the append-only trigger)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from wagtail.models import Site

from wagtail_wa_consent.conf import get_setting
from wagtail_wa_consent.pages.models import PreferenceCentrePage


@pytest.fixture(autouse=True)
def _fresh_throttles():
    caches[get_setting("RATE_LIMIT_CACHE")].clear()
    yield
    caches[get_setting("RATE_LIMIT_CACHE")].clear()


@pytest.fixture
def centre(db) -> PreferenceCentrePage:
    site = Site.objects.get(is_default_site=True)
    page = PreferenceCentrePage(title="WhatsApp preferences", slug="preferences")
    site.root_page.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def tamper(table: str, sql: str, params: list) -> None:
    """Run ``sql`` on a ledger table behind the ORM's back (as tests/consent/test_ledger.py does)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
