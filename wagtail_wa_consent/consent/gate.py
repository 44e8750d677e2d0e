"""The dispatch-time gate: may a message of this category go to this contact now?"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..conf import get_setting
from .enums import Category, OptInLevel, Status
from .models import ConsentState, Contact

#: Denial reasons for each state that is not "subscribed".
_DENIED_BY_STATUS = {
    Status.NOT_SUBSCRIBED: "no_consent",
    Status.PENDING: "pending_confirmation",
    Status.DECLINED: "declined",
    Status.EXPIRED: "expired",
    Status.UNSUBSCRIBED: "withdrawn",
    Status.SUPPRESSED: "suppressed",
}


@dataclass(frozen=True)
class Decision:
    """``allowed`` plus a machine-readable ``reason`` that is recorded when a message is denied."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True, "allowed")


def can_send(contact: Contact | None, category: str) -> Decision:
    """Read the contact's consent for ``category`` fresh from the database and decide.

    Call this when a message is dispatched, not only when it is queued, so that a STOP that
    arrives in between wins (DESIGN invariant 1).
    """
    if contact is None or contact.pk is None:
        return Decision(False, "no_contact")
    return can_send_many([(contact.pk, category)])[(contact.pk, category)]


def can_send_many(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Decision]:
    """:func:`can_send` for many ``(contact id, category)`` pairs with one query (batch dispatch)."""
    pairs = set(pairs)
    decisions = {pair: _precheck(pair[1]) for pair in pairs}
    wanted = [pair for pair, decision in decisions.items() if decision is None]
    rows: dict[tuple[int, str], dict] = {}
    if wanted:
        query = ConsentState.objects.filter(
            contact_id__in={c for c, _ in wanted}, category__in={k for _, k in wanted}
        ).values("contact_id", "category", "status", "opt_in_level", "contact__phone_e164")
        rows = {(row["contact_id"], row["category"]): row for row in query}
    for pair in wanted:
        decisions[pair] = _decide(rows.get(pair), pair[1])
    return decisions  # type: ignore[return-value]


def _precheck(category: str) -> Decision | None:
    """A denial that needs no database read, or None."""
    if category not in Category.values:
        return Decision(False, "unknown_category")
    if category not in get_setting("CATEGORIES"):
        return Decision(False, "category_disabled")
    return None


def _decide(state: dict | None, category: str) -> Decision:
    if state is None:
        return Decision(False, "no_consent")
    if not state["contact__phone_e164"]:
        return Decision(False, "erased")
    if state["status"] != Status.SUBSCRIBED:
        return Decision(False, _DENIED_BY_STATUS[state["status"]])
    if (
        category == Category.MARKETING
        and get_setting("MARKETING_REQUIRES_CONFIRMED_OPT_IN")
        and state["opt_in_level"] != OptInLevel.CONFIRMED
    ):
        return Decision(False, "double_opt_in_required")
    return ALLOWED
