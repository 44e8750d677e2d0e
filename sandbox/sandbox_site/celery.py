"""Celery app for the sandbox.

Worker (needs a real broker, e.g. ``CELERY_BROKER_URL=redis://127.0.0.1:6379/0``)::

    cd sandbox && ../.venv/bin/celery -A sandbox_site worker -l info --pool solo
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox_site.settings")

app = Celery("sandbox_site")
# Every CELERY_* Django setting becomes the matching lower-case Celery option.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
