from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...messaging.models import ChannelStatus, MessageTemplate
from ...messaging.templates import sync_templates


class Command(BaseCommand):
    help = "Copy the WhatsApp Business Account's message templates and messaging-limit tier from Meta."

    def handle(self, *args: Any, **options: Any) -> None:
        from ...graph.errors import WhatsAppAPIError

        try:
            count = sync_templates()
        except WhatsAppAPIError as error:
            raise CommandError(f"Meta refused the template list: {error}") from error
        approved = MessageTemplate.objects.filter(status="APPROVED").count()
        tier = ChannelStatus.load().messaging_limit_tier or "unknown"
        self.stdout.write(f"Synced {count} templates ({approved} approved). Messaging limit tier: {tier}.")
