"""The two failure scenarios every real-worker test plays, and how they are judged: whatever
queues the notifications (outbox rows directly, or real Oscar orders), each must be delivered
exactly once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from wagtail_wa_consent.messaging.models import OutboundMessage, WebhookDelivery
from wagtail_wa_consent.messaging.sweep import sweep
from wagtail_wa_consent.simulator import webhooks as sim_webhooks
from wagtail_wa_consent.simulator.models import SimMessage
from wagtail_wa_consent.webhooks.processing import drain

from ..conftest import wa_settings

DONE = {"sent", "delivered", "read"}
STALE_AFTER = 3  # seconds


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def settle(keys: list[str], timeout: float = 60) -> None:
    """What the periodic jobs do: Meta retries owed webhooks, our sweep re-queues stale claims.

    The sending timeout is shortened (in this process, where the sweep runs) so that a claim the
    killed worker left behind goes back to the queue within the test's patience; the owed status
    webhooks are flushed first, as Meta delivers them long before the real timeout.
    """
    deadline = time.monotonic() + timeout
    with wa_settings(SENDING_TIMEOUT_SECONDS=STALE_AFTER):
        while time.monotonic() < deadline:
            sim_webhooks.flush()
            # Meta's statuses arrive long before the real timeout: they must be processed before a
            # claim is judged stale, or the sweep re-sends a message that did go out.
            drain()
            wait_until(lambda: not unprocessed_deliveries().exists(), 10)
            if OutboundMessage.objects.filter(idempotency_key__in=keys).exclude(status__in=DONE).count() == 0:
                return
            sweep()
            time.sleep(0.5)


def unprocessed_deliveries():
    return WebhookDelivery.objects.filter(processed_at__isnull=True, error="")


def assert_exactly_once(keys: list[str]) -> None:
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


def survive_a_killed_worker(worker_factory, keys: list[str], *, kill_after: int) -> None:
    """The queued ``keys`` wait in Redis; a worker is SIGKILLed once ``kill_after`` went out, a new
    one takes over, and every notification arrives exactly once."""
    worker = worker_factory()
    assert wait_until(lambda: SimMessage.objects.filter(direction="out").count() >= kill_after, 60)
    worker.kill()
    sent_before_kill = SimMessage.objects.filter(direction="out").count()
    assert sent_before_kill < len(keys), "the worker finished before it could be killed; queue more"
    worker_factory()
    settle(keys)
    assert_exactly_once(keys)


def survive_a_broker_outage(worker_factory, broker, queue: Callable[[], list[str]]) -> list[str]:
    """``queue`` runs while Redis is down: it must neither hang nor fail, and its rows wait; once
    the broker is back a worker delivers every one exactly once. Returns the keys."""
    from sandbox_site.celery import app

    from .conftest import reset_broker_connections

    broker.stop()
    started = time.monotonic()
    keys = queue()
    assert time.monotonic() - started < 30
    assert OutboundMessage.objects.filter(idempotency_key__in=keys, status="queued").count() == len(keys)
    broker.start()
    reset_broker_connections(app)
    worker_factory()
    settle(keys)
    assert_exactly_once(keys)
    return keys
