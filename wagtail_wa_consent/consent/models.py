"""Models of the consent ledger.

``ConsentEvent`` rows are append-only and hash-chained per contact. Personal evidence (IP, user
agent) sits in ``ConsentEvidence`` beside them so it can be erased without breaking a chain.
``ConsentState`` is a cache of the ledger, written in the same transaction as each event.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..exceptions import LedgerImmutable
from . import hashing
from .enums import Category, EventType, OptInLevel, Source, Status


class Contact(models.Model):
    """A WhatsApp recipient, keyed on the phone number in E.164."""

    # Null once the number has been erased; the keyed digest stays for suppression and chains.
    phone_e164 = models.CharField(_("phone number"), max_length=20, unique=True, null=True, blank=True)
    phone_digest = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="whatsapp_contacts",
    )
    wa_id = models.CharField(_("WhatsApp ID"), max_length=32, blank=True)
    # Meta's business-scoped user id, delivered by webhooks once usernames roll out.
    bsuid = models.CharField(_("business-scoped user ID"), max_length=128, blank=True, db_index=True)
    language = models.CharField(_("language"), max_length=35, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)
    # Last message from the person: it opens WhatsApp's 24-hour customer-service window.
    last_inbound_at = models.DateTimeField(_("last message received"), null=True, blank=True)

    class Meta:
        verbose_name = _("WhatsApp contact")
        verbose_name_plural = _("WhatsApp contacts")
        permissions = [
            ("view_phone_number", _("Can see WhatsApp phone numbers")),
            ("view_ledger", _("Can see the WhatsApp consent ledger")),
            ("import_contacts", _("Can import existing WhatsApp opt-ins")),
            ("request_reconfirmation", _("Can ask contacts to confirm their consent again")),
        ]

    def __str__(self) -> str:
        return str(_("Contact #%(id)s") % {"id": self.pk})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.phone_e164:
            self.phone_digest = hashing.phone_digest(self.phone_e164)
        super().save(*args, **kwargs)


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk changes: ledger rows are written one by one through the service."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("The consent ledger is append-only: rows cannot be updated.")

    def delete(self) -> NoReturn:
        raise LedgerImmutable("The consent ledger is append-only: rows cannot be deleted.")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("Append ledger events with consent.ledger.append_event().")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("The consent ledger is append-only: rows cannot be updated.")

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("The consent ledger is append-only: rows cannot be updated.")


class ConsentWording(models.Model):
    """One exact version of the text a person saw, stored once and referenced by its hash."""

    digest = models.CharField(max_length=64, unique=True, editable=False)
    text = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=35)
    created_at = models.DateTimeField(_("first used"), auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent wording")
        verbose_name_plural = _("consent wordings")

    def __str__(self) -> str:
        return f"{self.language}:{self.digest[:12]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerImmutable("A stored consent wording cannot be changed.")
        self.digest = hashing.wording_digest(self.text, self.language)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("A stored consent wording cannot be deleted.")


class ConsentEvent(models.Model):
    """One append-only entry of a contact's consent history, chained to the one before it."""

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="consent_events"
    )
    sequence = models.PositiveIntegerField(_("sequence"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    event_type = models.CharField(_("event"), max_length=20, choices=EventType.choices)
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)
    opt_in_level = models.CharField(_("opt-in level"), max_length=16, choices=OptInLevel.choices, blank=True)
    wording = models.ForeignKey(
        ConsentWording,
        verbose_name=_("wording shown"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    language = models.CharField(_("language shown"), max_length=35, blank=True)
    policy_revision = models.CharField(_("privacy policy revision"), max_length=200, blank=True)
    page_url = models.CharField(_("page URL"), max_length=500, blank=True)
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("For example the order number.")
    )
    user_action = models.CharField(_("user action"), max_length=200, blank=True)
    actor = models.CharField(_("actor"), max_length=100, blank=True)
    confirming_message_id = models.CharField(
        _("WhatsApp message ID"), max_length=200, blank=True, db_index=True
    )
    phone_digest = models.CharField(max_length=64, editable=False)
    ip_digest = models.CharField(max_length=64, blank=True, editable=False)
    user_agent_digest = models.CharField(max_length=64, blank=True, editable=False)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["contact_id", "sequence"]
        constraints = [
            # Two writers can never fork one chain.
            models.UniqueConstraint(fields=["contact", "sequence"], name="wa_consent_event_unique_sequence"),
        ]
        indexes = [models.Index(fields=["category", "event_type", "occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.contact_id}.{self.sequence} {self.category} {self.event_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerImmutable("The consent ledger is append-only: rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("The consent ledger is append-only: rows cannot be deleted.")

    def hashed_document(self, wording_digest: str | None = None) -> dict[str, Any]:
        """The fields the chain hash covers: no personal value, only keyed digests of them."""
        if wording_digest is None:
            wording_digest = self.wording.digest if self.wording_id else ""
        return {
            "format": hashing.HASH_FORMAT,
            "contact": self.contact_id,
            "sequence": self.sequence,
            "category": self.category,
            "event_type": self.event_type,
            "source": self.source,
            "opt_in_level": self.opt_in_level,
            "wording": wording_digest,
            "language": self.language,
            "policy_revision": self.policy_revision,
            "page_url": self.page_url,
            "reference": self.reference,
            "user_action": self.user_action,
            "actor": self.actor,
            "message_id": self.confirming_message_id,
            "phone": self.phone_digest,
            "ip": self.ip_digest,
            "user_agent": self.user_agent_digest,
            "occurred_at": self.occurred_at.isoformat(timespec="microseconds"),
        }

    def compute_hash(self, wording_digest: str | None = None) -> str:
        return hashing.chain_hash(self.prev_hash, self.hashed_document(wording_digest))


class ConsentEvidence(models.Model):
    """Personal evidence of one event, kept apart so erasure can remove it (Art. 17)."""

    event = models.OneToOneField(
        ConsentEvent, primary_key=True, on_delete=models.PROTECT, related_name="personal_evidence"
    )
    ip_address = models.CharField(_("IP address (truncated)"), max_length=64, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True)

    class Meta:
        verbose_name = _("personal evidence")
        verbose_name_plural = _("personal evidence")

    def __str__(self) -> str:
        return str(_("Evidence of %(event)s") % {"event": self.event_id})


class ConsentState(models.Model):
    """Current state of one contact and category; derived from the ledger, never edited by hand."""

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="consent_states"
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    opt_in_level = models.CharField(_("opt-in level"), max_length=16, choices=OptInLevel.choices, blank=True)
    pending_expires_at = models.DateTimeField(_("confirmation due by"), null=True, blank=True)
    last_event = models.ForeignKey(
        ConsentEvent, on_delete=models.PROTECT, related_name="+", verbose_name=_("last event")
    )
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("consent state")
        verbose_name_plural = _("consent states")
        constraints = [
            models.UniqueConstraint(fields=["contact", "category"], name="wa_consent_state_unique_category"),
        ]
        indexes = [models.Index(fields=["category", "status"])]

    def __str__(self) -> str:
        return f"#{self.contact_id} {self.category}: {self.status}"


class SuppressionEntry(models.Model):
    """A keyed digest of a number that imports and admins may not add back (see suppression.py)."""

    class Reason(models.TextChoices):
        ERASED = "erased", _("Data erased at the person's request")
        RETENTION = "retention", _("Number removed by the retention policy")
        REQUESTED = "requested", _("The person asked never to be contacted")

    phone_digest = models.CharField(max_length=64, unique=True, editable=False)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(_("suppressed"))
    lifted_at = models.DateTimeField(
        _("lifted"), null=True, blank=True, help_text=_("When the person opted in again themselves.")
    )

    class Meta:
        verbose_name = _("suppressed number")
        verbose_name_plural = _("suppressed numbers")

    def __str__(self) -> str:
        return f"{self.phone_digest[:12]}… ({self.reason})"


class WordingSupersession(models.Model):
    """An editor marked a change of consent wording as substantial: consents given to ``wording``
    may be asked to be confirmed again (minor edits record no row)."""

    wording = models.OneToOneField(
        ConsentWording, on_delete=models.PROTECT, related_name="supersession", verbose_name=_("old wording")
    )
    superseded_at = models.DateTimeField(_("superseded"))
    page = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    block_id = models.CharField(_("block"), max_length=64, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reconfirm_requested_at = models.DateTimeField(_("re-confirmation asked"), null=True, blank=True)

    class Meta:
        verbose_name = _("superseded consent wording")
        verbose_name_plural = _("superseded consent wordings")

    def __str__(self) -> str:
        return str(self.wording)
