"""Settings for the sandbox shop: Wagtail owns "/", Oscar's shop URLs sit beside it.

For local development and demos only. Environment variables:

DJANGO_SECRET_KEY       Secret key. The default below is public and INSECURE: set your own
                        whenever the sandbox is reachable by anyone but you.
DJANGO_DEBUG            "1"/"true"/"yes"/"on" or "0"/"false"/"no"/"off"; default on.
DJANGO_ALLOWED_HOSTS    Comma-separated; default "127.0.0.1,localhost,testserver".
DATABASE_URL            Any dj-database-url URL, e.g. postgres://user:pass@127.0.0.1/shop;
                        default SQLite in sandbox/db.sqlite3. ATOMIC_REQUESTS stays on either way.
SANDBOX_TEST_DB         Optional file name for the test database (lets pytest --reuse-db work
                        with SQLite).
CELERY_BROKER_URL       Default "memory://", which runs tasks eagerly in the web process.
                        Any other URL (e.g. redis://127.0.0.1:6379/0) queues them for a worker.
CELERY_RESULT_BACKEND   Optional, e.g. redis://127.0.0.1:6379/1.
REDIS_CACHE_URL         Optional Redis URL for the shared rate-limit cache, e.g. redis://127.0.0.1:6379/2.
WA_ACCESS_TOKEN,        WhatsApp Cloud API credentials and ids (see the README).
WA_APP_SECRET, ...      With a real WA_ACCESS_TOKEN the sandbox uses the CloudAPIBackend and reads every
                        WA_* value (token, app secret, verify token, ids) from the environment.
                        Without one it sends to its built-in simulator (SimulatorBackend; phone page
                        /wa-simulator/phone/, Graph API /wa-simulator/graph) and defaults the simulator's
                        app secret, verify token, token and ids in the environment. They stay out of
                        WAGTAIL_WA_CONSENT on purpose: the system checks warn about secrets there, and
                        the tests take their app secret from the environment.
WA_BUSINESS_NAME        Business name used in the WhatsApp opt-in wording;
                        default "Sandbox Shop GmbH".
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django
from django.utils.translation import gettext_lazy as _

# All OSCAR_* defaults; the settings below override some of them.
from oscar.defaults import *  # noqa: F403


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent  # the sandbox/ directory

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY",
    "django-insecure-sandbox-only-do-not-use-in-production",  # INSECURE dev default
)
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "home",  # site apps first, so their templates win
    "wagtail_wa_consent",  # before oscar.* so its oscar/... template overrides win
    "wagtail_wa_consent.simulator",  # the local WhatsApp stand-in (never in production)
    "wagtail_wa_consent.orders",  # Oscar order events as WhatsApp templates
    "wagtail_wa_consent.campaigns",  # marketing campaigns
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.routable_page",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",  # label "wagtailsearch": no clash with Oscar's "search"
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # Oscar needs sites and flatpages
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",  # Oscar's default thumbnailer (P4)
    "django_tables2",
]

SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # needs the session, must precede Common
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # request.basket on every page, Wagtail pages included (mini-basket in the layout).
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "sandbox_site.urls"
WSGI_APPLICATION = "sandbox_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.media",
                "django.template.context_processors.static",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
# Oscar recommends atomic requests; the plugin's receivers rely on transaction.on_commit.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Keep connections between requests (a new PostgreSQL connection per webhook costs milliseconds).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DJANGO_CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several writers (runserver threads, a Celery worker): wait for the lock instead of failing,
    # and take it at BEGIN so two transactions never deadlock upgrading a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
if os.environ.get("SANDBOX_TEST_DB"):
    # A file test DB lets pytest --reuse-db skip the ~1 minute of migrations.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ["SANDBOX_TEST_DB"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000  # Wagtail's page editor posts many fields

AUTHENTICATION_BACKENDS = (
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
)

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("de", _("German")),
    ("ar", _("Arabic")),
    ("ru", _("Russian")),
    ("uz", _("Uzbek")),
]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
WAGTAIL_CONTENT_LANGUAGES = [("en", "English")]

# --- Static and media files -------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static_collected"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

# --- Email ------------------------------------------------------------------------------
# Django 6.1 replaced EMAIL_BACKEND by MAILERS (P7); earlier versions ignore MAILERS.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
if django.VERSION < (6, 1):
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "shop@example.com"

# --- Wagtail ----------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "Sandbox Shop"
WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
# The admin makes no third-party requests either: no release check, no Gravatar avatars.
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "pdf", "txt", "xlsx"]

# --- Oscar ------------------------------------------------------------------------------
OSCAR_SHOP_NAME = "Sandbox Shop"
OSCAR_SHOP_TAGLINE = "Wagtail + Oscar + WhatsApp consent"
OSCAR_DEFAULT_CURRENCY = "EUR"
OSCAR_HOMEPAGE = "/"  # the brand link goes to the Wagtail home page
OSCAR_ALLOW_ANON_CHECKOUT = True
# Not in oscar.defaults: without them orders get status "" and skip the pipeline (P6).
OSCAR_INITIAL_ORDER_STATUS = "Pending"
OSCAR_INITIAL_LINE_STATUS = "Pending"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Pending": ("Being processed", "Cancelled"),
    "Being processed": ("Complete", "Cancelled"),
    "Cancelled": (),
    "Complete": (),
}

# Haystack is a hard Oscar dependency (P3). Haystack's SimpleEngine needs no search service
# but lists no products in /catalogue/ (django-oscar#4366), so the sandbox uses a SimpleEngine
# subclass that queries the database (sandbox_site/search.py). It keeps no index, so the base
# signal processor is right (and stops "update is not implemented" warnings, P5).
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "sandbox_site.search.DatabaseEngine"}}
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.BaseSignalProcessor"

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
# Without a real broker, run tasks in-process so the sandbox needs no Redis.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
if not CELERY_TASK_ALWAYS_EAGER:
    # Fail in ~0.1 s instead of blocking a checkout for ~20 s when the broker is down.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 1}
    CELERY_BROKER_CONNECTION_TIMEOUT = 1
if os.environ.get("CELERY_RESULT_BACKEND"):
    CELERY_RESULT_BACKEND = os.environ["CELERY_RESULT_BACKEND"]
# Periodic jobs for `celery -A sandbox_site beat` (a worker runs them; eager mode has no beat).
CELERY_BEAT_SCHEDULE = {
    "wa-expire-pending-opt-ins": {
        "task": "wagtail_wa_consent.expire_pending_opt_ins",
        "schedule": 3600.0,
    },
    "wa-sweep-outbox": {"task": "wagtail_wa_consent.sweep_outbox", "schedule": 60.0},
    "wa-sync-templates": {"task": "wagtail_wa_consent.sync_templates", "schedule": 6 * 3600.0},
    # Retention (docs/retention.rst): blanks old message contents, erases numbers no longer needed.
    "wa-apply-retention": {"task": "wagtail_wa_consent.apply_retention", "schedule": 24 * 3600.0},
    "wa-simulator-flush": {"task": "wagtail_wa_consent.simulator.flush_webhooks", "schedule": 30.0},
    # Starts scheduled campaigns whose time has come, and marks finished ones done.
    "wa-start-campaigns": {"task": "wagtail_wa_consent.start_due_campaigns", "schedule": 60.0},
}

# Shared cache for the WhatsApp rate limits: Redis when REDIS_CACHE_URL is set (needed as soon as
# more than one process sends), else this process's memory.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_CACHE_URL"]}
        if os.environ.get("REDIS_CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- wagtail-wa-consent -----------------------------------------------------------------
WAGTAIL_WA_CONSENT = {
    "BUSINESS_NAME": os.environ.get("WA_BUSINESS_NAME") or "Sandbox Shop GmbH",
    "DEFAULT_REGION": "DE",
    "PREFERENCE_CENTRE_URL": "http://127.0.0.1:8000/preferences/",
}
_SIMULATOR_TOKEN = "sandbox-simulator-token"
# The simulator branch puts its own token into the environment, and child processes (runserver's
# autoreloader, Celery workers started from here) inherit it: only another token is a real one.
if (os.environ.get("WA_ACCESS_TOKEN") or _SIMULATOR_TOKEN) != _SIMULATOR_TOKEN:
    # Real WhatsApp: every WA_* value (token, app secret, ids) is read from the environment.
    WAGTAIL_WA_CONSENT["BACKEND"] = "wagtail_wa_consent.messaging.backends.cloud_api.CloudAPIBackend"
else:
    # No credentials: messages go to the built-in simulator, whose phone page is /wa-simulator/phone/.
    WAGTAIL_WA_CONSENT["BACKEND"] = "wagtail_wa_consent.simulator.backend.SimulatorBackend"
    os.environ.setdefault("WA_APP_SECRET", "sandbox-simulator-app-secret")
    os.environ.setdefault("WA_VERIFY_TOKEN", "sandbox-simulator-verify-token")
    # The template sync (wa_sync_templates) talks to the simulator's Graph API on this server.
    os.environ.setdefault("WA_ACCESS_TOKEN", _SIMULATOR_TOKEN)
    os.environ.setdefault("WA_GRAPH_API_URL", "http://127.0.0.1:8000/wa-simulator/graph")
    os.environ.setdefault("WA_PHONE_NUMBER_ID", "SIMPHONE")
    os.environ.setdefault("WA_BUSINESS_ACCOUNT_ID", "SIMWABA")
WA_SIMULATOR_ENABLED = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No phone numbers or message bodies in any log line, Django's and other libraries' included.
    "filters": {"redact_personal_data": {"()": "wagtail_wa_consent.logging.RedactPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_personal_data"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Keep the plugin's messages visible in the runserver console.
        "wagtail_wa_consent": {"level": "DEBUG" if DEBUG else "INFO"},
    },
}
