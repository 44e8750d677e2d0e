"""Load on loopback: web opt-ins through the real form and signed webhooks at the same time, then
proof that nothing was lost and every consent ledger chain still verifies.

The production shape: gunicorn serving the sandbox (webhooks on the fast path), Redis as Celery
broker, a Celery worker processing the stored deliveries and sending to the built-in simulator
(never to Meta), PostgreSQL. For BENCH_SECONDS, BENCH_CLIENTS threads each mix:

* web opt-ins: GET the demo page with the opt-in block, read its CSRF and form token, POST the
  form with a fresh number (marketing and transactional ticked);
* follow-ups for numbers that opted in: a "Yes" button reply quoting the confirmation request it
  answers (context id = the request's wamid, once the worker has sent it) and/or a STOP, sent by
  whichever client gets there first, so Yes and STOP of one number race;
* contention on five "hot" subscribed numbers: STOP, START and Yes from every client at once;
* delivery statuses of the confirmation requests; a tenth of all webhooks is sent twice, as Meta
  retries.

Afterwards, once every stored delivery is processed: every chain verifies, every cached consent
state equals its ledger, no 5xx, and every accepted operation is reflected: two ``requested``
events per accepted opt-in, one ``withdrawn`` per offered category per STOP (carrying its wamid),
two ``confirmed`` per Yes that met a pending request (never after its STOP), an inbound row per
message, a reply per STOP. Prints requests/s, latency percentiles per kind and every violation found.

Environment: DATABASE_URL (PostgreSQL the benchmark may migrate; a database of its own is best:
verify_ledger reads every chain in it), BENCH_SECONDS (30), BENCH_CLIENTS (8), BENCH_WORKERS /
BENCH_THREADS gunicorn workers and threads (2 / 4), BENCH_CONCURRENCY Celery worker processes
(2), BENCH_MIN_RESPONSE the opt-in answer floor OPT_IN_MIN_RESPONSE_SECONDS (0 here, so the
database sees the most concurrency; the plugin's default is 0.25 s).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

from _harness import ROOT, base_env, celery_worker, django_setup, gunicorn, migrate, percentile, redis

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "2"))
MIN_RESPONSE = float(os.environ.get("BENCH_MIN_RESPONSE", "0"))
#: Seconds to wait for the worker to process every stored delivery after the load stops.
SETTLE_TIMEOUT = 300.0
#: Seconds a Yes waits for its confirmation request's wamid before it is sent without context.
CONTEXT_WAIT = 10.0
SIMULATOR_TOKEN = "sandbox-simulator-token"
PAGE = "/whatsapp-updates/"  # the demo page with the opt-in block (sandbox_demo_data)
CATEGORIES = ("marketing", "transactional")
HOT = 5

_SETTINGS = """
from sandbox_site.settings import *  # noqa: F403

# Every client posts from 127.0.0.1 and reuses nothing: the limits have their own tests.
WAGTAIL_WA_CONSENT = {
    **WAGTAIL_WA_CONSENT,
    "OPT_IN_IP_LIMIT": 10**9,
    "OPT_IN_PHONE_LIMIT": 10**9,
    "OPT_IN_MIN_RESPONSE_SECONDS": %(min_response)r,
}
# The simulator refuses free-form replies "outside the window" (it never saw the benchmark's
# inbound messages): expected, and not what this benchmark measures.
LOGGING = {**LOGGING, "loggers": {"wagtail_wa_consent": {"level": "ERROR"}}}
"""

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_TOKEN = re.compile(r'name="token" value="([^"]+)"')


@dataclass
class Number:
    """One fresh number's script and what the clients were told about it."""

    phone: str
    yes: bool
    stop: bool
    opted_in_at: float = 0.0
    yes_wamids: list[str] = field(default_factory=list)
    stop_wamids: list[str] = field(default_factory=list)
    yes_without_context: bool = False


@dataclass
class Shared:
    run: str
    port: int
    secret: str
    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    follow_ups: deque = field(default_factory=deque)
    numbers: dict[str, Number] = field(default_factory=dict)
    hot: list[str] = field(default_factory=list)
    hot_stops: list[str] = field(default_factory=list)
    inbound_wamids: list[str] = field(default_factory=list)
    doi_wamids: list[str] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    opt_ins_refused: int = 0
    next_number: int = 0
    failures: list[str] = field(default_factory=list)

    def fresh_phone(self) -> str:
        with self.lock:
            self.next_number += 1
            n = self.next_number
        return f"+49151{self.run[:2]}{n:05d}1"  # valid, and never ends in the simulator's "0000"


def wa(phone: str) -> str:
    return phone.lstrip("+")


def body(value: dict) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1555", "phone_number_id": "PN"},
        **value,
    }
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(document).encode()


def message_body(phone: str, wamid: str, message: dict) -> bytes:
    message = {"from": wa(phone), "id": wamid, "timestamp": str(int(time.time())), **message}
    return body({"contacts": [{"profile": {"name": "Load"}, "wa_id": wa(phone)}], "messages": [message]})


def timed(shared: Shared, kind: str, call):
    started = time.perf_counter()
    try:
        response = call()
    except Exception as error:  # a refused connection, a timeout: counted, never fatal
        with shared.lock:
            shared.statuses[kind][type(error).__name__] += 1
        return None
    elapsed = (time.perf_counter() - started) * 1000
    with shared.lock:
        shared.latency[kind].append(elapsed)
        shared.statuses[kind][response.status_code] += 1
    return response


def post_webhook(http, shared: Shared, kind: str, raw: bytes, rng: random.Random) -> bool:
    from wagtail_wa_consent.webhooks.signature import sign

    headers = {"X-Hub-Signature-256": sign(raw, shared.secret), "Content-Type": "application/json"}
    ok = True
    for _ in range(2 if rng.random() < 0.1 else 1):  # Meta retries the same bytes
        response = timed(shared, kind, lambda: http.post("/whatsapp/webhook/", content=raw, headers=headers))
        ok = ok and response is not None and response.status_code == 200
    return ok


# --- the clients' operations --------------------------------------------------------------------


def opt_in(http, shared: Shared, rng: random.Random) -> None:
    page = timed(shared, "page GET", lambda: http.get(PAGE))
    if page is None or page.status_code != 200:
        return
    csrf, token = _CSRF.search(page.text), _TOKEN.search(page.text)
    if not (csrf and token):
        shared.failures.append("the opt-in page has no form token")
        return
    phone = shared.fresh_phone()
    data = {
        "csrfmiddlewaretoken": csrf.group(1),
        "token": token.group(1),
        "country": "DE",
        "phone": phone,
        "categories": list(CATEGORIES),
    }
    response = timed(shared, "opt-in POST", lambda: http.post("/whatsapp/opt-in/", data=data))
    if response is None or response.status_code != 303:
        return
    if not response.headers.get("location", "").endswith("-status"):
        with shared.lock:
            shared.opt_ins_refused += 1
        return
    number = Number(phone, yes=rng.random() < 0.7, stop=rng.random() < 0.5, opted_in_at=time.monotonic())
    with shared.lock:
        shared.numbers[phone] = number
        if number.yes:
            shared.follow_ups.append(("yes", phone))
        if number.stop:
            shared.follow_ups.append(("stop", phone))


def confirmation_wamid(phone: str) -> str | None:
    """The wamid of the confirmation request the worker sent to ``phone`` (what a Yes quotes)."""
    from wagtail_wa_consent.messaging.models import OutboundMessage

    return (
        OutboundMessage.objects.filter(contact__phone_e164=phone, idempotency_key__startswith="doi:")
        .exclude(wamid=None)
        .values_list("wamid", flat=True)
        .first()
    )


def follow_up(http, shared: Shared, rng: random.Random) -> bool:
    from wagtail_wa_consent.webhooks.keywords import PAYLOAD_YES

    with shared.lock:
        if not shared.follow_ups:
            return False
        kind, phone = shared.follow_ups.popleft()
        number = shared.numbers[phone]
    wamid = f"wamid.LOAD{shared.run}.{uuid.uuid4().hex[:12]}"
    if kind == "yes":
        context = confirmation_wamid(phone)
        if context is None and time.monotonic() - number.opted_in_at < CONTEXT_WAIT:
            with shared.lock:
                shared.follow_ups.append((kind, phone))  # not sent yet: answer it later
            return False
        message = {"type": "button", "button": {"payload": PAYLOAD_YES, "text": "Yes"}}
        if context:
            message["context"] = {"from": "1555", "id": context}
            with shared.lock:
                shared.doi_wamids.append(context)
        number.yes_without_context = context is None
        with shared.lock:
            number.yes_wamids.append(wamid)
            shared.inbound_wamids.append(wamid)
        post_webhook(http, shared, "webhook Yes", message_body(phone, wamid, message), rng)
    else:
        with shared.lock:
            number.stop_wamids.append(wamid)
            shared.inbound_wamids.append(wamid)
        raw = message_body(phone, wamid, {"type": "text", "text": {"body": "STOP"}})
        post_webhook(http, shared, "webhook STOP", raw, rng)
    return True


def hot_contention(http, shared: Shared, rng: random.Random) -> None:
    from wagtail_wa_consent.webhooks.keywords import PAYLOAD_YES

    phone = rng.choice(shared.hot)
    wamid = f"wamid.LOADHOT{shared.run}.{uuid.uuid4().hex[:12]}"
    kind = rng.choice(["STOP", "START", "Yes"])
    if kind == "Yes":
        message = {"type": "button", "button": {"payload": PAYLOAD_YES, "text": "Yes"}}
    else:
        message = {"type": "text", "text": {"body": kind}}
    with shared.lock:
        shared.inbound_wamids.append(wamid)
        if kind == "STOP":
            shared.hot_stops.append(wamid)
    post_webhook(http, shared, f"webhook hot {kind}", message_body(phone, wamid, message), rng)


def status(http, shared: Shared, rng: random.Random) -> None:
    with shared.lock:
        known = list(shared.doi_wamids[-50:])
    if not known:
        return
    item = {
        "id": rng.choice(known),
        "status": rng.choice(["delivered", "read"]),
        "timestamp": str(int(time.time())),
        "recipient_id": "4915100000000",
    }
    post_webhook(http, shared, "webhook status", body({"statuses": [item]}), rng)


def client(index: int, shared: Shared) -> None:
    import httpx
    from django.db import connection

    rng = random.Random(f"{shared.run}-{index}")
    http = httpx.Client(base_url=f"http://127.0.0.1:{shared.port}", timeout=60, follow_redirects=False)
    try:
        while time.monotonic() < shared.deadline:
            roll = rng.random()
            if roll < 0.40:
                opt_in(http, shared, rng)
            elif roll < 0.80:
                if not follow_up(http, shared, rng):
                    opt_in(http, shared, rng)
            elif roll < 0.92:
                hot_contention(http, shared, rng)
            else:
                status(http, shared, rng)
    except Exception as error:  # a bug in the benchmark itself: reported, not silently lost
        shared.failures.append(f"client {index}: {type(error).__name__}: {error}")
    finally:
        http.close()
        connection.close()


# --- setup, settle, checks ----------------------------------------------------------------------


def prepare(env: dict[str, str], run: str) -> list[str]:
    """Demo data (the page with the opt-in block, templates), five subscribed hot numbers."""
    subprocess.run(
        [sys.executable, str(ROOT / "sandbox" / "manage.py"), "sandbox_demo_data", "-v", "0"],
        env=env,
        check=True,
    )
    from wagtail_wa_consent.consent import service
    from wagtail_wa_consent.consent.evidence import Evidence

    web = Evidence(
        source="web_block",
        user_action="ticked (load benchmark)",
        wording="Yes, send me offers",
        language="en",
    )
    hot = []
    for i in range(HOT):
        phone = f"+49151{run[:2]}99{i:03d}1"
        contact = service.get_or_create_contact(phone)
        service.request_opt_in(contact, list(CATEGORIES), web)
        yes = Evidence(source="whatsapp", user_action="tapped Yes", message_id=f"wamid.LOADSETUP{run}.{i}")
        service.confirm(contact, yes)
        hot.append(phone)
    return hot


def unused_prefix() -> str:
    """Two digits no earlier run's numbers (+49151<two digits>...) start with."""
    from wagtail_wa_consent.consent.models import Contact

    for prefix in random.sample(range(10, 100), 90):
        if not Contact.objects.filter(phone_e164__startswith=f"+49151{prefix}").exists():
            return str(prefix)
    raise SystemExit("every number prefix is used: point DATABASE_URL at a fresh database")


def warm_up(port: int) -> float:
    """One opt-in through the form before timing (gunicorn workers import Django after the port
    opens; the page's wording is stored once, as on any live site)."""
    import httpx

    began = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        page = http.get(PAGE)
        data = {
            "csrfmiddlewaretoken": _CSRF.search(page.text).group(1),
            "token": _TOKEN.search(page.text).group(1),
            "country": "DE",
            "phone": "+4915100000001",
            "categories": list(CATEGORIES),
        }
        response = http.post("/whatsapp/opt-in/", data=data)
        if response.status_code != 303:
            raise SystemExit(f"warm-up opt-in answered {response.status_code}")
        for _ in range(WORKERS * THREADS):
            http.get(PAGE)
    return time.perf_counter() - began


def settle(started_at) -> float:
    """Wait until every delivery stored since ``started_at`` is processed and no new one arrives
    (the simulator's statuses of the replies keep coming for a while)."""
    from wagtail_wa_consent.messaging.models import WebhookDelivery

    began = time.monotonic()
    quiet, last = 0, -1
    while time.monotonic() - began < SETTLE_TIMEOUT:
        deliveries = WebhookDelivery.objects.filter(received_at__gte=started_at)
        pending = deliveries.filter(processed_at__isnull=True, error="").count()
        total = deliveries.count()
        quiet = quiet + 1 if (pending == 0 and total == last) else 0
        if quiet >= 3:
            break
        last = total
        time.sleep(1)
    return time.monotonic() - began


def check(shared: Shared, started_at) -> tuple[list[str], dict[str, object]]:
    """Every invariant; returns the violations and some figures."""
    from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
    from wagtail_wa_consent.consent.models import ConsentEvent, Contact
    from wagtail_wa_consent.messaging.models import InboundMessage, OutboundMessage, WebhookDelivery

    problems: list[str] = list(shared.failures)
    for kind, counts in shared.statuses.items():
        bad = {code: n for code, n in counts.items() if not (isinstance(code, int) and code < 500)}
        if bad:
            problems.append(f"{kind}: {bad}")
    verify_began = time.perf_counter()
    report = verify_ledger()
    verify_s = time.perf_counter() - verify_began
    problems += [f"broken chain: {link}" for link in report.broken or []]

    from wagtail_wa_consent.consent.service import enabled_categories

    enabled = enabled_categories()
    phones = list(shared.numbers) + shared.hot
    contacts = {c.phone_e164: c for c in Contact.objects.filter(phone_e164__in=phones)}
    for phone in phones:
        contact = contacts.get(phone)
        if contact is None:
            problems.append(f"{phone}: accepted, but no contact")
            continue
        if mismatched := state_cache_mismatches(contact):
            problems.append(f"contact {contact.pk}: state cache differs from the ledger for {mismatched}")

    for phone, number in shared.numbers.items():
        contact = contacts.get(phone)
        if contact is None:
            continue
        events = list(
            contact.consent_events.order_by("sequence").values_list(
                "event_type", "confirming_message_id", "sequence"
            )
        )
        kinds = Counter(kind for kind, _w, _s in events)
        where = f"contact {contact.pk}"
        if kinds["requested"] != 2:
            problems.append(
                f"{where}: {kinds['requested']} requested events for one accepted opt-in (2 expected)"
            )
        if set(kinds) - {"requested", "confirmed", "withdrawn"}:
            problems.append(f"{where}: unexpected events {dict(kinds)}")
        confirmed = [(w, s) for kind, w, s in events if kind == "confirmed"]
        withdrawn = [(w, s) for kind, w, s in events if kind == "withdrawn"]
        if any(w not in number.yes_wamids for w, _s in confirmed) or len(confirmed) not in (0, 2):
            problems.append(f"{where}: confirmations {confirmed} do not match its Yes {number.yes_wamids}")
        # STOP withdraws every category the shop offers, also one never asked for (a record of it).
        expected = len(enabled) if number.stop_wamids else 0
        if any(w not in number.stop_wamids for w, _s in withdrawn) or len(withdrawn) != expected:
            problems.append(f"{where}: withdrawals {withdrawn} do not match its STOP {number.stop_wamids}")
        if number.yes_wamids and not number.stop_wamids and len(confirmed) != 2:
            problems.append(f"{where}: its Yes confirmed nothing (no STOP raced it)")
        if confirmed and withdrawn and max(s for _w, s in confirmed) > min(s for _w, s in withdrawn):
            problems.append(f"{where}: confirmed after its STOP")

    deliveries = WebhookDelivery.objects.filter(received_at__gte=started_at)
    unprocessed = deliveries.filter(processed_at__isnull=True).count()
    failed = deliveries.exclude(error="").count()
    if unprocessed or failed:
        problems.append(f"deliveries: {unprocessed} unprocessed, {failed} with an error")
    stored = Counter(
        InboundMessage.objects.filter(wamid__in=shared.inbound_wamids).values_list("wamid", flat=True)
    )
    missing = set(shared.inbound_wamids) - set(stored)
    if missing or any(n != 1 for n in stored.values()):
        problems.append(
            f"inbound messages: {len(missing)} missing, {sum(n > 1 for n in stored.values())} twice"
        )
    stops = [w for n in shared.numbers.values() for w in n.stop_wamids] + shared.hot_stops
    replies = set(
        OutboundMessage.objects.filter(idempotency_key__in=[f"reply:stop:{w}" for w in stops]).values_list(
            "idempotency_key", flat=True
        )
    )
    if len(replies) != len(stops):
        problems.append(f"STOP replies: {len(stops) - len(replies)} of {len(stops)} missing")
    figures = {
        "deliveries": deliveries.count(),
        "events": report.events,
        "chains": report.chains,
        "verify_s": verify_s,
        "events_run": ConsentEvent.objects.filter(occurred_at__gte=started_at).count(),
        "yes_without_context": sum(n.yes_without_context for n in shared.numbers.values()),
    }
    return problems, figures


def main() -> None:
    run = str(random.randint(100, 999)) + uuid.uuid4().hex[:6]
    with redis() as redis_url, tempfile.TemporaryDirectory(prefix="wa-bench-load-") as settings_dir:
        Path(settings_dir, "bench_load_settings.py").write_text(_SETTINGS % {"min_response": MIN_RESPONSE})
        env = base_env(
            CELERY_BROKER_URL=f"{redis_url}/0",
            REDIS_CACHE_URL=f"{redis_url}/2",
            WA_ACCESS_TOKEN=SIMULATOR_TOKEN,  # a real token in the environment would send to Meta
            DJANGO_SETTINGS_MODULE="bench_load_settings",
        )
        env["PYTHONPATH"] += os.pathsep + settings_dir
        sys.path.insert(0, settings_dir)
        migrate(env)
        django_setup(env)
        from django.utils import timezone

        run = unused_prefix() + run[2:]  # fresh numbers: a number from an earlier run is no opt-in
        hot = prepare(env, run)
        with (
            celery_worker(env, concurrency=CONCURRENCY),
            gunicorn(env, workers=WORKERS, threads=THREADS) as port,
        ):
            warmed_in = warm_up(port)
            started_at = timezone.now()
            shared = Shared(run=run, port=port, secret=env["WA_APP_SECRET"], deadline=0.0, hot=hot)
            began = time.perf_counter()
            shared.deadline = time.monotonic() + SECONDS
            threads = [threading.Thread(target=client, args=(i, shared)) for i in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            settled_in = settle(started_at)
        problems, figures = check(shared, started_at)
    report(shared, elapsed, warmed_in, settled_in, problems, figures)


def report(shared, elapsed, warmed_in, settled_in, problems, figures) -> None:
    total = sum(len(v) for v in shared.latency.values())
    print(
        f"load: {CLIENTS} clients for {SECONDS:g} s, gunicorn {WORKERS} workers x {THREADS} threads, "
        f"Celery concurrency {CONCURRENCY}, opt-in answer floor {MIN_RESPONSE:g} s "
        f"(warm-up {warmed_in:.1f} s)"
    )
    print(f"  requests: {total} in {elapsed:.1f} s = {total / elapsed:,.0f}/s")
    for kind in sorted(shared.latency):
        values = shared.latency[kind]
        codes = dict(sorted(shared.statuses[kind].items(), key=str))
        print(
            f"  {kind:<20} {len(values):>6}  p50 {percentile(values, 50):7.1f}  "
            f"p95 {percentile(values, 95):7.1f}  p99 {percentile(values, 99):7.1f} ms  {codes}"
        )
    accepted = len(shared.numbers)
    stops = sum(len(n.stop_wamids) for n in shared.numbers.values())
    yeses = sum(len(n.yes_wamids) for n in shared.numbers.values())
    print(
        f"  accepted: {accepted} opt-ins ({shared.opt_ins_refused} refused), {yeses} Yes "
        f"({figures['yes_without_context']} without context), {stops} STOP, {len(shared.hot_stops)} hot STOP"
    )
    print(
        f"  after the load: {figures['deliveries']} deliveries processed in {settled_in:.1f} s; ledger "
        f"{figures['events']} events in {figures['chains']} chains verified in {figures['verify_s']:.1f} s "
        f"({figures['events_run']} written by this run)"
    )
    if problems:
        print(f"  INVARIANTS VIOLATED ({len(problems)}):")
        for problem in problems[:40]:
            print(f"    - {problem}")
    else:
        print("  invariants: every chain verifies, no state-cache mismatch, no 5xx, nothing lost: met")


if __name__ == "__main__":
    main()
