"""Erasure of a contact's personal data (GDPR Art. 17), keeping an anonymised proof.

The ledger is never touched: its events hold only keyed digests of the number, IP address and
user agent, so deleting the plain values (``ConsentEvidence`` rows, the contact's number) leaves
every hash chain verifiable (DESIGN invariant 2). The keyed number digest stays on the contact,
so an erased number is still recognised and never messaged again.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..messaging.models import InboundMessage, OutboundMessage, WebhookDelivery
from . import service, suppression
from .evidence import Evidence
from .ledger import lock_contact
from .models import ConsentEvidence, Contact, SuppressionEntry

logger = logging.getLogger("wagtail_wa_consent.erasure")


def erase_contact(
    contact: Contact, evidence: Evidence, *, reason: str | None = SuppressionEntry.Reason.ERASED
) -> Contact:
    """Withdraw every category, then remove the contact's personal data, in one transaction.

    Args:
        contact: the contact to erase; erasing twice is harmless.
        evidence: how the erasure was asked for (source, user action); its IP address and user
            agent are recorded on the withdrawal and then erased with the rest.
        reason: why the number goes on the suppression list (a SuppressionEntry.Reason), or
            ``None`` to leave the list alone (the retention task erasing a number whose owner
            never asked for anything).

    Returns:
        The erased contact (``phone_e164`` is ``None``, ``erased_at`` set).
    """
    with transaction.atomic():
        # The withdrawal goes into the ledger first: the proof that messages had to stop.
        service.withdraw(contact, evidence)
        contact = lock_contact(contact)
        number = contact.phone_e164 or ""
        ConsentEvidence.objects.filter(event__contact=contact).delete()
        OutboundMessage.objects.filter(contact=contact).update(parameters=[], content={})
        InboundMessage.objects.filter(contact=contact).update(text="", payload="")
        raw = blank_raw_webhooks(number)
        contact.phone_e164 = None
        contact.wa_id = ""
        contact.bsuid = ""
        contact.user = None
        contact.language = ""
        contact.erased_at = contact.erased_at or timezone.now()
        contact.save()
        # Only the keyed digest stays: an import can then never bring the number back.
        if reason is not None:
            suppression.suppress(contact.phone_digest, reason)
        transaction.on_commit(lambda: signals.contact_erased.send(sender=Contact, contact=contact))
    logger.info("contact %s erased (%s raw webhook deliveries blanked)", contact.pk, raw)
    return contact


def blank_raw_webhooks(e164: str) -> int:
    """Processed raw deliveries that name the number carry it and message texts in plain text.

    Their body is only needed until it is processed; the dedupe key stays, so Meta's retries are
    still recognised. Unprocessed rows are left alone so their processing is not lost.
    """
    if not e164:
        return 0
    quoted = f'"{e164.lstrip("+")}"'  # Meta writes wa_id / from / recipient_id without the "+"
    return (
        WebhookDelivery.objects.filter(processed_at__isnull=False, body__contains=quoted)
        .exclude(body="")
        .update(body="")
    )
