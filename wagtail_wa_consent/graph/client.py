"""The one HTTP choke point to Meta's Graph API, on a single pooled ``httpx.Client``.

Reference: https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/send-messages
(CLOUD-API.md sections 2 and 4.2).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from .. import __version__
from ..conf import ENVIRONMENT, SETTINGS_NAME, get_setting
from ..exceptions import WaConsentConfigurationError
from .errors import TransportFailure, WhatsAppAPIError

logger = logging.getLogger("wagtail_wa_consent.graph")

#: In-process backoff: full jitter over ``BACKOFF_BASE * 2**attempt`` seconds, at most ``BACKOFF_CAP``.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
#: Longest ``Retry-After`` waited for in process; the outbox's own retries cover longer outages.
RETRY_AFTER_CAP = 30.0
#: Connection pool of the shared client (one per process, used by every send).
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
#: Template fields read by ``list_templates`` (CLOUD-API.md section 2.6).
TEMPLATE_FIELDS = (
    "name",
    "status",
    "category",
    "language",
    "components",
    "quality_score",
    "parameter_format",
    "id",
)
#: Phone-number field with the portfolio's messaging-limit tier (replaces ``messaging_limit_tier``).
MESSAGING_LIMIT_FIELD = "whatsapp_business_manager_messaging_limit"


@dataclass(frozen=True)
class SentMessage:
    """Meta's answer to an accepted send. Accepted is not delivered: statuses come by webhook.

    Attributes:
        message_id: The wamid that status webhooks refer to.
        message_status: ``accepted`` or ``held_for_quality_assessment`` (templates only), else None.
        wa_id: The recipient's WhatsApp id as Meta normalised it, if returned.
    """

    message_id: str
    message_status: str | None
    wa_id: str | None


def retry_delay(error: WhatsAppAPIError, attempt: int) -> float:
    """Seconds to wait before retry number ``attempt + 1``: ``Retry-After`` if given, else jittered."""
    if error.retry_after is not None:
        return error.retry_after
    # Full jitter spreads the retries of many workers hit by the same rate limit.
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


class GraphAPIClient:
    """Sends messages and reads templates and the messaging limit from the Graph API.

    Retryable errors (:attr:`WhatsAppAPIError.retryable`) are retried in process at most
    ``max_retries`` times; everything else is raised at once. Use one instance per process: it holds
    the connection pool.

    Args:
        base_url: Graph API root, e.g. ``https://graph.facebook.com`` (or a stand-in).
        api_version: e.g. ``v25.0``.
        access_token: System-user token, sent as ``Authorization: Bearer``.
        phone_number_id: The business phone number's id (not the number).
        business_account_id: The WhatsApp Business Account id, needed for templates.
        timeout: Seconds for a whole request.
        connect_timeout: Seconds to connect.
        max_retries: In-process retries of retryable errors.
        transport: An httpx transport, e.g. ``httpx.MockTransport`` in tests.
        sleep: Called with the seconds to wait between retries.
    """

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
        self.phone_number_id = str(phone_number_id)
        self.business_account_id = str(business_account_id)
        self.max_retries = max(0, int(max_retries))
        self._has_token = bool(access_token)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/{api_version.strip('/')}/",
            headers={
                "Authorization": f"Bearer {access_token}",
                "User-Agent": f"wagtail-wa-consent/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=POOL_LIMITS,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> GraphAPIClient:
        """Build from ``WAGTAIL_WA_CONSENT`` (and the ``WA_*`` environment variables).

        Args:
            **overrides: Constructor arguments that win over the settings, e.g. ``transport``.
        """
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
        """Send one message: ``POST /<phone-number-id>/messages``.

        Args:
            payload: The JSON body; ``messaging_product`` is added when missing.

        Returns:
            Meta's acceptance. A 200 means accepted, not delivered.

        Raises:
            WhatsAppAPIError: Meta refused the message, or retries were exhausted.
            WaConsentConfigurationError: The token or the phone number id is not set.
        """
        path = f"{self._need(self.phone_number_id, 'PHONE_NUMBER_ID')}/messages"
        data = self._request("POST", path, json={"messaging_product": "whatsapp", **payload})
        message = _first(data.get("messages"))
        if not message.get("id"):
            raise WhatsAppAPIError(code=None, title="200 response without a message id", http_status=200)
        return SentMessage(
            message_id=str(message["id"]),
            message_status=message.get("message_status"),
            wa_id=_first(data.get("contacts")).get("wa_id"),
        )

    def list_templates(
        self, fields: Sequence[str] = TEMPLATE_FIELDS, limit: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Yield every template of the business account, following the ``after`` cursors.

        Args:
            fields: Template fields to read.
            limit: Templates per page.

        Raises:
            WhatsAppAPIError: A page could not be read.
            WaConsentConfigurationError: The token or the business account id is not set.
        """
        path = f"{self._need(self.business_account_id, 'BUSINESS_ACCOUNT_ID')}/message_templates"
        params: dict[str, Any] = {"fields": ",".join(fields), "limit": limit}
        while True:
            data = self._request("GET", path, params=params)
            yield from data.get("data") or []
            paging = data.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            # The last page still carries cursors; only "next" says there is more.
            if not after or not paging.get("next"):
                return
            params = {**params, "after": after}

    def get_messaging_limit(self) -> str | None:
        """The portfolio's messaging-limit tier, e.g. ``TIER_2K``; None if Meta does not say.

        There is no remaining-quota endpoint: the dispatcher counts unique recipients itself.
        """
        path = self._need(self.phone_number_id, "PHONE_NUMBER_ID")
        return self._request("GET", path, params={"fields": MESSAGING_LIMIT_FIELD}).get(MESSAGING_LIMIT_FIELD)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> GraphAPIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _need(self, value: str, key: str) -> str:
        # Fail loudly before a request that could only come back as a confusing Graph error.
        for present, name in ((self._has_token, "ACCESS_TOKEN"), (value, key)):
            if not present:
                raise WaConsentConfigurationError(
                    f"Set {SETTINGS_NAME}[{name!r}] or the {ENVIRONMENT[name]} environment variable."
                )
        return value

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self._attempt(method, path, attempt, **kwargs)
            except WhatsAppAPIError as error:
                if not error.retryable or attempt >= self.max_retries or getattr(error, "ambiguous", False):
                    raise
                delay = retry_delay(error, attempt)
                logger.info("Graph API %s %s: retry %d in %.2fs", method, path, attempt + 1, delay)
                self._sleep(delay)
                attempt += 1

    def _attempt(self, method: str, path: str, attempt: int, **kwargs: Any) -> dict[str, Any]:
        # Log lines carry the path (phone-number id, not the number), never params or bodies.
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:  # includes every httpx.TimeoutException
            logger.warning("Graph API %s %s: %s (attempt %d)", method, path, type(exc).__name__, attempt)
            failure = TransportFailure(type(exc).__name__)
            # The request may have reached Meta (a read timeout, a dropped answer): sending it again
            # could send the message twice, so only failures before sending are retried in process.
            failure.ambiguous = method == "POST" and not isinstance(exc, _NOT_SENT)
            raise failure from exc
        if response.status_code >= 400:
            error = WhatsAppAPIError.from_response(response.status_code, _json(response))
            error.retry_after = _retry_after(response)
            logger.warning(
                "Graph API %s %s -> HTTP %s, code %s, fbtrace_id %s (attempt %d)",
                method,
                path,
                response.status_code,
                error.code,
                error.fbtrace_id or "-",
                attempt,
            )
            raise error
        logger.debug("Graph API %s %s -> HTTP %s (attempt %d)", method, path, response.status_code, attempt)
        data = _json(response)
        if not isinstance(data, dict):
            raise WhatsAppAPIError(
                code=None, title="response is not a JSON object", http_status=response.status_code
            )
        return data


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # HTML error pages from proxies, empty bodies
        return None


def _first(items: Any) -> dict[str, Any]:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


#: Transport errors that prove the request never left: safe to retry even for a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), capped; None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (email.utils.parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)
