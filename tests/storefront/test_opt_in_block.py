"""The opt-in block as shoppers and editors see it: unticked boxes, wording, accessibility, cost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.rich_text import RichText

from tests.conftest import wa_settings
from wagtail_wa_consent.storefront.blocks import WhatsAppOptInBlock
from wagtail_wa_consent.storefront.models import WhatsAppSettings

from . import BUSINESS, add_page, build_shop, opt_in_value, section

pytestmark = pytest.mark.django_db

CSS = Path(__file__).resolve().parents[2] / "wagtail_wa_consent/static/wagtail_wa_consent/css/opt-in.css"


@pytest.fixture
def shop():
    return build_shop()


def boxes(block):
    return block.find_all("input", attrs={"type": "checkbox"})


def test_one_unticked_box_per_offered_category(client, shop):
    block = section(client.get(shop.page.url).content, shop.block_id)
    found = boxes(block)
    assert [box["value"] for box in found] == ["marketing", "transactional"]
    assert not any(box.has_attr("checked") for box in found)
    labels = [block.find("label", attrs={"for": box["id"]}).get_text(strip=True) for box in found]
    assert labels == ["Offers and news", "Order updates"]


def test_form_posts_to_the_plugin_with_csrf_and_a_signed_token(client, shop):
    form = section(client.get(shop.page.url).content, shop.block_id).find("form")
    assert form["method"] == "post" and form["action"] == "/whatsapp/opt-in/"
    assert form.find("input", attrs={"name": "csrfmiddlewaretoken"})["value"]
    token = form.find("input", attrs={"name": "token", "type": "hidden"})["value"]
    assert token.count(":") == 1 and len(token) > 40  # signed, not a bare page id
    # Nothing the server decides travels as a plain field: no categories list, no wording.
    assert not form.find("input", attrs={"name": re.compile("wording|language|page|block")})


def test_default_wording_names_business_and_whatsapp_and_links_the_policy(client, shop):
    block = section(client.get(shop.page.url).content, shop.block_id)
    intro = block.find(class_="wa-opt-in__intro").get_text()
    assert BUSINESS in intro and "WhatsApp" in intro and "STOP" in intro
    link = block.find(class_="wa-opt-in__privacy").find("a")
    assert link["href"] == "http://localhost/privacy/" and link.get_text(strip=True) == "Privacy policy"


def test_business_name_falls_back_to_the_setting(client, shop):
    WhatsAppSettings.objects.filter(site=shop.site).update(business_name="")
    with wa_settings(BUSINESS_NAME="Fallback Trading Ltd"):
        html = client.get(shop.page.url).content.decode()
    assert "Yes, Fallback Trading Ltd may send me" in html


def test_editor_texts_and_site_labels_replace_the_defaults(client):
    shop = build_shop(
        heading="News by WhatsApp", intro="Tick what you want from us.", button_label="Sign me up"
    )
    WhatsAppSettings.objects.filter(site=shop.site).update(marketing_label="Deals of the week")
    block = section(client.get(shop.page.url).content, shop.block_id)
    assert block.find("h2").get_text(strip=True) == "News by WhatsApp"
    assert block.find(class_="wa-opt-in__intro").get_text(strip=True) == "Tick what you want from us."
    assert block.find("button").get_text(strip=True) == "Sign me up"
    assert (
        block.find("label", attrs={"for": boxes(block)[0]["id"]}).get_text(strip=True) == "Deals of the week"
    )
    # The policy link stays, whatever the editor wrote.
    assert block.find(class_="wa-opt-in__privacy").find("a")["href"].endswith("/privacy/")


def test_only_enabled_categories_are_offered_and_none_hides_the_block(client, shop):
    with wa_settings(CATEGORIES=["transactional"]):
        block = section(client.get(shop.page.url).content, shop.block_id)
        assert [box["value"] for box in boxes(block)] == ["transactional"]
    with wa_settings(CATEGORIES=["support"]):
        assert f"wa-opt-in-{shop.block_id}" not in client.get(shop.page.url).content.decode()


def test_country_defaults_to_the_setting_else_the_language(client, shop):
    def selected(**headers):
        select = section(client.get(shop.page.url, **headers).content, shop.block_id).find("select")
        return select.find("option", selected=True)["value"]

    assert selected() == "DE"  # the sandbox's DEFAULT_REGION
    with wa_settings(DEFAULT_REGION=None):
        assert selected(HTTP_ACCEPT_LANGUAGE="ru") == "RU"
        assert selected(HTTP_ACCEPT_LANGUAGE="uz") == "UZ"


def test_country_names_follow_the_language(client, shop):
    select = section(client.get(shop.page.url, HTTP_ACCEPT_LANGUAGE="ar").content, shop.block_id).find(
        "select"
    )
    assert select.find("option", value="DE").get_text() == "ألمانيا (+49)"
    assert len(select.find_all("option")) > 200


def test_every_field_has_a_label_and_the_boxes_a_fieldset(client, shop):
    block = section(client.get(shop.page.url).content, shop.block_id)
    for field in block.select("input:not([type=hidden]), select"):
        assert block.find("label", attrs={"for": field["id"]}), field
    fieldset = block.find("fieldset")
    assert fieldset.find("legend").get_text(strip=True) == "What may we send you on WhatsApp?"
    assert len(boxes(fieldset)) == 2
    phone = block.find("input", attrs={"name": "phone"})
    assert phone["type"] == "tel" and phone["autocomplete"] == "tel"
    assert phone["aria-describedby"] == f"wa-opt-in-{shop.block_id}-phone-hint"
    assert block.find(id=phone["aria-describedby"])
    assert not phone.has_attr("aria-invalid") and not block.select("[autofocus]")
    trap = block.find("input", attrs={"name": "website"})
    assert trap["tabindex"] == "-1" and trap.find_parent(attrs={"aria-hidden": "true"})


def test_no_script_inline_style_or_third_party_asset(client, shop):
    block = section(client.get(shop.page.url).content, shop.block_id)
    assert not block.find_all(["script", "style", "link", "img", "iframe"])
    assert not block.select("[style]") and not block.select("[onclick], [onsubmit]")


def test_stylesheet_uses_logical_properties_only():
    css = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    assert "inline-start" in css
    assert not re.search(r"\b(left|right)\b", css)
    assert not re.search(r"(margin|padding|border)-(top|bottom|left|right)\b", css)


def test_block_adds_at_most_one_query_per_page_render(client, shop):
    root = shop.site.root_page
    plain = add_page(root, "plain", [("paragraph", RichText("<p>Hello</p>"))])
    two_blocks = add_page(
        root,
        "two-blocks",
        [
            ("paragraph", RichText("<p>Hello</p>")),
            ("whatsapp_opt_in", opt_in_value()),
            ("whatsapp_opt_in", opt_in_value(categories=["support"])),
        ],
    )
    for page in (plain, two_blocks):  # warm the per-process caches (site root paths, templates)
        assert client.get(page.url).status_code == 200

    def queries(page) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.url)
        assert response.status_code == 200
        return len(captured.captured_queries)

    baseline = queries(plain)
    with_blocks = queries(two_blocks)
    html = client.get(two_blocks.url).content.decode()
    assert html.count('class="wa-opt-in"') == 2 and "http://localhost/privacy/" in html
    assert with_blocks - baseline <= 1, (baseline, with_blocks)


def test_outside_a_served_page_the_form_is_a_disabled_preview():
    block = WhatsAppOptInBlock()
    html = block.render(block.to_python(opt_in_value()))
    assert "Offers and news" in html and 'name="token" value=""' in html
    assert re.search(r"<button[^>]*disabled", html)
