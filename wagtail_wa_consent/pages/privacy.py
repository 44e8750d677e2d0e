"""The WhatsApp section of a site's privacy policy: a page mixin and a block.

A site keeps its own privacy-policy page type and adds :class:`WhatsAppPrivacyPolicyMixin`; the
section is rendered from the settings and the data the plugin holds, so it never goes stale.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.models import Page, Site


class WhatsAppPrivacyPolicyMixin:
    """Mix into the site's privacy-policy page class (before ``Page``).

    Its template includes ``wagtail_wa_consent/privacy/section.html``; consent events record the
    page's live revision at the time of consent.
    """

    whatsapp_privacy_section_template = "wagtail_wa_consent/privacy/section.html"


class WhatsAppPrivacyBlock(blocks.StaticBlock):
    """The same section as a block, for privacy pages built from a StreamField."""

    class Meta:
        icon = "lock"
        label = _("WhatsApp privacy section")
        admin_text = _("Shows how the shop uses WhatsApp, built from the plugin's settings.")
        template = "wagtail_wa_consent/privacy/section_block.html"


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
