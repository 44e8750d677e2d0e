"""Two Wagtail sites on two hostnames: nothing of one shows up on the other.

The WhatsApp settings (business name, number, privacy page, bubble) are per site; so are the
pages with opt-in blocks and the preference centres. A contact is per phone number, not per site:
a preference-centre link proves that its opener holds the number, so it opens that number's
preferences on whichever site's centre it is used (documented in docs/security.rst). What a
centre shows around the contact (business name, labels, wording) is always its own site's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client, override_settings
from wagtail.models import Page, Site

from tests.messaging.helpers import consenting, template
from tests.storefront import OPT_IN_URL, add_page, opt_in_value, section, token_of
from wagtail_wa_consent.consent.models import ConsentEvent
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.pages import preference_links as links
from wagtail_wa_consent.pages.models import PreferenceCentrePage
from wagtail_wa_consent.storefront.models import WhatsAppSettings

from ..conftest import wa_settings

pytestmark = pytest.mark.django_db

HOSTS = ["alpha.example", "beta.example"]


@dataclass
class Shop:
    host: str
    business: str
    number: str
    greeting: str
    site: Site
    privacy: Page
    offers: Page
    centre: PreferenceCentrePage
    #: Paths on the site's own host (Page.url is absolute once there are several sites).
    offers_path = "/whatsapp-news/"  # not /offers/: that is Oscar's
    centre_path = "/whatsapp-preferences/"

    @property
    def block_id(self) -> str:
        return self.offers.specific.body[0].id

    def get(self, client: Client, path: str, **extra: Any):
        return client.get(path, HTTP_HOST=self.host, **extra)

    def post(self, client: Client, path: str, data: dict[str, Any], **extra: Any):
        return client.post(path, data, HTTP_HOST=self.host, **extra)

    @property
    def secrets(self) -> list[str]:
        """What only this site shows: another site's pages must contain none of it."""
        return [self.business, self.number, self.number.lstrip("+"), self.greeting, self.privacy.slug]


def build(host: str, business: str, number: str, privacy_slug: str) -> Shop:
    from home.models import PrivacyPolicyPage, StandardPage

    root = Page.get_first_root_node().add_child(
        instance=StandardPage(title=business, slug=host.split(".")[0], body=[])
    )
    root.save_revision().publish()
    site = Site.objects.create(hostname=host, port=80, root_page=root, site_name=host)
    privacy = root.add_child(instance=PrivacyPolicyPage(title="Privacy", slug=privacy_slug, body=[]))
    privacy.save_revision().publish()
    offers = add_page(root, "whatsapp-news", [("whatsapp_opt_in", opt_in_value())])
    centre = root.add_child(instance=PreferenceCentrePage(title="WhatsApp", slug="whatsapp-preferences"))
    centre.save_revision().publish()
    greeting = f"Chat with {business} now"
    settings = WhatsAppSettings.for_site(site)
    settings.business_name, settings.business_number, settings.privacy_page = business, number, privacy
    settings.bubble_enabled, settings.bubble_greeting = True, greeting
    settings.save()
    return Shop(host, business, number, greeting, site, privacy, offers, centre.specific)


@pytest.fixture
def shops(db):
    with (
        override_settings(ALLOWED_HOSTS=[*HOSTS, "testserver"]),
        wa_settings(OPT_IN_MIN_RESPONSE_SECONDS=0),
    ):
        yield (
            build(HOSTS[0], "Laden Alpha GmbH", "+4930901820", "datenschutz"),
            build(HOSTS[1], "Boutique Beta SARL", "+33142685300", "confidentialite"),
        )


def leaks(html: bytes, other: Shop) -> list[str]:
    text = html.decode()
    return [secret for secret in other.secrets if secret in text]


@pytest.mark.parametrize("which", [0, 1])
def test_each_sites_pages_show_only_its_own_settings(shops, which):
    shop, other = shops[which], shops[1 - which]
    client = Client()
    for path in (shop.offers_path, shop.centre_path, f"/{shop.privacy.slug}/"):
        response = shop.get(client, path)
        assert response.status_code == 200, path
        assert not leaks(response.content, other), path
    offers = shop.get(client, shop.offers_path).content.decode()
    assert shop.business in offers and f"/{shop.privacy.slug}/" in offers  # its own wording and link
    assert shop.greeting in offers  # its own chat bubble
    centre = shop.get(client, shop.centre_path).content.decode()
    assert shop.business in centre


def test_an_opt_in_on_one_site_records_that_sites_wording_and_policy(
    shops, django_capture_on_commit_callbacks
):
    alpha, beta = shops
    template("opt_in_confirmation", params=2)
    client = Client()
    page = beta.get(client, beta.offers_path)
    token = token_of(section(page.content, beta.block_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = beta.post(
            client,
            OPT_IN_URL,
            {"token": token, "country": "FR", "phone": "+33612345678", "categories": ["marketing"]},
        )
    assert response.status_code == 303 and response["Location"].startswith(beta.offers_path)
    event = ConsentEvent.objects.get()
    assert beta.business in event.wording.text and alpha.business not in event.wording.text
    assert f"/{beta.privacy.slug}/" in event.wording.text
    assert event.policy_revision.startswith(f"page:{beta.privacy.pk}/")
    assert event.page_url == f"http://{beta.host}{beta.offers_path}"


def test_a_token_of_one_sites_block_is_refused_on_the_other_host(shops):
    """The token binds the wording shown (with its site's business and privacy link): posted
    through the other host, the wording built there differs, so nothing is recorded and the
    shopper is sent back to the page the token names to read its text again."""
    alpha, beta = shops
    client = Client()
    token = token_of(section(alpha.get(client, alpha.offers_path).content, alpha.block_id))
    fields = {"token": token, "country": "DE", "phone": "+4915123456789", "categories": ["marketing"]}
    response = beta.post(client, OPT_IN_URL, fields)
    assert response.status_code == 303
    assert response["Location"].startswith(f"http://{alpha.host}{alpha.offers_path}")
    assert not ConsentEvent.objects.exists() and not OutboundMessage.objects.exists()


def test_the_chat_bubble_opt_in_names_the_sites_own_business(shops):
    alpha, beta = shops
    response = alpha.post(
        Client(),
        "/whatsapp/bubble/",
        {"phone": "+4915123456789", "marketing": "yes", "next": "/whatsapp-news/"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("https://wa.me/4930901820?text=")
    event = ConsentEvent.objects.get()
    assert alpha.business in event.wording.text and beta.business not in event.wording.text


def test_a_preference_link_points_to_the_site_it_was_asked_on(shops):
    alpha, beta = shops
    contact = consenting("+4915123456789", "marketing")
    response = beta.post(Client(), beta.centre_path + "link/", {"phone": "+4915123456789"})
    assert response.status_code == 200
    message = OutboundMessage.objects.get(contact=contact)
    link = message.parameters[0] if message.parameters else message.content["body"]
    assert f"http://{beta.host}{beta.centre_path}open/" in link and alpha.host not in link


def test_a_link_opened_on_the_other_site_shows_the_number_in_that_sites_frame(shops):
    """Site-agnostic by design: the link proves the number, and a contact is per number. The other
    site's centre shows it with its own business name and nothing of the first site."""
    alpha, beta = shops
    contact = consenting("+4915123456789", "marketing")
    token_path = links.token_to_path(links.make_token(contact))
    client = Client()
    opened = beta.get(client, beta.centre_path + f"open/{token_path}/")
    assert opened.status_code == 302
    page = beta.get(client, beta.centre_path)
    assert b"+49 \xe2\x80\xa6 6789" in page.content  # the masked number, unlocked
    assert beta.business.encode() in page.content and not leaks(page.content, alpha)


def test_an_unknown_host_is_refused_not_served_as_another_site(shops):
    response = Client().get("/whatsapp-news/", HTTP_HOST="gamma.example")
    assert response.status_code == 400  # DisallowedHost: never the default site's pages


def test_each_sites_settings_screen_shows_only_that_site(shops):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    alpha, beta = shops
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    for shop, other in ((alpha, beta), (beta, alpha)):
        url = reverse("wagtailsettings:edit", args=["wa_consent", "whatsappsettings", shop.site.pk])
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert shop.business in html and shop.greeting in html
        assert other.business not in html and other.greeting not in html and other.number not in html
