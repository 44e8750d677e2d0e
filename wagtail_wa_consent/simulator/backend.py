"""A message backend that sends to the in-process simulator instead of Meta."""

from __future__ import annotations

from typing import Any

from ..graph.errors import WhatsAppAPIError
from ..messaging.backends.base import BaseBackend


class SimulatorBackend(BaseBackend):
    """Sends through :func:`~wagtail_wa_consent.simulator.core.accept_message`, without HTTP.

    Refusals raise :class:`WhatsAppAPIError` built from Meta's error body, exactly as the Cloud API
    backend would; the status webhooks come back through the site's real ingest path.
    """

    def send(self, payload: dict[str, Any]) -> str:
        """Send ``payload`` and return its wamid.

        Raises:
            WhatsAppAPIError: The simulated Meta refused the message.
        """
        from . import core, webhooks

        status, body = core.accept_message(payload, phone_number_id=webhooks.phone_number_id())
        if status != 200:
            raise WhatsAppAPIError.from_response(status, body)
        return body["messages"][0]["id"]
