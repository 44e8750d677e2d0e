"""System checks for the WAGTAIL_WA_CONSENT settings dict. Each message names the key."""

from __future__ import annotations

import difflib
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

from .conf import DEFAULTS, ENVIRONMENT, SECRETS, SETTINGS_NAME, _user_settings, get_setting
from .consent.enums import Category


def _key(name: str) -> str:
    return f"{SETTINGS_NAME}[{name!r}]"


@register("wagtail_wa_consent")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    _user_settings.cache_clear()  # checks must see the settings as they are now
    raw = getattr(settings, SETTINGS_NAME, {})
    if not isinstance(raw, dict):
        return [
            Error(f"{SETTINGS_NAME} must be a dict, not {type(raw).__name__}.", id="wagtail_wa_consent.E001")
        ]
    return [
        *_unknown_keys(raw),
        *_business_name(),
        *_categories(),
        *_region(),
        *_expiry(),
        *_ip_prefixes(),
        *_backend(),
        *_secrets_in_settings(raw),
        *_cloud_api_credentials(),
        *_webhook_secret(),
        *_limits(),
        *_retention(),
    ]


def _unknown_keys(raw: dict[str, Any]) -> list[Any]:
    problems = []
    for name in raw:
        if name not in DEFAULTS:
            close = difflib.get_close_matches(name, DEFAULTS, n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(DEFAULTS)}."
            problems.append(
                Warning(
                    f"{_key(name)} is not a known setting and is ignored.",
                    hint=hint,
                    id="wagtail_wa_consent.W001",
                )
            )
    return problems


def _business_name() -> list[Any]:
    name = get_setting("BUSINESS_NAME")
    if isinstance(name, str) and name.strip():
        return []
    return [
        Error(
            f"{_key('BUSINESS_NAME')} is missing or empty.",
            hint="Every opt-in must name the business that will send the messages "
            "(GDPR Recital 42). Set it to your legal business name.",
            id="wagtail_wa_consent.E002",
        )
    ]


def _categories() -> list[Any]:
    categories = get_setting("CATEGORIES")
    if not isinstance(categories, list | tuple) or not categories:
        return [
            Error(
                f"{_key('CATEGORIES')} must be a non-empty list.",
                hint=f"Choose from: {', '.join(Category.values)}.",
                id="wagtail_wa_consent.E003",
            )
        ]
    bad = [c for c in categories if c not in Category.values]
    if bad:
        return [
            Error(
                f"{_key('CATEGORIES')} has unknown categories: {', '.join(map(repr, bad))}.",
                hint=f"Choose from: {', '.join(Category.values)}.",
                id="wagtail_wa_consent.E003",
            )
        ]
    return []


def _region() -> list[Any]:
    region = get_setting("DEFAULT_REGION")
    if region is None or region in phonenumbers.SUPPORTED_REGIONS:
        return []
    return [
        Error(
            f"{_key('DEFAULT_REGION')} is {region!r}, which is not a region phonenumbers knows.",
            hint="Use an ISO 3166-1 alpha-2 code in capitals such as 'DE', 'SA' or 'UZ', "
            "or None to require +country prefixes.",
            id="wagtail_wa_consent.E004",
        )
    ]


def _expiry() -> list[Any]:
    days = get_setting("DOUBLE_OPT_IN_EXPIRY_DAYS")
    if isinstance(days, int) and not isinstance(days, bool) and days > 0:
        return []
    return [
        Error(
            f"{_key('DOUBLE_OPT_IN_EXPIRY_DAYS')} must be a positive whole number of days, not {days!r}.",
            id="wagtail_wa_consent.E005",
        )
    ]


def _ip_prefixes() -> list[Any]:
    problems = []
    for name, maximum in (("IPV4_PREFIX", 32), ("IPV6_PREFIX", 128)):
        value = get_setting(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
            problems.append(
                Error(
                    f"{_key(name)} must be a number of bits from 0 to {maximum}, not {value!r}.",
                    id="wagtail_wa_consent.E006",
                )
            )
    return problems


def _backend() -> list[Any]:
    from .messaging.backends.base import BaseBackend

    path = get_setting("BACKEND")
    try:
        backend = import_string(path)
    except (ImportError, TypeError, ValueError) as exc:
        return [
            Error(
                f"{_key('BACKEND')} is {path!r}, which cannot be imported ({exc}).",
                hint="Use a dotted path such as "
                "'wagtail_wa_consent.messaging.backends.console.ConsoleBackend'.",
                id="wagtail_wa_consent.E007",
            )
        ]
    if not (isinstance(backend, type) and issubclass(backend, BaseBackend)):
        return [
            Error(
                f"{_key('BACKEND')} is {path!r}, which is not a BaseBackend subclass.",
                id="wagtail_wa_consent.E007",
            )
        ]
    return []


def _secrets_in_settings(raw: dict[str, Any]) -> list[Any]:
    return [
        Warning(
            f"{_key(name)} is set in the settings file.",
            hint=f"Secrets belong in the environment: remove the key and set {ENVIRONMENT[name]}.",
            id="wagtail_wa_consent.W002",
        )
        for name in sorted(SECRETS & raw.keys())
    ]


def _cloud_api_credentials() -> list[Any]:
    if not str(get_setting("BACKEND")).endswith("CloudAPIBackend"):
        return []
    missing = [
        ENVIRONMENT[k]
        for k in ("ACCESS_TOKEN", "PHONE_NUMBER_ID", "BUSINESS_ACCOUNT_ID")
        if not get_setting(k)
    ]
    if not missing:
        return []
    return [
        Error(
            f"{_key('BACKEND')} is the Cloud API backend but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set.",
            hint="Set them in the environment, or use the console or simulator backend.",
            id="wagtail_wa_consent.E008",
        )
    ]


def _webhook_secret() -> list[Any]:
    if get_setting("APP_SECRET"):
        return []
    return [
        Warning(
            f"{_key('APP_SECRET')} is not set (environment variable WA_APP_SECRET).",
            hint="Without it every webhook from Meta is refused with 403, so STOP replies "
            "and delivery statuses are lost.",
            id="wagtail_wa_consent.W003",
        )
    ]


def _limits() -> list[Any]:
    from .messaging.ratelimit import TIER_LIMITS

    problems = []
    for name in (
        "THROUGHPUT_PER_SECOND",
        "PAIR_LIMIT",
        "PAIR_WINDOW_SECONDS",
        "MAX_ATTEMPTS",
        "SENDING_TIMEOUT_SECONDS",
        "DISPATCH_BATCH_SIZE",
        "DISPATCH_CONCURRENCY",
        "OPT_IN_IP_LIMIT",
        "OPT_IN_IP_WINDOW_SECONDS",
        "OPT_IN_PHONE_LIMIT",
        "OPT_IN_PHONE_WINDOW_SECONDS",
    ):
        value = get_setting(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            problems.append(
                Error(f"{_key(name)} must be a positive number, not {value!r}.", id="wagtail_wa_consent.E009")
            )
    tier = get_setting("MESSAGING_LIMIT_TIER")
    if tier is not None and tier not in TIER_LIMITS:
        problems.append(
            Error(
                f"{_key('MESSAGING_LIMIT_TIER')} is {tier!r}.",
                hint=f"Use one of {', '.join(TIER_LIMITS)} or None.",
                id="wagtail_wa_consent.E009",
            )
        )
    return problems


#: Retention periods: a whole number of days (months for DORMANT_CONSENT_MONTHS) or None (keep).
RETENTION_PERIODS = (
    "MESSAGE_RETENTION_DAYS",
    "INBOUND_MESSAGE_RETENTION_DAYS",
    "WEBHOOK_BODY_RETENTION_DAYS",
    "PENDING_OPT_IN_RETENTION_DAYS",
    "WITHDRAWN_CONTACT_RETENTION_DAYS",
    "DORMANT_CONSENT_MONTHS",
)


def _retention() -> list[Any]:
    problems = []
    for name in RETENTION_PERIODS:
        value = get_setting(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            problems.append(
                Error(
                    f"{_key(name)} must be a positive whole number or None, not {value!r}.",
                    hint="None keeps the data (the rule is off).",
                    id="wagtail_wa_consent.E010",
                )
            )
    action = get_setting("DORMANT_CONSENT_ACTION")
    if action not in ("reconfirm", "expire"):
        problems.append(
            Error(
                f"{_key('DORMANT_CONSENT_ACTION')} is {action!r}.",
                hint="Use 'reconfirm' (ask the person again) or 'expire' (withdraw the consent).",
                id="wagtail_wa_consent.E010",
            )
        )
    return [*problems, *_open_order_check()]


def _open_order_check() -> list[Any]:
    path = get_setting("RETENTION_OPEN_ORDER_CHECK")
    check: Any = None
    if path:
        try:
            check = import_string(path)
        except (AttributeError, ImportError, TypeError, ValueError) as exc:
            check = exc
        if not callable(check):
            return [
                Error(
                    f"{_key('RETENTION_OPEN_ORDER_CHECK')} is {path!r}, which is not an importable function.",
                    hint="Use a dotted path to a function (contact) -> bool, or None for no check.",
                    id="wagtail_wa_consent.E011",
                )
            ]
    statuses = get_setting("RETENTION_FINAL_ORDER_STATUSES")
    if statuses is not None and (
        not isinstance(statuses, list | tuple | set | frozenset)
        or not all(isinstance(s, str) for s in statuses)
    ):
        return [
            Error(
                f"{_key('RETENTION_FINAL_ORDER_STATUSES')} must be a list of order statuses or None, "
                f"not {statuses!r}.",
                id="wagtail_wa_consent.E011",
            )
        ]
    from .orders.retention import final_order_statuses, has_open_order, order_model

    if check is has_open_order and order_model() is not None and not final_order_statuses():
        return [
            Warning(
                f"{_key('RETENTION_FINAL_ORDER_STATUSES')} is None and OSCAR_ORDER_STATUS_PIPELINE "
                "has no final status, so every order counts as open.",
                hint="Withdrawn contacts with an order are then never erased: list the statuses "
                "of finished orders, e.g. ['Complete', 'Cancelled'].",
                id="wagtail_wa_consent.W004",
            )
        ]
    return []
