"""Everything the plugin holds about one contact, as JSON (GDPR Art. 15 access, Art. 20 portability)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from ..consent.models import ConsentEvent, ConsentEvidence, Contact
from ..messaging.models import InboundMessage, OutboundMessage
from ..rights.models import DataSubjectRequest, NumberChange

#: Bumped when the export's shape changes, so readers can tell versions apart.
EXPORT_FORMAT = "wagtail-wa-consent/export/v1"


def export_contact(contact: Contact) -> dict[str, Any]:
    """The contact, every consent event with its evidence and wording, every message, the
    number changes (digests only) and the person's data-subject requests."""
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _time(timezone.now()),
        "contact": _contact(contact),
        "consent_states": [
            {
                "category": state.category,
                "status": state.status,
                "opt_in_level": state.opt_in_level,
                "confirmation_due_by": _time(state.pending_expires_at),
                "updated_at": _time(state.updated_at),
            }
            for state in contact.consent_states.order_by("category")
        ],
        "consent_events": [_event(event) for event in _events(contact)],
        "outbound_messages": [_outbound(m) for m in _outbound_messages(contact)],
        "inbound_messages": [_inbound(m) for m in _inbound_messages(contact)],
        "number_changes": [_number_change(change) for change in _number_changes(contact)],
        "data_requests": [_data_request(request) for request in _data_requests(contact)],
    }


def _contact(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "phone_number": contact.phone_e164,
        "whatsapp_id": contact.wa_id,
        "business_scoped_user_id": contact.bsuid,
        "language": contact.language,
        "account": contact.user.get_username() if contact.user_id else None,
        "created_at": _time(contact.created_at),
        "updated_at": _time(contact.updated_at),
        "last_message_received_at": _time(contact.last_inbound_at),
        "erased_at": _time(contact.erased_at),
    }


def _events(contact: Contact):
    return (
        ConsentEvent.objects.filter(contact=contact)
        .select_related("wording", "personal_evidence")
        .order_by("sequence")
    )


def _event(event: ConsentEvent) -> dict[str, Any]:
    try:
        evidence = event.personal_evidence
    except ConsentEvidence.DoesNotExist:
        evidence = None
    return {
        "sequence": event.sequence,
        "occurred_at": _time(event.occurred_at),
        "category": event.category,
        "event": event.event_type,
        "source": event.source,
        "opt_in_level": event.opt_in_level,
        "wording": (
            {"text": event.wording.text, "language": event.wording.language, "sha256": event.wording.digest}
            if event.wording_id
            else None
        ),
        "language_shown": event.language,
        "privacy_policy_revision": event.policy_revision,
        "page_url": event.page_url,
        "reference": event.reference,
        "user_action": event.user_action,
        "recorded_by": event.actor,
        "whatsapp_message_id": event.confirming_message_id,
        # The keyed digest of the number at the time: number_changes links it to today's number.
        "number_digest": event.phone_digest,
        "ip_address_truncated": evidence.ip_address if evidence else None,
        "user_agent": evidence.user_agent if evidence else None,
        "hash": event.hash,
        "previous_hash": event.prev_hash,
    }


def _outbound_messages(contact: Contact):
    return OutboundMessage.objects.filter(contact=contact).order_by("created_at", "pk")


def _outbound(message: OutboundMessage) -> dict[str, Any]:
    return {
        "created_at": _time(message.created_at),
        "category": message.category,
        "kind": message.kind,
        "template": message.template_name,
        "template_language": message.template_language,
        "template_parameters": message.parameters,
        "content": message.content,
        "status": message.status,
        "reason": message.reason,
        "error_code": message.error_code,
        "error": message.error_title,
        "whatsapp_message_id": message.wamid,
        "sent_at": _time(message.sent_at),
        "delivered_at": _time(message.delivered_at),
        "read_at": _time(message.read_at),
        "failed_at": _time(message.failed_at),
    }


def _inbound_messages(contact: Contact):
    return InboundMessage.objects.filter(contact=contact).order_by("received_at", "pk")


def _inbound(message: InboundMessage) -> dict[str, Any]:
    return {
        "received_at": _time(message.received_at),
        "type": message.type,
        "text": message.text,
        "button_payload": message.payload,
        "keyword": message.keyword,
        "in_reply_to": message.context_message_id,
        "whatsapp_message_id": message.wamid,
    }


def _number_changes(contact: Contact):
    return NumberChange.objects.filter(contact=contact).order_by("changed_at", "pk")


def _number_change(change: NumberChange) -> dict[str, Any]:
    # Keyed digests only: each ledger event's "phone" digest names the number of its time.
    return {
        "changed_at": _time(change.changed_at),
        "source": change.source,
        "old_number_digest": change.old_digest,
        "new_number_digest": change.new_digest,
        "request": change.request_id,
    }


def _data_requests(contact: Contact):
    return DataSubjectRequest.objects.filter(contact=contact).order_by("received_at", "pk")


def _data_request(request: DataSubjectRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "kind": request.kind,
        "state": request.state,
        "received_through": request.channel,
        "received_at": _time(request.received_at),
        "due_at": _time(request.due_at),
        "deadline_extended": request.extended,
        "completed_at": _time(request.completed_at),
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
