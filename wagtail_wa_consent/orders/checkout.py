"""The checkout opt-in: the choice posted with "Place order", recorded when the order exists.

1. ``store_choice`` (from Oscar's ``pre_payment`` signal, or a forked checkout's view) keeps what
   the shopper ticked against the basket, with the evidence of the request.
2. ``apply_choice`` (from ``order_placed``, which fires on every checkout path, redirect payment
   flows included) writes the ledger events in the order's transaction and deletes the choice.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ..consent import service
from ..consent.enums import Category, Source
from ..consent.evidence import Evidence
from ..exceptions import InvalidPhoneNumber
from ..messaging.double_opt_in import request_double_opt_in
from ..phone import normalise_phone
from .models import CheckoutChoice, OrderSubscription
from .wording import full_wording, offers_label, order_updates_label

logger = logging.getLogger("wagtail_wa_consent.orders")

#: The POST fields of the checkout boxes (templates and forked checkouts use the same names).
FIELD_ORDER_UPDATES = "wa_order_updates"
FIELD_OFFERS = "wa_offers"
FIELD_PHONE = "wa_phone"

#: How long an unused choice (payment abandoned) is kept.
CHOICE_RETENTION = timedelta(days=7)

ACTION_ORDER_UPDATES = "ticked the unticked 'order updates on WhatsApp' box at checkout and placed the order"
ACTION_OFFERS = "ticked the unticked 'offers on WhatsApp' box at checkout and placed the order"


def privacy_url(request: HttpRequest | None) -> str:
    from wagtail.models import Site

    from ..pages.privacy import privacy_page_for

    page = privacy_page_for(Site.find_for_request(request) if request is not None else None)
    return (page.get_url(request) or "") if page is not None and page.live else ""


def policy_revision(request: HttpRequest) -> str:
    from wagtail.models import Site

    from ..pages.privacy import policy_revision as revision

    return revision(Site.find_for_request(request))


def box_context(request: HttpRequest | None, shipping_address: Any = None) -> dict[str, Any]:
    """What the checkout template shows: both labels, the note and the prefilled number."""
    phone = getattr(shipping_address, "phone_number", None)
    return {
        "field_order_updates": FIELD_ORDER_UPDATES,
        "field_offers": FIELD_OFFERS,
        "field_phone": FIELD_PHONE,
        "order_updates_label": order_updates_label(),
        "offers_label": offers_label(),
        "privacy_url": privacy_url(request),
        "phone": phone.as_e164 if phone else "",
    }


def store_choice(
    request: HttpRequest, basket_id: int, *, region: str | None = None, fallback_phone: str = ""
) -> CheckoutChoice | None:
    """Keep the ticked boxes of ``request.POST`` for ``basket_id``; nothing ticked keeps nothing."""
    order_updates = request.POST.get(FIELD_ORDER_UPDATES) == "1"
    offers = request.POST.get(FIELD_OFFERS) == "1"
    # Choices of baskets that never became orders hold a phone number: keep them only briefly.
    stale = timezone.now() - CHOICE_RETENTION
    CheckoutChoice.objects.filter(Q(basket_id=basket_id) | Q(created_at__lt=stale)).delete()
    if not (order_updates or offers):
        return None
    raw = (request.POST.get(FIELD_PHONE) or "").strip() or fallback_phone
    try:
        phone = normalise_phone(raw, region)
    except InvalidPhoneNumber:
        logger.info("checkout WhatsApp choice of basket %s ignored: no valid mobile number", basket_id)
        if hasattr(request, "_messages"):
            messages.warning(
                request,
                _("We could not use that WhatsApp number, so no WhatsApp messages will be sent."),
            )
        return None
    privacy = privacy_url(request)
    evidence = Evidence.from_request(
        request, source=Source.CHECKOUT, policy_revision=policy_revision(request)
    )
    wordings = {
        "order_updates": full_wording(order_updates_label(), privacy),
        "offers": full_wording(offers_label(), privacy),
    }
    return CheckoutChoice.objects.create(
        basket_id=basket_id,
        order_updates=order_updates,
        offers=offers,
        phone_e164=phone,
        evidence={**dataclasses.asdict(evidence), "wordings": wordings},
    )


def apply_choice(order: Any, user: Any = None) -> CheckoutChoice | None:
    """Record the stored choice for ``order`` (single opt-in for its updates, double opt-in
    request for offers) and link the order to the contact. Returns the consumed choice."""
    if not order.basket_id:
        return None
    choice = CheckoutChoice.objects.filter(basket_id=order.basket_id).first()
    if choice is None:
        return None
    stored = dict(choice.evidence)
    wordings = stored.pop("wordings", {})
    base = Evidence(**{**stored, "source": Source.CHECKOUT, "reference": str(order.number)})
    owner = user if getattr(user, "is_authenticated", False) else None
    contact = service.get_or_create_contact(choice.phone_e164, user=owner)
    if base.language and not contact.language:
        contact.language = base.language
        contact.save(update_fields=["language", "updated_at"])
    if choice.order_updates:
        service.grant_single_opt_in(
            contact,
            [Category.TRANSACTIONAL],
            base.with_changes(user_action=ACTION_ORDER_UPDATES, wording=wordings.get("order_updates", "")),
        )
        OrderSubscription.objects.get_or_create(
            order=order, defaults={"contact": contact, "language": base.language}
        )
    if choice.offers:
        request_double_opt_in(
            contact,
            [Category.MARKETING],
            base.with_changes(user_action=ACTION_OFFERS, wording=wordings.get("offers", "")),
        )
    choice.delete()
    return choice
