"""The chat bubble: markup, accessibility, the POST (consent or plain chat), limits and budget."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from wagtail.models import Site

from wagtail_wa_consent.consent.models import ConsentEvent, ConsentState, Contact
from wagtail_wa_consent.storefront import bubble_views
from wagtail_wa_consent.storefront.contrast import (
    DARK_DEFAULT,
    WHITE,
    contrast_ratio,
    readable_on_white,
    relative_luminance,
)
from wagtail_wa_consent.storefront.models import WhatsAppSettings

from ..conftest import wa_settings

BUSINESS = "Laden Berg"
BUSINESS_NUMBER = "+4930901820"
PHONE = "+4915123456789"
URL = "/whatsapp/bubble/"
STATIC = Path(bubble_views.__file__).resolve().parents[1] / "static" / "wagtail_wa_consent" / "bubble"
TAGS = "{% load wa_bubble %}{% whatsapp_bubble_assets %}{% whatsapp_bubble %}"


# --- helpers -----------------------------------------------------------------------------------


class Elements(HTMLParser):
    """Start tags with their attributes, and the text inside elements that have an id or for."""

    VOID = frozenset({"input", "link", "meta", "br", "img", "hr"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: dict[str, str] = {}
        self._stack: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag in self.VOID:
            return
        key = attributes.get("id") or (f"for:{attributes['for']}" if attributes.get("for") else None)
        if key:
            self.text.setdefault(key, "")
        self._stack.append((tag, key))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _tag, key in self._stack:
            if key:
                self.text[key] += data

    def find(self, **match: str) -> dict[str, str]:
        for _tag, attrs in self.tags:
            if all(attrs.get(name.replace("_", "-")) == value for name, value in match.items()):
                return attrs
        raise AssertionError(f"no element with {match}")


def site() -> Site:
    return Site.objects.get(is_default_site=True)


def page_request(path: str = "/offers/"):
    request = RequestFactory().get(path)
    request._wagtail_site = site()  # as on every Wagtail page: serve() found the site already
    return request


def render(request=None) -> str:
    return Template(TAGS).render(Context({"request": request or page_request()}))


def reference_from(location: str) -> tuple[str, str]:
    """(prefilled text, reference) of a wa.me redirect."""
    text = parse_qs(urlsplit(location).query)["text"][0]
    match = re.search(r"Ref\. ([A-Z0-9]+)\)", text)
    return text, match.group(1) if match else ""


@pytest.fixture
def bubble_on(db) -> WhatsAppSettings:
    site_settings = WhatsAppSettings.for_site(site())
    site_settings.business_name = BUSINESS
    site_settings.business_number = BUSINESS_NUMBER
    site_settings.bubble_enabled = True
    site_settings.save()
    return site_settings


@pytest.fixture
def privacy_page(bubble_on):
    from home.models import PrivacyPolicyPage

    page = site().root_page.add_child(instance=PrivacyPolicyPage(title="Privacy", slug="privacy"))
    page.save_revision().publish()
    page.refresh_from_db()
    bubble_on.privacy_page = page
    bubble_on.save()
    return page


def post(client: Client | None = None, **data):
    fields = {"language": "en", "next": "/offers/", "phone": PHONE, "marketing": "yes", **data}
    fields = {key: value for key, value in fields.items() if value is not None}
    return (client or Client()).post(
        URL, fields, REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="Mozilla/5.0 (Bubble test)"
    )


# --- rendering ---------------------------------------------------------------------------------


def test_disabled_renders_nothing_and_creates_no_settings_row(db):
    assert render().strip() == ""
    assert not WhatsAppSettings.objects.exists()
    WhatsAppSettings.objects.create(site=site(), business_number=BUSINESS_NUMBER, bubble_enabled=False)
    assert render().strip() == ""


def test_enabled_without_number_renders_nothing(bubble_on):
    WhatsAppSettings.objects.filter(pk=bubble_on.pk).update(business_number="")
    assert render().strip() == ""


def test_enabled_renders_accessible_markup_with_an_unticked_box(privacy_page):
    html = render()
    page = Elements(html)
    toggle = page.find(data_wa_bubble_toggle="")
    assert toggle["type"] == "button" and toggle["aria-expanded"] == "false"
    assert toggle["aria-controls"] == "wa-bubble-panel"
    # Without JavaScript a link opens the panel as its :target; bubble.js swaps in the button.
    assert "hidden" in toggle and page.find(data_wa_bubble_link="")["href"] == "#wa-bubble-panel"
    panel = page.find(id="wa-bubble-panel")
    assert panel["role"] == "dialog" and panel["tabindex"] == "-1"
    assert BUSINESS in page.text[panel["aria-labelledby"]] and "WhatsApp" in page.text["wa-bubble-title"]
    box = page.find(type="checkbox")
    assert box["name"] == "marketing" and "checked" not in box
    label = page.text["for:wa-bubble-offers"]
    assert "offers and news" in label and BUSINESS in label and "WhatsApp" in label
    assert "Your WhatsApp number" in page.text["for:wa-bubble-phone"]
    phone = page.find(id="wa-bubble-phone")
    assert phone["type"] == "tel" and phone["autocomplete"] == "tel" and "required" not in phone
    assert page.find(href="/privacy/")  # the policy is linked next to the box
    assert page.find(name="csrfmiddlewaretoken")["value"]
    form = page.find(method="post")
    assert form["action"] == URL
    assert page.find(name="next")["value"] == "/offers/"
    assert page.find(name=bubble_views.HONEYPOT_FIELD)["tabindex"] == "-1"
    # The toggle has a name for screen readers; the icon is hidden from them.
    assert "Chat with Laden Berg on WhatsApp" in page.text["wa-bubble"]
    assert all(attrs.get("aria-hidden") == "true" for tag, attrs in page.tags if tag == "svg")


def test_markup_is_csp_friendly(bubble_on):
    html = render()
    assert '<link rel="stylesheet" href="/static/wagtail_wa_consent/bubble/bubble.css">' in html
    assert '<script src="/static/wagtail_wa_consent/bubble/bubble.js" defer></script>' in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
    assert " style=" not in html and "<style" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers
    assert "http://" not in html and "https://" not in html  # nothing from third parties


def test_script_needs_no_unsafe_csp_and_handles_the_keyboard():
    script = (STATIC / "bubble.js").read_text()
    for unsafe in (
        "eval(",
        "new Function",
        "innerHTML",
        'setAttribute("style"',
        "document.write",
        "document.cookie",
    ):
        assert unsafe not in script, unsafe
    assert 'style.setProperty("--wa-bubble-colour"' in script  # CSSOM: allowed by style-src 'self'
    assert '"Escape"' in script and "aria-expanded" in script and "toggle.focus()" in script


def test_position_language_and_direction(bubble_on):
    bubble_on.bubble_position = "start"
    bubble_on.save()
    with translation.override("ar"):
        html = render()
    root = Elements(html).find(id="wa-bubble")
    assert "wa-bubble--start" in root["class"] and root["dir"] == "rtl" and root["lang"] == "ar"
    assert Elements(html).find(name="language")["value"] == "ar"
    assert Elements(render()).find(id="wa-bubble")["dir"] == "ltr"


def test_greeting_from_settings_is_escaped(bubble_on):
    bubble_on.bubble_greeting = "Hi <b>there</b>!"
    bubble_on.save()
    html = render()
    assert "Hi &lt;b&gt;there&lt;/b&gt;!" in html and "<b>" not in html


@pytest.mark.parametrize(
    ("configured", "shown"),
    [("#0b6e4f", "#0B6E4F"), ("#1D4ED8", "#1D4ED8"), ("#25D366", DARK_DEFAULT), ("#FFEB3B", DARK_DEFAULT)],
)
def test_colour_that_fails_contrast_with_white_falls_back(bubble_on, configured, shown):
    bubble_on.bubble_colour = configured
    bubble_on.save()
    assert Elements(render()).find(id="wa-bubble")["data-wa-colour"] == shown


# --- contrast ----------------------------------------------------------------------------------


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio("#000000", WHITE) == pytest.approx(21.0)
    assert contrast_ratio(WHITE, WHITE) == pytest.approx(1.0)
    assert contrast_ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)  # the classic AA grey
    assert contrast_ratio("#777777", WHITE) < 4.5
    assert relative_luminance("#FF0000") == pytest.approx(0.2126)
    assert contrast_ratio(DARK_DEFAULT, WHITE) >= 4.5


def test_readable_on_white():
    assert readable_on_white("#767676") == "#767676"
    assert readable_on_white("#777777") == DARK_DEFAULT
    assert readable_on_white("red") == DARK_DEFAULT
    assert readable_on_white("#25d366", fallback="#000000") == "#000000"


def test_stylesheet_colours_are_readable():
    css = (STATIC / "bubble.css").read_text()
    for name in ("text", "muted", "error", "link", "colour"):
        value = re.search(rf"--wa-bubble-{name}:\s*(#[0-9a-fA-F]{{6}})", css).group(1)
        assert contrast_ratio(value, WHITE) >= 4.5, name
    # Right-to-left: only logical sides for placement.
    assert not re.search(r"(^|[\s;{])(left|right)\s*:", css)
    assert "inset-inline-end" in css and "inset-inline-start" in css


# --- budget: size and queries ------------------------------------------------------------------


def test_assets_are_at_most_8_kb_gzipped():
    # Level 1 (nginx's default) compresses least: the figure holds for any server setting.
    files = ("bubble.js", "bubble.css")
    size = sum(len(gzip.compress((STATIC / name).read_bytes(), compresslevel=1)) for name in files)
    assert size <= 8 * 1024, size


def test_bubble_and_assets_cost_one_query_per_page(privacy_page):
    Site.get_site_root_paths()  # cached across requests in production
    request = page_request()
    with CaptureQueriesContext(connection) as queries:
        html = render(request)
    assert "wa-bubble-panel" in html and 'href="/privacy/"' in html
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_no_query_when_settings_were_read_for_the_request(privacy_page):
    Site.get_site_root_paths()
    request = page_request()
    render(request)
    with CaptureQueriesContext(connection) as queries:
        html = Template("{% load wa_bubble %}{% whatsapp_bubble %}").render(Context({"request": request}))
    assert "wa-bubble-panel" in html and len(queries) == 0


def test_tags_without_request_render_nothing(db):
    assert Template(TAGS).render(Context({})).strip() == ""


# --- the POST: a pending consent with full evidence --------------------------------------------


def test_ticked_box_creates_pending_consent_with_full_evidence(privacy_page):
    response = post(HTTP_REFERER="https://elsewhere.example/x")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://wa.me/4930901820?text=")
    text, reference = reference_from(location)
    assert len(reference) == bubble_views.REFERENCE_LENGTH
    assert text == f"Hello {BUSINESS}, yes, please send me offers and news on WhatsApp. (Ref. {reference})"
    contact = Contact.objects.get()
    assert contact.phone_e164 == PHONE
    state = ConsentState.objects.get(contact=contact)
    assert (state.category, state.status) == ("marketing", "pending")
    event = ConsentEvent.objects.get(contact=contact)
    assert (event.event_type, event.source, event.reference) == ("requested", "chat_bubble", reference)
    assert event.wording.text == bubble_views.consent_wording(BUSINESS, "/privacy/")
    assert "offers and news" in event.wording.text and "Privacy policy: /privacy/" in event.wording.text
    assert event.language == "en" and event.wording.language == "en"
    live = privacy_page.live_revision_id
    assert event.policy_revision == f"page:{privacy_page.pk}/revision:{live}"
    assert event.page_url == "http://testserver/offers/"  # the posted page, not the Referer
    assert "ticked the unticked" in event.user_action and event.actor == "subject"
    assert event.personal_evidence.ip_address == "203.0.113.0"
    assert event.personal_evidence.user_agent == "Mozilla/5.0 (Bubble test)"
    assert event.ip_digest and event.user_agent_digest


def test_each_submission_gets_a_fresh_reference(bubble_on):
    first = reference_from(post()["Location"])[1]
    second = reference_from(post()["Location"])[1]
    assert first != second
    assert list(ConsentEvent.objects.values_list("reference", flat=True)) == [first, second]


def test_answer_looks_the_same_for_known_and_unknown_numbers(bubble_on):
    unknown = post()
    known = post()  # now the number is known and pending
    shape = re.compile(r"^https://wa\.me/4930901820\?text=.+%28Ref\.%20[A-Z2-9]{6}%29$")
    assert unknown.status_code == known.status_code == 302
    assert shape.match(unknown["Location"]) and shape.match(known["Location"])


def test_wording_is_recorded_in_the_language_the_panel_was_shown_in(bubble_on):
    post(language="de")
    post(language="xx-nope", phone="+4915198765432")
    languages = sorted(ConsentEvent.objects.values_list("language", flat=True))
    assert languages == ["de", "en"]


# --- the POST: no box, errors, limits, honeypot, CSRF ------------------------------------------


def test_without_the_box_it_is_only_a_chat_link(bubble_on):
    response = post(marketing=None)
    assert response.status_code == 302
    text = parse_qs(urlsplit(response["Location"]).query)["text"][0]
    assert response["Location"].startswith("https://wa.me/4930901820?text=")
    assert text == f"Hello {BUSINESS}!" and "Ref." not in text
    assert not Contact.objects.exists() and not ConsentEvent.objects.exists()


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("", "Enter your mobile number."),
        ("12", "This phone number is not valid"),
        ("not a number", "This is not a phone number."),
        ("+49 30 901820", "landline"),
    ],
)
def test_invalid_phone_shows_a_clear_error_next_to_the_field(bubble_on, phone, message):
    response = post(phone=phone)
    assert response.status_code == 400
    html = response.content.decode()
    page = Elements(html)
    assert message in page.text["wa-bubble-phone-error"]
    field = page.find(id="wa-bubble-phone")
    assert field["aria-invalid"] == "true" and "wa-bubble-phone-error" in field["aria-describedby"]
    assert field["value"] == phone
    assert "checked" in page.find(type="checkbox")  # the shopper ticked it; nothing else is ticked
    assert page.find(href="/offers/")  # back to where the bubble was
    assert not Contact.objects.exists()


@wa_settings(OPT_IN_IP_LIMIT=2)
def test_rate_limit_per_ip(bubble_on):
    assert [post(phone=p).status_code for p in (PHONE, "+4915198765432")] == [302, 302]
    blocked = post(phone="+4915111111111")
    assert blocked.status_code == 429 and b"Too many attempts" in blocked.content
    assert ConsentEvent.objects.count() == 2


@wa_settings(OPT_IN_PHONE_LIMIT=1)
def test_rate_limit_per_phone(bubble_on):
    assert post().status_code == 302
    other_ip = Client().post(
        URL, {"marketing": "yes", "phone": "0151 23456789", "language": "en"}, REMOTE_ADDR="198.51.100.9"
    )
    assert other_ip.status_code == 429  # same number written differently
    assert ConsentEvent.objects.count() == 1


def test_honeypot_gets_a_plain_chat_link_and_records_nothing(bubble_on):
    response = post(**{bubble_views.HONEYPOT_FIELD: "http://spam.example"})
    assert response.status_code == 302 and "Ref." not in response["Location"]
    assert not Contact.objects.exists() and not ConsentEvent.objects.exists()


def test_csrf_is_enforced(bubble_on):
    client = Client(enforce_csrf_checks=True)
    assert post(client).status_code == 403
    assert not Contact.objects.exists()
    secret = "abcdefghijklmnopqrstuvwxyzABCDEF"
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    assert post(client, csrfmiddlewaretoken=secret).status_code == 302
    assert Contact.objects.count() == 1


def test_disabled_bubble_and_get_are_refused(db):
    assert post().status_code == 404
    assert Client().get(URL).status_code == 405


def test_disabled_marketing_category_makes_it_a_chat_link(bubble_on, settings):
    settings.WAGTAIL_WA_CONSENT = {**settings.WAGTAIL_WA_CONSENT, "CATEGORIES": ["transactional"]}
    assert 'type="checkbox"' not in render()
    response = post()
    assert response.status_code == 302 and "Ref." not in response["Location"]
    assert not Contact.objects.exists()
