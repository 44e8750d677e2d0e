"""The sandbox's settings as the dispatch benchmark runs them: Meta's upgraded throughput, the
100K reach tier, and a simulator that only answers sends (its status webhooks have their own
benchmark, bench_webhook_ingest.py)."""

import os

from sandbox_site.settings import *  # noqa: F403

WAGTAIL_WA_CONSENT = {
    **WAGTAIL_WA_CONSENT,  # noqa: F405
    "THROUGHPUT_PER_SECOND": 1000,
    "MESSAGING_LIMIT_TIER": "TIER_100K",
    "DISPATCH_BATCH_SIZE": int(os.environ.get("BENCH_BATCH", "200")),
    "DISPATCH_CONCURRENCY": int(os.environ.get("BENCH_SEND_CONCURRENCY", "16")),
}
WA_SIMULATOR_STATUS_WEBHOOKS = False
LOGGING = {**LOGGING, "loggers": {"wagtail_wa_consent": {"level": "WARNING"}}}  # noqa: F405
