"""Webhook ingest: signed deliveries per second acknowledged durably (stored before the 200),
with latency percentiles, against the sandbox under gunicorn on loopback."""

from __future__ import annotations

import json
import os
import time

from _harness import base_env, django_setup, gunicorn, migrate, percentile, redis

N = int(os.environ.get("BENCH_N", "5000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
CLIENT_PROCESSES = int(os.environ.get("BENCH_CLIENT_PROCESSES", "2"))


def body(i: int) -> bytes:
    message = {
        "from": f"49151{i:08d}",
        "id": f"wamid.BENCH{i}",
        "timestamp": "1900000000",
        "type": "text",
        "text": {"body": "hello"},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1555", "phone_number_id": "PN"},
        "contacts": [{"profile": {"name": "B"}, "wa_id": message["from"]}],
        "messages": [message],
    }
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


def _client_process(args: tuple[int, str, list[int]]) -> tuple[list[float], int]:
    """One load process: THREADS keep-alive connections (http.client is far lighter than httpx)."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    from wagtail_wa_consent.webhooks.signature import sign

    port, secret, numbers = args
    threads = max(1, CONCURRENCY // CLIENT_PROCESSES)
    chunks = [numbers[i::threads] for i in range(threads)]

    def run(chunk: list[int]) -> tuple[list[float], int]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, failures = [], 0
        for i in chunk:
            raw = body(i)
            headers = {"X-Hub-Signature-256": sign(raw, secret), "Content-Type": "application/json"}
            started = time.perf_counter()
            connection.request("POST", "/whatsapp/webhook/", body=raw, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            failures += response.status != 200
        return latencies, failures

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(run, chunks))
    return [x for lat, _ in results for x in lat], sum(f for _, f in results)


def load(port: int, secret: str) -> tuple[float, list[float], int]:
    from multiprocessing import get_context

    slices = [list(range(N))[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    with get_context("fork").Pool(CLIENT_PROCESSES) as pool:
        started = time.perf_counter()
        results = pool.map(_client_process, [(port, secret, numbers) for numbers in slices])
        elapsed = time.perf_counter() - started
    return elapsed, [x for lat, _ in results for x in lat], sum(f for _, f in results)


def main() -> None:
    with redis() as redis_url:
        env = base_env(CELERY_BROKER_URL=f"{redis_url}/0")  # processing is queued, not done in the request
        migrate(env)
        django_setup(env)
        from wagtail_wa_consent.messaging.models import WebhookDelivery

        WebhookDelivery.objects.all().delete()
        with gunicorn(env, workers=WORKERS, threads=THREADS) as port:
            elapsed, latencies, failures = load(port, env["WA_APP_SECRET"])
        stored = WebhookDelivery.objects.count()
    print(
        f"webhook ingest: {N} signed deliveries, concurrency {CONCURRENCY}, "
        f"gunicorn {WORKERS} workers x {THREADS} threads"
    )
    print(
        f"  acknowledged: {N / elapsed:,.0f} deliveries/s ({elapsed:.2f} s), "
        f"non-200: {failures}, stored: {stored}"
    )
    print(
        f"  latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
        f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}"
    )


if __name__ == "__main__":
    main()
