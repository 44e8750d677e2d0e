"""WhatsApp's 24-hour customer-service window, opened by each message the person sends."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ..consent.models import Contact

WINDOW = timedelta(hours=24)


def window_is_open(contact: Contact) -> bool:
    last = contact.last_inbound_at
    return last is not None and timezone.now() - last < WINDOW


def record_inbound(contact: Contact, at) -> None:
    """Open (or extend) the window; an older, late-delivered message never shortens it."""
    Contact.objects.filter(pk=contact.pk).exclude(last_inbound_at__gte=at).update(last_inbound_at=at)
    contact.refresh_from_db(fields=["last_inbound_at"])
