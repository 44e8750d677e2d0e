"""Template tags of the order notifications: the checkout boxes and the dashboard's list."""

from __future__ import annotations

from typing import Any

from django import template

from ...messaging.models import OutboundMessage
from ..checkout import box_context
from ..notify import key_prefix

register = template.Library()


@register.inclusion_tag("wa_orders/checkout_opt_in.html", takes_context=True)
def wa_checkout_opt_in(context: template.Context, form_id: str = "place_order_form") -> dict[str, Any]:
    """The two unticked WhatsApp boxes and the number, posted with the form ``form_id``."""
    return {**box_context(context.get("request"), context.get("shipping_address")), "form_id": form_id}


@register.simple_tag
def wa_order_notifications(order: Any) -> list[OutboundMessage]:
    """The WhatsApp notifications of ``order``, oldest first."""
    return list(
        OutboundMessage.objects.filter(idempotency_key__startswith=key_prefix(order.number)).order_by(
            "created_at", "pk"
        )
    )
