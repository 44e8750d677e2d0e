"""Phone numbers as the admin shows them: in full only to users allowed to see them."""

from __future__ import annotations

import phonenumbers

#: A fixed-width mask, so the mask does not reveal how long the number is.
MASK = "•••••"


def mask_phone(e164: str | None) -> str:
    """``+4915123456789`` -> ``+49 151 ••••• 89``: enough to tell numbers apart on a call, no more.

    Returns "" for an erased number (None or empty).
    """
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return MASK
    national = phonenumbers.national_significant_number(number)
    prefix = f"+{number.country_code}"
    if len(national) < 7:
        # Too short to show both ends without giving most of it away.
        return f"{prefix} {MASK}"
    return f"{prefix} {national[:3]} {MASK} {national[-2:]}"


def phone_for_display(e164: str | None, *, reveal: bool) -> str:
    """The number in E.164 when ``reveal`` (the user has the permission), else masked."""
    if not e164:
        return ""
    return e164 if reveal else mask_phone(e164)
