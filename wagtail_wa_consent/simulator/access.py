from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404


def simulator_enabled() -> bool:
    """Only with DEBUG or WA_SIMULATOR_ENABLED: a forgotten install exposes nothing in production."""
    return bool(settings.DEBUG or getattr(settings, "WA_SIMULATOR_ENABLED", False))


def requires_simulator(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not simulator_enabled():
            raise Http404("The WhatsApp simulator is switched off.")
        return view(*args, **kwargs)

    return wrapped
