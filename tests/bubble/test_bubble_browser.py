"""The bubble in headless Chromium: keyboard only, a strict CSP, no JavaScript, right to left.

A bare page with the two tags, served by the live server under a strict Content-Security-Policy
(this module is also its URLconf). Nothing may leave the machine; wa.me is answered locally.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.urls import include, path
from django.utils import translation
from wagtail.models import Page, Site

from wagtail_wa_consent.consent.models import ConsentState
from wagtail_wa_consent.storefront.models import WhatsAppSettings

from ..conftest import ensure_wagtail_baseline

# Playwright's sync API runs an event loop in this thread; the test's ORM calls stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.urls(__name__),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self' https://wa.me; base-uri 'none'; frame-ancestors 'none'"
)
PAGE = Template(
    """{% load wa_bubble %}<!DOCTYPE html><html lang="{{ language }}" dir="{{ direction }}"><head>
<meta charset="utf-8"><title>Shop</title>{% whatsapp_bubble_assets %}</head>
<body><main><h1>Shop</h1><p><a href="#top" id="first">First link</a></p></main>
{% whatsapp_bubble %}</body></html>"""
)


def shop_page(request: HttpRequest) -> HttpResponse:
    direction = "rtl" if translation.get_language_bidi() else "ltr"
    context = Context({"request": request, "language": translation.get_language(), "direction": direction})
    response = HttpResponse(PAGE.render(context))
    response["Content-Security-Policy"] = CSP
    return response


urlpatterns = [
    path("whatsapp/", include("wagtail_wa_consent.urls")),
    path("shop/", shop_page),
]


def default_site() -> Site:
    site = Site.objects.filter(is_default_site=True).first()
    if site is not None:
        return site
    # A transactional test before this one flushed what the migrations created.
    home = ensure_wagtail_baseline().add_child(instance=Page(title="Home", slug="home"))
    return Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)


@pytest.fixture
def bubble(transactional_db) -> WhatsAppSettings:
    site_settings = WhatsAppSettings.for_site(default_site())
    site_settings.business_name = "Laden Berg"
    site_settings.business_number = "+4930901820"
    site_settings.bubble_enabled = True
    site_settings.bubble_colour = "#1D4ED8"
    site_settings.save()
    return site_settings


def guard(page) -> dict[str, list[str]]:
    """Refuse everything off the machine but answer wa.me locally; collect refusals and console."""
    seen: dict[str, list[str]] = {"outside": [], "console": []}

    def route(route):
        url = route.request.url
        if url.startswith("https://wa.me/"):
            route.fulfill(status=200, content_type="text/html", body="<title>WhatsApp</title>")
        elif re.match(r"^https?://(localhost|127\.0\.0\.1)(:\d+)?/", url):
            route.continue_()
        else:
            seen["outside"].append(url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda message: seen["console"].append(message.text))
    return seen


def active(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.id || [...e.attributes].map(a => a.name).filter(n => n.startsWith('data-')).join(); }"
    )


def test_keyboard_only_under_a_strict_csp(live_server, page, bubble):
    seen = guard(page)
    page.goto(f"{live_server.url}/shop/")
    toggle = page.locator("[data-wa-bubble-toggle]")
    panel = page.locator("#wa-bubble-panel")
    assert toggle.is_visible() and not page.locator("[data-wa-bubble-link]").is_visible()
    assert not panel.is_visible()
    # The editor's colour reached the button through the CSSOM, which the CSP allows.
    colour = toggle.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(29, 78, 216)"

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert active(page) == "data-wa-bubble-toggle"
    assert toggle.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # visible focus
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true" and panel.is_visible()
    assert active(page) == "wa-bubble-panel"  # focus moved into the panel
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false" and not panel.is_visible()
    assert active(page) == "data-wa-bubble-toggle"  # and came back to the toggle

    page.keyboard.press("Space")
    assert panel.is_visible()
    page.keyboard.press("Tab")  # the close link
    page.keyboard.press("Tab")
    assert active(page) == "wa-bubble-offers"
    assert not page.locator("#wa-bubble-offers").is_checked()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert active(page) == "wa-bubble-phone"
    page.keyboard.type("0151 23456789")
    with page.expect_request(re.compile(r"^https://wa\.me/")) as opened:
        page.keyboard.press("Enter")

    text = parse_qs(urlsplit(opened.value.url).query)["text"][0]
    assert re.search(r"\(Ref\. [A-Z2-9]{6}\)$", text) and "Laden Berg" in text
    assert ConsentState.objects.get(category="marketing").status == "pending"
    assert seen["outside"] == []
    assert not [line for line in seen["console"] if "Content Security Policy" in line]


def test_works_without_javascript(live_server, browser, bubble):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    guard(page)
    page.goto(f"{live_server.url}/shop/")
    assert not page.locator("#wa-bubble-panel").is_visible()
    assert not page.locator("[data-wa-bubble-toggle]").is_visible()
    page.locator("[data-wa-bubble-link]").click()
    assert page.locator("#wa-bubble-panel").is_visible()  # opened as the :target
    with page.expect_request(re.compile(r"^https://wa\.me/")) as opened:
        page.locator(".wa-bubble__send").click()
    text = parse_qs(urlsplit(opened.value.url).query)["text"][0]
    assert text == "Hello Laden Berg!"  # box not ticked: only a chat, no consent
    assert not ConsentState.objects.exists()
    context.close()


@pytest.mark.parametrize(("language", "side"), [("en", "right"), ("ar", "left")])
def test_end_position_follows_the_writing_direction(live_server, browser, bubble, language, side):
    context = browser.new_context(extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    guard(page)
    page.goto(f"{live_server.url}/shop/")
    box = page.locator("[data-wa-bubble-toggle]").bounding_box()
    width = page.viewport_size["width"]
    assert (box["x"] > width / 2) == (side == "right")
    assert page.locator("#wa-bubble").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    context.close()
