"""The double opt-in state machine, as pure functions (tested with hypothesis).

    not_subscribed | declined | expired | unsubscribed | suppressed --request--> pending
    pending --confirm--> subscribed        pending --decline--> declined
    pending --(expiry days pass)--> expired
    any state --withdraw--> unsubscribed
    any state but subscribed --single opt-in (checkout, import)--> subscribed (single / unknown)
    subscribed --reconfirm request (wording changed, dormant)--> pending
    (a single opt-in is a fresh, explicit act of the person, so it may follow a withdrawal)

A withdrawn, declined or expired consent is never revived by a confirmation: it needs a fresh request.
"""

from __future__ import annotations

from ..exceptions import ConsentTransitionError
from .enums import EventType, Status

_CAN_REQUEST = frozenset(
    {
        Status.NOT_SUBSCRIBED,
        Status.DECLINED,
        Status.EXPIRED,
        Status.UNSUBSCRIBED,
        Status.PENDING,
        Status.SUPPRESSED,
    }
)


def check_transition(status: str, event_type: str, *, overdue: bool = False) -> bool:
    """Return True if ``event_type`` should be written, False if it would change nothing.

    Raises:
        ConsentTransitionError: the event is not allowed from ``status``.
    """
    if event_type == EventType.REQUESTED:
        # Asking again while subscribed changes nothing; while pending it renews the request.
        return status in _CAN_REQUEST
    if event_type in (EventType.CONFIRMED, EventType.DECLINED):
        if status != Status.PENDING:
            raise ConsentTransitionError(
                f"Cannot record {event_type}: nothing is waiting for confirmation ({status}).",
                code="not_pending",
            )
        if overdue:
            raise ConsentTransitionError(
                "The confirmation request has expired; a fresh opt-in is needed.", code="expired"
            )
        return True
    if event_type == EventType.EXPIRED:
        return status == Status.PENDING and overdue
    if event_type == EventType.WITHDRAWN:
        return status != Status.UNSUBSCRIBED
    if event_type == EventType.SUPPRESSED:
        return status != Status.SUPPRESSED
    if event_type == EventType.RECONFIRM_REQUESTED:
        # Only a standing consent can be asked again; anything else needs a fresh opt-in.
        return status == Status.SUBSCRIBED
    raise ValueError(f"Unknown event type {event_type!r}")


def check_single_opt_in(status: str) -> bool:
    """A single opt-in (order updates ticked at checkout, an import) applies unless already subscribed."""
    return status != Status.SUBSCRIBED
