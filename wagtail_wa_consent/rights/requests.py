"""The data-subject request service: open, complete, refuse and extend requests (GDPR Art. 12-21).

Views (the admin queue, the preference centre) call these functions and nothing else, so every
request is recorded with its deadline clock and every completion runs the same action.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import signals
from ..consent import service, suppression
from ..consent.enums import Source
from ..consent.erasure import erase_contact
from ..consent.evidence import Evidence
from ..consent.models import Contact, SuppressionEntry
from ..dates import add_months
from ..exceptions import WaConsentError
from .models import DataSubjectRequest, NumberChange, one_month_after
from .numbers import NumberChangeRefused, change_number

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger("wagtail_wa_consent.rights")

Kind = DataSubjectRequest.Kind
State = DataSubjectRequest.State
Channel = DataSubjectRequest.Channel

#: Art. 12(3): the one-month deadline may be extended "by two further months" at most.
MAX_EXTENSION_MONTHS = 2


class RequestClosed(WaConsentError):
    """The request is done or refused already; only open requests can be changed."""


class ExtensionTooLong(WaConsentError):
    """The deadline would move beyond one month plus two further months after receipt."""


def latest_due(request: DataSubjectRequest) -> datetime:
    """The furthest a deadline may move: the first month's end plus two further months."""
    return add_months(one_month_after(request.received_at), MAX_EXTENSION_MONTHS)


def open_request(
    kind: str,
    *,
    channel: str,
    contact: Contact | None = None,
    received_at: datetime | None = None,
    new_phone: str = "",
    note: str = "",
    user: AbstractBaseUser | None = None,
) -> DataSubjectRequest:
    """Record a request; its due date is one month after ``received_at`` (default: now).

    ``contact`` is ``None`` when no data is held for the person (the request is still answered).
    Sends ``data_request_received`` after the transaction commits.
    """
    request = DataSubjectRequest(
        kind=kind,
        channel=channel,
        contact=contact,
        received_at=received_at or timezone.now(),
        new_phone=new_phone,
        note=note,
        handled_by=user,
    )
    request.save()
    logger.info("data request %s (%s) received for contact %s", request.pk, kind, request.contact_id)
    transaction.on_commit(
        lambda: signals.data_request_received.send(sender=DataSubjectRequest, request=request)
    )
    return request


def complete_request(
    request: DataSubjectRequest,
    *,
    user: AbstractBaseUser | None = None,
    evidence: Evidence | None = None,
    note: str = "",
) -> DataSubjectRequest:
    """Run the request's action and mark it done, in one transaction.

    Access and portability run nothing (the export is the answer); erasure erases the contact;
    rectification changes the number to ``request.new_phone``; objection withdraws every consent
    and puts the number on the suppression list.

    Args:
        request: an open request.
        user: the staff member completing it; ``None`` when the person did it themselves.
        evidence: how the person asked (preference centre); default: an admin record.
        note: appended to the request's note.

    Raises:
        RequestClosed: the request is not open.
        NumberChangeRefused, InvalidPhoneNumber: a rectification that cannot be applied; the
            request stays open.
    """
    with transaction.atomic():
        request = _locked_open(request)
        evidence = evidence or _admin_evidence(request, user)
        _ACTIONS[request.kind](request, evidence, user)
        if request.kind == Kind.ERASURE and request.contact_id:
            # A pending rectification's new number is personal data of the same person.
            DataSubjectRequest.objects.filter(contact_id=request.contact_id).update(new_phone="")
            request.new_phone = ""
        _close(request, State.DONE, user, note)
    return request


def refuse_request(
    request: DataSubjectRequest, *, reason: str, user: AbstractBaseUser | None = None
) -> DataSubjectRequest:
    """Close the request without acting (Art. 12(4): tell the person why and that they may
    complain to a supervisory authority). ``reason`` is required and kept in the note."""
    if not reason.strip():
        raise ValueError("A refusal needs a reason.")
    with transaction.atomic():
        request = _locked_open(request)
        request.new_phone = ""
        _close(request, State.REFUSED, user, _("Refused: %(reason)s") % {"reason": reason.strip()})
    return request


def extend_deadline(
    request: DataSubjectRequest,
    *,
    months: int = MAX_EXTENSION_MONTHS,
    reason: str,
    user: AbstractBaseUser | None = None,
) -> DataSubjectRequest:
    """Move the due date ``months`` later (Art. 12(3)); at most two months past the first
    month in total, which may be used in one or several steps.

    Raises:
        RequestClosed: the request is not open.
        ExtensionTooLong: the new due date would pass :func:`latest_due`.
    """
    if months < 1 or not reason.strip():
        raise ValueError("An extension needs at least one month and a reason.")
    with transaction.atomic():
        request = _locked_open(request)
        due = add_months(request.due_at, months)
        if due > latest_due(request):
            raise ExtensionTooLong("Art. 12(3) allows at most two further months.")
        request.due_at, request.extended = due, True
        request.note = _append(request.note, _("Deadline extended: %(reason)s") % {"reason": reason.strip()})
        if user is not None:
            request.handled_by = user
        request.save(update_fields=["due_at", "extended", "note", "handled_by"])
    logger.info("data request %s extended by %s month(s)", request.pk, months)
    return request


def record_self_service(kind: str, contact: Contact, evidence: Evidence) -> DataSubjectRequest:
    """A request the person made and the preference centre answered at once (download, delete):
    recorded as done, so the data-protection officer sees it in the queue."""
    with transaction.atomic():
        request = open_request(kind, channel=Channel.PREFERENCE_CENTRE, contact=contact)
        return complete_request(request, evidence=evidence)


def change_number_by_self_service(contact: Contact, new_phone: str, evidence: Evidence) -> DataSubjectRequest:
    """The person confirmed their new number from a link sent to it: change it and record a done
    rectification request. If the change is refused (another contact holds the number), the
    request stays open for staff, with a note; asking again reuses that open request.
    """
    with transaction.atomic():
        request = DataSubjectRequest.objects.filter(
            contact=contact, kind=Kind.RECTIFICATION, state=State.OPEN, new_phone=new_phone
        ).first() or open_request(
            Kind.RECTIFICATION, channel=Channel.PREFERENCE_CENTRE, contact=contact, new_phone=new_phone
        )
        try:
            with transaction.atomic():
                return complete_request(request, evidence=evidence)
        except NumberChangeRefused as error:
            note = _("Confirmed from the new number, but not applied automatically (%(code)s): check it.")
            request.note = _append(request.note, note % {"code": error.code})
            request.save(update_fields=["note"])
            logger.info("number change of contact %s left for staff (request %s)", contact.pk, request.pk)
            return request


# --- Actions ---------------------------------------------------------------------------------


def _nothing(request: DataSubjectRequest, evidence: Evidence, user: AbstractBaseUser | None) -> None:
    """Access and portability: the export is the answer, handed over by the caller."""


def _erase(request: DataSubjectRequest, evidence: Evidence, user: AbstractBaseUser | None) -> None:
    if request.contact is not None:
        erase_contact(request.contact, evidence, reason=SuppressionEntry.Reason.ERASED)


def _rectify(request: DataSubjectRequest, evidence: Evidence, user: AbstractBaseUser | None) -> None:
    if request.contact is None:
        return  # nothing held, nothing to correct
    change_number(
        request.contact,
        request.new_phone,
        source=NumberChange.Source.ADMIN if user is not None else NumberChange.Source.PREFERENCE_CENTRE,
        actor=evidence.actor,
        request=request,
    )
    request.new_phone = ""  # held only until the change is made


def _object(request: DataSubjectRequest, evidence: Evidence, user: AbstractBaseUser | None) -> None:
    contact = request.contact
    if contact is None:
        return
    service.withdraw(contact, evidence)
    # "Never contact me again": imports and admins may not add the number back.
    suppression.suppress(contact.phone_digest, SuppressionEntry.Reason.REQUESTED)


_ACTIONS = {
    Kind.ACCESS: _nothing,
    Kind.PORTABILITY: _nothing,
    Kind.ERASURE: _erase,
    Kind.RECTIFICATION: _rectify,
    Kind.OBJECTION: _object,
}


# --- Helpers ---------------------------------------------------------------------------------


def _locked_open(request: DataSubjectRequest) -> DataSubjectRequest:
    """The request, locked for this transaction; refused unless still open (no double runs)."""
    # of=("self",): the contact may be missing, and PostgreSQL cannot lock an outer join's null side.
    locked = (
        DataSubjectRequest.objects.select_for_update(of=("self",))
        .select_related("contact")
        .get(pk=request.pk)
    )
    if locked.state != State.OPEN:
        raise RequestClosed(f"Data request {locked.pk} is {locked.state} already.")
    return locked


def _close(request: DataSubjectRequest, state: str, user: AbstractBaseUser | None, note: str) -> None:
    request.state, request.completed_at = state, timezone.now()
    if user is not None:
        request.handled_by = user
    if note:
        request.note = _append(request.note, note)
    request.save()
    logger.info("data request %s (%s) closed as %s", request.pk, request.kind, state)
    transaction.on_commit(
        lambda: signals.data_request_completed.send(sender=DataSubjectRequest, request=request)
    )


def _admin_evidence(request: DataSubjectRequest, user: AbstractBaseUser | None) -> Evidence:
    actor = f"admin:{user.pk}" if user is not None else "system"
    action = f"{request.kind} request #{request.pk} completed by staff"
    return Evidence(source=Source.ADMIN, actor=actor, user_action=action)


def _append(note: str, line: str) -> str:
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    return f"{note}\n[{stamp}] {line}".strip()
