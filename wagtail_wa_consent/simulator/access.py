"""The simulator's off switch: its pages and Graph API exist only with DEBUG or WA_SIMULATOR_ENABLED."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404


def simulator_enabled() -> bool:
    """True with ``DEBUG`` or ``WA_SIMULATOR_ENABLED``: a forgotten install in production exposes nothing."""
    return bool(settings.DEBUG or getattr(settings, "WA_SIMULATOR_ENABLED", False))


def requires_simulator(view: Callable[..., Any]) -> Callable[..., Any]:
    """404 (before any other check, so nothing hints the app is installed) unless the simulator is on."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not simulator_enabled():
            raise Http404("The WhatsApp simulator is switched off.")
        return view(*args, **kwargs)

    return wrapped
