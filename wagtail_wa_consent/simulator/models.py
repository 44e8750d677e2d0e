"""What the simulated Meta knows: templates, the messages it carried, each phone's state, owed webhooks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: Meta's customer service window (CLOUD-API.md 4.3).
SERVICE_WINDOW = timedelta(hours=24)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")


class TemplateCategory(models.TextChoices):
    MARKETING = "MARKETING", _("Marketing")
    UTILITY = "UTILITY", _("Utility")
    AUTHENTICATION = "AUTHENTICATION", _("Authentication")


class TemplateStatus(models.TextChoices):
    APPROVED = "APPROVED", _("Approved")
    PENDING = "PENDING", _("Pending")
    REJECTED = "REJECTED", _("Rejected")
    PAUSED = "PAUSED", _("Paused")
    DISABLED = "DISABLED", _("Disabled")
    IN_APPEAL = "IN_APPEAL", _("In appeal")
    ARCHIVED = "ARCHIVED", _("Archived")


class SimTemplate(models.Model):
    """One translation of a message template, with ``components`` in Meta's list format."""

    name = models.CharField(_("name"), max_length=512)
    language = models.CharField(_("language"), max_length=15)
    category = models.CharField(_("category"), max_length=20, choices=TemplateCategory.choices)
    status = models.CharField(
        _("status"), max_length=32, choices=TemplateStatus.choices, default=TemplateStatus.APPROVED
    )
    components = models.JSONField(_("components"), default=list)
    meta_id = models.CharField(_("Meta template id"), max_length=64, unique=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("simulated template")
        verbose_name_plural = _("simulated templates")
        constraints = [models.UniqueConstraint(fields=["name", "language"], name="wa_sim_template_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def component(self, kind: str) -> dict[str, Any]:
        """The component of ``kind`` (``HEADER``, ``BODY``, ``FOOTER``, ``BUTTONS``), or ``{}``."""
        return next((c for c in self.components if str(c.get("type", "")).upper() == kind), {})

    def body_text(self) -> str:
        return str(self.component("BODY").get("text", ""))

    def footer_text(self) -> str:
        return str(self.component("FOOTER").get("text", ""))

    def header_text(self) -> str:
        header = self.component("HEADER")
        return str(header.get("text", "")) if header.get("format", "TEXT") == "TEXT" else ""

    def buttons(self) -> list[dict[str, Any]]:
        """The template's buttons in order; the send payload refers to them by this index."""
        return list(self.component("BUTTONS").get("buttons", []))

    def as_graph(self) -> dict[str, Any]:
        """The template as ``GET /<waba-id>/message_templates`` lists it."""
        return {
            "name": self.name,
            "language": self.language,
            "category": self.category,
            "status": self.status,
            "parameter_format": "POSITIONAL",
            "components": self.components,
            "quality_score": {"score": "GREEN"},
            "id": self.meta_id,
        }


def placeholders(text: str) -> int:
    """How many distinct ``{{n}}`` variables ``text`` has (what Meta counts as params)."""
    return len(set(_PLACEHOLDER.findall(text)))


class SimPhone(models.Model):
    """A person's phone as Meta sees it: reachability, marketing preference, service window."""

    digits = models.CharField(_("number (digits, no +)"), max_length=20, unique=True)
    marketing_stopped = models.BooleanField(_("stopped offers in WhatsApp settings"), default=False)
    unreachable = models.BooleanField(_("unreachable"), default=False)
    last_inbound_at = models.DateTimeField(_("last message from this phone"), null=True, blank=True)

    class Meta:
        verbose_name = _("simulated phone")
        verbose_name_plural = _("simulated phones")

    def __str__(self) -> str:
        return f"+{self.digits}"

    @property
    def is_unreachable(self) -> bool:
        # Numbers ending in 0000 are never on WhatsApp, so tests need no setup for 131026.
        return self.unreachable or self.digits.endswith("0000")

    def window_open(self, now: datetime | None = None) -> bool:
        """True while the 24-hour customer service window opened by this phone's last message runs."""
        if self.last_inbound_at is None:
            return False
        return (now or timezone.now()) - self.last_inbound_at < SERVICE_WINDOW

    def window_closes_at(self) -> datetime | None:
        return self.last_inbound_at + SERVICE_WINDOW if self.last_inbound_at else None


class Direction(models.TextChoices):
    OUT = "out", _("to the phone")
    IN = "in", _("from the phone")


class DeliveryStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


class SimMessage(models.Model):
    """A message the simulated Meta carried, either way; ``payload`` is what was sent or received."""

    OUT, IN = Direction.OUT, Direction.IN

    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    phone = models.CharField(_("number (digits, no +)"), max_length=20, db_index=True)
    wamid = models.CharField(_("message id"), max_length=200, unique=True)
    kind = models.CharField(_("type"), max_length=32)
    payload = models.JSONField(_("payload"), default=dict)
    # Inbound messages have no delivery status.
    status = models.CharField(_("status"), max_length=20, choices=DeliveryStatus.choices, blank=True)
    # Meta's biz_opaque_callback_data (the field keeps this shorter name: tests/worker query it).
    callback_data = models.CharField(_("biz_opaque_callback_data"), max_length=512, blank=True)
    phone_number_id = models.CharField(_("business phone number id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("simulated message")
        verbose_name_plural = _("simulated messages")

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.wamid}"

    @property
    def biz_opaque_callback_data(self) -> str:
        return self.callback_data


class SimWebhook(models.Model):
    """A webhook the simulated Meta owes the site. Kept until delivered, as Meta retries."""

    body = models.JSONField(_("body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("simulated webhook")
        verbose_name_plural = _("simulated webhooks")

    def __str__(self) -> str:
        return f"webhook {self.pk} ({'delivered' if self.delivered_at else 'owed'})"
