"""Is an order of a contact still open? The default ``RETENTION_OPEN_ORDER_CHECK``.

A withdrawn contact's number is kept while an order of theirs still needs it (delivery, returns:
GDPR Art. 6(1)(b)). Oscar is optional: without its order app nothing is open. Nothing from
Oscar is imported at module level, so the setting's default works in shops without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.db.models import Q

from ..conf import get_setting

if TYPE_CHECKING:
    from ..consent.models import Contact


def order_model() -> Any:
    """Oscar's Order (also a forked order app, label ``order``), or None."""
    try:
        return apps.get_model("order", "Order")
    except LookupError:
        return None


def final_order_statuses() -> frozenset[str]:
    """``RETENTION_FINAL_ORDER_STATUSES``, else the states of ``OSCAR_ORDER_STATUS_PIPELINE``
    with no transition onwards (``Complete``, ``Cancelled`` in the sandbox)."""
    configured = get_setting("RETENTION_FINAL_ORDER_STATUSES")
    if configured is not None:
        return frozenset(configured)
    pipeline: dict[str, Any] = getattr(settings, "OSCAR_ORDER_STATUS_PIPELINE", {}) or {}
    targets = {target for onwards in pipeline.values() for target in onwards}
    return frozenset(status for status in pipeline.keys() | targets if not pipeline.get(status))


def has_open_order(contact: Contact) -> bool:
    """True if an order of ``contact`` (its user's, one shipped to its number, or one it gets
    WhatsApp updates for) has a status outside :func:`final_order_statuses`.

    With no final status known (an empty pipeline and no setting) every order counts as open:
    the number is kept rather than removed while an order might still need it.
    """
    Order = order_model()
    if Order is None:
        return False
    match = Q()
    if contact.user_id:
        match |= Q(user_id=contact.user_id)
    if contact.phone_e164:
        match |= Q(shipping_address__phone_number=contact.phone_e164)
    if apps.is_installed("wagtail_wa_consent.orders"):
        from .models import OrderSubscription

        match |= Q(pk__in=OrderSubscription.objects.filter(contact=contact).values("order_id"))
    if not match:
        return False
    return Order.objects.filter(match).exclude(status__in=final_order_statuses()).exists()
