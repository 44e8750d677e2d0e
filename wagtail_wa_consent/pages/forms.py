"""Forms of the preference centre. Every state-changing form is a POST behind the CSRF check."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..consent.service import enabled_categories
from ..phone import normalise_phone

TURN_ON, TURN_OFF = "on", "off"


def opt_in_wording(business: str, category_label: str) -> str:
    """The sentence shown beside a category's "Turn on" button; stored as the consent wording."""
    return gettext(
        "Yes, %(business)s may send me %(category)s on WhatsApp. I will confirm this in WhatsApp, and "
        "I can withdraw at any time here or by replying STOP."
    ) % {"business": business, "category": category_label}


class LinkRequestForm(forms.Form):
    """A number to send the preference-centre link to, plus a honeypot for bots."""

    phone = forms.CharField(
        label=_("Your WhatsApp number"),
        max_length=32,
        help_text=_("With your country code, for example +49 151 23456789."),
        widget=forms.TextInput(
            # Numbers read left to right also on right-to-left pages.
            attrs={"autocomplete": "tel", "inputmode": "tel", "dir": "ltr", "size": 20}
        ),
    )
    # Honeypot: hidden from people by CSS and from assistive technology by aria-hidden.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data["phone"])

    def is_bot(self) -> bool:
        return bool(str(self.data.get("website", "")).strip())


class ContactForm(forms.Form):
    """Names one of the contacts this browser may manage (anything else is invalid)."""

    contact = forms.TypedChoiceField(coerce=int, widget=forms.HiddenInput)

    def __init__(self, *args: Any, contact_ids: Iterable[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [(pk, str(pk)) for pk in sorted(contact_ids)]


class ToggleForm(ContactForm):
    """Turn one category on (a fresh double opt-in) or off (withdrawn at once)."""

    category = forms.ChoiceField(widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[(TURN_ON, _("Turn on")), (TURN_OFF, _("Turn off"))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(c, c) for c in enabled_categories()]


class EraseForm(ContactForm):
    """Deleting is the one action with a confirmation step: it cannot be undone."""

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class NumberChangeForm(ContactForm):
    """The "My number changed" form: the new number gets a link; opening it there confirms the change."""

    new_phone = forms.CharField(
        label=_("Your new WhatsApp number"),
        max_length=32,
        help_text=_("With your country code. We send a link to it on WhatsApp to confirm it is yours."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "dir": "ltr", "size": 20}),
    )

    def clean_new_phone(self) -> str:
        return normalise_phone(self.cleaned_data["new_phone"])
