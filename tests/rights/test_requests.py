"""The request service: the deadline clock, completing each kind, refusing, extending, signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import models
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import DE_MOBILE
from tests.messaging.helpers import consenting, text_message
from wagtail_wa_consent import signals
from wagtail_wa_consent.consent import service, suppression
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.enums import Status
from wagtail_wa_consent.consent.models import (
    ConsentEvent,
    ConsentEvidence,
    Contact,
    SuppressionEntry,
)
from wagtail_wa_consent.dates import add_months
from wagtail_wa_consent.messaging.models import InboundMessage, OutboundMessage, WebhookDelivery
from wagtail_wa_consent.messaging.outbox import enqueue_template, enqueue_text
from wagtail_wa_consent.rights import requests as rights
from wagtail_wa_consent.rights.models import DataSubjectRequest, NumberChange, one_month_after
from wagtail_wa_consent.rights.numbers import NumberChangeRefused

Kind, State, Channel = DataSubjectRequest.Kind, DataSubjectRequest.State, DataSubjectRequest.Channel
NEW_MOBILE = "+4917612345678"
PARCEL_TEXT = "Bitte an Hauptstr. 1 liefern, Lena"


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, 30, tzinfo=UTC)


# --- Deadline arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (at(2023, 1, 31), at(2023, 2, 28)),
        (at(2024, 1, 31), at(2024, 2, 29)),  # leap year
        (at(2024, 12, 15), at(2025, 1, 15)),  # December -> January of the next year
        (at(2024, 3, 31), at(2024, 4, 30)),
        (at(2024, 5, 15), at(2024, 6, 15)),
    ],
)
def test_one_month_deadline(db, received, due):
    request = rights.open_request(Kind.ACCESS, channel=Channel.ADMIN, received_at=received)
    assert request.due_at == due


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)), st.integers(0, 30))
def test_months_after_lands_in_the_right_month_never_later_than_the_same_day(moment, months):
    later = add_months(moment, months)
    assert (later.year * 12 + later.month) - (moment.year * 12 + moment.month) == months
    assert later.day <= moment.day and later.time() == moment.time()
    if later.day < moment.day:  # clamped: only to the last day of a shorter month
        assert (later + timedelta(days=1)).month != later.month
    assert add_months(moment, 1) == one_month_after(moment)


def test_extension_moves_the_deadline_at_most_two_further_months(db):
    request = rights.open_request(Kind.ACCESS, channel=Channel.ADMIN, received_at=at(2024, 1, 31))
    rights.extend_deadline(request, months=1, reason="many requests")
    request.refresh_from_db()
    assert request.extended and request.due_at == at(2024, 3, 29)
    assert "Deadline extended: many requests" in request.note
    rights.extend_deadline(request, months=1, reason="still many")
    request.refresh_from_db()
    assert request.due_at == at(2024, 4, 29) == rights.latest_due(request)
    with pytest.raises(rights.ExtensionTooLong):
        rights.extend_deadline(request, months=1, reason="once more")
    request.refresh_from_db()
    assert request.due_at == at(2024, 4, 29)


def test_an_extension_needs_a_reason(db):
    request = rights.open_request(Kind.ACCESS, channel=Channel.ADMIN)
    with pytest.raises(ValueError):
        rights.extend_deadline(request, months=2, reason="  ")
    request.refresh_from_db()
    assert not request.extended


def test_overdue_and_days_left(db):
    late = rights.open_request(
        Kind.ACCESS, channel=Channel.ADMIN, received_at=timezone.now() - timedelta(days=40)
    )
    fresh = rights.open_request(Kind.ACCESS, channel=Channel.ADMIN)
    assert late.is_overdue and late.days_left < 0
    assert not fresh.is_overdue and 27 <= fresh.days_left <= 31
    rights.complete_request(late)
    late.refresh_from_db()
    assert not late.is_overdue  # a closed request is never overdue


# --- Opening and closing --------------------------------------------------------------------


def test_open_and_complete_send_their_signals_after_commit(contact, django_capture_on_commit_callbacks):
    received, completed = [], []
    signals.data_request_received.connect(lambda **kw: received.append(kw["request"].pk), weak=False)
    signals.data_request_completed.connect(lambda **kw: completed.append(kw["request"].state), weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            request = rights.open_request(Kind.ACCESS, channel=Channel.ADMIN, contact=contact)
            assert received == []  # not before the commit
        assert received == [request.pk] and len(callbacks) == 1
        with django_capture_on_commit_callbacks(execute=True):
            rights.complete_request(request)
        assert completed == [State.DONE]
    finally:
        signals.data_request_received.receivers.clear()
        signals.data_request_completed.receivers.clear()


def test_access_request_is_marked_done_and_cannot_run_twice(contact, django_user_model):
    staff = django_user_model.objects.create_user("dpo", "dpo@example.com", "pw")
    request = rights.open_request(Kind.ACCESS, channel=Channel.ADMIN, contact=contact)
    rights.complete_request(request, user=staff, note="Sent the evidence pack by e-mail")
    request.refresh_from_db()
    assert request.state == State.DONE and request.completed_at and request.handled_by == staff
    assert "Sent the evidence pack by e-mail" in request.note
    with pytest.raises(rights.RequestClosed):
        rights.complete_request(request)
    with pytest.raises(rights.RequestClosed):
        rights.refuse_request(request, reason="late")


def test_refusal_keeps_the_reason_and_does_nothing(contact):
    consenting(DE_MOBILE, "marketing")
    request = rights.open_request(Kind.ERASURE, channel=Channel.ADMIN, contact=contact)
    rights.refuse_request(request, reason="The requester could not show the number is theirs")
    request.refresh_from_db()
    contact.refresh_from_db()
    assert request.state == State.REFUSED and "could not show" in request.note
    assert (
        contact.phone_e164 == DE_MOBILE and service.current_status(contact, "marketing") == Status.SUBSCRIBED
    )
    with pytest.raises(ValueError):
        rights.refuse_request(rights.open_request(Kind.ACCESS, channel=Channel.ADMIN), reason=" ")


def test_objection_withdraws_everything_and_suppresses_the_number(contact):
    consenting(DE_MOBILE, "marketing", "transactional")
    rights.complete_request(rights.open_request(Kind.OBJECTION, channel=Channel.ADMIN, contact=contact))
    assert all(
        service.current_status(contact, c) == Status.UNSUBSCRIBED for c in ("marketing", "transactional")
    )
    last = contact.consent_events.order_by("-sequence").first()
    assert (last.source, last.actor) == ("admin", "system")  # completed without a staff user
    assert suppression.is_suppressed(DE_MOBILE)
    assert SuppressionEntry.objects.get().reason == SuppressionEntry.Reason.REQUESTED


def test_rectification_request_changes_the_number_and_forgets_the_new_one(contact, django_user_model):
    staff = django_user_model.objects.create_user("dpo", "dpo@example.com", "pw")
    consenting(DE_MOBILE, "marketing")
    request = rights.open_request(
        Kind.RECTIFICATION, channel=Channel.ADMIN, contact=contact, new_phone=NEW_MOBILE
    )
    rights.complete_request(request, user=staff)
    request.refresh_from_db()
    contact.refresh_from_db()
    assert contact.phone_e164 == NEW_MOBILE and request.state == State.DONE and request.new_phone == ""
    change = NumberChange.objects.get()
    assert (change.source, change.request, change.actor) == ("admin", request, f"admin:{staff.pk}")


def test_refused_number_change_leaves_the_request_open(contact):
    consenting(NEW_MOBILE, "support")  # another person with a history holds the number
    request = rights.open_request(
        Kind.RECTIFICATION, channel=Channel.ADMIN, contact=contact, new_phone=NEW_MOBILE
    )
    with pytest.raises(NumberChangeRefused) as error:
        rights.complete_request(request)
    assert error.value.code == "in_use"
    request.refresh_from_db()
    contact.refresh_from_db()
    assert request.state == State.OPEN and request.new_phone == NEW_MOBILE and contact.phone_e164 == DE_MOBILE
    assert not NumberChange.objects.exists()


def test_request_for_unknown_person_is_answered_without_a_contact(db):
    request = rights.open_request(Kind.ERASURE, channel=Channel.ADMIN, note="No data held for this number.")
    rights.complete_request(request)
    request.refresh_from_db()
    assert request.state == State.DONE and request.contact is None


# --- Erasure through a request --------------------------------------------------------------


def _text_values(model: type[models.Model]) -> list[str]:
    """Every text-like column of every row of ``model``, as strings."""
    names = [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
    ]
    return [str(value) for row in model.objects.values_list(*names) for value in row if value]


@pytest.fixture
def lena(deliver, web_evidence, django_user_model):
    """A contact with consents, messages both ways, raw webhooks and a pending rectification."""
    user = django_user_model.objects.create_user("lena", "lena@example.com", "pw")
    contact = service.get_or_create_contact(DE_MOBILE, user=user)
    service.request_opt_in(contact, ["marketing", "support"], web_evidence)
    deliver(text_message(DE_MOBILE.lstrip("+"), "YES", "wamid.yes"))
    deliver(text_message(DE_MOBILE.lstrip("+"), PARCEL_TEXT, "wamid.parcel"))
    enqueue_template(
        contact, "support", key="t1", template_name="order_shipped", language="en", parameters=["Lena"]
    )
    enqueue_text(contact, "support", f"Hi Lena: {PARCEL_TEXT}?", key="t2")
    rights.open_request(Kind.RECTIFICATION, channel=Channel.ADMIN, contact=contact, new_phone=NEW_MOBILE)
    contact.refresh_from_db()
    return contact


def test_lena_fixture_really_holds_the_personal_data(lena):
    held = " ".join(
        value
        for model in (
            Contact,
            ConsentEvidence,
            OutboundMessage,
            InboundMessage,
            WebhookDelivery,
            DataSubjectRequest,
        )
        for value in _text_values(model)
    )
    for secret in (
        DE_MOBILE,
        DE_MOBILE.lstrip("+"),
        NEW_MOBILE,
        PARCEL_TEXT,
        "Lena",
        "203.0.113.0",
        "Mozilla",
    ):
        assert secret in held, secret
    assert service.current_status(lena, "marketing") == Status.SUBSCRIBED


def test_erasure_request_leaves_no_personal_data_and_a_verifiable_ledger(lena):
    request = rights.open_request(Kind.ERASURE, channel=Channel.ADMIN, contact=lena)
    rights.complete_request(request)

    models_to_search = (
        Contact,
        ConsentEvent,
        ConsentEvidence,
        OutboundMessage,
        InboundMessage,
        WebhookDelivery,
        DataSubjectRequest,
        NumberChange,
    )
    held = [value for model in models_to_search for value in _text_values(model)]
    for secret in (DE_MOBILE, DE_MOBILE.lstrip("+"), NEW_MOBILE, NEW_MOBILE.lstrip("+"), PARCEL_TEXT, "Lena"):
        assert not [value for value in held if secret in value], secret
    assert not ConsentEvidence.objects.exists()

    lena.refresh_from_db()
    assert lena.erased_at and lena.phone_e164 is None and lena.user is None
    assert verify_ledger([lena.pk]).ok
    assert suppression.is_suppressed(DE_MOBILE)
    assert SuppressionEntry.objects.get(phone_digest=lena.phone_digest).reason == "erased"
    request.refresh_from_db()
    assert request.state == State.DONE
    # The pending rectification lost its number too, and stays in the queue for the record.
    assert DataSubjectRequest.objects.get(kind=Kind.RECTIFICATION).new_phone == ""
