"""Builders shared by the storefront tests: a site with a privacy page and pages with opt-in blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bs4 import BeautifulSoup, Tag
from django.test import Client
from wagtail.models import Page, Site

OPT_IN_URL = "/whatsapp/opt-in/"
UNKNOWN = "+4915123456789"
KNOWN = "+4915223456780"
LANDLINE = "+49 30 901820"
BUSINESS = "Test Shop GmbH"


@dataclass
class Shop:
    site: Site
    privacy: Page
    page: Page

    @property
    def block_id(self) -> str:
        return self.page.body[0].id


def opt_in_value(**changes: Any) -> dict[str, Any]:
    value = {"heading": "", "intro": "", "categories": ["marketing", "transactional"], "button_label": ""}
    return {**value, **changes}


def build_shop(**block: Any) -> Shop:
    """The default site with a published privacy page chosen in its WhatsApp settings, and a
    published standard page whose body holds one opt-in block."""
    from home.models import PrivacyPolicyPage

    from wagtail_wa_consent.storefront.models import WhatsAppSettings

    site = Site.objects.get(is_default_site=True)
    root = site.root_page
    privacy = root.add_child(instance=PrivacyPolicyPage(title="Privacy", slug="privacy", body=[]))
    privacy.save_revision().publish()
    site_settings = WhatsAppSettings.for_site(site)
    site_settings.business_name = BUSINESS
    site_settings.privacy_page = privacy
    site_settings.save()
    page = add_page(root, "whatsapp-news", [("whatsapp_opt_in", opt_in_value(**block))])
    return Shop(site=site, privacy=privacy, page=page)


def add_page(parent: Page, slug: str, body: list[tuple[str, Any]]) -> Page:
    from home.models import StandardPage

    page = parent.add_child(instance=StandardPage(title=slug.title(), slug=slug, body=body))
    page.save_revision().publish()
    return page


def edit_block(page: Page, **changes: Any) -> Page:
    """An editor changes the block and publishes (its id stays)."""
    page = page.specific
    child = page.body[0]
    page.body[0] = ("whatsapp_opt_in", {**dict(child.value), **changes}, child.id)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def section(html: str | bytes, block_id: str) -> Tag:
    soup = BeautifulSoup(html, "html.parser")
    found = soup.find(id=f"wa-opt-in-{block_id}")
    assert found is not None, "the opt-in block is not on the page"
    return found


def token_of(block: Tag) -> str:
    return block.find("input", attrs={"name": "token"})["value"]


def rendered_wording(block: Tag) -> str:
    """The wording as the page shows it: the data-wa-wording elements in page order, a box as
    ``☐ label``, a link as ``label <href>``, a line break as a new line."""
    lines = []
    for element in block.select("[data-wa-wording]"):
        kind = element["data-wa-wording"]
        if kind == "box":
            lines.append(f"☐ {element.get_text(strip=True)}")
        elif kind == "link":
            link = element.find("a")
            lines.append(f"{link.get_text(strip=True)} <{link['href']}>")
        else:
            for br in element.find_all("br"):
                br.replace_with("\n")
            lines.append("\n".join(line.strip() for line in element.get_text().strip().splitlines()))
    return "\n".join(lines)


def without_csrf(html: str) -> str:
    """The CSRF token is masked afresh on every render; everything else must match."""
    return re.sub(r'(<input[^>]*name="csrfmiddlewaretoken"[^>]*value=")[^"]+"', r'\1"', html)


def post_opt_in(
    client: Client,
    shop: Shop,
    *,
    phone: str = UNKNOWN,
    categories: tuple[str, ...] = ("marketing",),
    country: str = "DE",
    **extra: Any,
):
    """Open the page (as a shopper would), then send its form. Upper-case ``extra`` keys are
    request headers/META for both requests, the others more form fields."""
    meta = {key: value for key, value in extra.items() if key.isupper()}
    page = client.get(shop.page.url, **meta)
    assert page.status_code == 200
    data = {"token": token_of(section(page.content, shop.block_id)), "country": country, "phone": phone}
    data["categories"] = list(categories)
    data.update({key: value for key, value in extra.items() if not key.isupper()})
    return client.post(OPT_IN_URL, data, **meta)
