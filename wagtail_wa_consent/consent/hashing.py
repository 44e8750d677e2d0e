"""Digests for the ledger.

Personal fields (number, IP, user agent) enter the hash chain only as keyed digests (HMAC-SHA256
with the ledger key), so erasing them later leaves every chain verifiable (DESIGN invariant 2).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from ..conf import ledger_key

#: prev_hash of the first event in a contact's chain.
GENESIS_HASH = "0" * 64
#: Bumped if the hashed field set ever changes; stored inside every hashed document.
HASH_FORMAT = "v1"


def keyed_digest(value: str, purpose: str) -> str:
    """HMAC-SHA256 of ``value``, separated by ``purpose`` so equal values differ across fields."""
    if not value:
        return ""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(ledger_key(), message, hashlib.sha256).hexdigest()


def phone_digest(e164: str) -> str:
    return keyed_digest(e164, "phone")


def wording_digest(text: str, language: str) -> str:
    """Plain SHA-256 of the wording: it is public text, and anyone may recompute it."""
    return hashlib.sha256(f"{language}\n{text}".encode()).hexdigest()


def chain_hash(prev_hash: str, document: dict[str, Any]) -> str:
    """Hash of one ledger event: the previous link plus the event's canonical JSON."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()
