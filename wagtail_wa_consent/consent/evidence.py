"""What the ledger records about how a consent change happened."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from django.http import HttpRequest
from django.utils.translation import get_language

from ..conf import get_setting
from ..exceptions import MissingEvidence
from .enums import Source

#: Sources where the person acts in WhatsApp itself, so a message id proves the action.
WHATSAPP_SOURCES = frozenset({Source.WHATSAPP})


@dataclass(frozen=True)
class Evidence:
    """Proof of one consent change.

    Attributes:
        source: where it happened (one of :class:`~.enums.Source`).
        user_action: what the person did, e.g. ``"ticked unticked checkbox"`` or
            ``"replied YES"``. Consent is never recorded without one.
        wording: the exact text the person saw, in ``language``.
        policy_revision: the privacy policy revision shown (page and revision id, or a URL).
        page_url: where the form was shown (query string and fragment are dropped).
        ip_address: the client address; only its network prefix is kept.
        user_agent: the browser's User-Agent header.
        actor: who recorded it: ``"subject"``, ``"admin:<user id>"``, ``"system"``.
        message_id: the WhatsApp message (wamid) that carries the person's answer.
        reference: context such as the order number a checkout opt-in belongs to.
    """

    source: str
    user_action: str = ""
    wording: str = ""
    language: str = ""
    policy_revision: str = ""
    page_url: str = ""
    ip_address: str = ""
    user_agent: str = ""
    actor: str = "subject"
    message_id: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        if self.source not in Source.values:
            raise ValueError(f"Unknown consent source {self.source!r}.")
        object.__setattr__(self, "ip_address", truncate_ip(self.ip_address))
        object.__setattr__(self, "page_url", strip_query(self.page_url))
        object.__setattr__(self, "user_agent", self.user_agent[:1000])

    def require_action(self) -> None:
        """Raise unless this evidence shows an explicit act of the person (never inferred)."""
        if not self.user_action.strip():
            raise MissingEvidence("Consent needs evidence of the person's action (user_action).")
        if self.source in WHATSAPP_SOURCES and not self.message_id:
            raise MissingEvidence("A consent given in WhatsApp needs the message id as evidence.")

    def require_wording(self) -> None:
        if not self.wording.strip() or not self.language:
            raise MissingEvidence("An opt-in request needs the exact wording shown and its language.")

    def with_changes(self, **changes: str) -> Evidence:
        return replace(self, **changes)

    @classmethod
    def from_request(cls, request: HttpRequest, *, source: str, **fields: str) -> Evidence:
        """Evidence of a web form post: page, truncated IP, user agent and active language."""
        fields.setdefault("page_url", request.META.get("HTTP_REFERER", "") or request.build_absolute_uri())
        fields.setdefault("language", get_language() or "")
        return cls(
            source=source,
            ip_address=request.META.get("REMOTE_ADDR", ""),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            **fields,
        )


def truncate_ip(value: str) -> str:
    """Keep only the network prefix (IPV4_PREFIX / IPV6_PREFIX bits) of an address."""
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return ""
    prefix = get_setting("IPV4_PREFIX") if address.version == 4 else get_setting("IPV6_PREFIX")
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)


def strip_query(url: str) -> str:
    """Drop query and fragment: they can carry tokens or personal data."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a Referer with a malformed IPv6 host: no usable page to record
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))[:500]
