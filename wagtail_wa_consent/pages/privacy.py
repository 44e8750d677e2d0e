"""The WhatsApp section of a site's privacy policy: a page mixin and a block.

A site keeps its own privacy-policy page type and adds :class:`WhatsAppPrivacyPolicyMixin`; the
section is rendered from the settings and the data the plugin holds, so it never goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.models import Page, Site

from ..conf import get_setting
from ..consent.enums import Category
from ..webhooks.keywords import STOP_PROMOTIONS_WORDS, STOP_WORDS

if TYPE_CHECKING:
    from django.http import HttpRequest

#: Who processes the messages for the business (WhatsApp Business Platform, EU contracting party).
PROCESSOR = "Meta Platforms Ireland Limited"

#: What each category is used for, unless the site's editors describe it differently.
CATEGORY_PURPOSES = {
    Category.MARKETING: _("offers, news and promotions, only after you confirmed them in WhatsApp"),
    Category.TRANSACTIONAL: _(
        "updates about orders you place: confirmation, dispatch, delivery and problems with the order"
    ),
    Category.SUPPORT: _("answers to your questions and help with your orders"),
}


@dataclass(frozen=True)
class CategoryInfo:
    key: str
    label: str
    purpose: str


class WhatsAppPrivacyPolicyMixin:
    """Mix into the site's privacy-policy page class (before ``Page``).

    Its template includes ``page.whatsapp_privacy_section_template``; consent events record the
    page's live revision at the time of consent.
    """

    whatsapp_privacy_section_template = "wagtail_wa_consent/privacy/section.html"

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)  # type: ignore[misc]
        context["whatsapp_privacy"] = privacy_context(self.get_site(), request)  # type: ignore[attr-defined]
        return context

    @cached_property
    def whatsapp_privacy(self) -> dict[str, Any]:
        """The section's data without a request, for templates rendered outside ``serve()``."""
        return privacy_context(self.get_site())  # type: ignore[attr-defined]


class WhatsAppPrivacyBlock(blocks.StaticBlock):
    """The same section as a block, for privacy pages built from a StreamField."""

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        context = super().get_context(value, parent_context=parent_context)
        request = (parent_context or {}).get("request")
        site = Site.find_for_request(request) if request is not None else None
        if site is None:
            site = Site.objects.filter(is_default_site=True).first()
        context["whatsapp_privacy"] = privacy_context(site, request)
        return context

    class Meta:
        icon = "lock"
        label = _("WhatsApp privacy section")
        admin_text = _("Shows how the shop uses WhatsApp, built from the plugin's settings.")
        template = "wagtail_wa_consent/privacy/section_block.html"


def privacy_context(site: Site | None, request: HttpRequest | None = None) -> dict[str, Any]:
    """Everything the WhatsApp privacy section states, from settings and the site's pages.

    Args:
        site: the site whose WhatsApp settings apply (labels, business, preference centre).
        request: used for page URLs relative to the current site; optional.
    """
    from ..storefront.models import WhatsAppSettings

    wa = WhatsAppSettings.for_site(site) if site is not None else None
    enabled = list(get_setting("CATEGORIES"))
    categories = [
        CategoryInfo(
            key=c,
            label=wa.category_label(c) if wa else str(Category(c).label),
            purpose=str(CATEGORY_PURPOSES[Category(c)]),
        )
        for c in enabled
    ]
    return {
        "business": wa.display_business_name() if wa else get_setting("BUSINESS_NAME"),
        "channel": "WhatsApp",
        "processor": PROCESSOR,
        "categories": categories,
        "order_updates": Category.TRANSACTIONAL in enabled,
        "retention": {
            "pending_days": get_setting("DOUBLE_OPT_IN_EXPIRY_DAYS"),
            "message_days": get_setting("MESSAGE_RETENTION_DAYS"),
            "proof_days": get_setting("CONSENT_PROOF_RETENTION_DAYS"),
            "link_minutes": get_setting("PREFERENCE_LINK_MAX_AGE_MINUTES"),
        },
        "stop_words": stop_words(),
        "stop_promotions": gettext("Stop promotions"),
        "stop_promotions_word": STOP_PROMOTIONS_WORDS["en"][0].upper(),
        "preference_centre_url": preference_centre_url(site, request, wa),
    }


def stop_words() -> list[tuple[str, str]]:
    """``(language, word)``: STOP and one translation per language the keyword matcher knows."""
    seen: set[str] = set()
    words = []
    for language, options in STOP_WORDS.items():
        word = options[0].upper()
        if word not in seen:
            seen.add(word)
            words.append((language, word))
    return words


def preference_centre_url(site: Site | None, request: HttpRequest | None = None, wa: Any = None) -> str:
    """The preference centre chosen in the settings, else the site's first live one, else the
    ``PREFERENCE_CENTRE_URL`` setting."""
    from .models import PreferenceCentrePage

    page = wa.preference_centre_page if wa is not None else None
    if page is None or not page.live:
        page = None
        if site is not None:
            page = PreferenceCentrePage.objects.live().descendant_of(site.root_page, inclusive=True).first()
    if page is not None:
        return page.get_url(request=request) or ""
    return get_setting("PREFERENCE_CENTRE_URL") or ""


def privacy_page_for(site: Site | None) -> Page | None:
    """The site's privacy-policy page: the one chosen in the WhatsApp settings, else the first
    live page under the site's root whose class uses :class:`WhatsAppPrivacyPolicyMixin`."""
    if site is None:
        return None
    from ..storefront.models import WhatsAppSettings

    chosen = WhatsAppSettings.for_site(site).privacy_page
    if chosen is not None and chosen.live:
        return chosen.specific
    for page in Page.objects.live().descendant_of(site.root_page, inclusive=True).specific().iterator():
        if isinstance(page, WhatsAppPrivacyPolicyMixin):
            return page
    return None


def policy_revision(site: Site | None) -> str:
    """What consent evidence records as the policy shown: ``page:<id>/revision:<live revision id>``."""
    page = privacy_page_for(site)
    if page is None:
        return ""
    return f"page:{page.pk}/revision:{page.live_revision_id or 0}"
