"""The one HTTP choke point to Meta's Graph API, on a single pooled ``httpx.Client``."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from .. import __version__
from ..conf import get_setting
from .errors import TransportFailure, WhatsAppAPIError

logger = logging.getLogger("wagtail_wa_consent.graph")

#: Backoff of in-process retries: base * 2**attempt seconds with full jitter, capped.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
#: Longest Retry-After we wait for in process; longer waits go back to the outbox.
RETRY_AFTER_CAP = 30.0


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    message_status: str | None
    wa_id: str | None


class GraphAPIClient:
    """Sends messages and reads templates. Retries only retryable errors, a bounded number of times."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        access_token: str,
        phone_number_id: str,
        business_account_id: str = "",
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.business_account_id = business_account_id
        self.max_retries = max_retries
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/{api_version.strip('/')}/",
            headers={
                "Authorization": f"Bearer {access_token}",
                "User-Agent": f"wagtail-wa-consent/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> GraphAPIClient:
        options: dict[str, Any] = {
            "base_url": get_setting("GRAPH_API_URL"),
            "api_version": get_setting("GRAPH_API_VERSION"),
            "access_token": get_setting("ACCESS_TOKEN"),
            "phone_number_id": get_setting("PHONE_NUMBER_ID"),
            "business_account_id": get_setting("BUSINESS_ACCOUNT_ID"),
            "timeout": float(get_setting("HTTP_TIMEOUT")),
            "connect_timeout": float(get_setting("HTTP_CONNECT_TIMEOUT")),
            "max_retries": int(get_setting("HTTP_MAX_RETRIES")),
        }
        return cls(**{**options, **overrides})

    def send_message(self, payload: dict[str, Any]) -> SentMessage:
        """POST ``/<phone-number-id>/messages``. A 200 means accepted, not delivered."""
        body = {"messaging_product": "whatsapp", **payload}
        data = self._request("POST", f"{self.phone_number_id}/messages", json=body)
        message = (data.get("messages") or [{}])[0]
        contact = (data.get("contacts") or [{}])[0]
        if not message.get("id"):
            raise WhatsAppAPIError(code=None, title="200 response without a message id", http_status=200)
        return SentMessage(message["id"], message.get("message_status"), contact.get("wa_id"))

    def list_templates(self, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Every template of the business account, following the cursor paging."""
        params: dict[str, Any] = {
            "fields": "name,status,category,language,components,quality_score,id",
            "limit": limit,
        }
        while True:
            data = self._request("GET", f"{self.business_account_id}/message_templates", params=params)
            yield from data.get("data") or []
            after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (data.get("paging") or {}).get("next"):
                return
            params = {**params, "after": after}

    def get_messaging_limit(self) -> str | None:
        """The portfolio's tier, e.g. ``TIER_2K`` (there is no remaining-quota endpoint)."""
        field = "whatsapp_business_manager_messaging_limit"
        data = self._request("GET", self.phone_number_id, params={"fields": field})
        return data.get(field)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GraphAPIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self._once(method, path, **kwargs)
            except WhatsAppAPIError as error:
                if not error.retryable or attempt >= self.max_retries:
                    raise
                delay = getattr(error, "retry_after", None) or random.uniform(
                    0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
                )
                logger.info(
                    "retrying %s %s after error %s in %.2fs (attempt %d)",
                    method,
                    path,
                    error.code,
                    delay,
                    attempt + 1,
                )
                self._sleep(delay)
                attempt += 1

    def _once(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransportFailure(f"timeout: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransportFailure(f"transport error: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            error = WhatsAppAPIError.from_response(response.status_code, body)
            error.retry_after = _retry_after(response)  # type: ignore[attr-defined]
            logger.warning(
                "Graph API %s %s -> HTTP %s, code %s, fbtrace_id %s",
                method,
                path,
                response.status_code,
                error.code,
                error.fbtrace_id,
            )
            raise error
        try:
            return response.json()
        except ValueError as exc:
            raise WhatsAppAPIError(
                code=None, title="response is not JSON", http_status=response.status_code
            ) from exc


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return min(float(value), RETRY_AFTER_CAP) if value else None
    except ValueError:
        return None
