"""With a real Redis broker and real worker processes: a worker killed mid-batch and a broker
outage delay messages but never lose or duplicate one."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import transaction

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.messaging.outbox import enqueue_template
from wagtail_wa_consent.messaging.sweep import sweep
from wagtail_wa_consent.simulator import webhooks as sim_webhooks
from wagtail_wa_consent.simulator.models import SimMessage
from wagtail_wa_consent.simulator.seed import copy_to_registry

from ..conftest import wa_settings

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DONE = {"sent", "delivered", "read"}
STALE_AFTER = 3  # seconds
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


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _settle(keys: list[str], timeout: float = 60) -> None:
    """What the periodic jobs do: Meta retries owed webhooks, our sweep re-queues stale claims.

    The sending timeout is shortened (in this process, where the sweep runs) so that a claim the
    killed worker left behind goes back to the queue within the test's patience; the owed status
    webhooks are flushed first, as Meta delivers them long before the real timeout.
    """
    deadline = time.monotonic() + timeout
    with wa_settings(SENDING_TIMEOUT_SECONDS=STALE_AFTER):
        while time.monotonic() < deadline:
            sim_webhooks.flush()
            if OutboundMessage.objects.filter(idempotency_key__in=keys).exclude(status__in=DONE).count() == 0:
                return
            sweep()
            time.sleep(0.5)


def _assert_exactly_once(keys: list[str]) -> None:
    statuses = Counter(
        OutboundMessage.objects.filter(idempotency_key__in=keys).values_list("status", flat=True)
    )
    assert sum(statuses.values()) == len(keys) and set(statuses) <= DONE, statuses
    sends = Counter(
        SimMessage.objects.filter(direction="out", callback_data__in=keys).values_list(
            "callback_data", flat=True
        )
    )
    assert set(sends) == set(keys), f"lost: {set(keys) - set(sends)}"
    assert max(sends.values()) == 1, f"duplicates: {[k for k, v in sends.items() if v > 1]}"


def test_worker_killed_mid_batch(worker_factory):
    _setup_registry()
    worker = worker_factory()
    keys = _queue_orders(40)
    assert _wait_until(lambda: SimMessage.objects.filter(direction="out").count() >= 8, 60)
    worker.kill()
    sent_before_kill = SimMessage.objects.filter(direction="out").count()
    assert sent_before_kill < 40, "the worker finished before it could be killed; raise the batch size"
    worker_factory()  # a new worker takes over the queue
    _settle(keys)
    _assert_exactly_once(keys)


def test_broker_down_while_orders_are_placed(worker_factory, celery_broker):
    _setup_registry()
    celery_broker.stop()
    started = time.monotonic()
    keys = _queue_orders(10)  # the order transactions must not hang or fail on the broker
    assert time.monotonic() - started < 30
    assert OutboundMessage.objects.filter(idempotency_key__in=keys, status="queued").count() == 10
    celery_broker.start()
    from sandbox_site.celery import app

    from .conftest import reset_broker_connections

    reset_broker_connections(app)
    worker_factory()
    _settle(keys)
    _assert_exactly_once(keys)
