"""The site-wide WhatsApp chat bubble, in two tags for the site's base template::

    {% load wa_bubble %}
    <head> ... {% whatsapp_bubble_assets %} </head>
    <body> ... {% whatsapp_bubble %} </body>

Both need ``request`` in the context (``django.template.context_processors.request``) and render
nothing unless the bubble is switched on in Settings > WhatsApp for the current site. Together
they cost one database query per page (none if the settings were already read for the request).
"""

from __future__ import annotations

import logging

from django import template
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import NoReverseMatch
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..storefront.bubble_views import BUBBLE_TEMPLATE, bubble_settings, panel_context

logger = logging.getLogger("wagtail_wa_consent.storefront")
register = template.Library()

CSS = "wagtail_wa_consent/bubble/bubble.css"
JS = "wagtail_wa_consent/bubble/bubble.js"
_EMPTY = SafeString("")


@register.simple_tag(takes_context=True)
def whatsapp_bubble_assets(context: template.Context) -> SafeString:
    """``<link>`` and ``<script defer>`` of the bubble: static files only, no inline code (CSP)."""
    if bubble_settings(context.get("request")) is None:
        return _EMPTY
    return format_html(
        '<link rel="stylesheet" href="{}">\n<script src="{}" defer></script>', static(CSS), static(JS)
    )


@register.simple_tag(takes_context=True)
def whatsapp_bubble(context: template.Context) -> SafeString:
    """The bubble: a toggle button and its panel (unticked offers box, phone field, send)."""
    request = context.get("request")
    site_settings = bubble_settings(request)
    if site_settings is None:
        return _EMPTY
    try:
        values = panel_context(request, site_settings)
    except NoReverseMatch:
        # The app's URLs are not mounted: a broken bubble must not break every page.
        logger.warning("chat bubble hidden: include wagtail_wa_consent.urls (namespace wa_consent)")
        return _EMPTY
    # A plain dict, not the page's RequestContext: the site's context processors (basket,
    # notifications ...) would cost queries on every page and the bubble needs none of them.
    return get_template(BUBBLE_TEMPLATE).render(values)
