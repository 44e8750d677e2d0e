"""Celery tasks. Thin: each one calls a service function."""

from __future__ import annotations

from celery import shared_task

from .consent.service import expire_overdue


@shared_task(name="wagtail_wa_consent.expire_pending_opt_ins", ignore_result=True)
def expire_pending_opt_ins() -> int:
    """Periodic: expire double opt-ins that were not confirmed in time."""
    return expire_overdue()
