"""The chat bubble: what its panel shows (shared with ``{% whatsapp_bubble %}``) and its POST.

Ticking the unticked box and sending records a pending marketing opt-in with the web evidence
and a short random reference, then opens ``wa.me`` with a prefilled sentence carrying that
reference. The shopper's own first message proves the number and confirms the opt-in
(:mod:`.bubble_confirm`). Without the box it is only a chat link: no contact, no consent.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail.models import Site

from ..conf import get_setting
from ..consent import service
from ..consent.enums import Category, Source
from ..consent.evidence import Evidence
from ..exceptions import InvalidPhoneNumber
from ..pages.privacy import policy_revision
from ..phone import normalise_phone
from . import throttle
from .contrast import readable_on_white
from .models import BubblePosition, WhatsAppSettings
from .wording import bubble_consent_sentence

logger = logging.getLogger("wagtail_wa_consent.storefront")

BUBBLE_TEMPLATE = "wagtail_wa_consent/bubble/bubble.html"
PAGE_TEMPLATE = "wagtail_wa_consent/bubble/page.html"
#: A field people never see; bots that fill every input give themselves away.
HONEYPOT_FIELD = "website"
#: Posts per IP address, and opt-ins per phone number, per window (attempts, seconds).
#: Short enough to read in the prefilled message; no 0/O or 1/I to confuse.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6
MARKETING = Category.MARKETING.value


# --- what the bubble shows ---------------------------------------------------------------------


def bubble_settings(request: HttpRequest | None) -> WhatsAppSettings | None:
    """The site's WhatsApp settings when its bubble is on, else None.

    One query at most: the row comes with its privacy page and is cached on the request where
    ``WhatsAppSettings.for_request`` looks, so ``{% whatsapp_bubble_assets %}``, the bubble and
    the site's own ``settings`` lookups share it. A site that never saved the settings gets
    None without a row being created on a page view.
    """
    if request is None:
        return None
    site_settings = WhatsAppSettings.for_request_if_saved(request)
    if site_settings is None:
        return None
    if not (site_settings.bubble_enabled and site_settings.business_number):
        return None
    return site_settings


def consent_label(business: str) -> str:
    return _("Yes, %(business)s may send me offers and news on WhatsApp.") % {"business": business}


def consent_note() -> str:
    return _(
        "To confirm, send the prefilled message in WhatsApp. You can withdraw at any time by replying STOP."
    )


def consent_wording(business: str, privacy: str) -> str:
    """The exact text the panel shows around the box, as stored with the consent."""
    parts = [consent_label(business), consent_note()]
    if privacy:
        parts.append(_("Privacy policy: %(url)s") % {"url": privacy})
    return " ".join(parts)


def default_greeting(business: str) -> str:
    return _("Questions? Chat with %(business)s on WhatsApp.") % {"business": business}


def chat_greeting(business: str) -> str:
    """The prefilled first message of a plain chat (no consent asked for)."""
    return _("Hello %(business)s!") % {"business": business}


def wa_me_link(business_number: str, text: str) -> str:
    digits = re.sub(r"\D", "", business_number)
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def panel_context(
    request: HttpRequest,
    site_settings: WhatsAppSettings,
    *,
    next_path: str | None = None,
    phone: str = "",
    ticked: bool = False,
    error: str = "",
) -> dict[str, Any]:
    """Template context of the bubble and of its fallback page."""
    business = site_settings.display_business_name()
    return {
        "business": business,
        "greeting": site_settings.bubble_greeting or default_greeting(business),
        "position": "start" if site_settings.bubble_position == BubblePosition.START else "end",
        "colour": readable_on_white(site_settings.bubble_colour),
        "action": reverse("wa_consent:bubble"),
        "csrf_token": get_token(request),
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "direction": "rtl" if translation.get_language_bidi() else "ltr",
        # Path only: a query string may carry tokens and is not needed to come back.
        "next": request.path if next_path is None else next_path,
        "privacy_url": site_settings.privacy_url(request),
        "offers": MARKETING in service.enabled_categories(),
        "consent_label": consent_label(business),
        "consent_note": consent_note(),
        "honeypot": HONEYPOT_FIELD,
        "phone": phone,
        "ticked": ticked,
        "error": error,
    }


# --- the POST ----------------------------------------------------------------------------------


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """The panel's form. Answers the same way whether or not the number was known."""
    site_settings = bubble_settings(request)
    if site_settings is None:
        raise Http404
    # The panel was rendered in the page's language; the wording is recorded in that language.
    with translation.override(_posted_language(request)):
        return _handle(request, site_settings)


def _handle(request: HttpRequest, site_settings: WhatsAppSettings) -> HttpResponse:
    business = site_settings.display_business_name()
    chat = wa_me_link(site_settings.business_number, chat_greeting(business))
    if request.POST.get(HONEYPOT_FIELD):
        logger.info("chat bubble: honeypot field filled, answered with the plain chat link")
        return HttpResponseRedirect(chat)
    if not throttle.allow(
        "bubble:ip",
        request.META.get("REMOTE_ADDR", ""),
        limit=get_setting("OPT_IN_IP_LIMIT"),
        window=get_setting("OPT_IN_IP_WINDOW_SECONDS"),
    ):
        return _too_many(request, site_settings)
    if request.POST.get("marketing") != "yes" or MARKETING not in service.enabled_categories():
        return HttpResponseRedirect(chat)  # just a chat: no contact, no consent
    raw_phone = request.POST.get("phone", "")[:64]
    try:
        e164 = normalise_phone(raw_phone)
    except InvalidPhoneNumber as error:
        return _form_page(request, site_settings, phone=raw_phone, error=error.messages[0])
    if not throttle.allow(
        "bubble:phone",
        e164,
        limit=get_setting("OPT_IN_PHONE_LIMIT"),
        window=get_setting("OPT_IN_PHONE_WINDOW_SECONDS"),
    ):
        return _too_many(request, site_settings)
    reference = new_reference()
    contact = service.get_or_create_contact(e164)
    events = service.request_opt_in(contact, [MARKETING], _evidence(request, site_settings, reference))
    logger.info("chat bubble: opt-in requested for contact %s (%d events)", contact.pk, len(events))
    return HttpResponseRedirect(
        wa_me_link(site_settings.business_number, bubble_consent_sentence(business, reference))
    )


def _evidence(request: HttpRequest, site_settings: WhatsAppSettings, reference: str) -> Evidence:
    business = site_settings.display_business_name()
    return Evidence.from_request(
        request,
        source=Source.CHAT_BUBBLE,
        user_action="ticked the unticked offers box in the chat bubble and sent the form",
        wording=consent_wording(business, site_settings.privacy_url(request)),
        policy_revision=policy_revision(Site.find_for_request(request)),
        page_url=_page_url(request),
        reference=reference,
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed and target.startswith("/") else ""


def _page_url(request: HttpRequest) -> str:
    target = _safe_next(request)
    if target:
        return request.build_absolute_uri(target)
    return request.META.get("HTTP_REFERER", "")


def _posted_language(request: HttpRequest) -> str:
    try:
        return translation.get_supported_language_variant(request.POST.get("language", ""))
    except LookupError:
        return translation.get_language() or settings.LANGUAGE_CODE


def _form_page(
    request: HttpRequest, site_settings: WhatsAppSettings, *, phone: str, error: str
) -> HttpResponse:
    """The panel as a page with the error next to the field: works without JavaScript."""
    context = panel_context(
        request, site_settings, next_path=_safe_next(request) or "/", phone=phone, ticked=True, error=error
    )
    return render(request, PAGE_TEMPLATE, context, status=400)


def _too_many(request: HttpRequest, site_settings: WhatsAppSettings) -> HttpResponse:
    context = panel_context(request, site_settings, next_path=_safe_next(request) or "/")
    context["blocked"] = _("Too many attempts. Please wait a few minutes and try again.")
    return render(request, PAGE_TEMPLATE, context, status=429)
