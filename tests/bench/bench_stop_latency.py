"""STOP latency: from a signed STOP webhook POSTed to the sandbox until the consent gate is closed
(``can_send(contact, "marketing")`` denies), at a steady rate, in the production shape: gunicorn
serving the sandbox (webhook fast path), Redis as Celery broker, a Celery worker processing the
stored deliveries, PostgreSQL. Goal: p99 < 1 s. The STOP confirmations the sandbox sends go to
its built-in simulator (never to Meta), whose status webhooks come back through the same worker.
Linux only: the CPU line reads /proc, to show whether other work on the machine skewed a run.

Environment: BENCH_N contacts (300), BENCH_RATE STOPs per second (50), BENCH_TIMEOUT seconds a
gate may take before it counts as never closed (30), BENCH_POLL_MS poll interval (5),
BENCH_WORKERS / BENCH_THREADS gunicorn workers and threads (2 / 4), BENCH_CONCURRENCY Celery
worker processes (2).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from _harness import base_env, celery_worker, django_setup, gunicorn, migrate, percentile, redis

if TYPE_CHECKING:  # imported for real only after django_setup()
    from wagtail_wa_consent.consent.models import Contact

N = int(os.environ.get("BENCH_N", "300"))
RATE = float(os.environ.get("BENCH_RATE", "50"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "30"))
POLL = float(os.environ.get("BENCH_POLL_MS", "5")) / 1000
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# More than one thread makes gunicorn use gthread workers, which keep the client's connection alive.
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "2"))
#: Seconds to let the STOP confirmations settle before they are counted (information only).
REPLY_WAIT = 15.0
#: The simulator's token: without a real one the sandbox sends to its simulator, never to Meta.
SIMULATOR_TOKEN = "sandbox-simulator-token"
CATEGORIES = ["marketing", "transactional"]
#: Harmless signed deliveries sent before timing.
WARM_UP = 10


def wa_id(i: int) -> str:
    """Valid German mobile numbers (wa_id, no '+') apart from bench_webhook_ingest's; the final 1
    keeps them off the simulator's "ends in 0000 = unreachable" rule."""
    return f"491525{i:06d}1"


def envelope(value: dict[str, Any]) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1555", "phone_number_id": "PN"},
        **value,
    }
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


def stop_body(sender: str, wamid: str) -> bytes:
    message = {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": "STOP"},
    }
    return envelope({"contacts": [{"profile": {"name": "B"}, "wa_id": sender}], "messages": [message]})


def warm_up_body(wamid: str) -> bytes:
    """A status for a message nobody sent: stored and processed, but it changes nothing."""
    status = {
        "id": wamid,
        "status": "delivered",
        "timestamp": str(int(time.time())),
        "recipient_id": wa_id(0),
    }
    return envelope({"statuses": [status]})


def prepare_contacts(run: str) -> list[Contact]:
    """N contacts with confirmed marketing and transactional consent, reused across runs."""
    from django.utils import timezone

    from wagtail_wa_consent.consent import service
    from wagtail_wa_consent.consent.enums import OptInLevel, Status
    from wagtail_wa_consent.consent.evidence import Evidence
    from wagtail_wa_consent.consent.models import ConsentState
    from wagtail_wa_consent.simulator.models import SimPhone

    web = Evidence(
        source="web_block", user_action="ticked (benchmark)", wording="Yes, send me offers", language="en"
    )
    contacts = [service.get_or_create_contact("+" + wa_id(i)) for i in range(N)]
    ready = set(
        ConsentState.objects.filter(
            contact_id__in=[c.pk for c in contacts], category="marketing", status=Status.SUBSCRIBED
        )
        .filter(opt_in_level=OptInLevel.CONFIRMED)
        .values_list("contact_id", flat=True)
    ) & set(
        ConsentState.objects.filter(
            contact_id__in=[c.pk for c in contacts], category="transactional", status=Status.SUBSCRIBED
        ).values_list("contact_id", flat=True)
    )
    for i, contact in enumerate(contacts):
        if contact.pk not in ready:  # a previous run's STOP: a fresh double opt-in, as a person would
            service.request_opt_in(contact, CATEGORIES, web)
            yes = Evidence(
                source="whatsapp", user_action="tapped Yes", message_id=f"wamid.BENCHYES.{run}.{i}"
            )
            service.confirm(contact, yes)
    # Meta knows each person has just written, so the simulator must not refuse the STOP
    # confirmation as outside the 24-hour window (131047).
    SimPhone.objects.bulk_create(
        [SimPhone(digits=wa_id(i), last_inbound_at=timezone.now()) for i in range(N)],
        update_conflicts=True,
        unique_fields=["digits"],
        update_fields=["last_inbound_at", "unreachable", "marketing_stopped"],
    )
    return contacts


@dataclass
class Shared:
    """What the sender and the poller threads exchange; only the queue is written by both."""

    starts: queue.SimpleQueue[tuple[int, float]] = field(default_factory=queue.SimpleQueue)
    sender_done: threading.Event = field(default_factory=threading.Event)
    statuses: Counter[int] = field(default_factory=Counter)
    post_ms: list[float] = field(default_factory=list)
    sent_in: float = 0.0
    closed_ms: dict[int, float] = field(default_factory=dict)
    timed_out: list[int] = field(default_factory=list)


def warm_up(port: int, secret: str, run: str) -> float:
    """Boot both sides before timing (production is warm): gunicorn workers import Django after
    the port opens, and each Celery child imports the handlers on its first task. Returns seconds."""
    from wagtail_wa_consent.messaging.models import WebhookDelivery
    from wagtail_wa_consent.webhooks.signature import sign

    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for k in range(WARM_UP):
        raw = warm_up_body(f"wamid.BENCHWARM.{run}.{k}")
        connection.request(
            "POST", "/whatsapp/webhook/", body=raw, headers={"X-Hub-Signature-256": sign(raw, secret)}
        )
        connection.getresponse().read()
        time.sleep(0.06)  # longer than the drain window: one drain task each, spread over the children
    connection.close()
    deadline = time.monotonic() + 120
    while WebhookDelivery.objects.filter(processed_at__isnull=True).exists():
        if time.monotonic() > deadline:
            raise SystemExit("warm-up deliveries were not processed: is the Celery worker running?")
        time.sleep(0.1)
    return time.perf_counter() - began


def send(port: int, secret: str, run: str, contact_ids: list[int], shared: Shared) -> None:
    """One STOP per contact at RATE per second over one keep-alive connection, as Meta would."""
    from wagtail_wa_consent.webhooks.signature import sign

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.perf_counter()
    for i, contact_id in enumerate(contact_ids):
        # A fixed schedule (open loop): a slow answer does not lower the offered rate.
        delay = began + i / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        raw = stop_body(wa_id(i), f"wamid.BENCHSTOP.{run}.{i}")
        headers = {"X-Hub-Signature-256": sign(raw, secret), "Content-Type": "application/json"}
        started = time.perf_counter()
        shared.starts.put((contact_id, started))
        try:
            connection.request("POST", "/whatsapp/webhook/", body=raw, headers=headers)
            response = connection.getresponse()
            response.read()
            shared.statuses[response.status] += 1
        except (OSError, http.client.HTTPException) as error:
            shared.statuses[0] += 1
            print(f"  POST {i} failed: {type(error).__name__}")
            connection.close()  # http.client reconnects on the next request
        shared.post_ms.append((time.perf_counter() - started) * 1000)
    shared.sent_in = time.perf_counter() - began
    connection.close()
    shared.sender_done.set()


def poll(shared: Shared) -> None:
    """Watch the marketing consent states of contacts whose STOP is on its way, in one query per
    round (what can_send reads, without N queries per round). A close is stamped when the query
    that first sees it returns, so a latency is high by at most one poll interval and query."""
    from django.db import connection

    from wagtail_wa_consent.consent.enums import Status
    from wagtail_wa_consent.consent.models import ConsentState

    in_flight: dict[int, float] = {}
    try:
        while True:
            round_began = time.perf_counter()
            done = shared.sender_done.is_set()  # read before draining: no start can follow it
            while True:
                try:
                    contact_id, started = shared.starts.get_nowait()
                except queue.Empty:
                    break
                in_flight[contact_id] = started
            if not in_flight:
                if done:
                    return
            else:
                closed = list(
                    ConsentState.objects.filter(contact_id__in=list(in_flight), category="marketing")
                    .exclude(status=Status.SUBSCRIBED)
                    .values_list("contact_id", flat=True)
                )
                now = time.perf_counter()
                for contact_id in closed:
                    shared.closed_ms[contact_id] = (now - in_flight.pop(contact_id)) * 1000
                for contact_id, started in list(in_flight.items()):
                    if now - started > TIMEOUT:
                        shared.timed_out.append(contact_id)
                        del in_flight[contact_id]
            time.sleep(max(0.0, POLL - (time.perf_counter() - round_began)))
    finally:
        connection.close()  # this thread's own connection


def reply_outcomes(run: str) -> Counter[str]:
    """Statuses of the STOP confirmations the sandbox queued, once none is queued or sending."""
    from wagtail_wa_consent.messaging.models import OutboundMessage

    replies = OutboundMessage.objects.filter(idempotency_key__startswith=f"reply:stop:wamid.BENCHSTOP.{run}.")
    deadline = time.monotonic() + REPLY_WAIT
    while replies.filter(status__in=["queued", "sending"]).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return Counter(replies.values_list("status", flat=True))


def stored_to_withdrawn_ms(run: str) -> list[float]:
    """Per STOP, from its delivery row being stored (web process) to its withdrawal being recorded
    (worker), both from the database rows: splits the latency into HTTP + queue vs. the rest."""
    from wagtail_wa_consent.consent.models import ConsentEvent
    from wagtail_wa_consent.messaging.models import WebhookDelivery

    marker = f"wamid.BENCHSTOP.{run}."
    stored = {}
    for body, received_at in WebhookDelivery.objects.filter(body__contains=marker).values_list(
        "body", "received_at"
    ):
        # The simulator's statuses of the confirmations carry the marker too (in the callback data).
        for message in json.loads(body)["entry"][0]["changes"][0]["value"].get("messages", []):
            stored[message["id"]] = received_at
    withdrawn = ConsentEvent.objects.filter(
        confirming_message_id__startswith=marker, category="marketing", event_type="withdrawn"
    ).values_list("confirming_message_id", "occurred_at")
    return [(at - stored[w]).total_seconds() * 1000 for w, at in withdrawn if w in stored]


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process (Linux /proc), grouped as this benchmark's process tree,
    PostgreSQL or other: other work on the machine (a test suite) skews the figures."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    found: dict[int, tuple[str, float]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                raw = stat.read()
        except OSError:  # exited meanwhile
            continue
        name, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()
        parents[int(entry)] = int(rest[1])
        found[int(entry)] = (name, (int(rest[11]) + int(rest[12])) / tick)  # utime + stime
    ours, grew = {os.getpid()}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= children
        grew = bool(children)
    return {
        pid: ("benchmark" if pid in ours else "postgres" if name.startswith("postgres") else "other", used)
        for pid, (name, used) in found.items()
    }


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> Counter[str]:
    """CPU seconds per group between two snapshots (a process gone by ``after`` is not counted)."""
    used: Counter[str] = Counter()
    for pid, (group, seconds) in after.items():
        used[group] += seconds - before.get(pid, (group, 0.0))[1]
    return used


def main() -> None:
    run = uuid.uuid4().hex[:12]  # fresh wamids: the handlers ignore a wamid seen before
    with redis() as redis_url:
        env = base_env(
            CELERY_BROKER_URL=f"{redis_url}/0",  # processing is queued for the worker, not in the request
            REDIS_CACHE_URL=f"{redis_url}/2",  # rate limits shared by the worker processes, as in production
            WA_ACCESS_TOKEN=SIMULATOR_TOKEN,  # a real token in the environment would send the replies to Meta
        )
        migrate(env)
        django_setup(env)
        from wagtail_wa_consent.consent.gate import can_send
        from wagtail_wa_consent.messaging.models import WebhookDelivery

        # A backlog (bench_webhook_ingest leaves its deliveries unprocessed) would be drained first.
        WebhookDelivery.objects.filter(processed_at__isnull=True).delete()
        prepare_started = time.perf_counter()
        contacts = prepare_contacts(run)
        prepared_in = time.perf_counter() - prepare_started
        if any(not can_send(c, category) for c in contacts for category in CATEGORIES):
            raise SystemExit("setup failed: not every contact has confirmed consent")

        shared = Shared()
        with (
            celery_worker(env, concurrency=CONCURRENCY),
            gunicorn(env, workers=WORKERS, threads=THREADS) as port,
        ):
            warmed_in = warm_up(port, env["WA_APP_SECRET"], run)
            cpu_before, timed_from = cpu_by_process(), time.perf_counter()
            poller = threading.Thread(target=poll, args=(shared,), name="poller")
            poller.start()
            send(port, env["WA_APP_SECRET"], run, [c.pk for c in contacts], shared)
            poller.join()
            cpu = cpu_used(cpu_before, cpu_by_process())
            timed_for = time.perf_counter() - timed_from
            replies = reply_outcomes(run)
        split = stored_to_withdrawn_ms(run)
        marketing_open = [c.pk for c in contacts if can_send(c, "marketing")]
        transactional_open = [c.pk for c in contacts if can_send(c, "transactional")]

    latencies = list(shared.closed_ms.values())
    print(
        f"STOP -> gate closed: {N} contacts at {RATE:g} STOP/s (sent in {shared.sent_in:.1f} s), "
        f"gunicorn {WORKERS} workers x {THREADS} threads, Celery concurrency {CONCURRENCY}, "
        f"poll {POLL * 1000:g} ms (setup {prepared_in:.1f} s, warm-up {warmed_in:.1f} s)"
    )
    print(
        f"  acknowledged 200: {shared.statuses[200]}/{N}, other: "
        f"{dict(s for s in shared.statuses.items() if s[0] != 200) or 'none'}; POST ms p50 "
        f"{percentile(shared.post_ms, 50):.1f} p99 {percentile(shared.post_ms, 99):.1f}"
    )
    if latencies:
        print(
            f"  gate closed, ms: p50 {percentile(latencies, 50):.0f}  p95 {percentile(latencies, 95):.0f}  "
            f"p99 {percentile(latencies, 99):.0f}  max {max(latencies):.0f}  (count {len(latencies)})"
        )
    if split:
        print(
            f"  part of it, delivery stored -> withdrawal recorded (database timestamps), ms: "
            f"p50 {percentile(split, 50):.0f}  p99 {percentile(split, 99):.0f}  max {max(split):.0f}"
        )
    print(f"  never closed within {TIMEOUT:g} s (failures): {len(shared.timed_out)}", end="")
    print(f" - contact ids {sorted(shared.timed_out)[:50]}" if shared.timed_out else "")
    print(
        f"  can_send at the end: marketing still allowed for {len(marketing_open)}, "
        f"transactional for {len(transactional_open)}"
        + (
            f" - contact ids {sorted(set(marketing_open + transactional_open))[:50]}"
            if marketing_open or transactional_open
            else ""
        )
    )
    print(
        f"  CPU while timing, cores busy on average (of {os.cpu_count()}): this benchmark "
        f"{cpu['benchmark'] / timed_for:.2f}, PostgreSQL {cpu['postgres'] / timed_for:.2f}, "
        f"other processes {cpu['other'] / timed_for:.2f}"
    )
    print(f"  STOP confirmations (simulator, once none is queued or sending): {dict(replies) or 'none'}")
    failed = len(shared.timed_out) + len(marketing_open) + (N - shared.statuses[200])
    met = bool(latencies) and not failed and percentile(latencies, 99) < 1000
    print(f"  goal p99 < 1000 ms with no failures: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
