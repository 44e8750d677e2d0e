"""Forms of the data-request queue in the Wagtail admin."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..consent.models import Contact
from ..consent.service import find_contact
from ..phone import normalise_phone
from .models import DataSubjectRequest

Kind = DataSubjectRequest.Kind

#: A number typed in the admin is read the way the person gave it: in full, left to right.
_PHONE_ATTRS = {"autocomplete": "off", "inputmode": "tel", "dir": "ltr", "size": 20}


class NewRequestForm(forms.Form):
    """A request staff received by e-mail, letter or phone. The number only finds the contact
    (by its keyed digest); it is not stored with the request."""

    kind = forms.ChoiceField(label=_("Request"), choices=Kind.choices)
    phone = forms.CharField(
        label=_("The person's WhatsApp number"),
        max_length=32,
        required=False,
        help_text=_("With country code. Used only to find the contact; not stored with the request."),
        widget=forms.TextInput(attrs=_PHONE_ATTRS),
    )
    contact = forms.ModelChoiceField(queryset=Contact.objects.all(), required=False, widget=forms.HiddenInput)
    received_on = forms.DateField(
        label=_("Received on"),
        help_text=_("The one-month deadline runs from the day the request arrived."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    new_phone = forms.CharField(
        label=_("New number (rectification only)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs=_PHONE_ATTRS),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"]
        return normalise_phone(value) if value.strip() else ""

    def clean_new_phone(self) -> str:
        value = self.cleaned_data["new_phone"]
        return normalise_phone(value) if value.strip() else ""

    def clean_received_on(self) -> Any:
        value = self.cleaned_data["received_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("A request cannot arrive in the future."), code="future")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("phone") and not data.get("contact") and "phone" not in self.errors:
            self.add_error("phone", forms.ValidationError(_("Enter the person's number."), code="required"))
        rectification = data.get("kind") == Kind.RECTIFICATION
        if rectification and not data.get("new_phone") and "new_phone" not in self.errors:
            message = _("A rectification needs the new number.")
            self.add_error("new_phone", forms.ValidationError(message, code="required"))
        return data

    def found_contact(self) -> Contact | None:
        """The contact named by the hidden field (from a timeline), else found by the number."""
        if self.cleaned_data.get("contact"):
            return self.cleaned_data["contact"]
        return find_contact(self.cleaned_data["phone"])

    def received_at(self) -> datetime:
        """Now for a request that arrived today; else the start of that day (the earlier clock)."""
        day = self.cleaned_data["received_on"]
        if day == timezone.localdate():
            return timezone.now()
        return timezone.make_aware(datetime.combine(day, time.min))


class _ActionForm(forms.Form):
    """The detail page shows several action forms: each gets its own field ids."""

    id_prefix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class CompleteForm(_ActionForm):
    """Erasure cannot be undone, so it needs the confirmation field; the other kinds do not."""

    id_prefix = "complete"

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RefuseForm(_ActionForm):
    id_prefix = "refuse"
    reason = forms.CharField(
        label=_("Reason for refusing"),
        help_text=_("Tell the person this reason and that they may complain to a supervisory authority."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ExtendForm(_ActionForm):
    id_prefix = "extend"
    months = forms.TypedChoiceField(
        label=_("Extend by"),
        coerce=int,
        choices=[(1, _("One month")), (2, _("Two months"))],
        initial=2,
    )
    reason = forms.CharField(
        label=_("Reason for the extension"),
        help_text=_("Art. 12(3): tell the person within the first month, with the reasons."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
