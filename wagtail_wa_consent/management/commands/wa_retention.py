from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...retention import RetentionReport, apply


class Command(BaseCommand):
    help = (
        "Apply the retention settings: expire overdue opt-ins, blank old message contents and raw "
        "webhooks, erase numbers no longer needed, and ask again (or withdraw) dormant consents. "
        "With --dry-run, only report what would change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Change nothing; print what would be removed."
        )

    def handle(self, *args: Any, dry_run: bool = False, verbosity: int = 1, **options: Any) -> None:
        report = apply(dry_run=dry_run)
        self.stdout.write(
            "Dry run: nothing was changed. A run now would do this:" if dry_run else "Retention applied:"
        )
        for line in report_lines(report, verbosity=verbosity):
            self.stdout.write(line)
        if not dry_run:
            self.stdout.write(self.style.SUCCESS(f"Done: {report.total} change(s)."))


def report_lines(report: RetentionReport, *, verbosity: int = 1) -> list[str]:
    """One line per rule (its count, setting and limit); contact ids from verbosity 2 on."""
    lines = []
    for rule in report.rules.values():
        if not rule.enabled:
            lines.append(f"  {rule.label}: off ({rule.setting} is None)")
            continue
        unit = "months" if rule.setting.endswith("MONTHS") else "days"
        action = f", action {rule.action}" if rule.action else ""
        lines.append(f"  {rule.label}: {rule.count} ({rule.setting} = {rule.limit} {unit}{action})")
        if rule.held_contact_ids:
            lines.append(f"    kept for an open order or data-subject request: {len(rule.held_contact_ids)}")
        if verbosity >= 2:
            if rule.contact_ids:
                lines.append(f"    contacts: {', '.join(map(str, rule.contact_ids))}")
            if rule.held_contact_ids:
                lines.append(f"    kept: {', '.join(map(str, rule.held_contact_ids))}")
    return lines
