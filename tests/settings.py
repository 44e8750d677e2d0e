"""Test settings: the sandbox shop with fast hashing, the in-memory backend and eager Celery.

``DATABASE_URL`` selects the database (CI runs the suite on SQLite and on PostgreSQL).
"""

import os

os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# Secrets come from the environment, in tests as in production.
os.environ.setdefault("WA_APP_SECRET", "test-app-secret")
os.environ.setdefault("WA_VERIFY_TOKEN", "test-verify-token")

from sandbox_site.settings import *  # noqa: F403
from sandbox_site.settings import DATABASES

DEBUG = False
SECRET_KEY = "tests-only-secret-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WAGTAIL_WA_CONSENT = {
    **WAGTAIL_WA_CONSENT,  # noqa: F405
    "BACKEND": "wagtail_wa_consent.messaging.backends.locmem.LocmemBackend",
    "LEDGER_KEY": "tests-only-ledger-key",
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# A test that starts a real Celery worker runs it with these settings plus WA_TEST_WORKER_DB (the
# test database it must share) and a Redis broker; see tests/worker/.
if os.environ.get("WA_TEST_WORKER_DB"):
    DATABASES["default"]["NAME"] = os.environ["WA_TEST_WORKER_DB"]
    CELERY_TASK_ALWAYS_EAGER = False
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 10}
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
    WAGTAIL_WA_CONSENT = {
        **WAGTAIL_WA_CONSENT,
        "BACKEND": "wagtail_wa_consent.simulator.backend.SimulatorBackend",
    }
    WA_SIMULATOR_ENABLED = True

# SQLite: a file test database (in shared memory when there is one), so a worker process can open it.
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and not DATABASES["default"].get("TEST", {}).get(
    "NAME"
):
    _dir = "/dev/shm" if os.path.isdir("/dev/shm") else __import__("tempfile").gettempdir()
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.path.join(
        _dir, f"wa_consent_test_{os.getpid()}.sqlite3"
    )
LOGGING = {"version": 1, "disable_existing_loggers": False}

# Rate limits live in Redis when CI provides one (REDIS_URL), as they would in production;
# database 2 keeps them apart from the Celery broker.
if os.environ.get("REDIS_URL"):
    _redis = os.environ["REDIS_URL"].rsplit("/", 1)[0]
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "wa_rate_limits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"{_redis}/2",
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "wa_rate_limits": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "wa-rl"},
    }
WAGTAIL_WA_CONSENT["RATE_LIMIT_CACHE"] = "wa_rate_limits"
