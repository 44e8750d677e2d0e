"""WCAG 2.x colour contrast, so an editor's bubble colour never makes white text unreadable.

Formulas from WCAG 2.2, "relative luminance" and "contrast ratio" (Understanding SC 1.4.3).
"""

from __future__ import annotations

import re

#: The bubble's white icon and the white text of its send button sit on the configured colour.
WHITE = "#FFFFFF"
#: Used instead of an editor's colour that fails against white (6.3:1 with white).
DARK_DEFAULT = "#0B6E4F"
#: WCAG AA for normal text (SC 1.4.3); also applied to the icon, which strictly needs only 3:1.
MIN_TEXT_CONTRAST = 4.5

_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.04045 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """Relative luminance (0 black .. 1 white) of a ``#RRGGBB`` colour.

    Raises:
        ValueError: ``colour`` is not ``#`` and six hexadecimal digits.
    """
    match = _HEX.match(colour or "")
    if match is None:
        raise ValueError(f"Not a #RRGGBB colour: {colour!r}")
    digits = match.group(1)
    red, green, blue = (_channel(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, from 1.0 (same) to 21.0 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on_white(
    colour: str, *, fallback: str = DARK_DEFAULT, minimum: float = MIN_TEXT_CONTRAST
) -> str:
    """``colour`` (upper-cased) if white text on it reaches ``minimum``, else ``fallback``.

    An invalid value also gives ``fallback``: the bubble must stay readable whatever is stored.
    """
    try:
        ok = contrast_ratio(colour, WHITE) >= minimum
    except ValueError:
        return fallback
    return colour.upper() if ok else fallback
