"""Meta's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta would send for ``body`` (used by the simulator and tests)."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str, app_secret: str) -> bool:
    """Compare in constant time; an empty secret never validates anything."""
    # A non-ASCII header is never a hex digest (and compare_digest would raise TypeError on it).
    if not app_secret or not header.startswith(PREFIX) or not header.isascii():
        return False
    return hmac.compare_digest(sign(body, app_secret), header.strip())
