"""The dispatcher: one outbox row -> gate -> window and template rules -> rate limits -> backend.

Every decision is taken when the message is sent, not when it was queued, so a STOP that arrives
in between wins. A message that may not go out records why; nothing is silently dropped.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..conf import get_setting
from ..consent import service as consent_service
from ..consent.evidence import Evidence
from ..consent.gate import can_send_many
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
    done = dispatch_batch([message_id])
    return done[0] if done else None


def dispatch_due(limit: int | None = None) -> int:
    """Send every due row, oldest first, a batch at a time; return how many rows were handled."""
    size = int(get_setting("DISPATCH_BATCH_SIZE"))
    handled = 0
    while limit is None or handled < limit:
        batch = dispatch_batch(limit=size if limit is None else min(size, limit - handled))
        if not batch:
            break
        handled += len(batch)
    return handled


def dispatch_batch(message_ids: Sequence[int] | None = None, *, limit: int = 100) -> list[OutboundMessage]:
    """Claim due rows (``message_ids``, or the ``limit`` oldest due), apply every rule, send the
    allowed ones (concurrently when the backend allows it) and record each outcome.

    One query each for the claim, the rows, their consent and their templates, and one update for
    all the sends, so the per-message cost is the HTTP call. Returns the claimed rows, refreshed.
    """
    pks = _claim(message_ids, limit)
    if not pks:
        return []
    messages = list(OutboundMessage.objects.select_related("contact").filter(pk__in=pks).order_by("pk"))
    backend = get_backend()
    outcomes = _send_all(backend, _allowed(messages))
    sent = [(message, outcome) for message, outcome in outcomes if isinstance(outcome, str)]
    _record_sent(sent)
    unexpected = None
    for message, outcome in outcomes:
        if isinstance(outcome, BaseException):
            unexpected = _record_failure(message, outcome) or unexpected
    if unexpected is not None:
        raise unexpected  # a bug, not an API answer: surface it after every send is recorded
    order = {pk: i for i, pk in enumerate(pks)}
    return sorted(
        OutboundMessage.objects.select_related("contact").filter(pk__in=pks), key=lambda m: order[m.pk]
    )


def _claim(message_ids: Sequence[int] | None, limit: int) -> list[int]:
    """Move due rows from queued to sending; rows another worker holds are skipped, not waited for."""
    now = timezone.now()
    due = OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, next_attempt_at__lte=now)
    due = due.filter(pk__in=message_ids) if message_ids is not None else due.order_by("next_attempt_at", "pk")
    with transaction.atomic():
        pks = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if pks:
            # The status condition repeats the claim for databases without row locks (SQLite
            # serialises writers instead): a row is only ever claimed once.
            OutboundMessage.objects.filter(pk__in=pks, status=OutboundStatus.QUEUED).update(
                status=OutboundStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
    return pks


def _send_all(backend, messages: list[OutboundMessage]) -> list[tuple[OutboundMessage, object]]:
    """Send each message; the outcome is its wamid or the exception the backend raised."""

    def send(message: OutboundMessage) -> tuple[OutboundMessage, object]:
        try:
            return message, backend.send(build_payload(message, message.contact.phone_e164))
        except Exception as error:  # recorded per message by the caller
            return message, error

    # One recipient's messages go one after the other, in queue order (an order confirmation
    # before its shipping notice); different recipients' messages go in parallel.
    per_recipient: dict[int, list[OutboundMessage]] = {}
    for message in messages:
        per_recipient.setdefault(message.contact_id, []).append(message)
    workers = min(len(per_recipient), int(get_setting("DISPATCH_CONCURRENCY")))
    if workers <= 1 or not getattr(backend, "concurrent_sends", False):
        return [send(message) for message in messages]
    with ThreadPoolExecutor(workers, thread_name_prefix="wa-send") as pool:
        groups = pool.map(lambda group: [send(message) for message in group], per_recipient.values())
        return [outcome for group in groups for outcome in group]


def _record_sent(sent: list[tuple[OutboundMessage, str]]) -> None:
    """One update for every accepted send. A status webhook may already have moved a row on (it
    carries our key): status, wamid and sent time only ever move forward."""
    if not sent:
        return
    now = timezone.now()
    sending = Q(status=OutboundStatus.SENDING)
    OutboundMessage.objects.filter(pk__in=[m.pk for m, _ in sent]).update(
        status=Case(When(sending, then=Value(OutboundStatus.SENT)), default=F("status")),
        reason=Case(When(sending, then=Value("")), default=F("reason")),
        wamid=Coalesce(F("wamid"), Case(*(When(pk=m.pk, then=Value(wamid)) for m, wamid in sent))),
        sent_at=Coalesce(F("sent_at"), Value(now)),
    )


def _record_failure(message: OutboundMessage, error: BaseException) -> BaseException | None:
    """Record an API refusal or a transport failure; return ``error`` if it is neither."""
    if isinstance(error, WhatsAppAPIError):
        if getattr(error, "ambiguous", False):
            # Meta may have the message. Stay "sending": its status webhook (carrying our key)
            # settles the row; only if none comes does the sweep re-queue it after the timeout.
            logger.warning(
                "message %s: no answer from Meta (%s); waiting for its status", message.pk, error.title
            )
        else:
            _record_error(message, error)
        return None
    if isinstance(error, WaConsentConfigurationError):
        _halt(WhatsAppAPIError(code=None, title=str(error)[:200]))
        _finish(
            message,
            status=OutboundStatus.QUEUED,
            next_attempt_at=_in(HALT_RECHECK.total_seconds()),
            reason="configuration_error",
            attempts=F("attempts") - 1,
        )
        return None
    # Unknown failure: the row stays "sending" and the sweep re-queues it after the timeout.
    logger.error("message %s: backend failed with %s", message.pk, type(error).__name__)
    return error


def _allowed(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """Apply every rule in order; deny or defer the messages one says no to, return the rest."""
    decisions = can_send_many((m.contact_id, m.category) for m in messages if m.category != CONSENT_NOTICE)
    templates = _templates(messages)
    passing = []
    for message in messages:
        if reason := _denial(message, decisions, templates):
            _deny(message, reason)
        else:
            passing.append(message)
    if passing and ChannelStatus.load().halted:
        _defer_all(passing, "channel_halted", HALT_RECHECK.total_seconds())
        return []
    # Business-initiated messages (templates outside the window) count towards the 24 h reach.
    initiated = [m for m in passing if m.kind == MessageKind.TEMPLATE and not window_is_open(m.contact)]
    reach = ratelimit.check_unique_recipients([m.contact_id for m in initiated]) if initiated else {}
    passing = _keep(passing, lambda m: reach.get(m.contact_id, ratelimit.OK))
    pairs = ratelimit.check_pairs(Counter(m.contact_id for m in passing)) if passing else {}
    passing = _keep(
        passing, _quota({c: fits for c, (fits, _) in pairs.items()}, {c: v for c, (_, v) in pairs.items()})
    )
    if passing:
        fits, verdict = ratelimit.check_throughput(
            get_setting("PHONE_NUMBER_ID") or "default", count=len(passing)
        )
        passing = _keep(passing, _quota({None: fits}, {None: verdict}, key=lambda m: None))
    return passing


def _quota(fits: dict, verdicts: dict, key=lambda m: m.contact_id):
    """A verdict function that lets the first ``fits[key]`` messages of each key through."""
    used: Counter = Counter()

    def verdict(message: OutboundMessage) -> ratelimit.Verdict:
        k = key(message)
        used[k] += 1
        return ratelimit.OK if used[k] <= fits[k] else verdicts[k]

    return verdict


def _keep(messages: list[OutboundMessage], verdict_for) -> list[OutboundMessage]:
    """Defer every message whose verdict refuses it; return the others in order."""
    kept = []
    for message in messages:
        verdict = verdict_for(message)
        if verdict.allowed:
            kept.append(message)
        else:
            _defer(message, verdict.reason, verdict.retry_after)
    return kept


def _denial(message: OutboundMessage, decisions: dict, templates: dict) -> str:
    """Why ``message`` may never go out as it is ("" when it may)."""
    if message.category == CONSENT_NOTICE:
        if not message.contact.phone_e164:
            return "erased"
    elif not (decision := decisions[(message.contact_id, message.category)]):
        return decision.reason
    if message.kind == MessageKind.TEMPLATE:
        return _template_problem(message, templates.get((message.template_name, message.template_language)))
    if not window_is_open(message.contact):
        return "outside_service_window"
    return ""


def _templates(messages: list[OutboundMessage]) -> dict[tuple[str, str], MessageTemplate]:
    names = {(m.template_name, m.template_language) for m in messages if m.kind == MessageKind.TEMPLATE}
    if not names:
        return {}
    query = MessageTemplate.objects.filter(
        name__in={n for n, _ in names}, language__in={lang for _, lang in names}
    )
    return {(t.name, t.language): t for t in query}


def _template_problem(message: OutboundMessage, template: MessageTemplate | None) -> str:
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


def _defer_all(messages: list[OutboundMessage], reason: str, seconds: float) -> None:
    for message in messages:
        _defer(message, reason, seconds)


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
