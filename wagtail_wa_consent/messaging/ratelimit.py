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


def _incr_many(increments: dict[str, int], timeout: int) -> dict[str, int]:
    """Add each delta to its counter (created with ``timeout`` if new); return the new totals.

    On Django's Redis cache this is one pipelined round trip for the whole batch; any other cache
    gets the portable add-then-incr per counter.
    """
    cache = _cache()
    client = _redis_client(cache)
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key, delta in increments.items():
            name = cache.make_and_validate_key(key)
            pipe.set(name, 0, ex=timeout, nx=True)  # Django's Redis cache stores ints raw
            pipe.incrby(name, delta)
        results = pipe.execute()
        return {key: int(results[2 * i + 1]) for i, key in enumerate(increments)}
    totals = {}
    for key, delta in increments.items():
        cache.add(key, 0, timeout=timeout)
        try:
            totals[key] = cache.incr(key, delta)
        except ValueError:  # the key expired between add and incr
            cache.add(key, delta, timeout=timeout)
            totals[key] = delta
    return totals


def _redis_client(cache):
    try:
        from django.core.cache.backends.redis import RedisCache
    except ImportError:  # pragma: no cover - redis-py not installed
        return None
    return cache._cache.get_client(write=True) if isinstance(cache, RedisCache) else None


def _hit_many(
    counts: dict[str, int], window: float, limit: int, now: float, reason: str
) -> dict[str, tuple[int, Verdict]]:
    """Count events in the current fixed window: for each key, how many of its ``counts[key]``
    events fit under ``limit``, and the verdict for the ones that do not."""
    bucket = math.floor(now / window)
    names = {key: f"wa:rl:{key}:{bucket}" for key in counts}
    totals = _incr_many({names[key]: n for key, n in counts.items()}, timeout=int(window) + 2)
    refused = Verdict(False, reason, retry_after=(bucket + 1) * window - now)
    result = {}
    for key, n in counts.items():
        before = totals[names[key]] - n
        fits = max(0, min(n, limit - before))
        result[key] = (fits, OK if fits == n else refused)
    return result


def check_throughput(phone_number_id: str, now: float | None = None, count: int = 1) -> tuple[int, Verdict]:
    """How many of ``count`` messages the business number may send in this second."""
    now = time.time() if now is None else now
    key = f"throughput:{phone_number_id}"
    return _hit_many({key: count}, 1.0, int(get_setting("THROUGHPUT_PER_SECOND")), now, "throughput_limit")[
        key
    ]


def check_pair(contact_id: int, now: float | None = None) -> Verdict:
    return check_pairs({contact_id: 1}, now)[contact_id][1]


def check_pairs(counts: dict[int, int], now: float | None = None) -> dict[int, tuple[int, Verdict]]:
    """The pair rate limit for a batch: ``{contact id: messages}`` -> how many may go now."""
    now = time.time() if now is None else now
    window = float(get_setting("PAIR_WINDOW_SECONDS"))
    hits = _hit_many(
        {f"pair:{c}": n for c, n in counts.items()},
        window,
        int(get_setting("PAIR_LIMIT")),
        now,
        "pair_rate_limit",
    )
    return {c: hits[f"pair:{c}"] for c in counts}


def tier_limit() -> int | None:
    from .models import ChannelStatus

    tier = get_setting("MESSAGING_LIMIT_TIER") or ChannelStatus.load().messaging_limit_tier or "TIER_250"
    return TIER_LIMITS.get(tier, 250)


def check_unique_recipient(contact_id: int, now: float | None = None) -> Verdict:
    return check_unique_recipients([contact_id], now)[contact_id]


def check_unique_recipients(contact_ids: list[int], now: float | None = None) -> dict[int, Verdict]:
    """Business-initiated reach: a recipient already counted in the last 24 h costs nothing; new
    ones are admitted in order while the portfolio's rolling 24 h limit has room."""
    limit = tier_limit()
    if limit is None:
        return dict.fromkeys(contact_ids, OK)
    now = time.time() if now is None else now
    cache = _cache()
    known = cache.get_many([f"wa:reach:{c}" for c in contact_ids])
    new = list(dict.fromkeys(c for c in contact_ids if f"wa:reach:{c}" not in known))
    hour = math.floor(now / _HOUR)
    buckets = [f"wa:reach-count:{h}" for h in range(hour - 23, hour + 1)]
    used = sum(v for v in cache.get_many(buckets).values() if v) if new else 0
    admitted = set(new[: max(0, limit - used)])
    if admitted:
        cache.set_many({f"wa:reach:{c}": 1 for c in admitted}, timeout=24 * _HOUR)
        _incr_many({buckets[-1]: len(admitted)}, timeout=25 * _HOUR)
    refused = Verdict(False, "messaging_limit", retry_after=(hour + 1) * _HOUR - now)
    return {c: OK if (c in admitted or c not in new) else refused for c in contact_ids}


def reset() -> None:
    """Forget every counter (tests and benchmarks)."""
    _cache().clear()
