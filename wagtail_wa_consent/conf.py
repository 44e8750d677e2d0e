"""The one accessor for the ``WAGTAIL_WA_CONSENT`` settings dict.

Every module reads settings through :func:`get_setting`, so defaults live in one place and
``override_settings`` works in tests (the cache is dropped on ``setting_changed``).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .exceptions import WaConsentConfigurationError

SETTINGS_NAME = "WAGTAIL_WA_CONSENT"

#: Documented defaults; docs/settings.rst describes each key.
DEFAULTS: dict[str, Any] = {
    # Legal name of the business, shown in every opt-in wording (GDPR Recital 42).
    "BUSINESS_NAME": "",
    # Region used to read numbers typed without a +country prefix (ISO 3166-1 alpha-2), or None.
    "DEFAULT_REGION": None,
    # Consent categories offered; a subset of marketing, transactional, support.
    "CATEGORIES": ["marketing", "transactional", "support"],
    # Days a web opt-in waits for its WhatsApp confirmation before it expires.
    "DOUBLE_OPT_IN_EXPIRY_DAYS": 7,
    # Marketing needs a confirmed (double) opt-in; False also accepts single or unknown levels.
    "MARKETING_REQUIRES_CONFIRMED_OPT_IN": True,
    # Secret for the keyed digests of personal data in the ledger; None means SECRET_KEY.
    "LEDGER_KEY": None,
    # Prefix lengths kept when an IP address is stored as evidence.
    "IPV4_PREFIX": 24,
    "IPV6_PREFIX": 48,
    # Dotted path of the class that sends messages (like Django's EMAIL_BACKEND).
    "BACKEND": "wagtail_wa_consent.messaging.backends.console.ConsoleBackend",
    # --- WhatsApp Cloud API (values fall back to the WA_* environment variables below) ---
    "GRAPH_API_URL": "https://graph.facebook.com",
    "GRAPH_API_VERSION": "v25.0",
    "ACCESS_TOKEN": "",
    "APP_SECRET": "",
    "VERIFY_TOKEN": "",
    "PHONE_NUMBER_ID": "",
    "BUSINESS_ACCOUNT_ID": "",
    # Seconds for the whole request and for connecting; in-process retries of retryable errors.
    "HTTP_TIMEOUT": 10.0,
    "HTTP_CONNECT_TIMEOUT": 5.0,
    "HTTP_MAX_RETRIES": 2,
    # --- Dispatcher limits (shared by all workers through the cache named RATE_LIMIT_CACHE) ---
    "RATE_LIMIT_CACHE": "default",
    # Messages per second per business phone number (Meta: 80 by default, 1,000 when upgraded).
    "THROUGHPUT_PER_SECOND": 80,
    # Pair rate limit: at most PAIR_LIMIT messages to one recipient per PAIR_WINDOW_SECONDS.
    # Meta allows about one per 6 s on average with bursts; 10 per minute keeps that average.
    "PAIR_LIMIT": 10,
    "PAIR_WINDOW_SECONDS": 60,
    # Unique recipients outside the service window per rolling 24 h: TIER_250 / TIER_2K / TIER_10K /
    # TIER_100K / TIER_UNLIMITED, or None to use the tier last read from the API (wa_sync_templates).
    "MESSAGING_LIMIT_TIER": None,
    # Attempts before a retryable failure becomes final; seconds before a claimed send is re-queued.
    "MAX_ATTEMPTS": 8,
    "SENDING_TIMEOUT_SECONDS": 600,
    # Rows a worker claims at once, and how many of their sends it keeps in flight to the API.
    "DISPATCH_BATCH_SIZE": 100,
    "DISPATCH_CONCURRENCY": 16,
    # The approved template that asks for the double opt-in confirmation (Yes / No quick replies).
    "DOUBLE_OPT_IN_TEMPLATE": "opt_in_confirmation",
    "DOUBLE_OPT_IN_TEMPLATE_LANGUAGE": "en",
    # Extra keywords per intent, e.g. {"STOP": ["HALT"], "HELP": ["INFO"]}.
    "EXTRA_KEYWORDS": {},
    # Where HELP replies send people to manage their preferences (absolute URL), or "".
    "PREFERENCE_CENTRE_URL": "",
    # --- Public forms (opt-in block, chat bubble, preference centre) ---
    # Posts from one IP address (an IPv6 /64) per window, counted before anything else.
    "OPT_IN_IP_LIMIT": 20,
    "OPT_IN_IP_WINDOW_SECONDS": 600,
    # Opt-in requests per phone number per window: each one sends a WhatsApp message there.
    "OPT_IN_PHONE_LIMIT": 3,
    "OPT_IN_PHONE_WINDOW_SECONDS": 3600,
    # A "sent" answer never comes sooner, so its timing cannot tell a known number from a new one.
    "OPT_IN_MIN_RESPONSE_SECONDS": 0.25,
    # --- Preference centre ---
    # The approved UTILITY template that carries a preference-centre link (one body parameter:
    # the URL) outside the 24-hour window; how long a link and an unlocked session last.
    "PREFERENCE_LINK_TEMPLATE": "preference_centre_link",
    "PREFERENCE_LINK_TEMPLATE_LANGUAGE": "en",
    "PREFERENCE_LINK_MAX_AGE_MINUTES": 30,
    "PREFERENCE_SESSION_MINUTES": 30,
    # --- Retention, as the privacy section states it ---
    # Message contents and delivery statuses are kept this many days after the message.
    "MESSAGE_RETENTION_DAYS": 180,
    # Inbound message texts and button payloads are blanked this many days after receipt.
    "INBOUND_MESSAGE_RETENTION_DAYS": 90,
    # Raw webhook bodies (they name numbers and texts) are blanked this many days after processing.
    "WEBHOOK_BODY_RETENTION_DAYS": 30,
    # A contact that never confirmed anything is erased this many days after its last request
    # expired or was declined (None: keep).
    "PENDING_OPT_IN_RETENTION_DAYS": 30,
    # The number of a contact who withdrew everything is removed this many days later, unless an
    # order of theirs is still open (None: keep).
    "WITHDRAWN_CONTACT_RETENTION_DAYS": 90,
    # A consent with no message sent for this many months is dormant (None: never);
    # DORMANT_CONSENT_ACTION "reconfirm" asks the person again, "expire" withdraws it.
    "DORMANT_CONSENT_MONTHS": 24,
    "DORMANT_CONSENT_ACTION": "reconfirm",
    # Dotted path of a function (contact) -> bool: True keeps a withdrawn contact's number because
    # an order of theirs is still open (None: no check). The default asks django-oscar, if installed.
    "RETENTION_OPEN_ORDER_CHECK": "wagtail_wa_consent.orders.retention.has_open_order",
    # Oscar order statuses that are final (the order needs no more messages); None: the states of
    # OSCAR_ORDER_STATUS_PIPELINE with no way onwards.
    "RETENTION_FINAL_ORDER_STATUSES": None,
    # Consent proof outlives the consent by this many days: three years, the usual limitation
    # period for claims that consent has to answer (section 195 BGB).
    "CONSENT_PROOF_RETENTION_DAYS": 3 * 365,
    # --- Campaigns ---
    # At most CAMPAIGN_FREQUENCY_CAP marketing messages per contact per CAMPAIGN_FREQUENCY_DAYS
    # (None: no cap); no campaign message between the quiet hours (start, end) of the
    # recipient's local time (None: none); rows written per chunk while queueing.
    "CAMPAIGN_FREQUENCY_CAP": 2,
    "CAMPAIGN_FREQUENCY_DAYS": 7,
    "CAMPAIGN_QUIET_HOURS": (21, 9),
    "CAMPAIGN_CHUNK_SIZE": 5000,
}

#: Settings read from the environment when the dict does not set them. Secrets belong here only.
ENVIRONMENT: dict[str, str] = {
    "GRAPH_API_URL": "WA_GRAPH_API_URL",
    "GRAPH_API_VERSION": "WA_GRAPH_API_VERSION",
    "ACCESS_TOKEN": "WA_ACCESS_TOKEN",
    "APP_SECRET": "WA_APP_SECRET",
    "VERIFY_TOKEN": "WA_VERIFY_TOKEN",
    "PHONE_NUMBER_ID": "WA_PHONE_NUMBER_ID",
    "BUSINESS_ACCOUNT_ID": "WA_BUSINESS_ACCOUNT_ID",
}
#: Keys that must never be written into settings files.
SECRETS = frozenset({"ACCESS_TOKEN", "APP_SECRET", "VERIFY_TOKEN"})

_UNSET: Any = object()


@cache
def _user_settings() -> dict[str, Any]:
    value = getattr(settings, SETTINGS_NAME, {})
    if not isinstance(value, dict):
        raise WaConsentConfigurationError(f"{SETTINGS_NAME} must be a dict, not {type(value).__name__}.")
    return value


def get_setting(name: str, default: Any = _UNSET) -> Any:
    """Return ``WAGTAIL_WA_CONSENT[name]``, falling back to the documented default.

    Raises:
        WaConsentConfigurationError: ``name`` is neither set nor has a default.
    """
    user = _user_settings()
    if name in user:
        return user[name]
    if name in ENVIRONMENT and os.environ.get(ENVIRONMENT[name]):
        return os.environ[ENVIRONMENT[name]]
    if default is not _UNSET:
        return default
    if name in DEFAULTS:
        return DEFAULTS[name]
    raise WaConsentConfigurationError(f"Set {SETTINGS_NAME}[{name!r}] in your Django settings.")


def ledger_key() -> bytes:
    """The secret used for keyed digests of personal data (phone, IP, user agent)."""
    key = get_setting("LEDGER_KEY") or settings.SECRET_KEY
    return key.encode() if isinstance(key, str) else key


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTINGS_NAME, "SECRET_KEY"):
        _user_settings.cache_clear()
