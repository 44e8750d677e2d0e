"""The default text a dormant consent is asked to be confirmed with."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from ..messaging import replies


def reconfirmation_wording(categories: list[str], language: str) -> str:
    """What the person agrees to by answering Yes, in ``language``; stored in the ledger as the
    wording of the re-confirmation request.

    The business name is the one the WhatsApp message itself names (the site's WhatsApp settings,
    else ``BUSINESS_NAME``), so the stored wording and the message agree.
    """
    with translation.override(language):
        return _(
            "Yes, %(business)s may keep sending me %(categories)s on WhatsApp. "
            "I can withdraw at any time by sending STOP."
        ) % {"business": replies.business(), "categories": replies.categories_text(categories)}
