"""Choices used by the consent ledger. Values are stored in the database: never rename them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    MARKETING = "marketing", _("Offers and news")
    TRANSACTIONAL = "transactional", _("Order updates")
    SUPPORT = "support", _("Customer support")


class EventType(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    CONFIRMED = "confirmed", _("Confirmed")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")
    SUPPRESSED = "suppressed", _("Suppressed")
    # A subscribed person is asked to agree again (the wording changed substantially, or the
    # consent went dormant); the category waits like a fresh request until they answer.
    RECONFIRM_REQUESTED = "reconfirm_requested", _("Asked to confirm again")


class Status(models.TextChoices):
    """Current state of one contact and category, derived from the ledger."""

    NOT_SUBSCRIBED = "not_subscribed", _("Not subscribed")
    PENDING = "pending", _("Waiting for confirmation")
    SUBSCRIBED = "subscribed", _("Subscribed")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    SUPPRESSED = "suppressed", _("Suppressed")


class OptInLevel(models.TextChoices):
    """M3AAWG opt-in levels, as Shopify's consent model records them."""

    SINGLE = "single", _("Single opt-in")
    CONFIRMED = "confirmed", _("Confirmed opt-in")
    UNKNOWN = "unknown", _("Unknown")


class Source(models.TextChoices):
    WEB_BLOCK = "web_block", _("Opt-in block on a web page")
    CHAT_BUBBLE = "chat_bubble", _("Chat bubble")
    CHECKOUT = "checkout", _("Checkout")
    PREFERENCE_CENTRE = "preference_centre", _("Preference centre")
    WHATSAPP = "whatsapp", _("WhatsApp message")
    SMS = "sms", _("SMS")
    IVR = "ivr", _("Phone call (IVR)")
    PAPER = "paper", _("Paper form")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Admin")
    SYSTEM = "system", _("System")


#: Event type -> state it leaves the contact's category in.
STATUS_AFTER_EVENT: dict[str, str] = {
    EventType.REQUESTED: Status.PENDING,
    EventType.CONFIRMED: Status.SUBSCRIBED,
    EventType.DECLINED: Status.DECLINED,
    EventType.WITHDRAWN: Status.UNSUBSCRIBED,
    EventType.EXPIRED: Status.EXPIRED,
    EventType.SUPPRESSED: Status.SUPPRESSED,
    EventType.RECONFIRM_REQUESTED: Status.PENDING,
}

#: Events that open a confirmation request with a deadline.
REQUEST_EVENTS = frozenset({EventType.REQUESTED, EventType.RECONFIRM_REQUESTED})
