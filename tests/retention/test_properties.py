"""Property: running retention twice at the same moment does nothing more than running it once,
whatever the histories; every chain still verifies and no cached state drifts from its ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import wa_settings
from wagtail_wa_consent import retention
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
from wagtail_wa_consent.consent.models import Contact
from wagtail_wa_consent.exceptions import ConsentTransitionError

from .helpers import NO, STOP, WEB, YES, frozen_clock, inbound, new_number, outbound, snapshot, webhook

CATEGORIES = ["marketing", "transactional", "support"]
some_categories = st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True)
step = st.tuples(
    st.integers(min_value=0, max_value=400),  # days that pass before the step
    st.one_of(
        st.tuples(st.just("request"), some_categories),
        st.tuples(st.just("subscribe"), some_categories),
        st.tuples(st.just("expire"), st.none()),
        st.tuples(st.just("confirm"), st.none()),
        st.tuples(st.just("decline"), st.none()),
        st.tuples(st.just("withdraw"), st.none() | some_categories),
        st.tuples(st.just("message"), st.sampled_from(["delivered", "failed", "queued"])),
        st.tuples(st.just("inbound"), st.none()),
        st.tuples(st.just("webhook"), st.booleans()),
    ),
)
histories = st.lists(st.lists(step, max_size=6), min_size=1, max_size=4)


def play(contact: Contact, op: str, arg) -> None:
    try:
        if op == "request":
            service.request_opt_in(contact, arg, WEB)
        elif op == "subscribe":
            service.request_opt_in(contact, arg, WEB)
            service.confirm(contact, YES)
        elif op == "expire":
            service.expire_overdue()  # the hourly task
        elif op == "confirm":
            service.confirm(contact, YES)
        elif op == "decline":
            service.decline(contact, NO)
        elif op == "withdraw":
            service.withdraw(contact, STOP, arg)
        elif op == "message":
            outbound(contact, status=arg)
        elif op == "inbound":
            inbound(contact)
        elif op == "webhook":
            webhook(processed=arg)
    except ConsentTransitionError:
        pass  # refused (nothing pending, or expired): writes nothing


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    histories=histories,
    wait=st.integers(min_value=0, max_value=1200),
    action=st.sampled_from(["reconfirm", "expire"]),
)
def test_running_twice_is_running_once(histories, wait, action):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with transaction.atomic(), wa_settings(DORMANT_CONSENT_ACTION=action), frozen_clock(start) as clock:
        contacts = [service.get_or_create_contact(new_number()) for _ in histories]
        # Interleave the histories in time, as real traffic would.
        steps = [(days, s, c) for c, history in zip(contacts, histories, strict=True) for days, s in history]
        for days, (op, arg), contact in sorted(steps, key=lambda item: item[0]):
            clock.now = start + timedelta(days=days)
            play(contact, op, arg)
        clock.travel(days=wait)

        for key, count in retention.apply(clock.now).counts().items():
            event(f"{key} {'acted' if count else 'idle'}")  # shown by --hypothesis-show-statistics
        after_first = snapshot()
        assert retention.plan(clock.now).total == 0
        second = retention.apply(clock.now)

        assert second.total == 0, second.counts()
        assert snapshot() == after_first
        assert verify_ledger().ok
        assert not any(state_cache_mismatches(c) for c in contacts)
        transaction.set_rollback(True)
