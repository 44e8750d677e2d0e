"""Wagtail hooks: admin URLs, the WhatsApp menu, the dashboard panel and group permissions.

The site setting ``WhatsAppSettings`` registers itself under Settings (``storefront/models.py``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, include, path
from wagtail import hooks
from wagtail.admin.menu import SubmenuMenuItem

from .wagtail_admin import urls as admin_urls
from .wagtail_admin.menu import whatsapp_menu_item
from .wagtail_admin.panels import ConsentDashboardPanel
from .wagtail_admin.permissions import can_view_ledger, registered_permissions


@hooks.register("register_admin_urls")
def register_admin_urls() -> list[URLPattern | URLResolver]:
    return [path("wa-consent/", include(admin_urls, namespace="wa_consent_admin"))]


@hooks.register("register_admin_menu_item")
def register_whatsapp_menu() -> SubmenuMenuItem:
    return whatsapp_menu_item()


@hooks.register("construct_homepage_panels")
def add_dashboard_panel(request: HttpRequest, panels: list[Any]) -> None:
    # Not even the aggregate numbers for users who may not read the ledger.
    if can_view_ledger(request.user):
        panels.append(ConsentDashboardPanel())


@hooks.register("register_permissions")
def register_permissions() -> QuerySet[Permission]:
    """Offer the ledger, phone-number and template permissions in Wagtail's group editor."""
    return registered_permissions()
