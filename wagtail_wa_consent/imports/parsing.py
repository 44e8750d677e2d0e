"""Reading an opt-in CSV file and validating each row, without touching the database.

The file-level rules (size, encoding, header) raise :class:`ImportFileError`: nothing of such a
file is imported. Row-level problems become :class:`RowError` entries, so one bad row is reported
next to its row number while the others go on.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import IO

import phonenumbers
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..consent import hashing
from ..consent.enums import OptInLevel, Source
from ..exceptions import InvalidPhoneNumber
from ..phone import normalise_phone

#: Largest file accepted, in bytes, and most data rows (both refuse the whole file).
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
#: Longest original source: the ledger's user action holds at most 200 characters in all.
MAX_SOURCE_LENGTH = 150
#: Longest proof reference: the ledger's reference (100 characters) also holds batch and row.
MAX_PROOF_REFERENCE_LENGTH = 70
MAX_WORDING_LENGTH = 5000
#: No WhatsApp opt-in can be older than WhatsApp; earlier years are typos (0203 for 2023).
EARLIEST_DATE = date(2009, 1, 1)

REQUIRED_COLUMNS = ("phone", "categories", "opted_in_at", "source")
OPTIONAL_COLUMNS = ("country", "language", "wording", "proof_reference")
#: Other spellings of a column name that mean the same column.
COLUMN_ALIASES = {"phone_number": "phone", "category": "categories"}
DELIMITERS = (",", ";", "\t")

_CATEGORY_SEPARATORS = re.compile(r"[|,;\s]+")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
# C0 controls other than tab, line feed and carriage return: a sign of a broken file (and
# PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ImportFileError(ValueError):
    """The whole file is refused (too large, not UTF-8, no usable header): nothing is imported."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class RowError:
    """Why one row is refused. ``code`` is stable (tests, scripts); ``message`` is for people."""

    row_number: int
    code: str
    message: str
    phone_e164: str = ""
    raw_phone: str = ""


@dataclass(frozen=True)
class ImportRow:
    """One valid row, ready to be checked against the database and recorded."""

    row_number: int
    phone_e164: str
    categories: tuple[str, ...]
    #: Start of the day in the current time zone when the file gave only a date.
    opted_in_at: datetime
    #: The date as the ledger records it: ``2023-04-01`` or ``2023-04-01T08:15:00Z`` (UTC).
    opted_in_text: str
    source: str
    language: str = ""
    wording: str = ""
    proof_reference: str = ""

    @property
    def phone_digest(self) -> str:
        return hashing.phone_digest(self.phone_e164)

    @property
    def level(self) -> str:
        """Documented proof of the opt-in (the exact text and where the signed form lies) makes
        it a single opt-in; anything less is "unknown". Never "confirmed": only a Yes in WhatsApp
        is that."""
        if self.wording and self.proof_reference:
            return OptInLevel.SINGLE
        return OptInLevel.UNKNOWN


@dataclass
class ParsedFile:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    delimiter: str = ","
    #: Columns the importer does not know; they are read past, not stored.
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.rows) + len(self.errors)


def read_bytes(file: IO[bytes] | bytes) -> bytes:
    """At most :data:`MAX_BYTES` of ``file``; a larger file is refused before it is read whole."""
    data = file if isinstance(file, bytes) else file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _too_large()
    return data


def _too_large() -> ImportFileError:
    return ImportFileError(
        _("The file is larger than %(size)s MB. Split it into smaller files.")
        % {"size": MAX_BYTES // (1024 * 1024)},
        code="too_large",
    )


def parse_file(
    data: bytes,
    *,
    region: str | None,
    enabled_categories: list[str],
    today: date | None = None,
    max_rows: int | None = None,
) -> ParsedFile:
    """Validate every row of a CSV file given as bytes (UTF-8, with or without a BOM).

    ``max_rows`` lowers :data:`MAX_ROWS` (the admin screen records fewer rows per request).

    Raises:
        ImportFileError: the file as a whole cannot be imported.
    """
    if len(data) > MAX_BYTES:
        raise _too_large()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not UTF-8 text. In a spreadsheet, save it as “CSV UTF-8”."), code="encoding"
        ) from exc
    if not text.strip():
        raise ImportFileError(_("The file is empty."), code="empty")
    delimiter = detect_delimiter(text)
    records = _records(text, delimiter)
    header: list[str] = []
    for _number, header in records:
        if any(name.strip() for name in header):
            break  # blank lines above the header are skipped
    columns, ignored = read_header(header)
    parsed = ParsedFile(delimiter=delimiter, ignored_columns=ignored)
    first_row: dict[str, int] = {}
    today = today or timezone.localdate()
    max_rows = min(max_rows or MAX_ROWS, MAX_ROWS)
    for row_number, values in records:
        if not any(value.strip() for value in values):
            continue  # blank lines (a trailing one is common) are not rows
        if parsed.row_count >= max_rows:
            raise ImportFileError(
                _("The file has more than %(max)s rows. Split it into smaller files.")
                % {"max": f"{max_rows:,}"},
                code="too_many_rows",
            )
        result = validate_row(
            row_number,
            values,
            columns,
            width=len(header),
            region=region,
            enabled_categories=enabled_categories,
            today=today,
        )
        if isinstance(result, ImportRow):
            earlier = first_row.setdefault(result.phone_e164, row_number)
            if earlier != row_number:
                result = RowError(
                    row_number,
                    "duplicate",
                    _("The number is already in row %(row)s. Put all its categories in one row.")
                    % {"row": earlier},
                    phone_e164=result.phone_e164,
                )
        (parsed.rows if isinstance(result, ImportRow) else parsed.errors).append(result)
    if not parsed.row_count:
        raise ImportFileError(_("The file has a header but no rows."), code="no_rows")
    return parsed


def detect_delimiter(text: str) -> str:
    """Comma, semicolon (spreadsheets in many European locales) or tab: the one that splits the
    header into a ``phone`` column, else what :class:`csv.Sniffer` guesses from the first line."""
    lines = (line for line in text.splitlines() if line.strip("".join(DELIMITERS) + " "))
    first_line = next(lines, "")
    for delimiter in DELIMITERS:
        names = {_column_name(name) for name in next(csv.reader([first_line], delimiter=delimiter), [])}
        if "phone" in names:
            return delimiter
    try:
        return csv.Sniffer().sniff(first_line, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ","


def read_header(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Map each known column to its position; return the unknown column names too.

    Raises:
        ImportFileError: a required column is missing or a column appears twice.
    """
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for position, raw in enumerate(header):
        name = _column_name(raw)
        if name in REQUIRED_COLUMNS or name in OPTIONAL_COLUMNS:
            if name in columns:
                raise ImportFileError(
                    _("The column “%(column)s” appears twice.") % {"column": name}, code="duplicate_columns"
                )
            columns[name] = position
        elif name:
            ignored.append(raw.strip()[:50])
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFileError(
            ngettext(
                "The header row lacks the column %(columns)s. The first row must name the columns: %(all)s.",
                "The header row lacks the columns %(columns)s. The first row must name the columns: %(all)s.",
                len(missing),
            )
            % {"columns": ", ".join(missing), "all": ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)},
            code="missing_columns",
        )
    return columns, ignored


def validate_row(
    row_number: int,
    values: list[str],
    columns: dict[str, int],
    *,
    width: int,
    region: str | None,
    enabled_categories: list[str],
    today: date,
) -> ImportRow | RowError:
    """One row as an :class:`ImportRow`, or the first reason it cannot be imported."""

    def cell(name: str) -> str:
        position = columns.get(name)
        return values[position].strip() if position is not None and position < len(values) else ""

    raw_phone = cell("phone")

    def error(code: str, message: str, phone_e164: str = "") -> RowError:
        return RowError(row_number, code, message, phone_e164=phone_e164, raw_phone=raw_phone[:40])

    # Empty cells past the header are harmless (spreadsheets pad rows with separators).
    if any(value.strip() for value in values[width:]):
        return error("too_many_values", _("The row has more values than the header has columns."))
    if any(_CONTROL.search(value) for value in values):
        return error("invalid_characters", _("The row contains control characters (a damaged file?)."))

    country = cell("country").upper()
    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        return error(
            "invalid_country",
            _("“%(country)s” is not a two-letter country code.") % {"country": country[:10]},
        )
    try:
        phone = normalise_phone(raw_phone, country or region)
    except InvalidPhoneNumber as exc:
        return error("invalid_phone", _phone_message(exc.code))

    def refuse(code: str, message: str) -> RowError:
        return error(code, message, phone_e164=phone)

    names = [c for c in _CATEGORY_SEPARATORS.split(cell("categories").lower()) if c]
    if not names:
        return refuse("missing_categories", _("Name at least one category, e.g. “marketing”."))
    unknown = [c for c in names if c not in enabled_categories]
    if unknown:
        return refuse(
            "unknown_category",
            _("Unknown or disabled category “%(category)s”. Use: %(enabled)s.")
            % {"category": unknown[0][:30], "enabled": ", ".join(enabled_categories)},
        )

    raw_date = cell("opted_in_at")
    if not raw_date:
        return refuse("missing_date", _("The opt-in date is missing."))
    try:
        opted_in_at, opted_in_text, on_day = parse_opt_in_date(raw_date)
    except (ValueError, OverflowError):
        return refuse(
            "invalid_date",
            _("“%(value)s” is not an ISO 8601 date. Write 2023-04-01 or 2023-04-01T10:15:00+02:00.")
            % {"value": raw_date[:30]},
        )
    if on_day < EARLIEST_DATE:
        return refuse("invalid_date", _("The opt-in date is before WhatsApp existed (a typo?)."))
    if on_day > today or opted_in_at > timezone.now():
        return refuse("future_date", _("The opt-in date is in the future."))

    source = " ".join(cell("source").split())
    if not source:
        return refuse("missing_source", _("Say where the opt-in was collected, e.g. “paper form at fair”."))
    if len(source) > MAX_SOURCE_LENGTH:
        return refuse(
            "source_too_long",
            _("The source is longer than %(max)s characters.") % {"max": MAX_SOURCE_LENGTH},
        )
    if source.lower() in Source.values:
        source = source.lower()

    language = cell("language").replace("_", "-")
    if language and (len(language) > 35 or not _LANGUAGE_TAG.match(language)):
        return refuse("invalid_language", _("The language must be a code such as “de” or “pt-BR”."))
    wording = cell("wording")
    if len(wording) > MAX_WORDING_LENGTH:
        return refuse(
            "wording_too_long",
            _("The wording is longer than %(max)s characters.") % {"max": MAX_WORDING_LENGTH},
        )
    if wording and not language:
        return refuse("missing_language", _("Give the language of the wording (the language column)."))
    proof_reference = " ".join(cell("proof_reference").split())
    if len(proof_reference) > MAX_PROOF_REFERENCE_LENGTH:
        return refuse(
            "proof_reference_too_long",
            _("The proof reference is longer than %(max)s characters; use the document's ID.")
            % {"max": MAX_PROOF_REFERENCE_LENGTH},
        )
    return ImportRow(
        row_number=row_number,
        phone_e164=phone,
        categories=tuple(dict.fromkeys(names)),
        opted_in_at=opted_in_at,
        opted_in_text=opted_in_text,
        source=source,
        language=language,
        wording=wording,
        proof_reference=proof_reference,
    )


def parse_opt_in_date(value: str) -> tuple[datetime, str, date]:
    """``(moment, text for the ledger, calendar day)`` of an ISO 8601 date or date and time.

    A date alone stands for the start of that day in the current time zone; a time without an
    offset is read in the current time zone too.

    Raises:
        ValueError: not ISO 8601.
        OverflowError: a moment at the very edge of the calendar (year 1 or 9999 with an offset).
    """
    value = value.strip()
    if len(value) <= 10 and "T" not in value.upper():
        day = date.fromisoformat(value)
        return timezone.make_aware(datetime.combine(day, time.min)), day.isoformat(), day
    moment = datetime.fromisoformat(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    utc = moment.astimezone(UTC).replace(microsecond=0)
    return moment, utc.strftime("%Y-%m-%dT%H:%M:%SZ"), timezone.localtime(moment).date()


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(row number, values)`` with the header as row 1, as a spreadsheet numbers the rows."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(
                _("The file is not valid CSV near line %(line)s (a quote that is never closed?).")
                % {"line": reader.line_num},
                code="malformed",
            ) from exc
        number += 1
        yield number, values


def _column_name(raw: str) -> str:
    name = re.sub(r"[\s\-]+", "_", raw.strip().lstrip("\ufeff").lower())
    return COLUMN_ALIASES.get(name, name)


def _phone_message(code: str) -> str:
    """What to fix, for the admin who prepared the file (the phone module speaks to the person)."""
    messages = {
        "required": _("The phone number is missing."),
        "missing_country": _(
            "The number has no country code: write it with + and the country code, add a country "
            "column, or choose a default country."
        ),
        "unparseable": _("This is not a phone number."),
        "invalid": _("This phone number is not valid (check the country code and the digits)."),
        "not_mobile": _("This is a landline number; WhatsApp needs a mobile number."),
    }
    return messages.get(code, messages["invalid"])


__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportFileError",
    "ImportRow",
    "ParsedFile",
    "RowError",
    "parse_file",
    "read_bytes",
]
