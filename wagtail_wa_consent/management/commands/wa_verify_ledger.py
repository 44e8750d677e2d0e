from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...consent.chain import verify_ledger


class Command(BaseCommand):
    help = "Verify every contact's consent hash chain and report the first broken link of each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contact", type=int, action="append", help="Only these contact ids.")

    def handle(self, *args: Any, contact: list[int] | None = None, **options: Any) -> None:
        report = verify_ledger(contact)
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(f"Ledger OK: {report.events} events in {report.chains} chains verified.")
            )
            return
        for link in report.broken or []:
            self.stderr.write(f"BROKEN: {link}")
        raise CommandError(
            f"{len(report.broken or [])} of {report.chains} chains are broken ({report.events} events read)."
        )
