"""Fixed-window throttles for the public forms (opt-in block, chat bubble, preference centre).

Keys are keyed digests, so neither a phone number nor an IP address is ever written to the cache.
"""

from __future__ import annotations

import math
import time

from django.core.cache import caches

from ..conf import get_setting
from ..consent.hashing import keyed_digest


def allow(scope: str, identity: str, *, limit: int, window: int, now: float | None = None) -> bool:
    """Count one attempt of ``identity`` (an IP address, a phone number) in ``scope``.

    Returns False once more than ``limit`` attempts fall in the current ``window`` seconds.
    """
    if not identity:
        return True
    now = time.time() if now is None else now
    bucket = math.floor(now / window)
    key = f"wa:throttle:{scope}:{keyed_digest(identity, 'throttle')[:32]}:{bucket}"
    cache = caches[get_setting("RATE_LIMIT_CACHE")]
    cache.add(key, 0, timeout=window + 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 2)
        count = 1
    return count <= limit
