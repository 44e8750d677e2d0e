"""Double opt-in: after a web opt-in, ask for confirmation in WhatsApp with Yes / No buttons."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import translation

from ..conf import get_setting
from ..consent import service
from ..consent.evidence import Evidence
from ..consent.models import ConsentEvent, Contact
from ..webhooks.keywords import PAYLOAD_NO, PAYLOAD_YES
from . import replies
from .models import CONSENT_NOTICE, OutboundMessage
from .outbox import enqueue_interactive, enqueue_template
from .window import window_is_open


def request_double_opt_in(
    contact: Contact, categories: Iterable[str], evidence: Evidence
) -> tuple[list[ConsentEvent], OutboundMessage | None]:
    """Record the web opt-in and queue its WhatsApp confirmation in one transaction."""
    with transaction.atomic():
        events = service.request_opt_in(contact, categories, evidence)
        message = send_confirmation_request(contact, events, language=evidence.language) if events else None
    return events, message


def send_confirmation_request(
    contact: Contact, events: list[ConsentEvent], *, language: str = ""
) -> OutboundMessage:
    """Interactive buttons while the service window is open, else the approved template."""
    categories = [event.category for event in events]
    key = f"doi:{contact.pk}:{events[-1].pk}"
    with translation.override(language or contact.language or None):
        if window_is_open(contact):
            return enqueue_interactive(contact, CONSENT_NOTICE, _buttons(categories), key=key)
        return enqueue_template(
            contact,
            CONSENT_NOTICE,
            key=key,
            template_name=get_setting("DOUBLE_OPT_IN_TEMPLATE"),
            language=get_setting("DOUBLE_OPT_IN_TEMPLATE_LANGUAGE"),
            parameters=[replies.business(), replies.categories_text(categories)],
            quick_replies=[PAYLOAD_YES, PAYLOAD_NO],
        )


def _buttons(categories: list[str]) -> dict:
    return {
        "type": "button",
        "body": {"text": replies.confirmation_request(categories)},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": PAYLOAD_YES, "title": replies.yes_label()[:20]}},
                {"type": "reply", "reply": {"id": PAYLOAD_NO, "title": replies.no_label()[:20]}},
            ]
        },
    }


def request_reconfirmation(
    contact: Contact, categories: Iterable[str] | None, evidence: Evidence
) -> tuple[list[ConsentEvent], OutboundMessage | None]:
    """Ask a subscribed person to confirm again, with the same Yes / No question."""
    with transaction.atomic():
        events = service.request_reconfirmation(contact, categories, evidence)
        message = send_confirmation_request(contact, events, language=evidence.language) if events else None
    return events, message
