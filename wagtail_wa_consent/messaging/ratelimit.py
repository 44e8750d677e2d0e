"""Rate limits shared by every worker, kept in a Django cache (Redis in production).

Three limits, each from Meta's rules (CLOUD-API.md section 4):
- throughput per business phone number (messages per second);
- the pair rate limit per recipient (about one message per 6 s);
- the portfolio's unique-recipient limit for business-initiated messages per rolling 24 h.
Fixed windows keep each check to one or two atomic cache operations.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import caches

from ..conf import get_setting

#: Unique recipients per rolling 24 h for each tier; None means unlimited.
TIER_LIMITS: dict[str, int | None] = {
    "TIER_250": 250,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}
_HOUR = 3600


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    retry_after: float = 0.0


OK = Verdict(True)


def _cache():
    return caches[get_setting("RATE_LIMIT_CACHE")]


def _hit(key: str, window: float, limit: int, now: float, reason: str) -> Verdict:
    """Count one event in the current fixed window; refuse above ``limit``."""
    bucket = math.floor(now / window)
    name = f"wa:rl:{key}:{bucket}"
    cache = _cache()
    cache.add(name, 0, timeout=int(window) + 2)
    try:
        count = cache.incr(name)
    except ValueError:  # the key expired between add and incr
        cache.add(name, 1, timeout=int(window) + 2)
        count = 1
    if count > limit:
        return Verdict(False, reason, retry_after=(bucket + 1) * window - now)
    return OK


def check_throughput(phone_number_id: str, now: float | None = None) -> Verdict:
    now = time.time() if now is None else now
    return _hit(
        f"throughput:{phone_number_id}",
        1.0,
        int(get_setting("THROUGHPUT_PER_SECOND")),
        now,
        "throughput_limit",
    )


def check_pair(contact_id: int, now: float | None = None) -> Verdict:
    now = time.time() if now is None else now
    window = float(get_setting("PAIR_WINDOW_SECONDS"))
    return _hit(f"pair:{contact_id}", window, int(get_setting("PAIR_LIMIT")), now, "pair_rate_limit")


def tier_limit() -> int | None:
    from .models import ChannelStatus

    tier = get_setting("MESSAGING_LIMIT_TIER") or ChannelStatus.load().messaging_limit_tier or "TIER_250"
    return TIER_LIMITS.get(tier, 250)


def check_unique_recipient(contact_id: int, now: float | None = None) -> Verdict:
    """Business-initiated reach: a recipient already counted in the last 24 h costs nothing."""
    limit = tier_limit()
    if limit is None:
        return OK
    now = time.time() if now is None else now
    cache = _cache()
    if cache.get(f"wa:reach:{contact_id}") is not None:
        return OK
    hour = math.floor(now / _HOUR)
    buckets = [f"wa:reach-count:{h}" for h in range(hour - 23, hour + 1)]
    used = sum(v for v in cache.get_many(buckets).values() if v)
    if used >= limit:
        return Verdict(False, "messaging_limit", retry_after=(hour + 1) * _HOUR - now)
    cache.set(f"wa:reach:{contact_id}", 1, timeout=24 * _HOUR)
    cache.add(buckets[-1], 0, timeout=25 * _HOUR)
    cache.incr(buckets[-1])
    return OK


def reset() -> None:
    """Forget every counter (tests and benchmarks)."""
    _cache().clear()
