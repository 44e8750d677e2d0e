"""Shared builders for the opt-in import tests: CSV files as bytes and table counts."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from wagtail_wa_consent.consent.models import (
    ConsentEvent,
    ConsentEvidence,
    ConsentState,
    ConsentWording,
    Contact,
    SuppressionEntry,
)

HEADER = ("phone", "country", "categories", "opted_in_at", "source", "language", "wording", "proof_reference")
WORDING = "Yes, Sandbox Shop GmbH may send me offers on WhatsApp. Reply STOP to end."

#: Valid mobile numbers of the countries the shop serves, in E.164.
DE = "+4915123456789"
DE_2 = "+4915198765432"
SA = "+966501234567"
UZ = "+998901234567"
RU = "+79123456789"


def row(
    phone: str = DE, categories: str = "marketing", opted_in_at: str = "2023-04-01", **extra: str
) -> dict:
    return {
        "phone": phone,
        "categories": categories,
        "opted_in_at": opted_in_at,
        "source": "paper form",
        **extra,
    }


def csv_bytes(
    rows: Sequence[dict],
    *,
    header: Sequence[str] = HEADER,
    delimiter: str = ",",
    bom: bool = False,
) -> bytes:
    """A CSV file as a spreadsheet would save it (CRLF line ends)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for values in rows:
        writer.writerow([values.get(column, "") for column in header])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def table_counts() -> dict[str, int]:
    """Rows of every table an import could write to (a dry run must leave them all alone)."""
    return {
        model.__name__: model._default_manager.count()
        for model in (Contact, ConsentEvent, ConsentState, ConsentWording, ConsentEvidence, SuppressionEntry)
    }
