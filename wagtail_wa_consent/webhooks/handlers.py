"""What each normalised webhook event does. Every handler is idempotent: Meta re-delivers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db.models import Q
from django.utils import timezone

from .. import signals
from ..consent import service
from ..consent.evidence import Evidence
from ..consent.models import Contact
from ..exceptions import ConsentTransitionError, InvalidPhoneNumber
from ..messaging import replies
from ..messaging.double_opt_in import send_confirmation_request
from ..messaging.models import (
    CONSENT_NOTICE,
    ChannelStatus,
    InboundMessage,
    MessageTemplate,
    OutboundMessage,
    OutboundStatus,
)
from ..messaging.outbox import enqueue_text
from ..messaging.window import record_inbound
from ..storefront.bubble_confirm import confirm_from_inbound  # chat bubble hook
from . import events as ev
from .keywords import KeywordIntent

logger = logging.getLogger("wagtail_wa_consent.webhooks")

#: Status order: a late "delivered" never overwrites "read".
_STATUS_RANK = {OutboundStatus.SENT: 1, OutboundStatus.DELIVERED: 2, OutboundStatus.READ: 3}


def handle(event: object) -> None:
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(event)


def send_signals(events: list[object]) -> None:
    for event in events:
        signal = _SIGNALS.get(type(event), signals.unknown_update_received)
        signal.send(sender=type(event), event=event)


# --- inbound messages ------------------------------------------------------------------------


def _contact_for(phone: str | None, user_id: str | None) -> Contact | None:
    contact = None
    if phone:
        try:
            contact = service.get_or_create_contact("+" + phone.lstrip("+"))
        except InvalidPhoneNumber:
            contact = None
    if contact is None and user_id:
        contact = Contact.objects.filter(bsuid=user_id).first()
    if contact is not None and user_id and contact.bsuid != user_id:
        Contact.objects.filter(pk=contact.pk).update(bsuid=user_id)
    return contact


def on_inbound(event: ev.InboundMessage) -> None:
    if InboundMessage.objects.filter(wamid=event.message_id).exists():
        return  # a re-delivery
    contact = _contact_for(event.from_phone, event.from_user_id)
    keyword = event.keyword.value if event.keyword else ""
    InboundMessage.objects.create(
        contact=contact,
        wamid=event.message_id,
        type=event.type,
        text=(event.text or "")[:4096],
        payload=(event.payload or "")[:256],
        keyword=keyword,
        context_message_id=event.context_message_id or "",
        received_at=event.timestamp or timezone.now(),
    )
    if contact is None:
        return
    record_inbound(contact, event.timestamp or timezone.now())
    # A click-to-WhatsApp ad referral never creates consent (DESIGN invariant 5): no branch for it.
    action = _KEYWORD_ACTIONS.get(event.keyword) if event.keyword else None
    if action is not None:
        action(contact, event)
    # --- chat bubble hook: only a message that is no keyword (STOP and its kin always win) can
    # confirm the sender's own pending chat-bubble opt-in by its reference (storefront/bubble_confirm).
    elif event.text:
        confirm_from_inbound(contact, event)


def _evidence(event: ev.InboundMessage, action: str) -> Evidence:
    return Evidence(source="whatsapp", user_action=action, message_id=event.message_id, actor="subject")


def _stop(contact: Contact, event: ev.InboundMessage) -> None:
    service.withdraw(contact, _evidence(event, f"sent {event.text or event.payload!s}"[:200]))
    enqueue_text(contact, CONSENT_NOTICE, replies.stop_confirmation(), key=f"reply:stop:{event.message_id}")


def _stop_promotions(contact: Contact, event: ev.InboundMessage) -> None:
    service.withdraw(contact, _evidence(event, "tapped or sent Stop promotions"), ["marketing"])
    enqueue_text(
        contact,
        CONSENT_NOTICE,
        replies.stop_promotions_confirmation(),
        key=f"reply:stoppromo:{event.message_id}",
    )


def _start(contact: Contact, event: ev.InboundMessage) -> None:
    """START re-opens a fresh opt-in request, confirmed by Yes: never a silent re-grant."""
    withdrawn = [
        s.category for s in contact.consent_states.filter(status__in=["unsubscribed", "expired", "declined"])
    ]
    categories = withdrawn or service.enabled_categories()
    wording = replies.confirmation_request(categories)
    evidence = _evidence(event, "sent START").with_changes(wording=wording, language=contact.language or "en")
    events = service.request_opt_in(contact, categories, evidence)
    if events:
        send_confirmation_request(contact, events)


def _help(contact: Contact, event: ev.InboundMessage) -> None:
    enqueue_text(contact, CONSENT_NOTICE, replies.help_text(), key=f"reply:help:{event.message_id}")


def _answer(confirm: bool) -> Callable[[Contact, ev.InboundMessage], None]:
    def answer(contact: Contact, event: ev.InboundMessage) -> None:
        evidence = _evidence(event, "tapped Yes" if confirm else "tapped No")
        try:
            (service.confirm if confirm else service.decline)(contact, evidence)
        except ConsentTransitionError as error:
            logger.info("a %s reply had nothing to answer (%s)", "yes" if confirm else "no", error.code)
            return
        text = replies.confirmed() if confirm else replies.declined()
        enqueue_text(contact, CONSENT_NOTICE, text, key=f"reply:answer:{event.message_id}")

    return answer


_KEYWORD_ACTIONS: dict[KeywordIntent, Callable[[Contact, ev.InboundMessage], None]] = {
    KeywordIntent.STOP: _stop,
    KeywordIntent.STOP_PROMOTIONS: _stop_promotions,
    KeywordIntent.START: _start,
    KeywordIntent.HELP: _help,
    KeywordIntent.YES: _answer(True),
    KeywordIntent.NO: _answer(False),
}


# --- statuses ----------------------------------------------------------------------------------


def on_status(event: ev.StatusUpdate) -> None:
    match = Q(wamid=event.message_id)
    if event.biz_opaque_callback_data:
        match |= Q(idempotency_key=event.biz_opaque_callback_data)
    message = OutboundMessage.objects.filter(match).first()
    if message is None:
        return
    status = str(event.status)
    at = event.timestamp or timezone.now()
    fields: dict[str, object] = {}
    if not message.wamid and event.message_id:
        fields["wamid"] = event.message_id  # a send whose worker died before recording it
    if status == "failed":
        error = (event.errors or [{}])[0]
        fields.update(
            status=OutboundStatus.FAILED,
            failed_at=at,
            error_code=_int(error.get("code")),
            error_title=str(error.get("title", ""))[:255],
            reason="failed_after_send",
        )
        if fields["error_code"] == 131050:
            service.withdraw(
                message.contact,
                Evidence(source="system", actor="meta", user_action="stopped marketing in WhatsApp (131050)"),
                ["marketing"],
            )
    elif status in _STATUS_RANK:
        if (
            _STATUS_RANK.get(message.status, 0) < _STATUS_RANK[status]
            and message.status != OutboundStatus.FAILED
        ):
            fields["status"] = status
        fields[f"{status}_at"] = at
    if fields:
        OutboundMessage.objects.filter(pk=message.pk).update(**fields)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


# --- account, templates, numbers -------------------------------------------------------------


def _template_filter(template_id: str | None, name: str | None, language: str | None) -> Q:
    query = Q(meta_id=template_id) if template_id else Q(pk__in=[])
    if name:
        query |= Q(name=name, language=language) if language else Q(name=name)
    return query


def on_template_status(event: ev.TemplateStatusUpdate) -> None:
    MessageTemplate.objects.filter(
        _template_filter(event.template_id, event.template_name, event.language)
    ).update(status=str(event.event).upper()[:32], status_reason=(event.reason or "")[:255])


def on_template_category(event: ev.TemplateCategoryUpdate) -> None:
    MessageTemplate.objects.filter(
        _template_filter(event.template_id, event.template_name, event.language)
    ).update(category=str(event.new_category).upper()[:20])  # the column's width: Meta's are shorter


def on_template_quality(event: ev.TemplateQualityUpdate) -> None:
    MessageTemplate.objects.filter(
        _template_filter(event.template_id, event.template_name, event.language)
    ).update(quality_score=str(event.new_quality_score or "")[:32])


def on_phone_quality(event: ev.PhoneNumberQualityUpdate) -> None:
    status = ChannelStatus.load()
    status.quality_rating = str(event.event or "")[:32]
    if getattr(event, "messaging_limit_tier", None):
        status.messaging_limit_tier = str(event.messaging_limit_tier)[:32]
    status.save()


def on_marketing_preference(event: ev.MarketingPreferenceUpdate) -> None:
    contact = _contact_for(event.phone, event.user_id)
    if contact is None:
        return
    if str(event.value).lower() == "stop":
        service.withdraw(
            contact,
            Evidence(source="whatsapp", user_action="stopped offers in WhatsApp's settings", actor="subject"),
            ["marketing"],
        )
    # "resume" is information only: consent must come from the person's own opt-in (GDPR Art. 7).


def on_number_change(event: ev.NumberChange) -> None:
    """The person moved WhatsApp to a new number: the same contact, and its history, moves too."""
    from ..rights.models import NumberChange
    from ..rights.numbers import NumberChangeRefused, change_number

    if not event.old_phone or not event.new_phone:
        return
    try:
        contact = service.find_contact("+" + event.old_phone.lstrip("+"))
        if contact is None or contact.erased_at is not None:
            return  # unknown or erased: nothing to move (a re-delivery finds the old number gone)
        change_number(
            contact, "+" + event.new_phone.lstrip("+"), source=NumberChange.Source.WHATSAPP, actor="meta"
        )
    except InvalidPhoneNumber:
        logger.info("number change with an invalid number ignored")
    except NumberChangeRefused as error:
        # The contact keeps its old number until staff record a rectification request.
        logger.warning("number change of contact %s not applied (%s)", contact.pk, error.code)


def on_user_id_update(event: ev.UserIdUpdate) -> None:
    if event.old_user_id and event.new_user_id:
        Contact.objects.filter(bsuid=event.old_user_id).update(bsuid=event.new_user_id)


_HANDLERS: dict[type, Callable] = {
    ev.InboundMessage: on_inbound,
    ev.StatusUpdate: on_status,
    ev.TemplateStatusUpdate: on_template_status,
    ev.TemplateCategoryUpdate: on_template_category,
    ev.TemplateQualityUpdate: on_template_quality,
    ev.PhoneNumberQualityUpdate: on_phone_quality,
    ev.MarketingPreferenceUpdate: on_marketing_preference,
    ev.NumberChange: on_number_change,
    ev.UserIdUpdate: on_user_id_update,
}

_SIGNALS = {
    ev.InboundMessage: signals.inbound_message_received,
    ev.StatusUpdate: signals.message_status_received,
    ev.TemplateStatusUpdate: signals.template_status_changed,
    ev.TemplateCategoryUpdate: signals.template_category_changed,
    ev.TemplateQualityUpdate: signals.template_quality_changed,
    ev.PhoneNumberQualityUpdate: signals.phone_number_quality_changed,
    ev.MarketingPreferenceUpdate: signals.marketing_preference_changed,
    ev.NumberChange: signals.phone_number_changed,
    ev.UserIdUpdate: signals.user_id_changed,
    ev.AccountUpdate: signals.account_update_received,
}
