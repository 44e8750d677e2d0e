"""Rectification of a contact's number (GDPR Art. 16): the person moved WhatsApp to a new number.

The contact row stays the same, so its whole history (ledger, messages, requests) stays linked.
Ledger events keep the number digest of their own time, so every chain still verifies; the
``NumberChange`` row links the old and new digests for anyone reading the ledger later.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from ..consent import hashing
from ..consent.erasure import blank_raw_webhooks
from ..consent.ledger import lock_contact
from ..consent.models import Contact
from ..exceptions import WaConsentError
from ..messaging.models import OutboundMessage
from ..phone import normalise_phone
from .models import NumberChange

if TYPE_CHECKING:
    from .models import DataSubjectRequest

logger = logging.getLogger("wagtail_wa_consent.rights")

#: Rows that may point at a contact that has no history of its own: the confirmation link sent
#: to a new number before the change needs a contact to be sent through (see ``absorb``).
_MOVABLE_RELATIONS = frozenset({"outbound_messages"})


class NumberChangeRefused(WaConsentError):
    """The number cannot be changed. ``code`` says why:

    ``in_use``: another contact with a history of its own still holds the new number;
    ``erased_number``: the new number belongs to an erased contact (its digest is kept for
    suppression, so it cannot be given to anyone else automatically);
    ``unchanged``: the new number is the contact's number already;
    ``erased``: the contact itself was erased, it has no number to change.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def change_number(
    contact: Contact,
    new_phone: str,
    *,
    source: str,
    actor: str = "",
    request: DataSubjectRequest | None = None,
    region: str | None = None,
) -> NumberChange:
    """Move ``contact`` to ``new_phone`` and record the change, in one transaction.

    Args:
        contact: the contact whose number changes.
        new_phone: the new number, in any form :func:`~wagtail_wa_consent.phone.normalise_phone`
            accepts.
        source: a ``NumberChange.Source`` value (WhatsApp notice, preference centre, admin).
        actor: who made the change, e.g. ``"subject"``, ``"meta"``, ``"admin:<user id>"``.
        request: the rectification request this change answers, if any.
        region: region for a number typed without ``+``.

    Returns:
        The ``NumberChange`` row (keyed digests of the old and new number, never the numbers).

    Raises:
        InvalidPhoneNumber: ``new_phone`` is not a WhatsApp-capable number.
        NumberChangeRefused: see its ``code``.
    """
    e164 = normalise_phone(new_phone, region)
    new_digest = hashing.phone_digest(e164)
    with transaction.atomic():
        contact = lock_contact(contact)
        if contact.erased_at is not None or not contact.phone_e164:
            raise NumberChangeRefused("An erased contact has no number to change.", code="erased")
        if contact.phone_digest == new_digest:
            raise NumberChangeRefused("This is the contact's number already.", code="unchanged")
        holder = Contact.objects.select_for_update().filter(phone_digest=new_digest).first()
        if holder is not None:
            _release(holder, to=contact)
        change = NumberChange.objects.create(
            contact=contact,
            old_digest=contact.phone_digest,
            new_digest=new_digest,
            source=source,
            actor=actor[:100],
            request=request,
        )
        # Erasure later finds raw bodies by the current number only: the old one goes now.
        blank_raw_webhooks(contact.phone_e164)
        contact.phone_e164 = e164  # save() recomputes phone_digest
        contact.wa_id = ""  # Meta's id of the old number; the new one arrives with their next message
        contact.save(update_fields=["phone_e164", "phone_digest", "wa_id", "updated_at"])
    logger.info("contact %s moved to a new number (%s, change %s)", contact.pk, source, change.pk)
    return change


def link_carrier(e164: str) -> Contact | None:
    """The contact through which a confirmation can be sent to the new number ``e164``.

    The outbox sends to contacts, so a number nobody holds gets an empty contact (merged by
    :func:`change_number` once confirmed). ``None`` when an erased contact holds the number:
    it cannot be messaged.
    """
    contact, _created = Contact.objects.get_or_create(
        phone_digest=hashing.phone_digest(e164), defaults={"phone_e164": e164}
    )
    return contact if contact.phone_e164 else None


def has_own_history(contact: Contact) -> bool:
    """Whether anything but outbound messages points at ``contact`` (or it has an account)."""
    if contact.user_id is not None:
        return True
    for relation in Contact._meta.related_objects:
        if relation.get_accessor_name() in _MOVABLE_RELATIONS:
            continue
        model = relation.related_model
        if model._base_manager.filter(**{relation.field.name: contact}).exists():
            return True
    return False


def _release(holder: Contact, *, to: Contact) -> None:
    """Free the new number from the contact that holds it, or refuse.

    A holder with no history of its own only ever carried messages to the number (such as the
    confirmation link of this very change): those messages went to the person who now owns the
    number, so they move to ``to`` and the empty holder is deleted.
    """
    if not holder.phone_e164:
        raise NumberChangeRefused("The new number belongs to an erased contact.", code="erased_number")
    if has_own_history(holder):
        raise NumberChangeRefused("Another contact still holds the new number.", code="in_use")
    moved = OutboundMessage.objects.filter(contact=holder).update(contact=to)
    logger.info("empty contact %s merged into contact %s (%s messages moved)", holder.pk, to.pk, moved)
    holder.delete()
