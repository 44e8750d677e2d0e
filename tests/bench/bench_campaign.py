"""Campaign "select and queue": N synthetic consenting contacts on PostgreSQL -> one outbox row
each, timed, with the peak memory of the process that does it.

How the data is made (not timed, and not the way real consent is recorded):
- ONE real contact goes through the consent service (web opt-in, then "Yes" in WhatsApp), so the
  ledger holds one genuine confirmed-marketing event;
- the N synthetic contacts are bulk-inserted (E.164 number + its keyed digest, a language), and
  each gets a ``ConsentState`` row (marketing, subscribed, confirmed) whose ``last_event`` points
  at that one shared event. The ledger is append-only and hash-chained per contact, so a real
  chain per synthetic contact would cost minutes for nothing this benchmark measures: the
  audience query reads the state table, as it does in production.

The timed part is ``campaigns.service.queue`` (what the ``wagtail_wa_consent.queue_campaign`` task
runs before ``dispatch_due``): stream the audience with a server-side cursor, apply the frequency
cap (a correlated count per contact), quiet hours per time zone and the reach-tier spread, and
``bulk_create`` the rows in chunks. It runs in a fresh process each time, so the peak RSS it
reports is the queueing's own; it is measured at two audience sizes to show memory stays flat.

    export DATABASE_URL=postgres://postgres@127.0.0.1:55432/wa_campaign_bench
    python tests/bench/bench_campaign.py        # BENCH_N=100000 by default
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

from _harness import PYTHON, base_env, django_setup, migrate

N = int(os.environ.get("BENCH_N", "100000"))
SMALL = int(os.environ.get("BENCH_SMALL_N", "10000"))
PREFIX = "+49152"  # synthetic numbers: +49152 + 8 digits (valid German mobiles)


def seed(n: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from wagtail_wa_consent.consent import service
    from wagtail_wa_consent.consent.evidence import Evidence
    from wagtail_wa_consent.consent.hashing import phone_digest
    from wagtail_wa_consent.consent.models import ConsentState, Contact
    from wagtail_wa_consent.messaging.templates import upsert_template

    upsert_template(
        {
            "name": "bench_sale",
            "language": "en",
            "category": "MARKETING",
            "status": "APPROVED",
            "id": "bench-sale",
            "components": [
                {"type": "BODY", "text": "Hi {{1}}, 20% off this week"},
                {"type": "FOOTER", "text": "Not interested? Tap Stop promotions"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]},
            ],
        }
    )
    seed_contact = service.get_or_create_contact("+4915100000001")
    if not ConsentState.objects.filter(contact=seed_contact, category="marketing", status="subscribed"):
        web = Evidence(source="web_block", user_action="ticked", wording="Offers on WhatsApp", language="en")
        service.request_opt_in(seed_contact, ["marketing"], web)
        service.confirm(seed_contact, Evidence(source="whatsapp", user_action="tapped Yes", message_id="w"))
    event_id = ConsentState.objects.get(contact=seed_contact, category="marketing").last_event_id
    have = Contact.objects.filter(phone_e164__startswith=PREFIX).count()
    if have >= n:
        return
    started = time.perf_counter()
    languages = ["en", "de", "ar", "uz", "ru"]
    now = timezone.now()
    step = 10_000
    for low in range(have, n, step):
        numbers = [f"{PREFIX}{i:08d}" for i in range(low, min(n, low + step))]
        contacts = Contact.objects.bulk_create(
            Contact(phone_e164=p, phone_digest=phone_digest(p), language=languages[i % 5])
            for i, p in enumerate(numbers)
        )
        ConsentState.objects.bulk_create(
            ConsentState(
                contact_id=c.pk,
                category="marketing",
                status="subscribed",
                opt_in_level="confirmed",
                last_event_id=event_id,
                updated_at=now,
            )
            for c in contacts
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {n - have} synthetic contacts in {time.perf_counter() - started:.1f} s (not timed)")


def reset_peak() -> None:
    """Reset the process's RSS high-water mark (Linux: ``echo 5 > /proc/self/clear_refs``), so the
    peak read afterwards belongs to the queueing alone, not to Django's start-up."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def rss_kib(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) from /proc/self/status, in KiB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(limit: int) -> dict:
    """In a fresh process: queue a campaign to the first ``limit`` synthetic contacts."""
    from django.db.models import Max

    from wagtail_wa_consent.campaigns import service
    from wagtail_wa_consent.campaigns.models import Campaign
    from wagtail_wa_consent.consent.models import Contact
    from wagtail_wa_consent.messaging.models import MessageTemplate, OutboundMessage

    OutboundMessage.objects.filter(idempotency_key__startswith="campaign:").delete()
    # The smaller run cuts the audience to the first ``limit`` synthetic contacts: the same query
    # plus "contact_id <= x", patched in for this process only.
    last_id = (
        Contact.objects.filter(phone_e164__startswith=PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)[limit - 1 : limit]
        .get()
    )
    original = service.audience_states
    service.audience_states = lambda c: original(c).filter(contact_id__lte=last_id)
    campaign = Campaign.objects.create(
        name=f"bench {limit}",
        template=MessageTemplate.objects.get(name="bench_sale"),
        parameters="Lena",
        status="scheduled",
    )
    Contact.objects.aggregate(Max("pk"))  # connection and imports warm before the baseline
    reset_peak()
    base_rss = rss_kib("VmRSS")
    started = time.perf_counter()
    campaign = service.queue(campaign.pk)
    first = time.perf_counter() - started
    peak_rss = rss_kib("VmHWM")
    started = time.perf_counter()
    again = service.queue(campaign.pk)  # idempotent re-queue: every key exists already
    second = time.perf_counter() - started
    # A second campaign while the first one's rows sit in the outbox: the frequency cap now counts
    # one recent marketing row per contact (cap 2 per 7 days, so everyone still gets it).
    follow_up = Campaign.objects.create(
        name=f"bench {limit} follow-up", template=campaign.template, parameters="Lena", status="scheduled"
    )
    started = time.perf_counter()
    follow_up = service.queue(follow_up.pk)
    third = time.perf_counter() - started
    return {
        "follow_up_queued": follow_up.total_recipients,
        "follow_up_seconds": round(third, 2),
        "audience": limit,
        "queued": campaign.total_recipients,
        "requeued_total": again.total_recipients,
        "seconds": round(first, 2),
        "rows_per_second": round(campaign.total_recipients / first),
        "requeue_seconds": round(second, 2),
        "base_rss_mib": round(base_rss / 1024, 1),
        "peak_rss_delta_mib": round((peak_rss - base_rss) / 1024, 1),
    }


def main() -> None:
    env = base_env()
    if "--measure" in sys.argv:
        django_setup(env)
        print(json.dumps(measure(int(sys.argv[-1]))))
        return
    migrate(env)
    django_setup(env)
    seed(N)
    results = []
    for size in (SMALL, N):
        out = subprocess.run(
            [PYTHON, __file__, "--measure", str(size)], env=env, check=True, capture_output=True, text=True
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    head = (
        "audience",
        "queued",
        "seconds",
        "rows/s",
        "re-queue s",
        "2nd campaign s",
        "RSS before MiB",
        "peak RSS delta MiB",
    )
    print(" | ".join(head))
    for r in results:
        print(
            f"{r['audience']} | {r['queued']} | {r['seconds']} | {r['rows_per_second']} | "
            f"{r['requeue_seconds']} | {r['follow_up_seconds']} ({r['follow_up_queued']}) | "
            f"{r['base_rss_mib']} | {r['peak_rss_delta_mib']}"
        )


if __name__ == "__main__":
    main()
