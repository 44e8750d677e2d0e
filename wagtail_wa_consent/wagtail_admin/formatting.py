"""Small value formatters shared by the admin listings and the CSV export."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format

#: Cells starting with these run as formulas in spreadsheet programs (CSV injection, OWASP).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def exact_time(value: datetime | None) -> str:
    """An unambiguous local time with seconds: the ledger is evidence, "3 hours ago" is not."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "Y-m-d H:i:s T")


def iso_utc(value: datetime | None) -> str:
    """ISO 8601 in UTC with microseconds, as the chain hash covers it."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def spreadsheet_safe(value: object) -> str:
    """``value`` as text that a spreadsheet shows as text, never evaluates.

    Page URLs and policy revisions come from the visitor's browser, so a crafted value could
    otherwise become a formula when a merchant opens the export.
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text
