"""The production backend: Meta's WhatsApp Cloud API through :class:`GraphAPIClient`."""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from ...conf import SETTINGS_NAME
from ...graph.client import GraphAPIClient
from .base import BaseBackend

_lock = threading.Lock()
_shared: GraphAPIClient | None = None


def shared_client() -> GraphAPIClient:
    """The process-wide client, created on first use, so every send reuses one connection pool."""
    global _shared
    client = _shared
    if client is None:
        with _lock:  # two threads sending first must not build two pools
            if _shared is None:
                _shared = GraphAPIClient.from_settings()
            client = _shared
    return client


def reset_shared_client() -> None:
    """Close and forget the shared client; the next send builds one from the current settings."""
    global _shared
    with _lock:
        client, _shared = _shared, None
    if client is not None:
        client.close()


def _forget_in_child() -> None:
    # A forked worker (Celery prefork) must not share the parent's sockets; closing them here
    # could disturb the parent's connections, so only drop the reference.
    global _lock, _shared
    _lock, _shared = threading.Lock(), None


os.register_at_fork(after_in_child=_forget_in_child)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        reset_shared_client()


class CloudAPIBackend(BaseBackend):
    """Sends through Meta's WhatsApp Cloud API (or any Graph API stand-in at ``GRAPH_API_URL``).

    Args:
        client: A client to use instead of the shared one (tests, several phone numbers).
        **options: Kept on ``self.options`` like every backend's.
    """

    concurrent_sends = True  # httpx.Client is thread-safe; sends touch no database

    def __init__(self, *, client: GraphAPIClient | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.client = client

    def send(self, payload: dict[str, Any]) -> str:
        """Send ``payload`` and return the wamid.

        Raises:
            WhatsAppAPIError: Meta refused the message; its ``action`` says what to do.
        """
        return (self.client or shared_client()).send_message(payload).message_id
