"""The opt-in block's POST: validate, throttle, record with evidence, ask for confirmation in WhatsApp.

Post/Redirect/Get: every outcome redirects (303) back to the page the block is on with
``?wa_opt_in=<block id>`` and a fragment for focus, and leaves a one-time state for the block in
the session (errors and the shopper's own input, or "sent"). It works without JavaScript, a reload
never posts twice, and the page's own view never sees a POST.

Whether or not the number was known, or is already subscribed, the answer is the same: the same
redirect, the same "check WhatsApp" state, and at least the same time
(``OPT_IN_MIN_RESPONSE_SECONDS``).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail.models import Page, Site

from ..conf import get_setting
from ..consent import service
from ..consent.enums import Source
from ..consent.evidence import Evidence
from ..messaging.double_opt_in import request_double_opt_in
from ..pages.privacy import policy_revision
from . import throttle
from .blocks import (
    QUERY_PARAM,
    SESSION_KEY,
    OptInWording,
    anchor_for,
    build_wording,
    find_opt_in_block,
    first_error_id,
)
from .forms import HONEYPOT_FIELD, OptInForm, read_token
from .wording_changes import block_reference

logger = logging.getLogger("wagtail_wa_consent.storefront")

UNAVAILABLE_TEMPLATE = "wagtail_wa_consent/opt_in/unavailable.html"

#: Blocks whose one-time state a session holds at most (oldest dropped first).
MAX_SESSION_STATES = 8


@dataclass(frozen=True)
class Target:
    """The live page and block a post belongs to, and what its signed token says was shown."""

    page: Page
    block_id: str
    value: Any
    language: str
    wording_digest: str

    @property
    def anchor(self) -> str:
        return anchor_for(self.block_id)


@require_POST
@transaction.non_atomic_requests  # commit before the timing pad; never hold a write lock while waiting
def submit(request: HttpRequest) -> HttpResponse:
    """Handle the block's form (CSRF is checked by the middleware before this runs)."""
    started = time.monotonic()
    target = resolve_target(request.POST.get("token", ""))
    if target is None:
        return _unavailable(request)
    # The block was shown in the language in its token; errors and the wording follow it.
    with translation.override(target.language):
        return _handle(request, target, started=started)


def resolve_target(token: str) -> Target | None:
    """The page and block named by a valid token, read from the live page (not from the client)."""
    fields = read_token(token)
    if fields is None:
        return None
    page = Page.objects.live().specific().filter(pk=fields["p"]).first()
    value = find_opt_in_block(page, str(fields["b"])) if page is not None else None
    if value is None:
        return None
    return Target(page, str(fields["b"]), value, str(fields["l"]), str(fields["w"]))


def _handle(request: HttpRequest, target: Target, *, started: float) -> HttpResponse:
    wording = build_wording(target.value, request)
    form = OptInForm(request.POST, offered=wording.choices, auto_id=f"{target.anchor}-%s")
    if not throttle.allow(
        "opt_in:ip",
        _ip_identity(request),
        limit=get_setting("OPT_IN_IP_LIMIT"),
        window=get_setting("OPT_IN_IP_WINDOW_SECONDS"),
    ):
        return _too_many(request, target, form)
    if request.POST.get(HONEYPOT_FIELD):
        # A bot-trap must not teach the bot: it gets the ordinary answer, and nothing is recorded.
        logger.info("opt-in block: honeypot filled on page %s, nothing recorded", target.page.pk)
        return _sent(request, target, started)
    if wording.digest != target.wording_digest:
        # The editor changed the text since the page was shown: the ticks were given to another
        # text, so the shopper reads the new one and ticks again.
        message = _(
            "The text of this form has changed since you opened the page. Please read it and tick again."
        )
        return _back_with_errors(request, target, form, {"__all__": [message]}, keep_ticks=False)
    if not form.is_valid():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        return _back_with_errors(request, target, form, errors)
    e164 = form.cleaned_data["e164"]
    if not throttle.allow(
        "opt_in:phone",
        e164,
        limit=get_setting("OPT_IN_PHONE_LIMIT"),
        window=get_setting("OPT_IN_PHONE_WINDOW_SECONDS"),
    ):
        return _too_many(request, target, form)
    record(request, target, wording, e164, form.cleaned_data["categories"])
    return _sent(request, target, started)


def record(
    request: HttpRequest, target: Target, wording: OptInWording, e164: str, categories: list[str]
) -> None:
    """Record the web opt-in with its evidence and queue the WhatsApp confirmation, atomically.

    A category already subscribed is left alone by the consent service (no event, no message);
    the caller answers the same way regardless.
    """
    evidence = Evidence.from_request(
        request,
        source=Source.WEB_BLOCK,
        user_action=user_action(categories, wording),
        wording=wording.text,
        language=wording.language,
        policy_revision=policy_revision(Site.find_for_request(request)),
        page_url=target.page.get_full_url(request) or "",
        # Names the block, so a later substantial change of its wording finds these consents.
        reference=block_reference(target.page.pk, target.block_id),
    )
    with transaction.atomic():
        # No user= here: linking a logged-in account to a number it has not yet proven to own
        # would show that number's consent to the wrong person.
        contact = service.get_or_create_contact(e164)
        events, _message = request_double_opt_in(contact, categories, evidence)
    logger.info(
        "opt-in block: page %s, contact %s, %d event(s) recorded", target.page.pk, contact.pk, len(events)
    )


def user_action(categories: list[str], wording: OptInWording) -> str:
    """What the shopper did, for the ledger (not translated: it is a record, not a message)."""
    return (
        f"ticked {', '.join(categories)} ({len(categories)} of {len(wording.choices)} boxes, "
        "all shown unticked), entered the number and submitted the form"
    )


# --- Answers -----------------------------------------------------------------------------------


def _sent(request: HttpRequest, target: Target, started: float) -> HttpResponse:
    _leave_state(request, target.block_id, {"sent": True})
    # The same floor for every "sent" answer hides how much work the number's state caused.
    remaining = get_setting("OPT_IN_MIN_RESPONSE_SECONDS") - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    return _redirect(request, target, f"{target.anchor}-status")


def _too_many(request: HttpRequest, target: Target, form: OptInForm) -> HttpResponse:
    message = _("Too many attempts. Please wait a few minutes and try again.")
    return _back_with_errors(request, target, form, {"__all__": [message]})


def _back_with_errors(
    request: HttpRequest,
    target: Target,
    form: OptInForm,
    errors: dict[str, list[str]],
    *,
    keep_ticks: bool = True,
) -> HttpResponse:
    data = {
        "country": request.POST.get("country", "")[:8],
        "phone": request.POST.get("phone", "")[:64],
        # Only offered categories the shopper ticked come back ticked; nothing is ever pre-ticked.
        "categories": form.ticked() if keep_ticks else [],
    }
    _leave_state(request, target.block_id, {"data": data, "errors": errors})
    return _redirect(request, target, first_error_id(target.anchor, errors))


def _redirect(request: HttpRequest, target: Target, fragment: str) -> HttpResponse:
    url = target.page.get_url(request) or "/"
    response = HttpResponseRedirect(f"{url}?{QUERY_PARAM}={target.block_id}#{fragment}")
    response.status_code = 303  # See Other: the browser GETs the page; a reload never re-posts
    return response


def _leave_state(request: HttpRequest, block_id: str, state: dict[str, Any]) -> None:
    states = dict(request.session.get(SESSION_KEY) or {})
    states.pop(block_id, None)
    states[block_id] = state
    request.session[SESSION_KEY] = dict(list(states.items())[-MAX_SESSION_STATES:])


def _unavailable(request: HttpRequest) -> HttpResponse:
    referer = request.META.get("HTTP_REFERER", "")
    back = (
        referer
        if url_has_allowed_host_and_scheme(referer, {request.get_host()}, require_https=request.is_secure())
        else "/"
    )
    return render(request, UNAVAILABLE_TEMPLATE, {"back_url": back}, status=400)


# --- Helpers -----------------------------------------------------------------------------------


def _ip_identity(request: HttpRequest) -> str:
    """The client address for throttling; IPv6 by its /64, which one subscriber gets whole."""
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)
