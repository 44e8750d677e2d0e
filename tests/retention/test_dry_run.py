"""A dry run reports what a run would do and changes nothing at all."""

from __future__ import annotations

import pytest

from wagtail_wa_consent import retention
from wagtail_wa_consent.consent.chain import verify_ledger

from .helpers import snapshot

pytestmark = pytest.mark.django_db

EXPECTED = {
    "expired_opt_ins": 1,
    "message_bodies": 1,
    "inbound_messages": 1,
    "webhook_bodies": 1,
    "pending_opt_ins": 1,
    "withdrawn_contacts": 1,
    "dormant_consents": 1,
}


def test_dry_run_changes_nothing_and_predicts_the_run(clock, every_rule, django_capture_on_commit_callbacks):
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        planned = retention.apply(clock.now, dry_run=True)

    assert planned.dry_run and planned.counts() == EXPECTED
    assert not callbacks, "a dry run queues nothing"
    assert snapshot() == before
    assert planned["pending_opt_ins"].contact_ids == [every_rule["declined"].pk]
    assert planned["withdrawn_contacts"].contact_ids == [every_rule["withdrawn"].pk]
    assert planned["dormant_consents"].contact_ids == [every_rule["dormant"].pk]
    assert planned["expired_opt_ins"].contact_ids == [every_rule["overdue"].pk]
    assert retention.plan(clock.now).counts() == EXPECTED

    applied = retention.apply(clock.now)

    assert not applied.dry_run and applied.counts() == EXPECTED
    assert {k: r.contact_ids for k, r in applied.rules.items()} == {
        k: r.contact_ids for k, r in planned.rules.items()
    }
    assert snapshot() != before
    assert verify_ledger().ok


def test_nothing_to_do_reports_zero(clock):
    report = retention.plan(clock.now)
    assert report.total == 0 and all(rule.enabled for rule in report.rules.values())
