"""Phone numbers in E.164, validated with ``phonenumbers``.

WhatsApp accounts sit on mobile numbers, so fixed-line-only numbers are refused with a clear error.
"""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext as _

from .conf import get_setting
from .exceptions import InvalidPhoneNumber

#: Number types that can hold a WhatsApp account. US/CA numbers never tell mobile from fixed.
WHATSAPP_CAPABLE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)


def normalise_phone(raw: str, region: str | None = None, *, mobile_only: bool = True) -> str:
    """Return ``raw`` as an E.164 string such as ``+4915123456789``.

    Args:
        raw: what the person typed: spaces, dashes, brackets and a leading ``00`` are fine.
        region: ISO country code for numbers typed without ``+``; defaults to
            ``WAGTAIL_WA_CONSENT["DEFAULT_REGION"]``.
        mobile_only: refuse fixed-line numbers (people); False for a business's own number,
            which WhatsApp Business also allows on a landline.

    Raises:
        InvalidPhoneNumber: with code ``required``, ``unparseable``, ``missing_country``,
            ``invalid`` or ``not_mobile``.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber(_("Enter your mobile number."), code="required")
    if text.startswith("00"):
        text = "+" + text[2:]
    region = region or get_setting("DEFAULT_REGION")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidPhoneNumber(
                _("Start the number with + and your country code, for example +49 151 23456789."),
                code="missing_country",
            ) from exc
        raise InvalidPhoneNumber(_("This is not a phone number."), code="unparseable") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(
            _("This phone number is not valid. Check the country code and the digits."),
            code="invalid",
        )
    if mobile_only and phonenumbers.number_type(number) not in WHATSAPP_CAPABLE_TYPES:
        raise InvalidPhoneNumber(
            _("This looks like a landline. Enter a mobile number that uses WhatsApp."),
            code="not_mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """ISO region of an E.164 number (used for time zones and audience filters)."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
