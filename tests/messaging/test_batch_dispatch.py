"""The batch dispatcher: one claim, one read of consent and templates, concurrent sends, one write."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wagtail_wa_consent.messaging import dispatcher
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.backends.locmem import LocmemBackend
from wagtail_wa_consent.messaging.dispatcher import dispatch_batch, dispatch_due
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.messaging.outbox import enqueue_template

from ..conftest import wa_settings
from .helpers import consenting, template

pytestmark = pytest.mark.django_db
CONCURRENT = "tests.messaging.test_batch_dispatch.SlowConcurrentBackend"


class SlowConcurrentBackend(LocmemBackend):
    """A network-like backend: each send takes a while and may overlap with others."""

    concurrent_sends = True
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()

    def send(self, payload):
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        try:
            time.sleep(0.02)
            return super().send(payload)
        finally:
            with cls.lock:
                cls.in_flight -= 1


class BrokenBackend(LocmemBackend):
    def send(self, payload):
        if payload["biz_opaque_callback_data"] == "k1":
            raise RuntimeError("a bug in a custom backend")
        return super().send(payload)


@pytest.fixture
def order_template(db):
    template("order_confirmation", params=2)


def queue(contacts, prefix="k"):
    return [
        enqueue_template(
            contact,
            "transactional",
            key=f"{prefix}{i}",
            template_name="order_confirmation",
            language="en",
            parameters=["Lena", str(i)],
        )
        for i, contact in enumerate(contacts)
    ]


def people(count, start=0):
    return [consenting(f"+4915123{i:06d}", "transactional") for i in range(start, start + count)]


def test_queries_per_batch_do_not_grow_with_its_size(order_template):
    def queries_for(count, prefix, start):
        messages = queue(people(count, start), prefix)
        with CaptureQueriesContext(connection) as captured:
            done = dispatch_batch([m.pk for m in messages])
        assert [m.status for m in done] == ["sent"] * count
        return len(captured.captured_queries)

    queries_for(1, "warm-up", 200)  # the first batch creates the channel-status row
    small = queries_for(3, "a", 0)
    large = queries_for(30, "b", 100)
    assert large == small, (small, large)


def test_each_row_gets_its_own_outcome(order_template):
    allowed, withdrawn = people(2)
    no_consent = consenting("+966501234567", "marketing")
    messages = queue([allowed, withdrawn, no_consent])
    from wagtail_wa_consent.consent import service
    from wagtail_wa_consent.consent.evidence import Evidence

    service.withdraw(withdrawn, Evidence(source="whatsapp", user_action="STOP"), ["transactional"])
    done = {m.idempotency_key: m for m in dispatch_batch([m.pk for m in messages])}
    assert (done["k0"].status, done["k0"].wamid) == ("sent", locmem.outbox[0]["_message_id"])
    assert (done["k1"].status, done["k1"].reason) == ("denied", "withdrawn")
    assert (done["k2"].status, done["k2"].reason) == ("denied", "no_consent")
    assert len(locmem.outbox) == 1


@wa_settings(PAIR_LIMIT=2, PAIR_WINDOW_SECONDS=60)
def test_pair_limit_lets_the_first_messages_of_a_recipient_through(order_template):
    (contact,) = people(1)
    messages = queue([contact] * 3)
    done = dispatch_batch([m.pk for m in messages])
    assert [(m.status, m.reason) for m in done] == [("sent", ""), ("sent", ""), ("queued", "pair_rate_limit")]


@wa_settings(THROUGHPUT_PER_SECOND=4)
def test_throughput_limit_defers_the_overflow_of_a_batch(order_template):
    messages = queue(people(6))
    done = dispatch_batch([m.pk for m in messages])
    assert [m.status for m in done].count("sent") == 4
    assert {m.reason for m in done if m.status == "queued"} == {"throughput_limit"}


@wa_settings(BACKEND=CONCURRENT, DISPATCH_CONCURRENCY=8)
def test_network_backends_send_a_batch_concurrently(order_template):
    SlowConcurrentBackend.most_in_flight = 0
    messages = queue(people(16))
    done = dispatch_batch([m.pk for m in messages])
    assert all(m.status == "sent" and m.wamid for m in done)
    assert 1 < SlowConcurrentBackend.most_in_flight <= 8
    assert len({m.wamid for m in done}) == 16


@wa_settings(BACKEND=CONCURRENT, DISPATCH_CONCURRENCY=8, PAIR_LIMIT=10)
def test_one_recipients_messages_are_sent_in_queue_order_never_in_parallel(order_template):
    SlowConcurrentBackend.most_in_flight = 0
    first, second = people(2)
    messages = queue([first, second, first, second, first, second], prefix="m")
    dispatch_batch([m.pk for m in messages])
    sent = [(p["to"], p["biz_opaque_callback_data"]) for p in locmem.outbox]
    for contact in (first, second):
        keys = [key for to, key in sent if to == contact.phone_e164.lstrip("+")]
        expected = [m.idempotency_key for m in messages if m.contact_id == contact.pk]
        assert keys == expected  # in the order they were queued
    assert SlowConcurrentBackend.most_in_flight == 2  # one per recipient at a time


@wa_settings(BACKEND="tests.messaging.test_batch_dispatch.BrokenBackend")
def test_a_backend_bug_surfaces_after_every_other_send_is_recorded(order_template):
    messages = queue(people(3))
    with pytest.raises(RuntimeError):
        dispatch_batch([m.pk for m in messages])
    statuses = dict(OutboundMessage.objects.values_list("idempotency_key", "status"))
    # The failed row stays claimed: the sweep re-queues it after SENDING_TIMEOUT_SECONDS.
    assert statuses == {"k0": "sent", "k1": "sending", "k2": "sent"}


def test_a_status_webhook_that_came_first_is_not_undone(order_template, monkeypatch):
    """Meta's "delivered" can overtake our own write of "sent"; the row must keep "delivered"."""
    (message,) = queue(people(1))
    real_send = LocmemBackend.send

    def send_then_status_arrives(self, payload):
        wamid = real_send(self, payload)
        OutboundMessage.objects.filter(pk=message.pk).update(status="delivered", wamid=wamid)
        return wamid

    monkeypatch.setattr(LocmemBackend, "send", send_then_status_arrives)
    (done,) = dispatch_batch([message.pk])
    assert (done.status, done.wamid) == ("delivered", locmem.outbox[0]["_message_id"])
    assert done.sent_at is not None


@wa_settings(DISPATCH_BATCH_SIZE=7)
def test_dispatch_due_drains_every_due_row_in_batches(order_template, monkeypatch):
    messages = queue(people(20))
    sizes = []
    real = dispatcher.dispatch_batch

    def counting(*args, **kwargs):
        batch = real(*args, **kwargs)
        sizes.append(len(batch))
        return batch

    monkeypatch.setattr(dispatcher, "dispatch_batch", counting)
    assert dispatch_due() == 20
    assert sizes == [7, 7, 6, 0]
    assert OutboundMessage.objects.filter(pk__in=[m.pk for m in messages], status="sent").count() == 20


def test_a_row_is_claimed_once(order_template):
    (message,) = queue(people(1))
    assert dispatch_batch([message.pk])[0].status == "sent"
    assert dispatch_batch([message.pk]) == []
    assert len(locmem.outbox) == 1
