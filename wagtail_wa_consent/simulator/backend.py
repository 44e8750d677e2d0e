from __future__ import annotations

from typing import Any

from ..graph.errors import WhatsAppAPIError
from ..messaging.backends.base import BaseBackend


class SimulatorBackend(BaseBackend):
    """Sends to the in-process simulator; its status webhooks come back through the real ingest path."""

    def send(self, payload: dict[str, Any]) -> str:
        from . import core
        from .seed import ensure_seeded

        ensure_seeded()
        status, body = core.accept_message(payload)
        if status != 200:
            raise WhatsAppAPIError.from_response(status, body)
        return body["messages"][0]["id"]
