"""WhatsApp site settings under Settings, edited through grouped panels."""

from __future__ import annotations

import pytest
from django.urls import reverse
from wagtail.models import Site

from wagtail_wa_consent.storefront.models import WhatsAppSettings

from . import admin_user

pytestmark = pytest.mark.django_db


def settings_url(site: Site) -> str:
    return reverse("wagtailsettings:edit", args=["wa_consent", "whatsappsettings", site.pk])


def test_whatsapp_appears_under_settings(client):
    client.force_login(admin_user(superuser=True))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    settings_menu = html[html.index('"name": "settings"') :]
    assert '"label": "WhatsApp"' in settings_menu
    assert "/cms/settings/wa_consent/whatsappsettings/" in settings_menu


def test_settings_form_groups_the_fields(client):
    site = Site.objects.get(is_default_site=True)
    client.force_login(admin_user(superuser=True))
    response = client.get(settings_url(site))
    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("Business", "Chat bubble", "Category labels", "Pages"):
        assert heading in html
    for field in ("business_number", "bubble_colour", "support_label", "preference_centre_page"):
        assert f'name="{field}"' in html


def test_settings_can_be_saved_from_the_admin(client):
    site = Site.objects.get(is_default_site=True)
    client.force_login(admin_user(superuser=True))
    response = client.post(
        settings_url(site),
        {
            "business_name": "Laden GmbH",
            "business_number": "+49 30 1234567",
            "bubble_enabled": "on",
            "bubble_greeting": "Hallo!",
            "bubble_position": "end",
            "bubble_colour": "#0B6E4F",
            "marketing_label": "",
            "transactional_label": "",
            "support_label": "",
        },
    )
    assert response.status_code == 302
    saved = WhatsAppSettings.for_site(site)
    assert saved.business_name == "Laden GmbH" and saved.business_number == "+49301234567"
    assert saved.bubble_enabled
