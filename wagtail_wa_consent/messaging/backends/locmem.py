from __future__ import annotations

from typing import Any

from .base import BaseBackend

#: Every payload sent through the locmem backend, for tests (clear it between tests).
outbox: list[dict[str, Any]] = []


class LocmemBackend(BaseBackend):
    """Test backend: keeps every payload in :data:`outbox`."""

    def send(self, payload: dict[str, Any]) -> str:
        message_id = self.fake_message_id()
        outbox.append({**payload, "_message_id": message_id})
        return message_id
