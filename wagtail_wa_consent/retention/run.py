"""Planning (read-only) and applying the retention rules; see docs/retention.rst."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from ..conf import get_setting
from ..consent import service
from ..consent.enums import Source
from ..consent.erasure import erase_contact
from ..consent.evidence import Evidence
from ..consent.ledger import lock_contact
from ..consent.models import ConsentState, Contact, SuppressionEntry
from ..exceptions import WaConsentConfigurationError
from ..messaging import double_opt_in
from . import rules
from .report import (
    DORMANT_CONSENTS,
    EXPIRED_OPT_INS,
    INBOUND_MESSAGES,
    MESSAGE_BODIES,
    PENDING_OPT_INS,
    RULES,
    WEBHOOK_BODIES,
    WITHDRAWN_CONTACTS,
    RetentionReport,
    RuleReport,
)
from .wording import reconfirmation_wording

logger = logging.getLogger("wagtail_wa_consent.retention")

RECONFIRM = "reconfirm"
EXPIRE = "expire"
DORMANT_ACTIONS = (RECONFIRM, EXPIRE)


def plan(now: datetime | None = None) -> RetentionReport:
    """What :func:`apply` would do at ``now``; reads only, changes nothing."""
    now = now or timezone.now()
    report = _new_report(now, dry_run=True)
    overdue = rules.overdue_requests(now)
    report[EXPIRED_OPT_INS].count = overdue.count()
    report[EXPIRED_OPT_INS].contact_ids = _contact_ids(overdue)
    report[MESSAGE_BODIES].count = rules.outbound_bodies(now).count()
    report[INBOUND_MESSAGES].count = rules.inbound_bodies(now).count()
    report[WEBHOOK_BODIES].count = rules.webhook_bodies(now).count()
    # The never-confirmed whose request is overdue now are not among these: the expiry this run
    # records is their newest event, so their period starts from it.
    for contact in _candidates(rules.never_confirmed_contacts(now)):
        _sort(report[PENDING_OPT_INS], contact.pk, held=contact.open_request)
    has_open_order = open_order_check()
    for contact in _candidates(rules.withdrawn_contacts(now)):
        _sort(report[WITHDRAWN_CONTACTS], contact.pk, held=contact.open_request or has_open_order(contact))
    dormant = report[DORMANT_CONSENTS]
    for state in rules.dormant_states(now):
        dormant.count += 1
        if state.contact_id not in dormant.contact_ids:
            dormant.contact_ids.append(state.contact_id)
    return report


def apply(now: datetime | None = None, *, dry_run: bool = False) -> RetentionReport:
    """Apply every retention rule at ``now`` (default: the current time) and report what it did.

    With ``dry_run`` nothing changes and the report is :func:`plan`'s. Running twice at the same
    ``now`` changes nothing more than running once.
    """
    now = now or timezone.now()
    if dry_run:
        return plan(now)
    report = _new_report(now, dry_run=False)
    expired = report[EXPIRED_OPT_INS]
    expired.contact_ids = _contact_ids(rules.overdue_requests(now))
    expired.count = service.expire_overdue(now)
    # One UPDATE per rule: the rows stay as the delivery record, only the contents go.
    report[MESSAGE_BODIES].count = rules.outbound_bodies(now).update(parameters=[], content={})
    report[INBOUND_MESSAGES].count = rules.inbound_bodies(now).update(text="", payload="")
    report[WEBHOOK_BODIES].count = rules.webhook_bodies(now).update(body="")
    _erase_never_confirmed(now, report[PENDING_OPT_INS])
    _erase_withdrawn(now, report[WITHDRAWN_CONTACTS])
    _handle_dormant(now, report[DORMANT_CONSENTS])
    logger.info("retention applied: %s", report.counts())
    for rule in report.rules.values():
        if rule.contact_ids or rule.held_contact_ids:
            logger.debug(
                "retention %s: contacts %s, kept %s", rule.key, rule.contact_ids, rule.held_contact_ids
            )
    return report


def open_order_check() -> Callable[[Contact], bool]:
    """The ``RETENTION_OPEN_ORDER_CHECK`` function; no check when the setting is None or ""."""
    path = get_setting("RETENTION_OPEN_ORDER_CHECK")
    return import_string(path) if path else _no_open_order


def _no_open_order(contact: Contact) -> bool:
    return False


def _new_report(now: datetime, *, dry_run: bool) -> RetentionReport:
    report = RetentionReport(now=now, dry_run=dry_run)
    for key, (_label, setting) in RULES.items():
        report.rules[key] = RuleReport(key=key, limit=get_setting(setting))
    action = get_setting("DORMANT_CONSENT_ACTION")
    report[DORMANT_CONSENTS].action = action if report[DORMANT_CONSENTS].enabled else ""
    return report


def _contact_ids(states: QuerySet[ConsentState]) -> list[int]:
    return sorted(set(states.values_list("contact_id", flat=True)))


def _candidates(contacts: QuerySet[Contact]) -> list[Contact]:
    return list(contacts.only("pk", "user_id", "phone_e164"))


def _sort(rule: RuleReport, contact_id: int, *, held: bool) -> None:
    if held:
        rule.held_contact_ids.append(contact_id)
    else:
        rule.count += 1
        rule.contact_ids.append(contact_id)


def _ids(contacts: QuerySet[Contact]) -> list[int]:
    # Read first, then write: SQLite gives no isolation between a running query and writes.
    return list(contacts.values_list("pk", flat=True))


def _recheck(contacts: QuerySet[Contact], contact_id: int) -> Contact | None:
    """The contact, locked, if it still qualifies (the person may have acted since the query).

    Must run inside ``transaction.atomic()``.
    """
    lock_contact(Contact(pk=contact_id))
    return contacts.filter(pk=contact_id).first()


def _system_evidence(user_action: str, **fields: str) -> Evidence:
    return Evidence(source=Source.SYSTEM, actor="system", user_action=user_action, **fields)


def _erase_never_confirmed(now: datetime, rule: RuleReport) -> None:
    """Erase, but do not suppress: the person never asked for anything, and the number may
    have been typed by someone else. A later import with the owner's own proof stays possible;
    the contact's keyed digest and the ledger's record of the unanswered requests remain."""
    evidence = _system_evidence(f"retention: no opt-in confirmed within {rule.limit} days")
    candidates = rules.never_confirmed_contacts(now)
    for contact_id in _ids(candidates):
        with transaction.atomic():
            fresh = _recheck(candidates, contact_id)
            if fresh is None:
                continue
            if fresh.open_request:
                rule.held_contact_ids.append(contact_id)
                continue
            erase_contact(fresh, evidence, reason=None)
        rule.count += 1
        rule.contact_ids.append(contact_id)


def _erase_withdrawn(now: datetime, rule: RuleReport) -> None:
    """Erase and suppress: the person withdrew, so an import must not bring the number back."""
    evidence = _system_evidence(f"retention: {rule.limit} days after consent ended")
    has_open_order = open_order_check()
    candidates = rules.withdrawn_contacts(now)
    for contact_id in _ids(candidates):
        with transaction.atomic():
            fresh = _recheck(candidates, contact_id)
            if fresh is None:
                continue
            if fresh.open_request or has_open_order(fresh):
                rule.held_contact_ids.append(contact_id)
                continue
            erase_contact(fresh, evidence, reason=SuppressionEntry.Reason.RETENTION)
        rule.count += 1
        rule.contact_ids.append(contact_id)


def _handle_dormant(now: datetime, rule: RuleReport) -> None:
    """Ask again (one Yes/No message per contact for all its dormant categories) or withdraw."""
    if not rule.enabled:
        return
    if rule.action not in DORMANT_ACTIONS:
        raise WaConsentConfigurationError(
            f"WAGTAIL_WA_CONSENT['DORMANT_CONSENT_ACTION'] is {rule.action!r}: use 'reconfirm' or 'expire'."
        )
    contact_ids = list(dict.fromkeys(rules.dormant_states(now).values_list("contact_id", flat=True)))
    for contact_id in contact_ids:
        with transaction.atomic():
            contact = lock_contact(Contact(pk=contact_id))
            categories = list(
                rules.dormant_states(now).filter(contact=contact).values_list("category", flat=True)
            )
            if not categories:
                continue
            events = _act_on_dormant(contact, categories, rule)
        if events:
            rule.count += events
            rule.contact_ids.append(contact_id)


def _act_on_dormant(contact: Contact, categories: list[str], rule: RuleReport) -> int:
    user_action = f"retention: no message for {rule.limit} months"
    if rule.action == EXPIRE:
        return len(service.withdraw(contact, _system_evidence(user_action), categories))
    language = contact.language or settings.LANGUAGE_CODE
    evidence = _system_evidence(
        user_action, wording=reconfirmation_wording(categories, language), language=language
    )
    events, _message = double_opt_in.request_reconfirmation(contact, categories, evidence)
    return len(events)
