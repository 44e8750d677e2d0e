"""Consent-management replies sent inside the service window the person just opened.

Neutral wording, no advertising (OLG München 29 U 1682/12): they only confirm what happened.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..conf import get_setting
from ..consent.enums import Category


def business() -> str:
    """The business name the default site's editors set (WhatsApp settings), else BUSINESS_NAME,
    so a WhatsApp message names the same business as the form the person filled in."""
    from wagtail.models import Site

    from ..storefront.models import WhatsAppSettings

    site = Site.objects.filter(is_default_site=True).first()
    if site is not None:
        row = WhatsAppSettings.objects.filter(site=site).values_list("business_name", flat=True).first()
        if row:
            return row
    return get_setting("BUSINESS_NAME")


def categories_text(categories: list[str]) -> str:
    labels = {c.value: str(c.label) for c in Category}
    return ", ".join(labels.get(c, c) for c in categories)


def stop_confirmation() -> str:
    return _(
        "You will no longer receive WhatsApp messages from %(business)s. To start again, send START."
    ) % {"business": business()}


def stop_promotions_confirmation() -> str:
    return _(
        "You will no longer receive offers from %(business)s on WhatsApp. "
        "Order updates you asked for still arrive. Send STOP to end all messages."
    ) % {"business": business()}


def help_text() -> str:
    text = _(
        "%(business)s sends WhatsApp messages only with your consent. "
        "Send STOP to end all messages, or STOP PROMOTIONS to end offers only."
    ) % {"business": business()}
    if url := get_setting("PREFERENCE_CENTRE_URL"):
        text += " " + _("Manage your preferences: %(url)s") % {"url": url}
    return text


def confirmation_request(categories: list[str]) -> str:
    return _(
        "%(business)s: you asked to receive %(categories)s on WhatsApp. "
        "Is that right? You can withdraw at any time by sending STOP."
    ) % {"business": business(), "categories": categories_text(categories)}


def confirmed() -> str:
    return _("Thank you, confirmed. Send STOP at any time to end the messages.")


def declined() -> str:
    return _("Understood. You will not receive these messages.")


def opt_out_footer() -> str:
    """Appended to every free-form marketing message."""
    return _("Reply STOP PROMOTIONS to stop offers.")


def yes_label() -> str:
    return _("Yes")


def no_label() -> str:
    return _("No")
