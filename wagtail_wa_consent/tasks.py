"""Celery tasks. Thin: each one calls a service function and takes ids, not model instances."""

from __future__ import annotations

from celery import shared_task

from .consent.service import expire_overdue


@shared_task(name="wagtail_wa_consent.expire_pending_opt_ins", ignore_result=True)
def expire_pending_opt_ins() -> int:
    """Periodic: expire double opt-ins that were not confirmed in time."""
    return expire_overdue()


# acks_late: a worker killed mid-task leaves the task on the broker for the next worker; the
# dispatcher's compare-and-set claim makes the second run a no-op if the first got far enough.
@shared_task(name="wagtail_wa_consent.dispatch_outbound", ignore_result=True, acks_late=True)
def dispatch_outbound(message_id: int) -> None:
    from .messaging.dispatcher import dispatch

    dispatch(message_id)


@shared_task(name="wagtail_wa_consent.dispatch_due", ignore_result=True, acks_late=True)
def dispatch_due(limit: int | None = None) -> int:
    """Send every due outbox row in batches (campaigns queue many rows, then this once)."""
    from .messaging.dispatcher import dispatch_due as drain

    return drain(limit)


@shared_task(name="wagtail_wa_consent.sweep_outbox", ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """Periodic (every minute): dispatch rows and process webhook deliveries that a crash or a
    broker outage left behind."""
    from .messaging.sweep import sweep
    from .webhooks.processing import sweep_deliveries

    return {**sweep(), "webhooks": sweep_deliveries()}


@shared_task(name="wagtail_wa_consent.process_webhook", ignore_result=True, acks_late=True)
def process_webhook(delivery_id: int) -> None:
    from .webhooks.processing import process_delivery

    process_delivery(delivery_id)


@shared_task(name="wagtail_wa_consent.drain_webhooks", ignore_result=True, acks_late=True)
def drain_webhooks() -> int:
    """Process every stored, unprocessed webhook delivery in the order received."""
    from .webhooks.processing import drain

    return drain()


@shared_task(name="wagtail_wa_consent.apply_retention", ignore_result=True)
def apply_retention() -> dict[str, int]:
    """Periodic (daily): blank old message contents and remove numbers that are no longer needed."""
    from .retention import apply

    return apply().counts()


@shared_task(name="wagtail_wa_consent.sync_templates", ignore_result=True)
def sync_templates() -> int:
    """Periodic: refresh the template registry and the messaging-limit tier from Meta."""
    from .messaging.templates import sync_templates as sync

    return sync()


@shared_task(name="wagtail_wa_consent.request_reconfirmations", ignore_result=True)
def request_reconfirmations(supersession_ids: list[int], user_id: int | None = None) -> int:
    """Ask the contacts whose consent rests on superseded wordings to confirm the current one."""
    from .storefront.wording_changes import request_reconfirmations as ask

    return ask(supersession_ids, user_id)
