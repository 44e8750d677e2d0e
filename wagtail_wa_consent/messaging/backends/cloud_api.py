from __future__ import annotations

import threading
from typing import Any

from .base import BaseBackend

_lock = threading.Lock()
_shared_client: Any = None


def shared_client() -> Any:
    """One pooled client per process: connections are reused across sends."""
    global _shared_client
    if _shared_client is None:
        with _lock:
            if _shared_client is None:
                from ...graph.client import GraphAPIClient

                _shared_client = GraphAPIClient.from_settings()
    return _shared_client


class CloudAPIBackend(BaseBackend):
    """Sends through Meta's WhatsApp Cloud API (or any Graph API stand-in at GRAPH_API_URL)."""

    def send(self, payload: dict[str, Any]) -> str:
        client = self.options.get("client") or shared_client()
        return client.send_message(payload).message_id
