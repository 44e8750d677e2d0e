"""Reading and validating the CSV file: every file-level and row-level refusal, levels, formats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from wagtail_wa_consent.imports import parsing
from wagtail_wa_consent.imports.parsing import ImportFileError, ImportRow, RowError, parse_file

from ..conftest import wa_settings
from . import DE, DE_2, HEADER, RU, SA, UZ, WORDING, csv_bytes, row

ENABLED = ["marketing", "transactional", "support"]


def parse(data: bytes, *, region: str | None = None, enabled: list[str] = ENABLED):
    return parse_file(data, region=region, enabled_categories=enabled)


def only(data: bytes, **kwargs) -> ImportRow | RowError:
    parsed = parse(data, **kwargs)
    assert parsed.row_count == 1
    return (parsed.rows + parsed.errors)[0]


# --- the file as a whole ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\r\n  \r\n", "empty"),
        (b"name,email\r\nAnna,a@example.com\r\n", "missing_columns"),
        (b"phone,categories,opted_in_at\r\n+4915123456789,marketing,2023-04-01\r\n", "missing_columns"),
        (b"phone,categories,opted_in_at,source,phone\r\n", "duplicate_columns"),
        (",".join(HEADER).encode() + b"\r\n", "no_rows"),
        (",".join(HEADER).encode() + b"\r\n\r\n,,,,\r\n", "no_rows"),
        (
            "phone,categories,opted_in_at,source\r\n+49151,marketing,2023,Messe\xe9\r\n".encode("latin-1"),
            "encoding",
        ),
        (b'phone,categories,opted_in_at,source\r\n"+4915123456789,marketing\r\n', "malformed"),
    ],
)
def test_file_level_refusals(data, code):
    with pytest.raises(ImportFileError) as caught:
        parse(data)
    assert caught.value.code == code
    assert caught.value.message


def test_missing_columns_are_named():
    with pytest.raises(ImportFileError) as caught:
        parse(b"phone,opted_in_at\r\n+4915123456789,2023-04-01\r\n")
    assert "categories" in caught.value.message and "source" in caught.value.message


def test_too_large_file_is_refused_before_it_is_read_whole():
    class Endless:
        def __init__(self):
            self.asked = 0

        def read(self, size):
            self.asked = size
            return b"x" * size

    endless = Endless()
    with pytest.raises(ImportFileError) as caught:
        parsing.read_bytes(endless)
    assert caught.value.code == "too_large"
    assert endless.asked == parsing.MAX_BYTES + 1
    assert parsing.read_bytes(b"phone\r\n") == b"phone\r\n"


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr(parsing, "MAX_ROWS", 3)
    numbers = [f"+49151234567{n:02d}" for n in range(4)]
    assert parse(csv_bytes([row(n) for n in numbers[:3]])).row_count == 3
    with pytest.raises(ImportFileError) as caught:
        parse(csv_bytes([row(n) for n in numbers]))
    assert caught.value.code == "too_many_rows"


@pytest.mark.parametrize(
    ("delimiter", "bom"), [(",", False), (";", False), (";", True), (",", True), ("\t", False)]
)
def test_delimiters_and_byte_order_mark(delimiter, bom):
    data = csv_bytes([row(DE, "marketing|transactional"), row(DE_2)], delimiter=delimiter, bom=bom)
    parsed = parse(data)
    assert parsed.delimiter == delimiter
    assert not parsed.errors
    assert [r.phone_e164 for r in parsed.rows] == [DE, DE_2]
    assert parsed.rows[0].categories == ("marketing", "transactional")


def test_semicolon_file_as_excel_saves_it():
    # A German Excel: BOM, semicolons, CRLF, a comma inside an unquoted wording, national numbers.
    text = (
        "\ufeffPhone;Categories;Opted in at;Source;Language;Wording;Proof reference\r\n"
        "0151 23456789;Marketing;2023-04-01;Papierformular Messe;de;Ja, gerne per WhatsApp;FORM-1\r\n"
        ";;;;;;\r\n"
    )
    parsed = parse(text.encode(), region="DE")
    assert parsed.delimiter == ";"
    (imported,) = parsed.rows
    assert imported.phone_e164 == DE
    assert imported.wording == "Ja, gerne per WhatsApp"
    assert imported.level == "single"


def test_unknown_columns_are_listed_and_aliases_understood():
    data = (
        b"Phone Number,category,opted_in_at,source,customer name\r\n"
        b"+4915123456789,support,2023-04-01,shop,Anna\r\n"
    )
    parsed = parse(data)
    assert parsed.ignored_columns == ["customer name"]
    assert parsed.rows[0].categories == ("support",)


def test_blank_lines_and_padding_separators_are_harmless():
    data = b"phone,categories,opted_in_at,source\r\n\r\n+4915123456789,marketing,2023-04-01,fair,,\r\n\r\n"
    parsed = parse(data)
    assert [r.row_number for r in parsed.rows] == [3]  # spreadsheet numbering: the header is row 1
    assert [r.row_number for r in parse(b"\r\n,,\r\n" + data).rows] == [5]
    semicolons = b";;\r\n" + data.replace(b",", b";")
    assert [r.row_number for r in parse(semicolons).rows] == [4]


# --- rows ------------------------------------------------------------------------------------


TOMORROW = (timezone.localdate() + timedelta(days=1)).isoformat()
IN_AN_HOUR = (timezone.now() + timedelta(hours=1)).isoformat()


@pytest.mark.parametrize(
    ("values", "code"),
    [
        (row("not a number"), "invalid_phone"),
        (row(""), "invalid_phone"),
        (row("+49 30 12345678"), "invalid_phone"),  # a Berlin landline
        (row("+4915123"), "invalid_phone"),
        (row("0151 23456789", country="XX"), "invalid_country"),
        (row(categories=""), "missing_categories"),
        (row(categories=" | "), "missing_categories"),
        (row(categories="newsletter"), "unknown_category"),
        (row(categories="marketing|sms"), "unknown_category"),
        (row(opted_in_at=""), "missing_date"),
        (row(opted_in_at="01.04.2023"), "invalid_date"),
        (row(opted_in_at="2023-02-30"), "invalid_date"),
        (row(opted_in_at="yesterday"), "invalid_date"),
        (row(opted_in_at="0203-04-01"), "invalid_date"),  # a typo for 2023, before WhatsApp existed
        (row(opted_in_at="0001-01-01T00:00:00+14:00"), "invalid_date"),
        (row(opted_in_at=TOMORROW), "future_date"),
        (row(opted_in_at=IN_AN_HOUR), "future_date"),
        ({**row(), "source": ""}, "missing_source"),
        ({**row(), "source": "x" * 151}, "source_too_long"),
        (row(language="German!"), "invalid_language"),
        (row(wording=WORDING), "missing_language"),
        (row(wording="x" * 5001, language="en"), "wording_too_long"),
        (row(proof_reference="p" * 71), "proof_reference_too_long"),
        (row(source="paper\x00form"), "invalid_characters"),
    ],
)
def test_each_row_refusal_has_a_code_row_number_and_message(values, code):
    result = only(csv_bytes([values]))
    assert isinstance(result, RowError), result
    assert result.code == code
    assert result.row_number == 2
    assert result.message


def test_disabled_category_is_refused():
    result = only(csv_bytes([row(categories="marketing")]), enabled=["transactional"])
    assert isinstance(result, RowError) and result.code == "unknown_category"
    assert "transactional" in result.message  # says what is allowed


def test_national_number_without_any_country_is_explained():
    with wa_settings(DEFAULT_REGION=None):
        result = only(csv_bytes([row("0151 23456789")]))
    assert isinstance(result, RowError) and result.code == "invalid_phone"
    assert "country" in result.message
    assert result.raw_phone == "0151 23456789" and result.phone_e164 == ""


def test_row_with_more_values_than_columns():
    data = b"phone,categories,opted_in_at,source\r\n+4915123456789,marketing,2023-04-01,fair,extra\r\n"
    result = only(data)
    assert isinstance(result, RowError) and result.code == "too_many_values"


def test_duplicate_number_refused_after_its_first_row():
    data = csv_bytes([row(DE), row("0151 23456789", country="DE"), row(DE_2), row("+49 151 2345 6789")])
    parsed = parse(data)
    assert [r.row_number for r in parsed.rows] == [2, 4]
    assert [(e.row_number, e.code) for e in parsed.errors] == [(3, "duplicate"), (5, "duplicate")]
    assert "2" in parsed.errors[0].message


@pytest.mark.parametrize(
    ("extra", "level"),
    [
        ({"wording": WORDING, "language": "en", "proof_reference": "FORM-7"}, "single"),
        ({"wording": WORDING, "language": "en"}, "unknown"),
        ({"proof_reference": "FORM-7"}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_level_single_needs_wording_and_proof(extra, level):
    result = only(csv_bytes([row(**extra)]))
    assert isinstance(result, ImportRow)
    assert result.level == level


@pytest.mark.parametrize(
    ("phone", "country", "region", "e164"),
    [
        ("0151 23456789", "DE", None, DE),
        ("0151 23456789", "", "DE", DE),
        ("+49 (151) 234-56789", "", None, DE),
        ("0049 151 23456789", "", None, DE),
        ("050 123 4567", "SA", None, SA),
        ("+966 50 123 4567", "", "DE", SA),  # a + number ignores the default country
        ("90 123 45 67", "UZ", None, UZ),
        ("+998 90 123-45-67", "", None, UZ),
        ("8 912 345-67-89", "RU", None, RU),
        ("+7 912 345 67 89", "", None, RU),
        ("050 123 4567", "sa", "DE", SA),  # the row's country wins over the default
    ],
)
def test_numbers_from_germany_saudi_arabia_uzbekistan_russia(phone, country, region, e164):
    result = only(csv_bytes([row(phone, country=country)]), region=region)
    assert isinstance(result, ImportRow), result
    assert result.phone_e164 == e164


def test_dates_as_the_ledger_records_them():
    date_only = only(csv_bytes([row(opted_in_at="2023-04-01")]))
    with_offset = only(csv_bytes([row(opted_in_at="2024-02-15T10:30:00+01:00")]))
    utc = only(csv_bytes([row(opted_in_at="2024-02-15T09:30:00.123Z")]))
    assert date_only.opted_in_text == "2023-04-01"
    assert timezone.localtime(date_only.opted_in_at).hour == 0
    assert with_offset.opted_in_text == utc.opted_in_text == "2024-02-15T09:30:00Z"


def test_source_and_language_are_normalised():
    result = only(csv_bytes([row(source="  Paper  form\nat   fair ", language="pt_BR")]))
    assert result.source == "Paper form at fair"
    assert result.language == "pt-BR"
    assert only(csv_bytes([row(source="PAPER")])).source == "paper"  # a Source code keeps its spelling
