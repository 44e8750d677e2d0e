"""Models of the messaging pipeline: template registry, outbox, inbound messages, raw webhooks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..consent.enums import Category
from ..consent.models import Contact


class TemplateCategory(models.TextChoices):
    MARKETING = "MARKETING", _("Marketing")
    UTILITY = "UTILITY", _("Utility")
    AUTHENTICATION = "AUTHENTICATION", _("Authentication")


#: Outbox category of consent-management messages (double opt-in request, STOP confirmation,
#: HELP): they go out without a consent of their own, but only as neutral UTILITY templates or
#: inside the service window the person just opened.
CONSENT_NOTICE = "consent_notice"

#: Consent category -> template categories that may be used for it.
TEMPLATE_CATEGORIES_FOR = {
    CONSENT_NOTICE: {TemplateCategory.UTILITY},
    Category.MARKETING: {TemplateCategory.MARKETING},
    Category.TRANSACTIONAL: {TemplateCategory.UTILITY},
    Category.SUPPORT: {TemplateCategory.UTILITY},
}


class MessageTemplate(models.Model):
    """A template of the WhatsApp Business Account, synced from Meta (read-only here)."""

    name = models.CharField(_("name"), max_length=512)
    language = models.CharField(_("language"), max_length=15)
    category = models.CharField(_("category"), max_length=20, choices=TemplateCategory.choices)
    status = models.CharField(_("status"), max_length=32, help_text=_("APPROVED, PAUSED, ..."))
    meta_id = models.CharField(_("Meta template ID"), max_length=64, blank=True)
    components = models.JSONField(_("components"), default=list, blank=True)
    parameter_count = models.PositiveSmallIntegerField(_("body parameters"), default=0)
    has_opt_out = models.BooleanField(
        _("has opt-out"), default=False, help_text=_("An opt-out footer or a 'Stop promotions' button.")
    )
    quality_score = models.CharField(_("quality"), max_length=32, blank=True)
    status_reason = models.CharField(_("status reason"), max_length=255, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("WhatsApp template")
        verbose_name_plural = _("WhatsApp templates")
        constraints = [
            models.UniqueConstraint(fields=["name", "language"], name="wa_consent_template_name_language")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def unusable_reason(self, category: str) -> str:
        """Why this template may not carry a message of ``category`` ("" when it may)."""
        if self.status != "APPROVED":
            return f"template_{self.status.lower()}"
        if self.category not in TEMPLATE_CATEGORIES_FOR.get(category, set()):
            return "template_wrong_category"
        if self.category == TemplateCategory.MARKETING and not self.has_opt_out:
            return "template_without_opt_out"
        return ""


class MessageKind(models.TextChoices):
    TEMPLATE = "template", _("Template")
    TEXT = "text", _("Free-form text")
    INTERACTIVE = "interactive", _("Interactive buttons")


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    DENIED = "denied", _("Denied")


class OutboundMessage(models.Model):
    """The transactional outbox: one row per message to send, written in the caller's transaction."""

    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="outbound_messages"
    )
    category = models.CharField(
        _("consent category"),
        max_length=20,
        choices=[*Category.choices, (CONSENT_NOTICE, _("Consent notice"))],
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    template_name = models.CharField(_("template"), max_length=512, blank=True)
    template_language = models.CharField(_("template language"), max_length=15, blank=True)
    parameters = models.JSONField(_("template parameters"), default=list, blank=True)
    content = models.JSONField(_("free-form content"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    error_code = models.IntegerField(_("error code"), null=True, blank=True)
    error_title = models.CharField(_("error"), max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    wamid = models.CharField(_("WhatsApp message ID"), max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound WhatsApp message")
        verbose_name_plural = _("outbound WhatsApp messages")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.template_name or ''} -> #{self.contact_id} [{self.status}]"


class InboundMessage(models.Model):
    """A message a person sent to the business; its time opens the 24-hour service window."""

    contact = models.ForeignKey(
        Contact, null=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    wamid = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=32)
    text = models.TextField(blank=True)  # personal data: erased with the contact
    payload = models.CharField(max_length=256, blank=True)
    keyword = models.CharField(max_length=32, blank=True)
    context_message_id = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("inbound WhatsApp message")
        verbose_name_plural = _("inbound WhatsApp messages")
        indexes = [models.Index(fields=["contact", "received_at"])]

    def __str__(self) -> str:
        return f"{self.type} from #{self.contact_id}"


class WebhookDelivery(models.Model):
    """A signed webhook delivery, stored raw before processing; Meta's retries are deduplicated."""

    dedupe_key = models.CharField(max_length=64, unique=True)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"delivery {self.pk} ({'processed' if self.processed_at else 'pending'})"


class ChannelStatus(models.Model):
    """The WhatsApp channel's health, one row: tier, quality and a halt set by fatal API errors."""

    messaging_limit_tier = models.CharField(_("messaging limit tier"), max_length=32, blank=True)
    quality_rating = models.CharField(_("quality rating"), max_length=32, blank=True)
    halted = models.BooleanField(_("sending halted"), default=False)
    halt_reason = models.CharField(_("halt reason"), max_length=255, blank=True)
    halted_at = models.DateTimeField(_("halted at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("WhatsApp channel status")
        verbose_name_plural = _("WhatsApp channel status")

    def __str__(self) -> str:
        return f"tier={self.messaging_limit_tier or '?'} halted={self.halted}"

    @classmethod
    def load(cls) -> ChannelStatus:
        return cls.objects.get_or_create(pk=1)[0]
