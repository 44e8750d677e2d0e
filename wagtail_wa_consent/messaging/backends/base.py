from __future__ import annotations

import uuid
from typing import Any


class BaseBackend:
    """Sends one Cloud API message payload and returns the message id (wamid)."""

    #: True if ``send`` may be called from several threads at once (network backends); the
    #: dispatcher then keeps up to DISPATCH_CONCURRENCY sends of a batch in flight.
    concurrent_sends = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    def send(self, payload: dict[str, Any]) -> str:
        """Send ``payload`` (the JSON body of Meta's ``POST /<phone-id>/messages``)."""
        raise NotImplementedError

    @staticmethod
    def fake_message_id() -> str:
        return f"wamid.local.{uuid.uuid4().hex}"
