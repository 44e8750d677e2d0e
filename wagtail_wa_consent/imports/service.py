"""Importing existing WhatsApp opt-ins: check the whole file, then record row by row.

Each row is recorded in its own transaction through :func:`consent.service.grant_single_opt_in`,
so a bad row never half-writes and the rows before it stay. The ledger event's time is the time
of the import (each chain is in time order); the original opt-in date and source go into the
event's user action, e.g. ``imported: opted in 2023-04-01 via paper form at fair``, which the
timeline, the contact export and the hash chain all carry.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

import phonenumbers
from django.db import DatabaseError, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import get_setting
from ..consent import service, suppression
from ..consent.enums import Category, EventType, Source, Status
from ..consent.evidence import Evidence
from ..consent.ledger import lock_contact
from ..consent.models import ConsentEvent, ConsentState, Contact
from ..exceptions import WaConsentError
from ..wagtail_admin.phones import MASK, phone_for_display
from .parsing import ImportFileError, ImportRow, RowError, parse_file, read_bytes

logger = logging.getLogger(__name__)

#: Numbers looked up per query while the file is checked (databases limit query parameters).
LOOKUP_CHUNK_SIZE = 1000
#: Events after which only the person can opt in again (for an opt-in dated before them).
_STOPPING_EVENTS = (EventType.WITHDRAWN, EventType.DECLINED, EventType.SUPPRESSED)


class Outcome(models.TextChoices):
    IMPORTED = "imported", gettext_lazy("Imported")
    UNCHANGED = "unchanged", gettext_lazy("Unchanged")
    REFUSED = "refused", gettext_lazy("Refused")


@dataclass(frozen=True)
class RowResult:
    """What happened (or, in a dry run, would happen) to one row."""

    row_number: int
    outcome: str
    code: str = ""
    message: str = ""
    phone_e164: str = ""
    raw_phone: str = ""
    #: Categories recorded (or to be recorded), and those the contact already had.
    categories: tuple[str, ...] = ()
    unchanged_categories: tuple[str, ...] = ()
    level: str = ""
    opted_in_text: str = ""
    contact_id: int | None = None

    def display_phone(self, *, reveal: bool) -> str:
        """The number for an admin screen or a terminal; masked unless ``reveal``."""
        if self.phone_e164:
            return phone_for_display(self.phone_e164, reveal=reveal)
        if not self.raw_phone:
            return ""
        return self.raw_phone if reveal else MASK


@dataclass
class ImportReport:
    batch_id: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    #: MARKETING_REQUIRES_CONFIRMED_OPT_IN: imported marketing consents wait for a Yes in WhatsApp.
    marketing_requires_confirmation: bool = True

    def _count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def imported(self) -> int:
        return self._count(Outcome.IMPORTED)

    @property
    def unchanged(self) -> int:
        return self._count(Outcome.UNCHANGED)

    @property
    def refused(self) -> int:
        return self._count(Outcome.REFUSED)

    @property
    def refused_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.outcome == Outcome.REFUSED]

    @property
    def accepted_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.outcome != Outcome.REFUSED]

    @property
    def marketing_awaiting_confirmation(self) -> int:
        """Imported rows with marketing that the send-time gate still blocks (no confirmed opt-in)."""
        if not self.marketing_requires_confirmation:
            return 0
        return sum(
            1 for row in self.rows if row.outcome == Outcome.IMPORTED and Category.MARKETING in row.categories
        )


@dataclass(frozen=True)
class _Decision:
    outcome: str
    categories: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    code: str = ""
    message: str = ""


@dataclass
class _Facts:
    """What the database knows about one number, as the decision needs it."""

    suppressed: bool = False
    statuses: dict[str, str] = field(default_factory=dict)
    stopped_at: dict[str, datetime] = field(default_factory=dict)
    contact_id: int | None = None


class _RowRefused(Exception):
    """Rolls back one row's transaction when a fresh look at the contact refuses it."""

    def __init__(self, decision: _Decision) -> None:
        super().__init__(decision.code)
        self.decision = decision


def import_opt_ins(
    file: IO[bytes] | bytes,
    *,
    dry_run: bool = True,
    actor: str = "import",
    region: str | None = None,
    max_rows: int | None = None,
) -> ImportReport:
    """Check a CSV file of existing opt-ins and, unless ``dry_run``, record them.

    Args:
        file: the CSV as bytes or a binary file (see ``docs/import.rst`` for the columns).
        dry_run: check everything and report what would happen, writing nothing.
        actor: who imports, as the ledger records it (``"admin:<user id>"`` or ``"import"``).
        region: country for numbers written without ``+``; defaults to DEFAULT_REGION.
        max_rows: refuse files with more rows (at most ``parsing.MAX_ROWS`` in any case).

    Raises:
        ImportFileError: the file as a whole is refused; nothing was written.
    """
    if region and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ImportFileError(
            _("“%(region)s” is not a two-letter country code.") % {"region": region[:10]},
            code="invalid_region",
        )
    parsed = parse_file(
        read_bytes(file),
        region=region.upper() if region else None,
        enabled_categories=service.enabled_categories(),
        max_rows=max_rows,
    )
    report = ImportReport(
        batch_id=new_batch_id(),
        dry_run=dry_run,
        ignored_columns=parsed.ignored_columns,
        marketing_requires_confirmation=bool(get_setting("MARKETING_REQUIRES_CONFIRMED_OPT_IN"))
        and Category.MARKETING in service.enabled_categories(),
    )
    results = [_refused(error) for error in parsed.errors]
    facts = _facts_for_file(parsed.rows)
    for row in parsed.rows:
        known = facts.get(row.phone_e164, _Facts())
        decision = decide(row, known)
        if decision.outcome == Outcome.IMPORTED and not dry_run:
            results.append(_record(row, report.batch_id, actor))
        else:
            results.append(_result(row, decision, known.contact_id))
    report.rows = sorted(results, key=lambda result: result.row_number)
    logger.info(
        "opt-in import %s by %s%s: %s imported, %s unchanged, %s refused",
        report.batch_id,
        actor,
        " (dry run)" if dry_run else "",
        report.imported,
        report.unchanged,
        report.refused,
    )
    return report


def new_batch_id() -> str:
    """Short, so the ledger's 100-character reference also holds the row and a proof reference."""
    return f"imp-{timezone.now():%Y%m%d}-{secrets.token_hex(3)}"


def evidence_for(row: ImportRow, batch_id: str, actor: str) -> Evidence:
    """The ledger evidence of one imported row: the original date and source in the user action,
    the batch, row and proof reference in the reference (searchable in the ledger report)."""
    reference = f"{batch_id}#{row.row_number}"
    if row.proof_reference:
        reference = f"{reference} {row.proof_reference}"
    return Evidence(
        source=Source.IMPORT,
        user_action=f"imported: opted in {row.opted_in_text} via {row.source}",
        wording=row.wording,
        language=row.language,
        reference=reference,
        actor=actor,
    )


def decide(row: ImportRow, facts: _Facts) -> _Decision:
    """Import, leave unchanged or refuse one valid row, given what the database knows."""
    if facts.suppressed:
        return _Decision(
            Outcome.REFUSED,
            code="suppressed",
            message=_(
                "This number is on the suppression list (its data was erased or the person asked "
                "never to be contacted). Only the person can opt in again."
            ),
        )
    unchanged = tuple(c for c in row.categories if facts.statuses.get(c) == Status.SUBSCRIBED)
    to_record = tuple(c for c in row.categories if c not in unchanged)
    for category in to_record:
        stopped = facts.stopped_at.get(category)
        if stopped is not None and stopped >= row.opted_in_at:
            # An old opt-in must not undo a later STOP or No: that only the person can do.
            return _Decision(
                Outcome.REFUSED,
                code="withdrawn",
                message=_(
                    "The person withdrew or declined “%(category)s” after this opt-in date. "
                    "Only they can opt in again."
                )
                % {"category": category},
            )
    if not to_record:
        return _Decision(Outcome.UNCHANGED, unchanged=unchanged)
    return _Decision(Outcome.IMPORTED, categories=to_record, unchanged=unchanged)


def _facts_for_file(rows: list[ImportRow]) -> dict[str, _Facts]:
    """Suppression, states and last withdrawals of every number in the file, a chunk at a time."""
    facts: dict[str, _Facts] = {}
    by_digest = {row.phone_digest: row.phone_e164 for row in rows}
    digests = list(by_digest)
    for start in range(0, len(digests), LOOKUP_CHUNK_SIZE):
        chunk = digests[start : start + LOOKUP_CHUNK_SIZE]
        for digest in suppression.suppressed_digests(chunk):
            facts.setdefault(by_digest[digest], _Facts()).suppressed = True
        known: dict[int, _Facts] = {}
        for pk, digest in Contact.objects.filter(phone_digest__in=chunk).values_list("pk", "phone_digest"):
            known[pk] = facts.setdefault(by_digest[digest], _Facts())
            known[pk].contact_id = pk
        _load_consent(known)
    return facts


def _facts_for_contact(contact: Contact) -> _Facts:
    facts = _Facts(
        suppressed=bool(suppression.suppressed_digests([contact.phone_digest])), contact_id=contact.pk
    )
    _load_consent({contact.pk: facts})
    return facts


def _load_consent(known: dict[int, _Facts]) -> None:
    """Fill in the states and last withdrawals of the contacts ``known`` by id."""
    if not known:
        return
    for pk, category, status in ConsentState.objects.filter(contact_id__in=known).values_list(
        "contact_id", "category", "status"
    ):
        known[pk].statuses[category] = status
    stops = (
        ConsentEvent.objects.filter(contact_id__in=known, event_type__in=_STOPPING_EVENTS)
        .values("contact_id", "category")
        .annotate(last=Max("occurred_at"))
        .order_by()
    )
    for stop in stops:
        known[stop["contact_id"]].stopped_at[stop["category"]] = stop["last"]


def _record(row: ImportRow, batch_id: str, actor: str) -> RowResult:
    """Record one row in its own transaction, deciding again with the contact locked (someone may
    have sent STOP, or been erased, since the file was checked)."""
    try:
        with transaction.atomic():
            contact = lock_contact(service.get_or_create_contact(row.phone_e164))
            decision = decide(row, _facts_for_contact(contact))
            if decision.outcome != Outcome.IMPORTED:
                raise _RowRefused(decision)
            events = service.grant_single_opt_in(
                contact, decision.categories, evidence_for(row, batch_id, actor), level=row.level
            )
            if row.language and not contact.language:
                contact.language = row.language
                contact.save(update_fields=["language", "updated_at"])
    except _RowRefused as refused:
        return _result(row, refused.decision, None)
    except (DatabaseError, WaConsentError, ValueError) as exc:
        # The class name only: database messages can quote the number.
        logger.warning("opt-in import %s row %s failed: %s", batch_id, row.row_number, type(exc).__name__)
        failed = _Decision(
            Outcome.REFUSED,
            code="failed",
            message=_("The row could not be recorded (%(error)s); nothing of it was written.")
            % {"error": type(exc).__name__},
        )
        return _result(row, failed, None)
    recorded = tuple(event.category for event in events)
    if recorded:
        decision = _Decision(Outcome.IMPORTED, categories=recorded, unchanged=decision.unchanged)
    else:  # nothing to write after all (grant_single_opt_in skips subscribed categories)
        decision = _Decision(Outcome.UNCHANGED, unchanged=row.categories)
    return _result(row, decision, contact.pk)


def _result(row: ImportRow, decision: _Decision, contact_id: int | None) -> RowResult:
    return RowResult(
        row_number=row.row_number,
        outcome=decision.outcome,
        code=decision.code,
        message=decision.message,
        phone_e164=row.phone_e164,
        categories=decision.categories,
        unchanged_categories=decision.unchanged,
        level=row.level if decision.outcome == Outcome.IMPORTED else "",
        opted_in_text=row.opted_in_text,
        contact_id=contact_id,
    )


def _refused(error: RowError) -> RowResult:
    return RowResult(
        row_number=error.row_number,
        outcome=Outcome.REFUSED,
        code=error.code,
        message=error.message,
        phone_e164=error.phone_e164,
        raw_phone=error.raw_phone,
    )


def counts_by_code(rows: Iterable[RowResult]) -> dict[str, int]:
    """Refusals per reason code, for summaries."""
    counts: dict[str, int] = {}
    for row in rows:
        if row.outcome == Outcome.REFUSED:
            counts[row.code] = counts.get(row.code, 0) + 1
    return dict(sorted(counts.items()))


__all__ = ["ImportFileError", "ImportReport", "Outcome", "RowResult", "import_opt_ins"]
