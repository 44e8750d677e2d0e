"""``manage.py wa_retention`` and the Celery task ``wagtail_wa_consent.apply_retention``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.conftest import wa_settings
from wagtail_wa_consent import tasks
from wagtail_wa_consent.consent.models import Contact

from .helpers import snapshot

pytestmark = pytest.mark.django_db


def run(*args: str, **options) -> str:
    out = StringIO()
    call_command("wa_retention", *args, stdout=out, **options)
    return out.getvalue()


def test_dry_run_prints_counts_per_rule_and_changes_nothing(every_rule):
    before = snapshot()
    output = run("--dry-run")
    assert snapshot() == before
    assert output.startswith("Dry run: nothing was changed.")
    assert "never-confirmed contacts erased: 1 (PENDING_OPT_IN_RETENTION_DAYS = 30 days)" in output
    assert "withdrawn contacts erased: 1 (WITHDRAWN_CONTACT_RETENTION_DAYS = 90 days)" in output
    assert "dormant consents: 1 (DORMANT_CONSENT_MONTHS = 24 months, action reconfirm)" in output
    assert "outbound message contents blanked: 1" in output
    assert "contacts:" not in output, "contact ids only from verbosity 2"
    # Never a number, only contact ids.
    assert not any(contact.phone_e164 in output for contact in every_rule.values())


def test_verbosity_two_lists_contact_ids(every_rule):
    output = run("--dry-run", verbosity=2)
    assert f"    contacts: {every_rule['withdrawn'].pk}" in output
    assert f"    contacts: {every_rule['declined'].pk}" in output


def test_without_dry_run_it_applies_and_says_so(every_rule):
    output = run()
    assert output.startswith("Retention applied:")
    assert "Done: 7 change(s)." in output
    assert Contact.objects.get(pk=every_rule["withdrawn"].pk).phone_e164 is None
    assert "Done: 0 change(s)." in run()


def test_rules_turned_off_are_shown_as_off(clock):
    with wa_settings(WEBHOOK_BODY_RETENTION_DAYS=None):
        assert "raw webhook bodies blanked: off (WEBHOOK_BODY_RETENTION_DAYS is None)" in run("--dry-run")


def test_held_contacts_are_reported(clock):
    from .helpers import withdrawn

    contact = withdrawn("marketing")
    clock.travel(days=91)
    with wa_settings(RETENTION_OPEN_ORDER_CHECK="tests.retention.helpers.always_open"):
        output = run("--dry-run", verbosity=2)
    assert "kept for an open order or data-subject request: 1" in output
    assert f"    kept: {contact.pk}" in output


def test_task_applies_retention(every_rule):
    counts = tasks.apply_retention.delay().get()
    assert counts["withdrawn_contacts"] == 1 and sum(counts.values()) == 7
    assert Contact.objects.get(pk=every_rule["declined"].pk).phone_e164 is None
    assert tasks.apply_retention.name == "wagtail_wa_consent.apply_retention"


def test_sandbox_runs_the_task_daily():
    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "wagtail_wa_consent.apply_retention"
    ]
    assert [e["schedule"] for e in entries] == [24 * 3600.0]
