from __future__ import annotations

import shutil

import pytest

from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.messaging.backends import locmem

DE_MOBILE = "+4915123456789"


@pytest.fixture(autouse=True)
def _clear_locmem_outbox():
    locmem.outbox.clear()
    locmem.failures.clear()
    yield
    locmem.outbox.clear()
    locmem.failures.clear()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Rate-limit counters, and Wagtail's cached site root paths (a previous test's sites were
    rolled back, their cached hostnames were not)."""
    from django.core.cache import cache

    from wagtail_wa_consent.messaging import ratelimit

    ratelimit.reset()
    cache.clear()
    yield


@pytest.fixture
def web_evidence() -> Evidence:
    """Evidence of an opt-in form posted from a web page."""
    return Evidence(
        source="web_block",
        user_action="ticked unticked checkbox and submitted the form",
        wording="Yes, Sandbox Shop GmbH may send me offers on WhatsApp. Privacy policy: /privacy/",
        language="en",
        policy_revision="page:3/revision:7",
        page_url="https://shop.example/offers/?utm_source=x",
        ip_address="203.0.113.77",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )


@pytest.fixture
def yes_evidence() -> Evidence:
    """Evidence of a 'Yes' reply in WhatsApp."""
    return Evidence(source="whatsapp", user_action="tapped Yes", message_id="wamid.HBgLNDk=")


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Post a Meta-shaped webhook body through the real ingest path, signed with the test secret,
    and run what it queues after commit."""
    import json

    from wagtail_wa_consent.webhooks.ingest import ingest
    from wagtail_wa_consent.webhooks.signature import sign

    from .messaging.helpers import APP_SECRET

    def _deliver(payload):
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            result = ingest(body, sign(body, APP_SECRET))
        assert result.status == 200
        return result

    return _deliver


@pytest.fixture
def contact(db):
    from wagtail_wa_consent.consent.service import get_or_create_contact

    return get_or_create_contact(DE_MOBILE)


def wa_settings(**changes):
    """override_settings for WAGTAIL_WA_CONSENT that keeps the test settings' other keys."""
    from django.conf import settings
    from django.test import override_settings

    return override_settings(WAGTAIL_WA_CONSENT={**settings.WAGTAIL_WA_CONSENT, **changes})


#: Debian's Chromium as Playwright drives it here (its own browser download is not available).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Every browser test (marker ``e2e``) runs in Debian's headless ``chromium``."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Debian's chromium is not installed: run ./scripts/test, which installs it")
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS}


def ensure_wagtail_baseline():
    """What Wagtail's migrations create and a transactional test's flush removes: the default
    locale, the root collection and the root page. Returns the root page.

    Django restores the migrations' data for ``serialized_rollback`` tests from an attribute of
    the database connection, but under Playwright's event loop ``connections`` hands out another
    connection object without it, so browser tests call this instead.
    """
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.utils.translation import get_supported_language_variant
    from wagtail.models import Collection, Locale, Page

    ContentType.objects.clear_cache()  # the flush re-created the content types with new ids
    Locale.objects.get_or_create(language_code=get_supported_language_variant(settings.LANGUAGE_CODE))
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    return Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
