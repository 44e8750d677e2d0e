"""Models of the marketing campaigns."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..messaging.models import MessageTemplate, TemplateCategory


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")
    DONE = "done", _("Done")


def split_codes(value: str) -> list[str]:
    """``"en, de ar"`` -> ``["en", "de", "ar"]`` (commas or spaces separate codes)."""
    return [part for part in value.replace(",", " ").split() if part]


class Campaign(models.Model):
    """One marketing message, one approved MARKETING template, to a filtered consenting audience."""

    name = models.CharField(_("name"), max_length=200)
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        on_delete=models.PROTECT,
        related_name="campaigns",
        limit_choices_to={"category": TemplateCategory.MARKETING},
        help_text=_("An APPROVED MARKETING template with an opt-out footer or a 'Stop promotions' button."),
    )
    parameters = models.TextField(
        _("template parameters"), blank=True, help_text=_("One body parameter per line, in order.")
    )
    # --- audience filters (all optional; the audience is always confirmed marketing consent) ---
    languages = models.CharField(
        _("languages"), max_length=200, blank=True, help_text=_("Contact languages, e.g. 'en, de'.")
    )
    countries = models.CharField(
        _("countries"),
        max_length=200,
        blank=True,
        help_text=_("ISO country codes of the phone numbers, e.g. 'SA, UZ'."),
    )
    last_order_from = models.DateField(_("last order on or after"), null=True, blank=True)
    last_order_to = models.DateField(_("last order on or before"), null=True, blank=True)
    opted_in_since = models.DateField(_("opted in since"), null=True, blank=True)
    # --- schedule and progress ---
    send_at = models.DateTimeField(
        _("send at"), null=True, blank=True, help_text=_("Leave empty to send as soon as it is started.")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    total_recipients = models.PositiveIntegerField(_("recipients queued"), default=0)
    skipped_frequency_cap = models.PositiveIntegerField(_("skipped by the frequency cap"), default=0)
    skipped_filters = models.PositiveIntegerField(_("skipped by the country filter"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("WhatsApp campaign")
        verbose_name_plural = _("WhatsApp campaigns")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    # --- helpers ---

    @property
    def key_prefix(self) -> str:
        """Every outbox row of this campaign has the idempotency key ``campaign:<id>:<contact id>``."""
        return f"campaign:{self.pk}:"

    def parameter_list(self) -> list[str]:
        return [line.strip() for line in self.parameters.splitlines() if line.strip()]

    def language_list(self) -> list[str]:
        return split_codes(self.languages)

    def country_list(self) -> list[str]:
        return [code.upper() for code in split_codes(self.countries)]

    @property
    def editable(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.template_id:
            template = self.template
            reason = template.unusable_reason("marketing")
            if template.status != "APPROVED":
                errors["template"] = _(
                    "This template is %(status)s. Only APPROVED templates can be sent."
                ) % {"status": template.status}
            elif reason == "template_wrong_category":
                errors["template"] = _("Campaigns can only use MARKETING templates.")
            elif reason == "template_without_opt_out":
                errors["template"] = _(
                    "This template has no opt-out: add an opt-out footer or a 'Stop promotions' button "
                    "in WhatsApp Manager."
                )
            elif reason:
                errors["template"] = _("This template cannot be used (%(reason)s).") % {"reason": reason}
            elif template.parameter_count != len(self.parameter_list()):
                errors["parameters"] = _(
                    "The template has %(expected)d body parameter(s); %(given)d given."
                ) % {"expected": template.parameter_count, "given": len(self.parameter_list())}
        for code in self.language_list():
            if len(code) > 35:
                errors["languages"] = _("'%(code)s' is not a language code.") % {"code": code}
        for code in self.country_list():
            if len(code) != 2 or not code.isalpha():
                errors["countries"] = _("'%(code)s' is not a two-letter country code.") % {"code": code}
        if self.last_order_from and self.last_order_to and self.last_order_from > self.last_order_to:
            errors["last_order_to"] = _("The end of the range is before its start.")
        if errors:
            raise ValidationError(errors)
