from __future__ import annotations

from typing import Any

from .base import BaseBackend

#: Every payload sent through the locmem backend, for tests (cleared between tests).
outbox: list[dict[str, Any]] = []
#: Exceptions to raise on the next sends, first in first out (simulate Graph API errors).
failures: list[Exception] = []


class LocmemBackend(BaseBackend):
    """Test backend: keeps every payload in :data:`outbox`; raises queued :data:`failures`."""

    def send(self, payload: dict[str, Any]) -> str:
        if failures:
            raise failures.pop(0)
        message_id = self.fake_message_id()
        outbox.append({**payload, "_message_id": message_id})
        return message_id
