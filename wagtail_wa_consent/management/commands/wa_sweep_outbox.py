from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...messaging.sweep import sweep


class Command(BaseCommand):
    help = "Dispatch outbox rows left queued by a crash or a broker outage (the periodic task does this too)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = sweep()
        self.stdout.write(
            f"Re-queued {result['requeued']} stale, dispatched {result['dispatched']} due message(s)."
        )
