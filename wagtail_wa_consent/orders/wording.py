"""The checkout boxes' wording: shown on the page and stored, word for word, as consent evidence."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..messaging import replies


def order_updates_label(business: str | None = None) -> str:
    return _("Send me updates about this order on WhatsApp from %(business)s.") % {
        "business": business or replies.business()
    }


def offers_label(business: str | None = None) -> str:
    return _("Yes, %(business)s may send me offers and news on WhatsApp (I will confirm in WhatsApp).") % {
        "business": business or replies.business()
    }


def withdrawal_note() -> str:
    return _("You can withdraw at any time by replying STOP.")


def full_wording(label: str, privacy_url: str = "") -> str:
    parts = [label, withdrawal_note()]
    if privacy_url:
        parts.append(_("Privacy policy: %(url)s") % {"url": privacy_url})
    return " ".join(parts)
