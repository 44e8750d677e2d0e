"""Meta's WhatsApp errors, classified by Meta's ``code`` (not by HTTP status) into what to do."""

from __future__ import annotations

import enum
from typing import Any

from ..exceptions import WaConsentError


class ErrorAction(enum.StrEnum):
    RETRY_LATER = "retry_later"
    WAIT_24H = "wait_24h"
    WITHDRAW_MARKETING = "withdraw_marketing"
    UNREACHABLE = "unreachable"
    OUTSIDE_WINDOW = "outside_window"
    TEMPLATE_UNUSABLE = "template_unusable"
    HALT = "halt"
    FAILED = "failed"


#: Meta error code -> action (CLOUD-API.md section 3).
ERROR_ACTIONS: dict[int, ErrorAction] = {
    #: Throughput (130429), pair rate (131056), generic/unknown (131000), service unavailable
    #: (131016), account in maintenance or upgrading throughput (131057), API rate limits (4, 80007).
    **dict.fromkeys((130429, 131056, 131000, 131016, 131057, 4, 80007), ErrorAction.RETRY_LATER),
    #: Meta's per-user marketing limit: try again in 24 hours.
    131049: ErrorAction.WAIT_24H,
    #: The person stopped marketing messages from this business in WhatsApp.
    131050: ErrorAction.WITHDRAW_MARKETING,
    #: Not a WhatsApp user, or cannot receive this message.
    131026: ErrorAction.UNREACHABLE,
    #: Free-form message outside the 24-hour customer-service window.
    131047: ErrorAction.OUTSIDE_WINDOW,
    #: Template parameters, existence, pausing or disabling problems.
    **dict.fromkeys((132000, 132001, 132005, 132007, 132012, 132015, 132016), ErrorAction.TEMPLATE_UNUSABLE),
    #: Token expired or invalid (190), account restricted (368), account locked (131031), payment
    #: problem (131042), spam rate limit (131048), two-step verification PIN mismatch (133010).
    **dict.fromkeys((190, 368, 131031, 131042, 131048, 133010), ErrorAction.HALT),
}


def classify(code: int | None, http_status: int | None = None) -> ErrorAction:
    """What to do about an error: Meta's code decides; an unknown code falls back on HTTP."""
    if code is not None and code in ERROR_ACTIONS:
        return ERROR_ACTIONS[code]
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return ErrorAction.RETRY_LATER
    return ErrorAction.FAILED


class WhatsAppAPIError(WaConsentError):
    """An error answer of the Graph API. Never carries the token, a phone number or a body."""

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
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.title = title
        self.message = message
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.action = action or classify(code, http_status)
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"WhatsApp API error {self.code} ({self.title or 'no title'}), HTTP {self.http_status}, "
            f"action {self.action}, fbtrace_id {self.fbtrace_id or '-'}"
        )

    @property
    def retryable(self) -> bool:
        return self.action == ErrorAction.RETRY_LATER

    @classmethod
    def from_response(cls, status: int, body: Any) -> WhatsAppAPIError:
        """Build from Meta's ``{"error": {...}}`` body; lenient with HTML or empty bodies."""
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(code=None, title=f"HTTP {status} without a Graph API error body", http_status=status)
        data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        return cls(
            code=_int(error.get("code")),
            subcode=_int(error.get("error_subcode")),
            title=str(error.get("error_user_title") or error.get("message") or error.get("type") or "")[:200],
            message=str(error.get("message") or "")[:500],
            details=str(data.get("details") or "")[:500],
            fbtrace_id=str(error.get("fbtrace_id") or ""),
            http_status=status,
        )


class TransportFailure(WhatsAppAPIError):
    """No answer from Meta: timeout, connection refused, TLS failure. Always retryable."""

    def __init__(self, reason: str) -> None:
        super().__init__(code=None, title=reason[:200], action=ErrorAction.RETRY_LATER)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
