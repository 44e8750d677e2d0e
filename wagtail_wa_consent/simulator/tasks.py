"""Celery task for the simulator: Meta's retries of webhooks the site did not accept."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="wagtail_wa_consent.simulator.flush_webhooks", ignore_result=True)
def flush_webhooks() -> int:
    """Retry every owed webhook, as Meta does. Returns how many were delivered."""
    from .webhooks import flush

    return flush()
