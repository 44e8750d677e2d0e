"""Web opt-ins and webhooks (Yes, STOP, statuses, Meta's retries) from several threads at once.

On SQLite the threads take turns at the write lock; on PostgreSQL (CI runs the suite on both)
they really race for the same contacts. Afterwards every chain verifies, every cached state
matches its ledger, every delivery is processed once, and every ledger event is accounted for by
exactly one accepted operation: nothing lost, nothing invented.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import close_old_connections, connection, transaction

from tests.messaging.helpers import button_reply, status_update, template, text_message
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.models import ConsentEvent, Contact
from wagtail_wa_consent.messaging.double_opt_in import request_double_opt_in
from wagtail_wa_consent.messaging.models import InboundMessage, OutboundMessage, WebhookDelivery
from wagtail_wa_consent.webhooks.ingest import ingest
from wagtail_wa_consent.webhooks.keywords import PAYLOAD_YES
from wagtail_wa_consent.webhooks.signature import sign

from ..messaging.helpers import APP_SECRET

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 6
OPERATIONS_PER_THREAD = 25
PHONES = [f"+49151000000{i:02d}" for i in range(8)]  # few numbers: the threads collide on them
CATEGORIES = ["marketing", "transactional"]


def web_evidence() -> Evidence:
    return Evidence(
        source="web_block",
        user_action="ticked marketing, transactional and submitted the form",
        wording="Yes, Test Shop GmbH may send me offers and order updates on WhatsApp.",
        language="en",
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (concurrency test)",
    )


@dataclass
class Outcome:
    """What the operations were told: the evidence the ledger must account for."""

    requested: int = 0
    yes_wamids: list[str] = field(default_factory=list)
    stop_wamids: list[str] = field(default_factory=list)
    deliveries: set[int] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def deliver(document: dict, outcome: Outcome, *, twice: bool = False) -> None:
    """Ingest a signed delivery as the view does (its processing runs on commit, eagerly)."""
    body = json.dumps(document).encode()
    for _ in range(2 if twice else 1):  # Meta's retry of the same bytes
        result = ingest(body, sign(body, APP_SECRET))
        with outcome.lock:
            outcome.statuses[result.status] += 1
            if result.delivery_id:
                outcome.deliveries.add(result.delivery_id)


def operate(seed: int, outcome: Outcome) -> None:
    rng = random.Random(seed)
    try:
        for n in range(OPERATIONS_PER_THREAD):
            phone = rng.choice(PHONES)
            wa_id = phone.lstrip("+")
            wamid = f"wamid.T{seed}.{n}"
            kind = rng.choices(["opt_in", "yes", "stop", "status"], weights=[4, 4, 2, 1])[0]
            if kind == "opt_in":
                with transaction.atomic():  # as the opt-in view records it
                    contact = service.get_or_create_contact(phone)
                    events, _message = request_double_opt_in(contact, CATEGORIES, web_evidence())
                with outcome.lock:
                    outcome.requested += len(events)
            elif kind == "yes":
                deliver(button_reply(wa_id, PAYLOAD_YES, "Yes", wamid), outcome, twice=rng.random() < 0.3)
                with outcome.lock:
                    outcome.yes_wamids.append(wamid)
            elif kind == "stop":
                deliver(text_message(wa_id, "STOP", wamid), outcome, twice=rng.random() < 0.3)
                with outcome.lock:
                    outcome.stop_wamids.append(wamid)
            else:
                deliver(status_update(f"wamid.unknown{seed}.{n}", "delivered", wa_id), outcome)
    except Exception as error:  # reported by the test, not lost in the thread
        outcome.errors.append(f"thread {seed}: {type(error).__name__}: {error}")
    finally:
        connection.close()  # this thread's own connection


def test_concurrent_opt_ins_and_webhooks_lose_nothing_and_keep_every_chain_valid():
    template("opt_in_confirmation", params=2)
    outcome = Outcome()
    threads = [threading.Thread(target=operate, args=(seed, outcome)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    close_old_connections()
    assert not any(thread.is_alive() for thread in threads), "a thread hung (a deadlock?)"
    assert not outcome.errors, outcome.errors
    assert set(outcome.statuses) == {200}, outcome.statuses

    # Every delivery stored once and processed without error.
    deliveries = WebhookDelivery.objects.all()
    assert set(deliveries.values_list("pk", flat=True)) == outcome.deliveries
    assert not deliveries.filter(processed_at__isnull=True).exists()
    assert not deliveries.exclude(error="").exists()
    wamids = outcome.yes_wamids + outcome.stop_wamids
    assert InboundMessage.objects.filter(wamid__in=wamids).count() == len(wamids)  # each once

    # Every chain verifies; every cached state is what its ledger says.
    report = verify_ledger()
    assert report.ok, report.broken
    for contact in Contact.objects.all():
        assert not state_cache_mismatches(contact), contact.pk

    # Every event is explained by exactly one accepted operation, and every operation is reflected.
    by_type = Counter(ConsentEvent.objects.values_list("event_type", flat=True))
    assert by_type["requested"] == outcome.requested
    confirmed = ConsentEvent.objects.filter(event_type="confirmed")
    withdrawn = ConsentEvent.objects.filter(event_type="withdrawn")
    assert set(confirmed.values_list("confirming_message_id", flat=True)) <= set(outcome.yes_wamids)
    assert set(withdrawn.values_list("confirming_message_id", flat=True)) <= set(outcome.stop_wamids)
    assert by_type.keys() <= {"requested", "confirmed", "withdrawn"}, by_type
    # Each STOP was answered once; each Yes that confirmed something was answered once.
    replies = set(OutboundMessage.objects.values_list("idempotency_key", flat=True))
    assert {f"reply:stop:{w}" for w in outcome.stop_wamids} <= replies
    answered = {key.removeprefix("reply:answer:") for key in replies if key.startswith("reply:answer:")}
    assert answered == set(confirmed.values_list("confirming_message_id", flat=True))
    # A Yes confirms what was pending at that moment: never more than one event per category.
    per_answer = Counter(confirmed.values_list("confirming_message_id", "category"))
    assert max(per_answer.values(), default=1) == 1
    assert by_type["requested"] > 0 and by_type["withdrawn"] > 0 and by_type["confirmed"] > 0
