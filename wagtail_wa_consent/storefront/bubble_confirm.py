"""The second step of a chat-bubble opt-in: the shopper's own WhatsApp message.

The bubble prefills a sentence with a short reference (:mod:`.bubble_views`). When the person
sends it from the number typed on the site, that message proves the number and links the chat to
the web evidence, so the pending marketing opt-in is confirmed with the message id as evidence.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from ..consent import service
from ..consent.enums import Category, EventType, Source, Status
from ..consent.evidence import Evidence
from ..consent.models import ConsentState, Contact
from ..exceptions import ConsentTransitionError, InvalidPhoneNumber
from ..messaging import replies
from ..messaging.models import CONSENT_NOTICE
from ..messaging.outbox import enqueue_text
from ..phone import normalise_phone

if TYPE_CHECKING:
    from ..webhooks import events as ev

logger = logging.getLogger("wagtail_wa_consent.storefront")

MARKETING = Category.MARKETING.value
#: Renewed requests kept looking back: the shopper may send the message of an earlier click.
_MAX_REQUESTS = 10


def confirm_from_inbound(contact: Contact, event: ev.InboundMessage) -> bool:
    """Confirm ``contact``'s pending chat-bubble opt-in if ``event`` carries its reference.

    Only a text sent from the contact's own number counts; anything else changes nothing.
    Returns True when the opt-in was confirmed (and the confirmation reply queued).
    """
    if not event.text or not _from_contact_number(contact, event.from_phone):
        return False
    if event.referral:
        return False  # a message from an ad click never counts as consent (DESIGN invariant 5)
    reference = _matching_reference(contact, event.text)
    if reference is None:
        return False
    evidence = Evidence(
        source=Source.WHATSAPP,
        user_action=f"sent the prefilled opt-in message with reference {reference}",
        message_id=event.message_id,
        reference=reference,
    )
    try:
        service.confirm(contact, evidence, [MARKETING])
    except ConsentTransitionError as error:
        logger.info("chat bubble: reference of contact %s arrived too late (%s)", contact.pk, error.code)
        return False
    logger.info("chat bubble: opt-in of contact %s confirmed by its message", contact.pk)
    enqueue_text(contact, CONSENT_NOTICE, replies.confirmed(), key=f"reply:bubble:{event.message_id}")
    return True


def _from_contact_number(contact: Contact, phone: str | None) -> bool:
    if not phone or not contact.phone_e164:
        return False  # a username-only sender or an erased contact proves no number
    try:
        return normalise_phone("+" + phone.lstrip("+")) == contact.phone_e164
    except InvalidPhoneNumber:
        return False


def _matching_reference(contact: Contact, text: str) -> str | None:
    """The reference of a pending chat-bubble request of ``contact`` that ``text`` contains."""
    pending = ConsentState.objects.filter(contact=contact, category=MARKETING, status=Status.PENDING)
    if not pending.exists():
        return None  # the common case for chat messages: one cheap query
    recent = contact.consent_events.filter(category=MARKETING).order_by("-sequence")
    for event in recent.only("event_type", "source", "reference")[:_MAX_REQUESTS]:
        if event.event_type != EventType.REQUESTED:
            break  # only requests since the last answer, withdrawal or expiry are pending
        if event.source == Source.CHAT_BUBBLE and event.reference and _contains(text, event.reference):
            return event.reference
    return None


def _contains(text: str, reference: str) -> bool:
    # A whole token, any case: "ref. k7m3qx" matches, "XK7M3QX" does not.
    pattern = rf"(?<![0-9A-Za-z]){re.escape(reference)}(?![0-9A-Za-z])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None
