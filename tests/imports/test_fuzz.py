"""Hypothesis: whatever the file holds, the import answers with a report or a file refusal, never a
crash, and a refused row never leaves anything behind."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wagtail_wa_consent.consent import hashing, service, suppression
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.models import ConsentEvent, Contact, SuppressionEntry
from wagtail_wa_consent.imports.service import ImportFileError, import_opt_ins

from . import DE, DE_2, HEADER, RU, SA, UZ, csv_bytes, table_counts

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

FILE_CODES = {
    "too_large",
    "encoding",
    "empty",
    "missing_columns",
    "duplicate_columns",
    "no_rows",
    "too_many_rows",
    "malformed",
}
ROW_CODES = {
    "invalid_phone",
    "invalid_country",
    "missing_categories",
    "unknown_category",
    "missing_date",
    "invalid_date",
    "future_date",
    "missing_source",
    "source_too_long",
    "invalid_language",
    "missing_language",
    "wording_too_long",
    "proof_reference_too_long",
    "too_many_values",
    "invalid_characters",
    "duplicate",
    "suppressed",
    "withdrawn",
}


def mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` about three times in four."""
    return st.one_of(usual, usual, usual, other)


#: Text a spreadsheet would hold (no control characters), and any text at all.
printable = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
any_text = st.text(max_size=40)

#: Per column: (values an import accepts, values it may refuse).
COLUMNS = {
    "phone": (
        st.sampled_from([DE, DE_2, SA, UZ, RU, "0151 23456789", "+998 90 123-45-67", "+7 912 345-67-89"]),
        st.sampled_from(["+49 30 12345678", "90 123 45 67", "8 912 345-67-89", "", "x", "+4915"]) | any_text,
    ),
    "country": (st.sampled_from(["", "", "DE", "de"]), st.sampled_from(["XX", "Deutschland", "SA", "UZ"])),
    "categories": (
        st.sampled_from(["marketing", "transactional|support", "marketing,support", "MARKETING", "support"]),
        st.sampled_from(["", "newsletter", "|"]) | any_text,
    ),
    "opted_in_at": (
        st.sampled_from(["2023-04-01", "2024-02-15T10:30:00+01:00", "2021-06-30 18:45"])
        | st.dates(min_value=date(2009, 1, 1), max_value=date(2025, 1, 1)).map(date.isoformat),
        st.sampled_from(["2099-01-01", "01.04.2023", "", "2008-12-31"])
        | st.datetimes().map(lambda d: d.isoformat())
        | any_text,
    ),
    "source": (
        st.sampled_from(["paper form at fair", "PAPER", "web_block"]) | printable.filter(str.strip),
        any_text,
    ),
    "language": (
        st.sampled_from(["de", "ar", "uz", "ru", "en-GB"]),
        st.sampled_from(["", "??", "x" * 40]) | any_text,
    ),
    "wording": (st.sampled_from(["", "Ja, gerne.", "Да, пожалуйста"]) | printable, any_text),
    "proof_reference": (
        st.sampled_from(["", "FORM-1", "wamid.HBgL"]) | printable,
        st.text(min_size=60, max_size=80),
    ),
}
#: Rows an import should record (unless the number is a duplicate, suppressed or withdrawn) ...
good_rows = st.fixed_dictionaries({name: usual for name, (usual, _other) in COLUMNS.items()})
#: ... and rows where any column may be wrong.
wild_rows = st.fixed_dictionaries({name: mostly(usual, other) for name, (usual, other) in COLUMNS.items()})
rows = st.one_of(good_rows, good_rows, wild_rows)

#: Bytes that get past the header now and then: a real header, then fragments of rows.
header_line = st.sampled_from(
    [
        b"",
        ",".join(HEADER).encode() + b"\r\n",
        ";".join(HEADER).encode() + b"\n",
        b"\xef\xbb\xbfphone,source\n",
    ]
)
fragments = st.sampled_from([DE, "2023-04-01", "marketing", "fair", '"', ",", ";", "\r\n", "\n", "\x00", "é"])
bodies = st.one_of(
    st.binary(max_size=600),
    any_text.map(str.encode),
    st.lists(fragments | printable, max_size=60).map(lambda parts: "".join(parts).encode()),
)


@FUZZ
@given(head=header_line, body=bodies)
def test_random_bytes_give_a_report_or_a_file_refusal(head, body):
    with transaction.atomic():
        before = table_counts()
        try:
            report = import_opt_ins(head + body, dry_run=False)
        except ImportFileError as refusal:
            event(f"file refused: {refusal.code}")
            assert refusal.code in FILE_CODES and refusal.message
            assert table_counts() == before
        else:
            event("report")
            assert report.rows and all(r.outcome in ("imported", "unchanged", "refused") for r in report.rows)
            assert all(r.code in ROW_CODES for r in report.refused_rows)
        transaction.set_rollback(True)


@FUZZ
@given(
    content=st.lists(rows, min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";"]),
    bom=st.booleans(),
    dry_run=st.booleans(),
)
def test_random_rows_never_half_write_a_refused_row(content, delimiter, bom, dry_run):
    with transaction.atomic():
        _known_numbers()
        contacts_before = set(Contact.objects.values_list("phone_digest", flat=True))
        events_before = ConsentEvent.objects.count()
        counts_before = table_counts()
        try:
            report = import_opt_ins(
                csv_bytes(content, delimiter=delimiter, bom=bom), dry_run=dry_run, region="DE"
            )
        except ImportFileError as refusal:
            # Only a file of blank rows (or an unreadable one) is refused as a whole.
            assert refusal.code in FILE_CODES
            assert table_counts() == counts_before
            transaction.set_rollback(True)
            return

        non_blank = [values for values in content if any(str(v).strip() for v in values.values())]
        assert len(report.rows) == len(non_blank)
        assert [r.row_number for r in report.rows] == sorted({r.row_number for r in report.rows})
        for result in report.refused_rows:
            assert result.code in ROW_CODES and result.message and not result.categories

        imported = [r for r in report.rows if r.outcome == "imported"]
        for result in report.rows:
            event(f"row {result.outcome} {result.code}".strip())
        if dry_run:
            assert table_counts() == counts_before
        else:
            written = ConsentEvent.objects.filter(reference__startswith=f"{report.batch_id}#")
            assert written.count() == ConsentEvent.objects.count() - events_before
            assert written.count() == sum(len(r.categories) for r in imported)
            # Each event belongs to an imported row; no refused or unchanged row wrote anything.
            rows_written = {
                int(ref.split("#")[1].split()[0]) for ref in written.values_list("reference", flat=True)
            }
            assert rows_written == {r.row_number for r in imported}
            assert set(written.values_list("opt_in_level", flat=True)) <= {"single", "unknown"}
            new_contacts = set(Contact.objects.values_list("phone_digest", flat=True)) - contacts_before
            assert new_contacts == {hashing.phone_digest(r.phone_e164) for r in imported} - contacts_before
            assert not written.filter(phone_digest=hashing.phone_digest(SA)).exists()  # suppressed
            assert verify_ledger().ok
        transaction.set_rollback(True)


def _known_numbers() -> None:
    """SA is suppressed, DE_2 already subscribed to marketing, RU withdrew marketing just now."""
    suppression.suppress(hashing.phone_digest(SA), SuppressionEntry.Reason.REQUESTED)
    checkout = Evidence(source="checkout", user_action="ticked")
    service.grant_single_opt_in(service.get_or_create_contact(DE_2), ["marketing"], checkout)
    russian = service.get_or_create_contact(RU)
    service.grant_single_opt_in(russian, ["marketing"], checkout)
    service.withdraw(russian, Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.1"))
