"""Chat bubble budget: gzipped size of its static files, and what the bubble and the opt-in block
add to a page render.

    python tests/bench/bench_bubble.py [--runs 3000]

Budget (issue 4): bubble JS+CSS <= 8 KB gzipped; at most 1 database query and 2 ms per page.
Needs no servers: Django with tests.settings on an in-memory SQLite database migrated here
(DATABASE_URL is overridden, so no existing database is touched).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "wagtail_wa_consent" / "static" / "wagtail_wa_consent" / "bubble"
FILES = ("bubble.js", "bubble.css")
SIZE_BUDGET = 8 * 1024
QUERY_BUDGET = 1
TIME_BUDGET_MS = 2.0

# A page like a shop's: head, some content, and the two tags where a base template puts them.
PAGE = """{% load wa_bubble wagtailcore_tags %}<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>[ASSETS]</head><body><main><h1>{{ title }}</h1>
{% for paragraph in paragraphs %}<p>{{ paragraph }}</p>{% endfor %}[BLOCK]</main>[BUBBLE]</body></html>"""


def django_setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    sys.path[:0] = [str(ROOT), str(ROOT / "sandbox")]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def sizes() -> dict[int, int]:
    """Total gzipped bytes of the bubble's files per compression level."""
    return {
        level: sum(len(gzip.compress((STATIC / name).read_bytes(), compresslevel=level)) for name in FILES)
        for level in (1, 6, 9)
    }


def seed():
    """Default site with the bubble on and a live privacy page (its link is in the panel)."""
    from home.models import PrivacyPolicyPage
    from wagtail.models import Site

    from wagtail_wa_consent.storefront.models import WhatsAppSettings

    site = Site.objects.get(is_default_site=True)
    page = site.root_page.add_child(instance=PrivacyPolicyPage(title="Privacy", slug="privacy"))
    page.save_revision().publish()
    settings = WhatsAppSettings.for_site(site)
    settings.business_name = "Sandbox Shop GmbH"
    settings.business_number = "+4930901820"
    settings.bubble_enabled = True
    settings.privacy_page = page
    settings.save()
    Site.get_site_root_paths()  # kept in the cache between requests, as in production
    return site


def offers_page(site):
    """A live page whose body holds the opt-in block, as an editor places it."""
    from home.models import StandardPage

    body = [("whatsapp_opt_in", {"heading": "", "intro": "", "categories": ["marketing", "transactional"]})]
    page = site.root_page.add_child(instance=StandardPage(title="Offers", slug="offers", body=body))
    page.save_revision().publish()
    return page


def make_request(site, *, site_known: bool):
    from django.test import RequestFactory

    request = RequestFactory().get("/offers/summer/")
    if site_known:
        request._wagtail_site = site  # Wagtail's serve() (and pageurl/slugurl) resolved it already
    return request


OFFERS_PAGE: list = [None]


def render_once(template, site, *, site_known: bool = True) -> tuple[float, int, str]:
    from django.db import connection
    from django.template import Context
    from django.test.utils import CaptureQueriesContext

    context = {
        "title": "Summer offers",
        "paragraphs": ["Lorem ipsum dolor sit amet. " * 8] * 12,
        "page": OFFERS_PAGE[0],
    }
    request = make_request(site, site_known=site_known)  # a fresh request: no per-request cache
    with CaptureQueriesContext(connection) as queries:  # its overhead counts: a pessimistic figure
        start = time.perf_counter()
        html = template.render(Context({**context, "request": request}))
        elapsed = time.perf_counter() - start
    return elapsed * 1000, len(queries), html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    args = parser.parse_args()

    size = sizes()
    print(
        f"bubble.js + bubble.css gzipped: {size[1]} B (level 1), {size[6]} B (level 6), {size[9]} B (level 9)"
    )
    raw = sum((STATIC / name).stat().st_size for name in FILES)
    print(f"  budget {SIZE_BUDGET} B gzipped; {raw} B uncompressed")

    django_setup()
    from django.template import Template

    site = seed()
    OFFERS_PAGE[0] = offers_page(site)
    with_tags = Template(
        PAGE.replace("[ASSETS]", "{% whatsapp_bubble_assets %}")
        .replace("[BUBBLE]", "{% whatsapp_bubble %}")
        .replace("[BLOCK]", "{% include_block page.body %}")
    )
    without = Template(PAGE.replace("[ASSETS]", "").replace("[BUBBLE]", "").replace("[BLOCK]", ""))
    _ms, _q, html = render_once(with_tags, site)
    assert "wa-bubble-panel" in html and 'href="/privacy/"' in html, "the bubble did not render"
    assert 'class="wa-opt-in"' in html and 'type="checkbox"' in html, "the opt-in block did not render"

    base_q = render_once(without, site)[1]
    tags_q = render_once(with_tags, site)[1]
    cold_q = (
        render_once(with_tags, site, site_known=False)[1] - render_once(without, site, site_known=False)[1]
    )
    plain, bubbled = [], []
    for _ in range(args.runs):  # interleaved, so drift affects both alike
        plain.append(render_once(without, site)[0])
        bubbled.append(render_once(with_tags, site)[0])
    p90 = statistics.quantiles(bubbled, n=10)[-1] - statistics.quantiles(plain, n=10)[-1]

    print(
        f"queries added by the bubble's two tags and the opt-in block: {tags_q - base_q} "
        "(site already resolved, every Wagtail page)"
    )
    print(
        f"  on a request where nothing resolved the Wagtail site yet: {cold_q} (1 is Wagtail's site lookup)"
    )
    without_ms, with_ms = statistics.median(plain), statistics.median(bubbled)
    print(f"page render median: {without_ms:.3f} ms without bubble and block, {with_ms:.3f} ms with them")
    added = with_ms - without_ms
    print(f"added render time: median {added:.3f} ms, p90 {p90:.3f} ms over {args.runs} runs each")
    ok = size[1] <= SIZE_BUDGET and tags_q - base_q <= QUERY_BUDGET and added <= TIME_BUDGET_MS
    print("budget met" if ok else "BUDGET EXCEEDED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
