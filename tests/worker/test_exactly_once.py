"""With a real Redis broker and real worker processes: a worker killed mid-batch and a broker
outage delay messages but never lose or duplicate one."""

from __future__ import annotations

import pytest
from django.db import transaction

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.messaging.outbox import enqueue_template
from wagtail_wa_consent.simulator.seed import copy_to_registry

from .scenarios import survive_a_broker_outage, survive_a_killed_worker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WEB = Evidence(source="web_block", user_action="ticked", wording="Order updates on WhatsApp", language="en")


def _setup_registry() -> None:
    copy_to_registry()


def _queue_orders(count: int, start: int = 0) -> list[str]:
    keys = []
    for n in range(start, start + count):
        contact = service.get_or_create_contact(f"+49151{n + 1:08d}")  # never ending in 0000 (unreachable)
        service.grant_single_opt_in(contact, ["transactional"], WEB.with_changes(reference=str(n)))
        key = f"order:{n}:placed"
        with transaction.atomic():  # the outbox row commits with "the order"; dispatch goes after commit
            enqueue_template(
                contact,
                "transactional",
                key=key,
                template_name="order_confirmation",
                language="en",
                parameters=["Lena", str(n), "€9.99"],
            )
        keys.append(key)
    return keys


def test_worker_killed_mid_batch(worker_factory):
    _setup_registry()
    survive_a_killed_worker(worker_factory, _queue_orders(40), kill_after=8)


def test_broker_down_while_orders_are_placed(worker_factory, celery_broker):
    _setup_registry()
    survive_a_broker_outage(worker_factory, celery_broker, lambda: _queue_orders(10))
