"""Who sees which admin screen and menu item; the permissions are offered in the group editor."""

from __future__ import annotations

import pytest
from django.urls import reverse
from wagtail import hooks

from wagtail_wa_consent.wagtail_admin.phones import mask_phone, phone_for_display

from . import (
    CHANGE_TEMPLATES,
    MASKED,
    PHONE,
    VIEW_LEDGER,
    VIEW_PHONE,
    VIEW_TEMPLATES,
    admin_user,
    contact,
    event,
)

pytestmark = pytest.mark.django_db

LEDGER_URLS = ["wa_consent_admin:ledger", "wa_consent_admin:ledger_results"]
TEMPLATE_URLS = ["wa_consent_admin:templates", "wa_consent_admin:templates_results"]


def test_mask_phone_keeps_country_prefix_and_last_two_digits():
    assert mask_phone(PHONE) == MASKED
    assert mask_phone("+16505551234") == "+1 650 ••••• 34"
    assert mask_phone(None) == "" and mask_phone("") == ""
    assert phone_for_display(PHONE, reveal=True) == PHONE
    assert phone_for_display(PHONE, reveal=False) == MASKED


@pytest.mark.parametrize("url_name", LEDGER_URLS)
def test_ledger_needs_view_ledger(client, url_name):
    client.force_login(admin_user(VIEW_PHONE, VIEW_TEMPLATES))
    refused = client.get(reverse(url_name))
    # Wagtail turns PermissionDenied into a redirect to the dashboard with an error message.
    assert refused.status_code == 302 and refused.url == reverse("wagtailadmin_home")

    client.force_login(admin_user(VIEW_LEDGER))
    assert client.get(reverse(url_name)).status_code == 200


def test_ledger_export_is_refused_without_view_ledger(client):
    client.force_login(admin_user(VIEW_PHONE))
    response = client.get(reverse("wa_consent_admin:ledger"), {"export": "csv"})
    assert response.status_code == 302
    assert "text/csv" not in response.get("Content-Type", "")


def test_timeline_needs_view_ledger(client):
    person = contact()
    event(person)
    url = reverse("wa_consent_admin:contact_timeline", args=[person.pk])
    client.force_login(admin_user(VIEW_PHONE, CHANGE_TEMPLATES))
    assert client.get(url).status_code == 302
    client.force_login(admin_user(VIEW_LEDGER))
    assert client.get(url).status_code == 200


def test_ajax_request_without_permission_gets_403(client):
    client.force_login(admin_user())
    response = client.get(
        reverse("wa_consent_admin:ledger_results"), headers={"x-requested-with": "XMLHttpRequest"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("url_name", TEMPLATE_URLS)
def test_template_registry_needs_a_template_permission(client, url_name):
    client.force_login(admin_user(VIEW_LEDGER))
    assert client.get(reverse(url_name)).status_code == 302
    client.force_login(admin_user(VIEW_TEMPLATES))
    assert client.get(reverse(url_name)).status_code == 200
    client.force_login(admin_user(CHANGE_TEMPLATES))  # may sync, so may read
    assert client.get(reverse(url_name)).status_code == 200


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(reverse("wa_consent_admin:ledger"))
    assert response.status_code == 302 and reverse("wagtailadmin_login") in response.url


def test_superuser_opens_everything(client):
    person = contact()
    event(person)
    client.force_login(admin_user(superuser=True))
    for url in (
        reverse("wa_consent_admin:ledger"),
        reverse("wa_consent_admin:templates"),
        reverse("wa_consent_admin:contact_timeline", args=[person.pk]),
    ):
        assert client.get(url).status_code == 200, url


def _menu_html(client) -> str:
    return client.get(reverse("wagtailadmin_home")).content.decode()


def test_menu_items_follow_permissions(client):
    client.force_login(admin_user())
    html = _menu_html(client)
    assert reverse("wa_consent_admin:ledger") not in html
    assert reverse("wa_consent_admin:templates") not in html
    assert '"name": "whatsapp"' not in html

    client.force_login(admin_user(VIEW_LEDGER))
    html = _menu_html(client)
    assert reverse("wa_consent_admin:ledger") in html
    assert reverse("wa_consent_admin:templates") not in html

    client.force_login(admin_user(VIEW_TEMPLATES))
    html = _menu_html(client)
    assert reverse("wa_consent_admin:ledger") not in html
    assert reverse("wa_consent_admin:templates") in html


def test_permissions_are_offered_in_the_group_editor(client):
    registered = set()
    for fn in hooks.get_hooks("register_permissions"):
        registered |= {f"{p.content_type.app_label}.{p.codename}" for p in fn()}
    assert {VIEW_LEDGER, VIEW_PHONE, VIEW_TEMPLATES, CHANGE_TEMPLATES} <= registered

    client.force_login(admin_user(superuser=True))
    html = client.get(reverse("wagtailusers_groups:add")).content.decode()
    assert "Can see WhatsApp phone numbers" in html
    assert "Can see the WhatsApp consent ledger" in html
