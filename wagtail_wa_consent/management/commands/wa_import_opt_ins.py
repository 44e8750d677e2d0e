"""Import existing WhatsApp opt-ins from a CSV file (the admin screen's twin, for large files).

Exit codes: 0 every row was imported or unchanged; 1 the file was refused as a whole (nothing
written); 2 some rows were refused (in a real run the other rows were still recorded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...imports.service import ImportFileError, ImportReport, counts_by_code, import_opt_ins

#: Exit code when rows were refused (CommandError's default, 1, means the file was refused).
ROWS_REFUSED = 2


class Command(BaseCommand):
    help = (
        "Import existing WhatsApp opt-ins from a CSV file (see the docs, 'Importing opt-ins'). "
        "Phone numbers are printed masked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The CSV file (UTF-8, comma or semicolon separated).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and report what would happen; write nothing.",
        )
        parser.add_argument(
            "--region",
            help="Country (e.g. DE) for numbers without + and a country code; default DEFAULT_REGION.",
        )

    def handle(self, *args: Any, path: Path, dry_run: bool, region: str | None, **options: Any) -> None:
        try:
            with path.open("rb") as file:
                report = import_opt_ins(file, dry_run=dry_run, actor="import", region=region)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        except ImportFileError as error:
            raise CommandError(f"File refused, nothing imported: {error.message}") from error
        self.print_report(report)
        if report.refused:
            raise CommandError(
                f"{report.refused} row(s) refused; fix them and import the file again "
                "(rows already imported stay unchanged).",
                returncode=ROWS_REFUSED,
            )

    def print_report(self, report: ImportReport) -> None:
        # Numbers stay masked: terminal output ends up in logs and cron mails.
        for row in report.rows:
            phone = row.display_phone(reveal=False) or "-"
            if row.code:
                self.stdout.write(f"row {row.row_number}: {phone}: refused ({row.code}): {row.message}")
            elif row.outcome == "imported":
                verb = "would import" if report.dry_run else "imported"
                self.stdout.write(
                    f"row {row.row_number}: {phone}: {verb} {', '.join(row.categories)} "
                    f"(level {row.level}, opted in {row.opted_in_text})"
                )
            else:
                self.stdout.write(f"row {row.row_number}: {phone}: unchanged (already subscribed)")
        if report.ignored_columns:
            self.stdout.write(f"Columns not read: {', '.join(report.ignored_columns)}")
        if report.marketing_awaiting_confirmation:
            self.stdout.write(
                self.style.WARNING(
                    f"{report.marketing_awaiting_confirmation} row(s) include marketing: imported consents "
                    "are not confirmed opt-ins, so no marketing message goes to them until the person "
                    "confirms in WhatsApp (MARKETING_REQUIRES_CONFIRMED_OPT_IN)."
                )
            )
        refusals = ", ".join(f"{code} {count}" for code, count in counts_by_code(report.rows).items())
        summary = (
            f"{'Dry run, nothing written' if report.dry_run else 'Import'} {report.batch_id}: "
            f"{report.imported} {'to import' if report.dry_run else 'imported'}, "
            f"{report.unchanged} unchanged, {report.refused} refused" + (f" ({refusals})" if refusals else "")
        )
        style = self.style.SUCCESS if not report.refused else self.style.WARNING
        self.stdout.write(style(summary))
