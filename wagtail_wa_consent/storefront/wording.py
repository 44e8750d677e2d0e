"""The default consent texts. Editors may replace them; every text shown is stored as a version."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from ..consent.enums import Category


def category_labels(categories: Iterable[str], site_settings=None) -> list[str]:
    """Each category's label: the site's own (WhatsApp settings) or the translated default."""
    labels = []
    for category in categories:
        custom = site_settings.category_label(category) if site_settings is not None else ""
        labels.append(custom or str(Category(category).label))
    return labels


def default_opt_in_text(business: str, privacy_url: str = "") -> str:
    """The block's consent text when the editor leaves it empty (Art. 7 GDPR: who, what channel,
    how to withdraw, where the policy is)."""
    text = _(
        "Yes, %(business)s may send me the messages I tick below on WhatsApp. I can withdraw at any "
        "time by replying STOP or in the preference centre."
    ) % {"business": business}
    if privacy_url:
        text += " " + _("Privacy policy: %(url)s") % {"url": privacy_url}
    return text


def bubble_consent_sentence(business: str, reference: str) -> str:
    """The first WhatsApp message the chat bubble prefills: the shopper sends it themselves, which
    proves the number and links the chat to the web evidence by ``reference``."""
    return _("Hello %(business)s, yes, please send me offers and news on WhatsApp. (Ref. %(reference)s)") % {
        "business": business,
        "reference": reference,
    }
