"""Message backends, chosen by ``WAGTAIL_WA_CONSENT["BACKEND"]`` like Django's e-mail backends."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from ...conf import get_setting
from .base import BaseBackend


def get_backend(path: str | None = None, **options: Any) -> BaseBackend:
    """Instantiate the configured backend (or ``path``)."""
    backend_class = import_string(path or get_setting("BACKEND"))
    return backend_class(**options)
