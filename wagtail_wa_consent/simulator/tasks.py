from celery import shared_task


@shared_task(name="wagtail_wa_consent.simulator.flush_webhooks", ignore_result=True)
def flush_webhooks() -> int:
    """Retry webhooks the simulated Meta still owes, as Meta does."""
    from .webhooks import flush

    return flush()
