"""The WhatsApp section of the privacy policy: rendered from settings and data, as a page mixin
(included by the site's own template) and as a StreamField block."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import RequestContext, Template
from django.template.loader import render_to_string
from django.test import RequestFactory
from home.models import PrivacyPolicyPage
from wagtail.models import Site

from tests.conftest import wa_settings
from wagtail_wa_consent.pages.models import PreferenceCentrePage
from wagtail_wa_consent.pages.privacy import WhatsAppPrivacyBlock, privacy_context
from wagtail_wa_consent.storefront.models import WhatsAppSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return Site.objects.get(is_default_site=True)


def _publish(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


@pytest.fixture
def centre(site) -> PreferenceCentrePage:
    return _publish(site.root_page, PreferenceCentrePage(title="WhatsApp preferences", slug="preferences"))


@pytest.fixture
def privacy(site) -> PrivacyPolicyPage:
    return _publish(site.root_page, PrivacyPolicyPage(title="Privacy policy", slug="privacy"))


@pytest.fixture
def shop(site):
    wa = WhatsAppSettings.for_site(site)
    wa.business_name, wa.marketing_label = "Berg Handel GmbH", "Weekly deals"
    wa.save()
    return wa


@pytest.fixture
def request_(site):
    request = RequestFactory().get("/privacy/")
    request.user = AnonymousUser()
    return request


def _section(page, request) -> str:
    """What the site's template gets from ``{% include page.whatsapp_privacy_section_template %}``."""
    return render_to_string(
        page.whatsapp_privacy_section_template, page.get_context(request), request=request
    )


def test_section_states_business_categories_withdrawal_and_centre(privacy, centre, shop, request_):
    html = _section(privacy, request_)
    assert "Berg Handel GmbH sends you messages on WhatsApp only if you asked for them" in html
    assert "Meta Platforms Ireland Limited" in html
    for label in ("Weekly deals", "Order updates", "Customer support"):
        assert f"<strong>{label}</strong>" in html
    assert "reply STOP in WhatsApp" in html and '<bdi lang="de">STOPP</bdi>' in html
    assert '<bdi lang="ar">توقف</bdi>' in html
    assert "tap “Stop promotions” under an offer, or send STOP PROMOTIONS" in html
    assert '<a href="/preferences/">preference centre</a>' in html
    assert "Art. 6(1)(a) GDPR" in html and "consent for that order's messages" in html
    assert "expires after 7 days" in html and "30 minutes" in html
    assert "IP address shortened to its network part" in html and "user agent" in html


def test_only_enabled_categories_are_listed(privacy, shop, request_):
    with wa_settings(CATEGORIES=["marketing"]):
        html = _section(privacy, request_)
    assert "<strong>Weekly deals</strong>" in html
    assert "Customer support" not in html and "at checkout" not in html


def test_section_needs_only_page_and_request(privacy, shop, request_):
    # As the sandbox's page template includes it, with nothing but page and request in the context.
    template = Template("{% include page.whatsapp_privacy_section_template %}")
    html = template.render(RequestContext(request_, {"page": privacy, "request": request_}))
    assert "Berg Handel GmbH sends you messages" in html and "<strong>Weekly deals</strong>" in html


def test_block_renders_the_same_section(privacy, centre, shop, request_):
    html = WhatsAppPrivacyBlock().render(None, context={"request": request_})
    assert "Berg Handel GmbH sends you messages" in html
    assert '<a href="/preferences/">preference centre</a>' in html
    assert html.strip() == _section(privacy, request_).strip()


def test_block_in_a_page_streamfield(site, shop, request_):
    page = _publish(site.root_page, PrivacyPolicyPage(title="P", slug="p", body=[("whatsapp_privacy", None)]))
    html = Template("{% load wagtailcore_tags %}{% include_block page.body %}").render(
        RequestContext(request_, {"page": page, "request": request_})
    )
    assert 'id="wa-privacy-heading"' in html and "Berg Handel GmbH" in html


def test_preference_centre_link_follows_the_settings(site, centre, request_):
    other = _publish(site.root_page, PreferenceCentrePage(title="Prefs 2", slug="my-whatsapp"))
    assert privacy_context(site, request_)["preference_centre_url"] == "/preferences/"
    wa = WhatsAppSettings.for_site(site)
    wa.preference_centre_page = other
    wa.save()
    assert privacy_context(site, request_)["preference_centre_url"] == "/my-whatsapp/"


def test_without_a_centre_page_the_url_setting_is_linked(site, request_):
    with wa_settings(PREFERENCE_CENTRE_URL="https://shop.example/prefs/"):
        assert privacy_context(site, request_)["preference_centre_url"] == "https://shop.example/prefs/"


def test_retention_periods_come_from_settings(privacy, request_):
    with wa_settings(DOUBLE_OPT_IN_EXPIRY_DAYS=3, MESSAGE_RETENTION_DAYS=30):
        html = _section(privacy, request_)
    assert "expires after 3 days" in html and "delivery statuses: 30 days" in html
