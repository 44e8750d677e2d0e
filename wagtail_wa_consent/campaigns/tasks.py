"""Celery tasks of the campaigns. Thin: each calls a service function and takes ids."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("wagtail_wa_consent.campaigns")


@shared_task(name="wagtail_wa_consent.queue_campaign", ignore_result=True, acks_late=True)
def queue_campaign(campaign_id: int) -> int:
    """Select and queue the campaign's audience (idempotent), then drain the due outbox rows."""
    from ..tasks import dispatch_due
    from .service import CampaignStateError, queue

    try:
        campaign = queue(campaign_id)
    except CampaignStateError as error:  # paused or cancelled meanwhile: nothing to queue
        logger.info("%s", error)
        return 0
    dispatch_due.delay()
    return campaign.total_recipients


@shared_task(name="wagtail_wa_consent.start_due_campaigns", ignore_result=True)
def start_due_campaigns() -> int:
    """Periodic (every minute): queue scheduled campaigns whose time has come, and mark the
    campaigns whose rows have all been handled as done."""
    from .models import Campaign, CampaignStatus
    from .service import due_campaigns, refresh_status

    started = 0
    for campaign_id in due_campaigns().values_list("pk", flat=True):
        queue_campaign.delay(campaign_id)
        started += 1
    for campaign in Campaign.objects.filter(status=CampaignStatus.SENDING):
        refresh_status(campaign)
    return started
