"""The Graph API (WhatsApp Cloud API) client and Meta's error codes."""

from __future__ import annotations

from .client import GraphAPIClient, SentMessage
from .errors import ErrorAction, TransportFailure, WhatsAppAPIError, classify

__all__ = ["ErrorAction", "GraphAPIClient", "SentMessage", "TransportFailure", "WhatsAppAPIError", "classify"]
