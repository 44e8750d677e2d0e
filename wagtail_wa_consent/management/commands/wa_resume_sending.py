from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...messaging.models import ChannelStatus


class Command(BaseCommand):
    help = "Lift a halt set by a fatal WhatsApp error (bad token, blocked account) once it is fixed."

    def handle(self, *args: Any, **options: Any) -> None:
        status = ChannelStatus.load()
        if not status.halted:
            self.stdout.write("Sending was not halted.")
            return
        reason = status.halt_reason
        status.halted, status.halt_reason, status.halted_at = False, "", None
        status.save()
        self.stdout.write(f"Sending resumed (it was halted by: {reason}).")
