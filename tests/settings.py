"""Test settings: the sandbox shop with fast hashing, the in-memory backend and eager Celery.

``DATABASE_URL`` selects the database (CI runs the suite on SQLite and on PostgreSQL).
"""

import os

os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from sandbox_site.settings import *  # noqa: F403

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
LOGGING = {"version": 1, "disable_existing_loggers": False}
