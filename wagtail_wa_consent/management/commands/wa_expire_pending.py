from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...consent.service import expire_overdue


class Command(BaseCommand):
    help = "Expire pending double opt-ins whose confirmation deadline has passed."

    def handle(self, *args: Any, **options: Any) -> None:
        count = expire_overdue()
        self.stdout.write(f"Expired {count} pending opt-in(s).")
