"""Meta's WhatsApp errors, classified by Meta's ``code`` (not by HTTP status) into what to do.

Reference: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
(summarised in CLOUD-API.md section 3). Most 13xxxx codes, rate limits included, come back as HTTP 400,
so the HTTP status only decides for codes this table does not know.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from ..exceptions import WaConsentError


class ErrorAction(enum.StrEnum):
    """What the sender should do about a failed request."""

    #: Transient: back off and try again.
    RETRY_LATER = "retry_later"
    #: Meta held back a marketing message to this person: do not resend for at least 24 hours.
    WAIT_24H = "wait_24h"
    #: The person stopped marketing messages in WhatsApp: record a withdrawal of marketing consent.
    WITHDRAW_MARKETING = "withdraw_marketing"
    #: Not reachable on WhatsApp (or blocked us; Meta does not say which). Never an opt-out.
    UNREACHABLE = "unreachable"
    #: A free-form message outside the 24-hour customer service window.
    OUTSIDE_WINDOW = "outside_window"
    #: The template is missing, paused, disabled or does not fit its parameters.
    TEMPLATE_UNUSABLE = "template_unusable"
    #: Account or credential problem: stop all sending and alert the merchant.
    HALT = "halt"
    #: Anything else: permanent for this message.
    FAILED = "failed"


#: Meta error code -> action (CLOUD-API.md section 3). Codes not listed fall back on the HTTP status.
ERROR_ACTIONS: dict[int, ErrorAction] = {
    #: Throughput (130429), pair rate (131056), unknown error (131000), service unavailable (131016),
    #: maintenance or throughput upgrade (131057), app and WABA API call limits (4, 80007).
    **dict.fromkeys((130429, 131056, 131000, 131016, 131057, 4, 80007), ErrorAction.RETRY_LATER),
    #: Meta's per-user marketing limit; retrying earlier only earns more errors.
    131049: ErrorAction.WAIT_24H,
    #: The person stopped marketing messages from this business in the WhatsApp client.
    131050: ErrorAction.WITHDRAW_MARKETING,
    #: Message undeliverable: no WhatsApp account, old client, terms not accepted, or blocked.
    131026: ErrorAction.UNREACHABLE,
    #: More than 24 hours since the person last wrote: only templates may be sent.
    131047: ErrorAction.OUTSIDE_WINDOW,
    #: Parameter count (132000), missing or unapproved translation (132001), text too long (132005),
    #: policy violation (132007), parameter format (132012), paused (132015), disabled (132016).
    **dict.fromkeys((132000, 132001, 132005, 132007, 132012, 132015, 132016), ErrorAction.TEMPLATE_UNUSABLE),
    #: Token expired or invalid (190), account restricted for policy (368), account locked (131031),
    #: payment problem (131042), spam rate limit (131048), number not registered on Cloud API (133010).
    **dict.fromkeys((190, 368, 131031, 131042, 131048, 133010), ErrorAction.HALT),
}

# Digit runs long enough to be a phone number (E.164 has at least 7); "(#2388299)" codes are kept.
_PHONE_LIKE = re.compile(r"(?<![#\w])\+?\d{7,}")
# Meta access tokens start with EAA; Meta does not echo them, this is defence in depth.
_TOKEN_LIKE = re.compile(r"\bEAA[A-Za-z0-9_-]{16,}")


def classify(code: int | None, http_status: int | None = None) -> ErrorAction:
    """Decide what to do about an error.

    Args:
        code: Meta's ``error.code``, or None when the body had none.
        http_status: The HTTP status, used only when ``code`` is not in :data:`ERROR_ACTIONS`.

    Returns:
        The listed action for ``code``; else ``RETRY_LATER`` for HTTP 5xx or 429, else ``FAILED``.
    """
    if code is not None and code in ERROR_ACTIONS:
        return ERROR_ACTIONS[code]
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return ErrorAction.RETRY_LATER
    return ErrorAction.FAILED


def redact(text: str) -> str:
    """``text`` with phone-number-like digit runs and access-token-like strings masked."""
    return _TOKEN_LIKE.sub("[token]", _PHONE_LIKE.sub("[number]", text))


class WhatsAppAPIError(WaConsentError):
    """An error answer of the Graph API, or no answer at all (see :class:`TransportFailure`).

    ``str()`` shows the code, a redacted title, the HTTP status, the action and ``fbtrace_id`` (what
    Meta support asks for), never the token or a phone number. ``message`` and ``details`` keep
    Meta's wording for logic and may quote the request, so do not log them.

    Attributes:
        code: Meta's ``error.code`` (None for HTML pages, empty bodies and transport failures).
        subcode: ``error.error_subcode`` (Meta stopped sending it in v16).
        title: A short, redacted summary, safe to show and store.
        message: Meta's ``error.message``.
        details: ``error.error_data.details``, the wording Meta asks integrators to build on.
        fbtrace_id: Meta's trace id for support requests.
        http_status: The HTTP status, or None when no response arrived.
        action: What to do, from :func:`classify` unless given.
        retry_after: Seconds from a ``Retry-After`` header, if the response had one.
    """

    def __init__(
        self,
        *,
        code: int | None,
        title: str = "",
        message: str = "",
        subcode: int | None = None,
        details: str = "",
        fbtrace_id: str = "",
        http_status: int | None = None,
        action: ErrorAction | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.title = redact(title)[:200]
        self.message = message
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.action = action or classify(code, http_status)
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"WhatsApp API error {self.code} ({self.title or 'no title'}), HTTP {self.http_status}, "
            f"action {self.action}, fbtrace_id {self.fbtrace_id or '-'}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ defeats Exception's default pickling (Celery, multiprocessing).
        return (_restore, (type(self), self.__dict__.copy()))

    @property
    def retryable(self) -> bool:
        """True when trying again later can succeed (``action`` is ``RETRY_LATER``)."""
        return self.action == ErrorAction.RETRY_LATER

    @classmethod
    def from_response(cls, status: int, body: Any) -> WhatsAppAPIError:
        """Build from an error response.

        Args:
            status: The HTTP status.
            body: The decoded JSON body, ideally Meta's ``{"error": {...}}``; None or anything else
                (an HTML 502 page from a proxy, say) still gives an error classified by ``status``.

        Returns:
            The error, with its action already classified.
        """
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(code=None, title=f"HTTP {status} without a Graph API error body", http_status=status)
        data = error.get("error_data")
        data = data if isinstance(data, dict) else {}
        title = (
            error.get("error_user_title") or error.get("title") or error.get("message") or error.get("type")
        )
        return cls(
            code=_int(error.get("code")),
            subcode=_int(error.get("error_subcode")),
            title=str(title or ""),
            message=str(error.get("message") or ""),
            details=str(data.get("details") or ""),
            fbtrace_id=str(error.get("fbtrace_id") or ""),
            http_status=status,
        )


class TransportFailure(WhatsAppAPIError):
    """No answer from Meta: timeout, connection refused, TLS or protocol failure. Always retryable.

    A read timeout on a POST is ambiguous: Meta may have accepted the message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(code=None, title=reason, action=ErrorAction.RETRY_LATER)


def _restore(cls: type[WhatsAppAPIError], state: dict[str, Any]) -> WhatsAppAPIError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    error.args = (str(error),)
    return error


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
