"""The dispatcher: one outbox row -> gate -> window and template rules -> rate limits -> backend.

Every decision is taken when the message is sent, not when it was queued, so a STOP that arrives
in between wins. A message that may not go out records why; nothing is silently dropped.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from ..conf import get_setting
from ..consent import service as consent_service
from ..consent.evidence import Evidence
from ..consent.gate import can_send
from ..exceptions import WaConsentConfigurationError
from ..graph.errors import ErrorAction, WhatsAppAPIError
from . import ratelimit
from .backends import get_backend
from .models import (
    CONSENT_NOTICE,
    ChannelStatus,
    MessageKind,
    MessageTemplate,
    OutboundMessage,
    OutboundStatus,
)
from .payloads import build_payload
from .window import window_is_open

logger = logging.getLogger("wagtail_wa_consent.dispatcher")

#: How long a halted channel waits before it looks again.
HALT_RECHECK = timedelta(minutes=5)


def dispatch(message_id: int) -> OutboundMessage | None:
    """Send one queued message if it is due. Safe to call twice and from many workers at once."""
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(
        pk=message_id, status=OutboundStatus.QUEUED, next_attempt_at__lte=now
    ).update(status=OutboundStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None  # another worker has it, it is not due yet, or it is done
    message = OutboundMessage.objects.select_related("contact").get(pk=message_id)
    if _blocked(message):
        return message
    try:
        wamid = get_backend().send(build_payload(message, message.contact.phone_e164))
    except WhatsAppAPIError as error:
        if getattr(error, "ambiguous", False):
            # Meta may have the message. Stay "sending": its status webhook (carrying our key)
            # settles the row; only if none comes does the sweep re-queue it after the timeout.
            logger.warning(
                "message %s: no answer from Meta (%s); waiting for its status", message.pk, error.title
            )
            return message
        _record_error(message, error)
        return message
    except WaConsentConfigurationError as error:
        _halt(WhatsAppAPIError(code=None, title=str(error)[:200]))
        _finish(
            message,
            status=OutboundStatus.QUEUED,
            next_attempt_at=_in(HALT_RECHECK.total_seconds()),
            reason="configuration_error",
            attempts=F("attempts") - 1,
        )
        return message
    _record_sent(message, wamid)
    return message


def _record_sent(message: OutboundMessage, wamid: str) -> None:
    # A status webhook may already have moved the row on (it carries our key): never go back.
    now = timezone.now()
    OutboundMessage.objects.filter(pk=message.pk, status=OutboundStatus.SENDING).update(
        status=OutboundStatus.SENT, reason=""
    )
    OutboundMessage.objects.filter(pk=message.pk, wamid__isnull=True).update(wamid=wamid)
    OutboundMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(sent_at=now)
    message.refresh_from_db()


def _blocked(message: OutboundMessage) -> bool:
    """Apply every rule in order; deny or defer the message and return True if one says no."""
    if message.category == CONSENT_NOTICE:
        if not message.contact.phone_e164:
            return _deny(message, "erased")
    elif not (decision := can_send(message.contact, message.category)):
        return _deny(message, decision.reason)
    if message.kind == MessageKind.TEMPLATE:
        reason = _template_problem(message)
        if reason:
            return _deny(message, reason)
        if not window_is_open(message.contact):
            verdict = ratelimit.check_unique_recipient(message.contact_id)
            if not verdict.allowed:
                return _defer(message, verdict.reason, verdict.retry_after)
    elif not window_is_open(message.contact):
        return _deny(message, "outside_service_window")
    if ChannelStatus.load().halted:
        return _defer(message, "channel_halted", HALT_RECHECK.total_seconds())
    for verdict in (
        ratelimit.check_pair(message.contact_id),
        ratelimit.check_throughput(get_setting("PHONE_NUMBER_ID") or "default"),
    ):
        if not verdict.allowed:
            return _defer(message, verdict.reason, verdict.retry_after)
    return False


def _template_problem(message: OutboundMessage) -> str:
    template = MessageTemplate.objects.filter(
        name=message.template_name, language=message.template_language
    ).first()
    if template is None:
        return "template_unknown"
    if reason := template.unusable_reason(message.category):
        return reason
    if template.parameter_count != len(message.parameters):
        return "template_parameter_count"
    return ""


def _deny(message: OutboundMessage, reason: str) -> bool:
    logger.info("message %s denied: %s", message.pk, reason)
    _finish(message, status=OutboundStatus.DENIED, reason=reason, failed_at=timezone.now())
    return True


def _defer(message: OutboundMessage, reason: str, seconds: float) -> bool:
    from .outbox import schedule_dispatch

    seconds = max(seconds, 0.05)
    _finish(
        message,
        status=OutboundStatus.QUEUED,
        reason=reason,
        next_attempt_at=timezone.now() + timedelta(seconds=seconds),
        attempts=F("attempts") - 1,  # waiting for a limit is not a failed attempt
    )
    if not _eager():
        schedule_dispatch(message.pk, countdown=seconds)
    return True


def _record_error(message: OutboundMessage, error: WhatsAppAPIError) -> None:
    logger.warning("message %s: WhatsApp error %s (%s)", message.pk, error.code, error.action)
    fields = {"error_code": error.code, "error_title": (error.title or "")[:255], "reason": str(error.action)}
    action = error.action
    if action == ErrorAction.RETRY_LATER and message.attempts < get_setting("MAX_ATTEMPTS"):
        delay = min(5 * 2**message.attempts, 3600) * random.uniform(0.5, 1.0)
        _finish(message, status=OutboundStatus.QUEUED, next_attempt_at=_in(delay), **fields)
        if not _eager():
            from .outbox import schedule_dispatch

            schedule_dispatch(message.pk, countdown=delay)
        return
    if action == ErrorAction.WAIT_24H:
        _finish(message, status=OutboundStatus.QUEUED, next_attempt_at=_in(24 * 3600), **fields)
        return
    if action == ErrorAction.HALT:
        _halt(error)
        _finish(
            message, status=OutboundStatus.QUEUED, next_attempt_at=_in(HALT_RECHECK.total_seconds()), **fields
        )
        return
    if action == ErrorAction.WITHDRAW_MARKETING:
        consent_service.withdraw(
            message.contact,
            Evidence(
                source="system", actor="meta", user_action="stopped marketing in WhatsApp (error 131050)"
            ),
            ["marketing"],
        )
    if action == ErrorAction.TEMPLATE_UNUSABLE:
        MessageTemplate.objects.filter(name=message.template_name, language=message.template_language).update(
            status="UNUSABLE", status_reason=fields["error_title"]
        )
    if action == ErrorAction.RETRY_LATER:
        fields["reason"] = "retries_exhausted"
    _finish(message, status=OutboundStatus.FAILED, failed_at=timezone.now(), **fields)


def _halt(error: WhatsAppAPIError) -> None:
    from ..signals import channel_halted

    status = ChannelStatus.load()
    if not status.halted:
        status.halted, status.halted_at = True, timezone.now()
        status.halt_reason = f"{error.code}: {error.title or ''}"[:255]
        status.save()
        logger.error(
            "WhatsApp sending halted after error %s; fix the account, then run wa_resume_sending", error.code
        )
        channel_halted.send(sender=ChannelStatus, status=status, error=error)


def _finish(message: OutboundMessage, **fields: object) -> None:
    OutboundMessage.objects.filter(pk=message.pk).update(**fields)
    message.refresh_from_db()


def _in(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def _eager() -> bool:
    from celery import current_app

    return bool(current_app.conf.task_always_eager)
