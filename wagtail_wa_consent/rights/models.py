"""Models of the data-subject request queue and of number changes (rectification)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..consent.models import Contact
from ..dates import add_months


def one_month_after(moment: datetime) -> datetime:
    """Art. 12(3) GDPR: answer "within one month of receipt", i.e. the same day next month."""
    return add_months(moment, 1)


class DataSubjectRequest(models.Model):
    """One request from a person about their data, with the one-month deadline clock."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access (Art. 15)")
        PORTABILITY = "portability", _("Data portability (Art. 20)")
        ERASURE = "erasure", _("Erasure (Art. 17)")
        RECTIFICATION = "rectification", _("Rectification: number change (Art. 16)")
        OBJECTION = "objection", _("Objection to messages (Art. 21)")

    class State(models.TextChoices):
        # A context of their own: campaigns and import rows use the same English words, and
        # some languages inflect them differently for "request".
        OPEN = "open", pgettext_lazy("data-subject request state", "Open")
        DONE = "done", pgettext_lazy("data-subject request state", "Done")
        REFUSED = "refused", pgettext_lazy("data-subject request state", "Refused")

    class Channel(models.TextChoices):
        PREFERENCE_CENTRE = "preference_centre", _("Preference centre")
        ADMIN = "admin", _("Recorded by staff (e-mail, letter, phone)")

    kind = models.CharField(_("request"), max_length=20, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    channel = models.CharField(_("received through"), max_length=20, choices=Channel.choices)
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_requests",
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    due_at = models.DateTimeField(_("due"), db_index=True)
    extended = models.BooleanField(
        _("deadline extended"),
        default=False,
        help_text=_("Art. 12(3): by two further months for complex or many requests; tell the person why."),
    )
    # Rectification: the new number, held only until the request is done.
    new_phone = models.CharField(_("new phone number"), max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True, help_text=_("What was done, or why it was refused."))
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["state", "due_at"]
        permissions = [("handle_datasubjectrequest", _("Can handle data-subject requests"))]

    def __str__(self) -> str:
        return str(_("%(kind)s request #%(id)s") % {"kind": self.get_kind_display(), "id": self.pk})

    def save(self, *args, **kwargs) -> None:
        if self.due_at is None:
            self.due_at = one_month_after(self.received_at)
        super().save(*args, **kwargs)

    @property
    def is_overdue(self) -> bool:
        return self.state == self.State.OPEN and self.due_at < timezone.now()

    @property
    def days_left(self) -> int:
        return (self.due_at - timezone.now()).days


class NumberChange(models.Model):
    """A contact moved to a new number; its whole history stays on the one contact.

    Only keyed digests are kept, so the link survives erasure and proves which number each
    ledger event (whose ``phone_digest`` names the number of its time) belonged to.
    """

    class Source(models.TextChoices):
        WHATSAPP = "whatsapp", _("WhatsApp number-change notice")
        PREFERENCE_CENTRE = "preference_centre", _("Preference centre")
        ADMIN = "admin", _("Admin (rectification request)")

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="number_changes"
    )
    old_digest = models.CharField(max_length=64, db_index=True, editable=False)
    new_digest = models.CharField(max_length=64, db_index=True, editable=False)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="number_changes"
    )
    actor = models.CharField(_("actor"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("number change")
        verbose_name_plural = _("number changes")
        ordering = ["contact_id", "changed_at"]

    def __str__(self) -> str:
        return f"#{self.contact_id} {self.old_digest[:8]}→{self.new_digest[:8]}"
