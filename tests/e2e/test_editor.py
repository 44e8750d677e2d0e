"""What an editor does in the Wagtail admin: put the opt-in block on a new page and publish it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from wagtail.models import Page as WagtailPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/cms/login/")
    page.get_by_label(re.compile("username", re.I)).fill("admin")
    page.get_by_label(re.compile("password", re.I)).fill("admin")
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/cms/$"))


def test_editor_adds_the_opt_in_block_and_publishes(page: Page, demo, shot, offline):
    log_in(page, demo)
    home = WagtailPage.objects.get(slug="home", depth=2)
    page.goto(f"{demo}/cms/pages/add/home/standardpage/{home.pk}/")
    page.get_by_label(re.compile("^Title", re.I)).first.fill("Join us on WhatsApp")
    page.get_by_role("button", name=re.compile("Insert a block", re.I)).first.click()
    page.get_by_role("option", name=re.compile("WhatsApp opt-in")).click()
    heading = page.locator("input[name$='-value-heading']").first
    heading.fill("News on WhatsApp")
    shot("01-block-added")
    page.get_by_role("button", name=re.compile("More actions", re.I)).click()
    page.get_by_role("button", name=re.compile("^Publish", re.I)).click()
    expect(page.locator(".messages")).to_contain_text("published")
    shot("02-published")
    published = WagtailPage.objects.get(title="Join us on WhatsApp").specific
    assert published.live and published.body[0].block_type == "whatsapp_opt_in"
    page.goto(f"{demo}{published.url}")
    section = page.locator("section.wa-opt-in")
    expect(section.locator("h2")).to_have_text("News on WhatsApp")
    for box in section.locator("input[type=checkbox]").all():
        expect(box).not_to_be_checked()
    shot("03-live-page")
    assert offline == []
