from __future__ import annotations

from typing import Any

import pytest

from tests.messaging.helpers import template
from wagtail_wa_consent.consent import service

from .helpers import NO, Clock, frozen_clock, inbound, outbound, requested, subscribed, webhook, withdrawn


@pytest.fixture
def clock(db) -> Clock:
    """Time travel: rows get the clock's time, ``clock.travel(days=...)`` moves it on."""
    with frozen_clock() as clock:
        yield clock


@pytest.fixture
def confirmation_template(db):
    """The approved Yes/No template a re-confirmation is sent with outside the service window."""
    return template("opt_in_confirmation", params=2)


@pytest.fixture
def every_rule(clock, confirmation_template) -> dict[str, Any]:
    """One thing for each rule to do, 808 days after the start of the clock."""
    declined = requested("marketing")
    service.decline(declined, NO)
    dormant = subscribed("marketing")
    people = {"declined": declined, "withdrawn": withdrawn("support"), "dormant": dormant}
    outbound(dormant, status="failed")
    inbound(dormant)
    webhook()
    clock.travel(days=800)
    people["overdue"] = requested("transactional")
    clock.travel(days=8)
    return people
