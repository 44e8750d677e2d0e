"""Recording imported opt-ins: levels, evidence, suppression, withdrawals, dry run, per-row transactions."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
from django.db import DatabaseError
from django.utils import timezone

from wagtail_wa_consent.consent import hashing, service, suppression
from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
from wagtail_wa_consent.consent.erasure import erase_contact
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentState, Contact, SuppressionEntry
from wagtail_wa_consent.imports import service as import_service
from wagtail_wa_consent.imports.service import ImportFileError, import_opt_ins
from wagtail_wa_consent.pages.export import export_contact

from ..conftest import wa_settings
from ..wagtail_admin import event
from . import DE, DE_2, RU, SA, UZ, WORDING, csv_bytes, row, table_counts

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "_static" / "opt-in-import-example.csv"
PROOF = {"wording": WORDING, "language": "en", "proof_reference": "FORM-2023-0412"}
STOP = Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.stop")


def run(rows, **kwargs):
    return import_opt_ins(csv_bytes(rows), **{"dry_run": False, "actor": "admin:7", **kwargs})


def imported_event(phone: str = DE, category: str = "marketing") -> ConsentEvent:
    return ConsentEvent.objects.get(contact__phone_e164=phone, category=category, source="import")


def test_import_records_level_unknown_with_original_date_and_source():
    report = run([row(DE, "marketing|transactional", "2023-04-01", source="paper form at fair")])
    assert (report.imported, report.unchanged, report.refused) == (1, 0, 0)
    (result,) = report.rows
    assert result.outcome == "imported" and result.level == "unknown"
    assert result.categories == ("marketing", "transactional")

    recorded = imported_event(DE)
    assert recorded.event_type == "confirmed"
    assert recorded.opt_in_level == "unknown"
    assert recorded.user_action == "imported: opted in 2023-04-01 via paper form at fair"
    assert recorded.reference == f"{report.batch_id}#2"
    assert recorded.actor == "admin:7"
    assert recorded.wording is None
    # The ledger is in time order: the event is stamped with the import, not the old date.
    assert (timezone.now() - recorded.occurred_at).total_seconds() < 60
    states = ConsentState.objects.filter(contact=recorded.contact)
    assert {(s.category, s.status, s.opt_in_level) for s in states} == {
        ("marketing", "subscribed", "unknown"),
        ("transactional", "subscribed", "unknown"),
    }
    assert result.contact_id == recorded.contact_id


def test_import_with_wording_and_proof_is_a_single_opt_in():
    report = run([row(DE, **{**PROOF, "language": "de"})])
    recorded = imported_event(DE)
    assert report.rows[0].level == recorded.opt_in_level == "single"
    assert recorded.wording.text == WORDING and recorded.wording.language == "de"
    assert recorded.reference == f"{report.batch_id}#2 FORM-2023-0412"
    assert recorded.contact.language == "de"  # the contact had no language yet


def test_import_never_records_a_confirmed_opt_in():
    run([row(DE, **PROOF), row(DE_2)])
    levels = set(ConsentEvent.objects.filter(source="import").values_list("opt_in_level", flat=True))
    assert levels == {"single", "unknown"}


def test_imported_events_verify_in_the_chain():
    contact = service.get_or_create_contact(DE)
    event(
        contact, "transactional", "withdrawn", at=timezone.make_aware(datetime(2022, 1, 1)), source="whatsapp"
    )
    run([row(DE, "marketing|transactional", **PROOF), row(SA), row(UZ, "support"), row(RU)])
    report = verify_ledger()
    assert report.ok, report.broken
    assert report.events == 1 + 2 + 1 + 1 + 1
    for contact in Contact.objects.all():
        assert state_cache_mismatches(contact) == []


def test_original_date_is_in_the_contact_export():
    run([row(DE, opted_in_at="2021-06-30T18:45:00+02:00", source="newsletter sign-up")])
    exported = export_contact(Contact.objects.get(phone_e164=DE))
    (entry,) = exported["consent_events"]
    assert entry["user_action"] == "imported: opted in 2021-06-30T16:45:00Z via newsletter sign-up"
    assert entry["source"] == "import" and entry["opt_in_level"] == "unknown"


def test_imported_marketing_waits_for_confirmation_at_the_gate():
    report = run([row(DE, "marketing|transactional", **PROOF)])
    contact = Contact.objects.get(phone_e164=DE)
    assert report.marketing_awaiting_confirmation == 1
    assert can_send(contact, "marketing").reason == "double_opt_in_required"
    assert can_send(contact, "transactional").allowed


def test_without_the_confirmation_rule_imported_marketing_may_be_sent():
    with wa_settings(MARKETING_REQUIRES_CONFIRMED_OPT_IN=False):
        report = run([row(DE)])
        assert report.marketing_awaiting_confirmation == 0
        assert can_send(Contact.objects.get(phone_e164=DE), "marketing").allowed


def test_already_subscribed_is_unchanged_not_an_error():
    run([row(DE, "marketing")])
    before = ConsentEvent.objects.count()
    report = run([row(DE, "marketing", **PROOF)])
    assert (report.imported, report.unchanged, report.refused) == (0, 1, 0)
    assert report.rows[0].unchanged_categories == ("marketing",)
    assert ConsentEvent.objects.count() == before


def test_partly_subscribed_imports_only_the_new_categories():
    run([row(DE, "marketing")])
    report = run([row(DE, "marketing|support")])
    (result,) = report.rows
    assert result.outcome == "imported"
    assert result.categories == ("support",) and result.unchanged_categories == ("marketing",)
    assert ConsentEvent.objects.filter(source="import").count() == 2


def test_suppressed_number_is_refused_and_nothing_is_written():
    suppression.suppress(hashing.phone_digest(DE), SuppressionEntry.Reason.REQUESTED)
    before = table_counts()
    report = run([row("0151 23456789", country="DE")])
    (result,) = report.rows
    assert (result.outcome, result.code) == ("refused", "suppressed")
    assert table_counts() == before  # not even a contact


def test_erased_number_cannot_be_brought_back_by_an_import():
    contact = service.get_or_create_contact(DE)
    service.grant_single_opt_in(contact, ["marketing"], Evidence(source="checkout", user_action="ticked"))
    erase_contact(contact, Evidence(source="admin", user_action="erasure request", actor="admin:1"))
    events = ConsentEvent.objects.count()
    report = run([row(DE, "marketing|transactional", **PROOF)])
    assert report.rows[0].code == "suppressed"
    contact.refresh_from_db()
    assert contact.phone_e164 is None  # the number was not stored again
    assert ConsentEvent.objects.count() == events


def test_lifted_suppression_no_longer_refuses():
    suppression.suppress(hashing.phone_digest(DE), SuppressionEntry.Reason.REQUESTED)
    suppression.lift(hashing.phone_digest(DE))
    assert run([row(DE)]).imported == 1


def test_suppression_is_checked_in_one_query_for_the_file(monkeypatch, django_assert_max_num_queries):
    calls = []
    original = suppression.suppressed_digests
    monkeypatch.setattr(suppression, "suppressed_digests", lambda d: calls.append(len(d)) or original(d))
    rows = [row(f"+49151234567{n:02d}") for n in range(40)]
    with django_assert_max_num_queries(4):
        import_opt_ins(csv_bytes(rows), dry_run=True)
    assert calls == [40]


def test_withdrawal_after_the_opt_in_date_is_refused():
    contact = service.get_or_create_contact(DE)
    service.grant_single_opt_in(contact, ["marketing"], Evidence(source="checkout", user_action="ticked"))
    service.withdraw(contact, STOP)
    report = run([row(DE, "marketing", "2023-04-01")])
    assert report.rows[0].code == "withdrawn"
    assert ConsentState.objects.get(contact=contact, category="marketing").status == "unsubscribed"


def test_declined_after_the_opt_in_date_is_refused():
    contact = service.get_or_create_contact(DE)
    event(contact, "support", "requested", at=timezone.make_aware(datetime(2024, 5, 1, 9)))
    event(contact, "support", "declined", at=timezone.make_aware(datetime(2024, 5, 1, 10)), source="whatsapp")
    # A date alone means the start of that day: the No the same morning still wins.
    assert run([row(DE, "support", "2024-05-01")]).rows[0].code == "withdrawn"


def test_opt_in_given_after_an_old_withdrawal_is_imported():
    contact = service.get_or_create_contact(DE)
    event(contact, "marketing", "withdrawn", at=timezone.make_aware(datetime(2022, 1, 1)), source="whatsapp")
    report = run([row(DE, "marketing", "2023-04-01", **PROOF)])
    assert report.imported == 1
    assert ConsentState.objects.get(contact=contact, category="marketing").status == "subscribed"


def test_dry_run_writes_nothing_and_predicts_the_real_run():
    service.get_or_create_contact(DE_2)
    run([row(RU, "transactional")])
    suppression.suppress(hashing.phone_digest(UZ), SuppressionEntry.Reason.ERASED)
    rows = [
        row(DE, **PROOF),
        row(DE_2, "marketing|support"),
        row(RU, "transactional"),
        row(UZ),
        row(SA, opted_in_at="not a date"),
        row("+49 151 2345 6789"),
    ]
    before = table_counts()
    dry = import_opt_ins(csv_bytes(rows), dry_run=True)
    assert table_counts() == before
    assert dry.dry_run and (dry.imported, dry.unchanged, dry.refused) == (2, 1, 3)

    real = import_opt_ins(csv_bytes(rows), dry_run=False)
    summary = [(r.row_number, r.outcome, r.code, r.categories, r.level) for r in real.rows]
    assert summary == [(r.row_number, r.outcome, r.code, r.categories, r.level) for r in dry.rows]
    assert table_counts() != before


def test_each_row_has_its_own_transaction(monkeypatch):
    """A row that fails while it is written leaves nothing behind; rows before and after stay."""
    original = service.grant_single_opt_in

    def flaky(contact, categories, evidence, *, level):
        if contact.phone_e164 == SA:
            original(contact, categories, evidence, level=level)  # written, then rolled back
            raise DatabaseError("disk full")
        return original(contact, categories, evidence, level=level)

    monkeypatch.setattr(service, "grant_single_opt_in", flaky)
    report = run([row(DE), row(SA), row(RU)])
    assert [(r.row_number, r.outcome, r.code) for r in report.rows] == [
        (2, "imported", ""),
        (3, "refused", "failed"),
        (4, "imported", ""),
    ]
    assert "DatabaseError" in report.rows[1].message
    assert not Contact.objects.filter(phone_e164=SA).exists()
    assert set(Contact.objects.values_list("phone_e164", flat=True)) == {DE, RU}
    assert verify_ledger().ok


def test_a_number_suppressed_after_the_check_is_still_refused(monkeypatch):
    """Each row is decided again with its contact locked: an erasure between check and write wins."""
    monkeypatch.setattr(import_service, "_facts_for_file", lambda rows: {})
    suppression.suppress(hashing.phone_digest(SA), SuppressionEntry.Reason.ERASED)
    report = run([row(DE), row(SA)])
    assert [r.code for r in report.rows] == ["", "suppressed"]
    assert not Contact.objects.filter(phone_e164=SA).exists()


def test_region_argument_reads_national_numbers():
    with wa_settings(DEFAULT_REGION=None):
        report = run([row("050 123 4567"), row("8 912 345-67-89", country="RU")], region="sa")
    assert [r.phone_e164 for r in report.rows] == [SA, RU]
    assert report.imported == 2


def test_unknown_region_is_refused():
    with pytest.raises(ImportFileError) as caught:
        run([row()], region="ZZ")
    assert caught.value.code == "invalid_region"


def test_file_refused_as_a_whole_writes_nothing():
    before = table_counts()
    with pytest.raises(ImportFileError):
        import_opt_ins(b"phone;source\r\n+4915123456789;fair\r\n", dry_run=False)
    assert table_counts() == before


def test_example_file_from_the_docs_imports():
    with EXAMPLE.open("rb") as file:
        report = import_opt_ins(file, dry_run=False, region="DE")
    assert (report.imported, report.refused) == (5, 0), report.refused_rows
    assert [r.level for r in report.rows] == ["single", "unknown", "unknown", "unknown", "single"]
    assert {r.phone_e164 for r in report.rows} == {DE, "+4915198765432", SA, UZ, RU}
    assert verify_ledger().ok


def test_numbers_never_reach_the_log(caplog):
    suppression.suppress(hashing.phone_digest(SA), SuppressionEntry.Reason.ERASED)
    with caplog.at_level(logging.DEBUG, logger="wagtail_wa_consent"):
        report = run([row(DE), row(SA), row("0151 9999"), row(RU, opted_in_at="x")])
    assert report.batch_id in caplog.text
    for number in (DE, SA, RU, "15123456789", "501234567", "9999"):
        assert number not in caplog.text


def test_report_masks_numbers_unless_revealed():
    report = run([row(DE), row("garbage 123")])
    imported, refused = report.rows
    assert imported.display_phone(reveal=False) == "+49 151 ••••• 89"
    assert imported.display_phone(reveal=True) == DE
    assert refused.display_phone(reveal=False) == "•••••"
    assert refused.display_phone(reveal=True) == "garbage 123"
