"""The opt-in block's form: a country-aware phone field and one unticked box per category.

The form holds only what the shopper types or ticks. Which categories are offered, the wording and
the page come from the live page on the server (see :mod:`.blocks`), never from the POST.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import phonenumbers
from django import forms
from django.core import signing
from django.forms.utils import ErrorDict
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..conf import get_setting
from ..exceptions import InvalidPhoneNumber
from ..phone import normalise_phone

#: Salt of the signed token that names the page, the block, the language and the wording shown.
TOKEN_SALT = "wagtail_wa_consent.opt_in"  # noqa: S105 - a namespace, not a secret
#: The honeypot's field name: a plausible name, so form-filling bots fill it in.
HONEYPOT_FIELD = "website"


class OptInForm(forms.Form):
    """Phone number (with the country it is typed in) and the categories ticked.

    Args:
        offered: ``(category, label)`` pairs of the boxes shown, read from the live block.
        default_region: the country preselected when the form is first shown.
    """

    country = forms.ChoiceField(label=_("Country"), required=False)
    phone = forms.CharField(
        label=_("Mobile number on WhatsApp"),
        max_length=32,
        # Errors from normalise_phone are clearer than a generic "required".
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    # Not required: "Tick at least one box" (in clean) is clearer than Django's message.
    categories = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(
        self,
        data: Any = None,
        *,
        offered: Sequence[tuple[str, str]],
        default_region: str = "",
        auto_id: str = "id_%s",
    ) -> None:
        # Never an initial value for the boxes: an opt-in is never pre-ticked (DESIGN invariant 5).
        super().__init__(data, initial={"country": default_region}, auto_id=auto_id)
        language = get_language()
        # A callable is only expanded when a posted value is validated: the page render uses the
        # pre-rendered options (country_options_html) and skips normalising ~245 choices.
        self.fields["country"].choices = lambda: [("", _("Choose your country")), *country_choices(language)]
        self.fields["categories"].choices = list(offered)
        self.fields["categories"].error_messages["invalid_choice"] = _(
            "This choice is not offered here. Tick one of the boxes shown."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "categories" in data and not data["categories"]:
            self.add_error("categories", _("Tick at least one box."))
        try:
            data["e164"] = normalise_phone(data.get("phone", ""), data.get("country") or None)
        except InvalidPhoneNumber as error:
            self.add_error("phone", error)
        return data

    def restore_errors(self, errors: dict[str, list[str]]) -> None:
        """Show errors found when the form was posted (the block re-renders after a redirect)."""
        self.cleaned_data = {}
        self._errors = ErrorDict(
            {field: self.error_class(messages, renderer=self.renderer) for field, messages in errors.items()}
        )

    def ticked(self) -> list[str]:
        """The offered categories the shopper ticked (for re-showing after an error)."""
        offered = {value for value, _label in self.fields["categories"].choices}
        return [value for value in self.data.getlist("categories") if value in offered]


@lru_cache(maxsize=32)
def country_choices(language: str | None) -> list[tuple[str, str]]:
    """Every region phonenumbers knows, as ``("DE", "Germany (+49)")`` in ``language``, sorted by name."""
    names = _territory_names(language or "en")
    choices = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        name = names.get(region) or region
        choices.append((region, f"{name} (+{phonenumbers.country_code_for_region(region)})"))
    return sorted(choices, key=lambda choice: choice[1].casefold())


@lru_cache(maxsize=256)
def country_options_html(language: str | None, selected: str) -> SafeString:
    """The ``<option>`` list of the country select, rendered once per language and selection:
    as template loops, its ~245 options were most of the block's render time."""
    prompt = str(_("Choose your country"))
    options = [("", prompt), *country_choices(language)]
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((code, mark_safe(" selected") if code == selected else "", name) for code, name in options),
    )


def _territory_names(language: str) -> dict[str, str]:
    # Babel comes with django-oscar; its CLDR names cover Arabic, Russian and Uzbek too.
    from babel import Locale, UnknownLocaleError

    try:
        return dict(Locale.parse(language.replace("-", "_")).territories)
    except (UnknownLocaleError, ValueError):
        return dict(Locale.parse("en").territories)


def default_region(language: str | None = None) -> str:
    """The country preselected: the DEFAULT_REGION setting, else the active language's country
    (``de-at`` -> AT, ``de`` -> DE, ``ar`` -> EG: CLDR's likely subtags), else none."""
    configured = get_setting("DEFAULT_REGION")
    if configured:
        return str(configured).upper()
    return _likely_region(language or get_language() or "")


@lru_cache(maxsize=64)
def _likely_region(language: str) -> str:
    from babel.core import get_global, parse_locale

    code = language.replace("-", "_")
    try:
        parts = parse_locale(code)
        region = parts[1] or parse_locale(get_global("likely_subtags").get(parts[0], ""))[1]
    except ValueError:
        return ""
    region = (region or "").upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else ""


# --- The signed token: which page, block, language and wording the shopper was shown ---------


def sign_token(*, page_id: int, block_id: str, language: str, wording_digest: str) -> str:
    # No timestamp: the same block renders the same token, so pages stay identical and cacheable;
    # a stale text is caught by the wording digest instead.
    return signing.Signer(salt=TOKEN_SALT).sign_object(
        {"p": page_id, "b": block_id, "l": language, "w": wording_digest}, compress=True
    )


def read_token(token: str) -> dict[str, Any] | None:
    """The token's fields, or None when it was tampered with or is malformed."""
    try:
        value = signing.Signer(salt=TOKEN_SALT).unsign_object(token or "")
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or not {"p", "b", "l", "w"} <= value.keys():
        return None
    return value
