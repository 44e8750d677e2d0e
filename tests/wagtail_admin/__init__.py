"""Builders shared by the Wagtail admin tests: users with permissions, ledger rows, messages."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.ledger import append_event, lock_contact
from wagtail_wa_consent.consent.models import ConsentEvent, Contact
from wagtail_wa_consent.messaging.models import InboundMessage, OutboundMessage

ACCESS_ADMIN = "wagtailadmin.access_admin"
VIEW_LEDGER = "wa_consent.view_ledger"
VIEW_PHONE = "wa_consent.view_phone_number"
VIEW_TEMPLATES = "wa_consent.view_messagetemplate"
CHANGE_TEMPLATES = "wa_consent.change_messagetemplate"

PHONE = "+4915123456789"
MASKED = "+49 151 ••••• 89"

_counter = itertools.count(1)


def permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def admin_user(*perms: str, superuser: bool = False) -> Any:
    """A user who may log in to Wagtail, with ``perms`` granted through a group (as merchants do)."""
    n = next(_counter)
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(f"root{n}", f"root{n}@example.com", "pw")
    user = User.objects.create_user(f"user{n}", f"user{n}@example.com", "pw")
    group = Group.objects.create(name=f"group{n}")
    group.permissions.set([permission(p) for p in (ACCESS_ADMIN, *perms)])
    user.groups.add(group)
    return user


def event(
    contact: Contact,
    category: str = "marketing",
    event_type: str = "requested",
    *,
    at: datetime | None = None,
    level: str = "",
    source: str = "web_block",
    **evidence: str,
) -> ConsentEvent:
    """Append one ledger event at a chosen time (the service would stamp "now")."""
    fields: dict[str, str] = {
        "user_action": "ticked the box",
        "wording": "Yes, Sandbox Shop GmbH may send me offers on WhatsApp.",
        "language": "en",
        **evidence,
    }
    with transaction.atomic():
        return append_event(
            lock_contact(contact),
            category=category,
            event_type=event_type,
            evidence=Evidence(source=source, **fields),
            opt_in_level=level,
            occurred_at=at or timezone.now(),
        )


def contact(phone: str = PHONE) -> Contact:
    return service.get_or_create_contact(phone)


def outbound(
    contact: Contact, status: str = "sent", *, at: datetime | None = None, **fields: Any
) -> OutboundMessage:
    n = next(_counter)
    message = OutboundMessage.objects.create(
        idempotency_key=f"test:{n}",
        contact=contact,
        category=fields.pop("category", "marketing"),
        kind=fields.pop("kind", "template"),
        template_name=fields.pop("template_name", "spring_sale"),
        template_language="en",
        status=status,
        next_attempt_at=timezone.now(),
        **fields,
    )
    if at is not None:
        # created_at is auto_now_add: move it afterwards to place the message in time.
        OutboundMessage.objects.filter(pk=message.pk).update(created_at=at)
        message.refresh_from_db()
    return message


def inbound(
    contact: Contact, text: str = "STOP", *, at: datetime | None = None, **fields: Any
) -> InboundMessage:
    n = next(_counter)
    return InboundMessage.objects.create(
        contact=contact,
        wamid=f"wamid.in{n}",
        type=fields.pop("type", "text"),
        text=text,
        received_at=at or timezone.now(),
        **fields,
    )
