"""Browser tests: the sandbox served by pytest-django's live server, driven by Playwright in Debian's
headless Chromium. Screenshots of each step go to test-artifacts/screenshots/<test>/."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still
# synchronous and safe (pytest-django's documented setting for Playwright).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SIMULATOR = "wagtail_wa_consent.simulator.backend.SimulatorBackend"


@pytest.fixture
def demo(transactional_db, live_server) -> Iterator[str]:
    """The sandbox's demo shop, sending to the simulator; yields the live server's URL."""
    from ..conftest import ensure_wagtail_baseline, wa_settings

    ensure_wagtail_baseline()

    with wa_settings(BACKEND=SIMULATOR, APP_SECRET="e2e-app-secret", OPT_IN_MIN_RESPONSE_SECONDS=0):
        call_command("sandbox_demo_data", verbosity=0)
        yield live_server.url


@pytest.fixture
def shot(request, page) -> Callable[[str], Path]:
    """``shot("02-submitted")`` saves a full-page screenshot of the current step."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    def take(step: str, target=None) -> Path:
        path = folder / f"{step}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def offline(page) -> list[str]:
    """No request may leave the machine: anything not on 127.0.0.1/localhost is refused, and its
    URL is added to the list this fixture returns (tests assert it stays empty)."""
    outside: list[str] = []

    def guard(route):
        url = route.request.url
        if re.match(r"^(https?://(127\.0\.0\.1|localhost)(:\d+)?/|data:|blob:|about:)", url):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    return outside
