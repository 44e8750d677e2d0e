"""Property: can_send is true only after a confirmed opt-in that was not later withdrawn."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import derived_states, verify_ledger
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.consent.models import ConsentState
from wagtail_wa_consent.exceptions import ConsentTransitionError

CATEGORIES = ["marketing", "transactional", "support"]
WEB = Evidence(source="web_block", user_action="ticked", wording="Yes please", language="de")
YES = Evidence(source="whatsapp", user_action="tapped Yes", message_id="wamid.1")
NO = Evidence(source="whatsapp", user_action="tapped No", message_id="wamid.2")
STOP = Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.3")

some_categories = st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True)
operations = st.one_of(
    st.tuples(st.just("request"), some_categories),
    st.tuples(st.just("confirm"), st.none() | some_categories),
    st.tuples(st.just("decline"), st.none() | some_categories),
    st.tuples(st.just("withdraw"), st.none() | some_categories),
    st.tuples(st.just("expire"), st.none()),
)
numbers = (f"+4915{n:09d}" for n in itertools.count(100000000))


def model_step(model: dict[str, str], op: str, cats: list[str] | None) -> None:
    """The reference model: a tiny dict of per-category states, written from the issue's text."""
    if op == "request":
        for c in cats:
            if model[c] != "confirmed":
                model[c] = "pending"
    elif op in ("confirm", "decline"):
        chosen = [c for c in CATEGORIES if model[c] == "pending"] if cats is None else cats
        if chosen and all(model[c] == "pending" for c in chosen):
            for c in chosen:
                model[c] = "confirmed" if op == "confirm" else "declined"
    elif op == "withdraw":
        for c in cats or CATEGORIES:
            model[c] = "withdrawn"
    elif op == "expire":
        for c in CATEGORIES:
            if model[c] == "pending":
                model[c] = "expired"


def service_step(contact, op: str, cats: list[str] | None) -> None:
    try:
        if op == "request":
            service.request_opt_in(contact, cats, WEB)
        elif op == "confirm":
            service.confirm(contact, YES, cats)
        elif op == "decline":
            service.decline(contact, NO, cats)
        elif op == "withdraw":
            service.withdraw(contact, STOP, cats)
        elif op == "expire":
            service.expire_overdue(now=timezone.now() + timedelta(days=8))
    except ConsentTransitionError:
        pass  # refused transitions write nothing; the model agrees (checked below)


@pytest.mark.django_db
@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operations, max_size=20))
def test_can_send_only_after_confirmation_not_withdrawn(steps):
    with transaction.atomic():
        contact = service.get_or_create_contact(next(numbers))
        model = dict.fromkeys(CATEGORIES, "none")
        for op, cats in steps:
            service_step(contact, op, cats)
            model_step(model, op, cats)
            for category in CATEGORIES:
                assert can_send(contact, category).allowed == (model[category] == "confirmed"), (
                    category,
                    model,
                    op,
                    cats,
                )
        # The cached state is exactly what the ledger says, and the chain verifies.
        cached = {s.category: s.status for s in ConsentState.objects.filter(contact=contact)}
        assert cached == {c: s for c, (s, _) in derived_states(contact).items()}
        assert verify_ledger([contact.pk]).ok
        transaction.set_rollback(True)
