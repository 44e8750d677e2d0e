"""Dispatch throughput, end to end: queued outbox rows -> gate, template rules, rate limits ->
HTTP to the simulator's Graph API over loopback -> "sent" with the wamid written back.

The same number of template messages is then sent with pywa's client from as many threads as the
dispatcher keeps in flight, to the same simulator, for a ratio: if the ratio is near 1, the
simulator (standing in for Meta) is the limit, not the plugin.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _harness import ROOT, base_env, canned_graph_api, celery_worker, django_setup, gunicorn, migrate, redis

N = int(os.environ.get("BENCH_N", "5000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # gunicorn workers serving the simulator
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
DISPATCHERS = int(os.environ.get("BENCH_DISPATCHERS", "1"))  # Celery worker processes
CONCURRENCY = int(os.environ.get("BENCH_SEND_CONCURRENCY", "16"))  # sends in flight per dispatcher
BATCH = int(os.environ.get("BENCH_BATCH", "200"))
TOKEN = "bench-graph-token"  # not the sandbox's simulator token, so the Cloud API backend is used


def prepare(n: int) -> list[int]:
    """N contacts with transactional consent (recorded through the ledger once, then reused by
    later runs) and one queued order message each. Not timed."""
    from django.utils import timezone

    from wagtail_wa_consent.consent import service
    from wagtail_wa_consent.consent.evidence import Evidence
    from wagtail_wa_consent.consent.models import ConsentState, Contact
    from wagtail_wa_consent.messaging.models import OutboundMessage
    from wagtail_wa_consent.simulator.models import SimMessage
    from wagtail_wa_consent.simulator.seed import copy_to_registry

    OutboundMessage.objects.filter(idempotency_key__startswith="bench:").delete()
    SimMessage.objects.all().delete()
    copy_to_registry(["order_confirmation"])
    phones = [f"+49151{i:08d}" for i in range(1, n + 1)]
    consenting = set(
        ConsentState.objects.filter(
            contact__phone_e164__in=phones, category="transactional", status="subscribed"
        ).values_list("contact__phone_e164", flat=True)
    )
    evidence = Evidence(
        source="checkout", user_action="ticked order updates", wording="Order updates on WhatsApp"
    )
    for phone in phones:
        if phone not in consenting:
            service.grant_single_opt_in(service.get_or_create_contact(phone), ["transactional"], evidence)
    contacts = Contact.objects.filter(phone_e164__in=phones).order_by("pk")
    now = timezone.now()
    rows = OutboundMessage.objects.bulk_create(
        OutboundMessage(
            contact=c,
            category="transactional",
            idempotency_key=f"bench:{c.pk}",
            kind="template",
            template_name="order_confirmation",
            template_language="en",
            parameters=["Lena", str(c.pk), "€9.99"],
            next_attempt_at=now,
        )
        for c in contacts
    )
    return [r.pk for r in rows]


def run_dispatcher(pks: list[int]) -> float:
    from wagtail_wa_consent.messaging.models import OutboundMessage
    from wagtail_wa_consent.tasks import dispatch_due

    started = time.perf_counter()
    for _ in range(DISPATCHERS * 2):  # each worker process drains batches until nothing is due
        dispatch_due.delay()
    while True:
        left = OutboundMessage.objects.filter(pk__in=pks).exclude(status="sent").count()
        if not left:
            return time.perf_counter() - started
        if time.perf_counter() - started > 300:
            raise SystemExit(f"{left} messages still not sent after 300 s")
        time.sleep(0.02)


class ToSimulator(httpx.HTTPTransport):
    """pywa always talks to graph.facebook.com: send its requests to the simulator instead."""

    def __init__(self, port: int) -> None:
        super().__init__(
            limits=httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        )
        self.port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme="http", host="127.0.0.1", port=self.port, path="/wa-simulator/graph" + request.url.path
        )
        request.headers["Host"] = f"127.0.0.1:{self.port}"
        return super().handle_request(request)


def run_pywa(port: int, n: int) -> float:
    from pywa import WhatsApp

    wa = WhatsApp(phone_id="SIMPHONE", token=TOKEN, session=httpx.Client(transport=ToSimulator(port)))
    numbers = iter(range(10_000_001, 10_000_001 + n))
    lock = threading.Lock()

    def send_some() -> None:
        while True:
            with lock:
                i = next(numbers, None)
            if i is None:
                return
            wa.api.send_message(
                sender="SIMPHONE",
                to=f"49151{i:08d}",
                recipient=None,
                recipient_type="individual",
                typ="template",
                msg={
                    "name": "order_confirmation",
                    "language": {"code": "en"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [{"type": "text", "text": t} for t in ("Lena", str(i), "€9.99")],
                        }
                    ],
                },
                biz_opaque_callback_data=f"pywa:{i}",
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY * DISPATCHERS) as pool:
        for future in [pool.submit(send_some) for _ in range(CONCURRENCY * DISPATCHERS)]:
            future.result()
    return time.perf_counter() - started


def main() -> None:
    with redis() as redis_url:
        env = base_env(
            DJANGO_SETTINGS_MODULE="bench_settings",
            CELERY_BROKER_URL=f"{redis_url}/0",
            REDIS_CACHE_URL=f"{redis_url}/2",  # the rate limits every worker shares
            WA_ACCESS_TOKEN=TOKEN,
            WA_PHONE_NUMBER_ID="SIMPHONE",
            WA_BUSINESS_ACCOUNT_ID="SIMWABA",
            BENCH_BATCH=str(BATCH),
            BENCH_SEND_CONCURRENCY=str(CONCURRENCY),
        )
        env["PYTHONPATH"] += os.pathsep + str(ROOT / "tests" / "bench")
        migrate(env)
        with gunicorn(env, workers=WORKERS, threads=THREADS) as port:
            env["WA_GRAPH_API_URL"] = f"http://127.0.0.1:{port}/wa-simulator/graph"
            django_setup(env)
            from wagtail_wa_consent.messaging.models import OutboundMessage
            from wagtail_wa_consent.simulator.models import SimMessage

            pks = prepare(N)
            with celery_worker(env, concurrency=DISPATCHERS):
                ours = run_dispatcher(pks)
            sent = OutboundMessage.objects.filter(pk__in=pks, status="sent").exclude(wamid=None).count()
            accepted = SimMessage.objects.filter(callback_data__startswith="bench:").count()
            theirs = run_pywa(port, N)
        # The dispatcher's own ceiling: the same rows against a server that only says "accepted".
        with canned_graph_api() as canned_port:
            env["WA_GRAPH_API_URL"] = f"http://127.0.0.1:{canned_port}"
            pks = prepare(N)
            with celery_worker(env, concurrency=DISPATCHERS):
                ceiling = run_dispatcher(pks)
    print(
        f"dispatch: {N} template messages, simulator on gunicorn {WORKERS}x{THREADS}, "
        f"{DISPATCHERS} Celery worker(s), batches of {BATCH}, {CONCURRENCY} sends in flight each"
    )
    print(
        f"  wagtail-wa-consent -> simulator: {N / ours:,.0f} messages/s ({ours:.2f} s); "
        f"sent with wamid {sent}, accepted by the simulator {accepted}"
    )
    print(
        f"  pywa -> simulator, {CONCURRENCY * DISPATCHERS} threads: "
        f"{N / theirs:,.0f} messages/s ({theirs:.2f} s)"
    )
    print(f"  ratio wagtail-wa-consent / pywa: {theirs / ours:.2f}")
    print(f"  wagtail-wa-consent -> canned loopback API (its own ceiling): {N / ceiling:,.0f} messages/s")


if __name__ == "__main__":
    main()
