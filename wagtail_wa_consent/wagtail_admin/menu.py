"""The "WhatsApp" admin menu: each item is shown only to users allowed to open it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from .permissions import (
    can_handle_data_requests,
    can_import_contacts,
    can_request_reconfirmation,
    can_view_ledger,
    can_view_templates,
)


class PermissionMenuItem(MenuItem):
    """A menu item with a permission test; the views check the same test again."""

    def __init__(self, *args: Any, allowed: Callable[[Any], bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def is_shown(self, request: HttpRequest) -> bool:
        return self.allowed(request.user)


def whatsapp_menu_item() -> SubmenuMenuItem:
    """The submenu; Wagtail hides it when none of its items is shown."""
    menu = Menu(
        items=[
            PermissionMenuItem(
                _("Consent ledger"),
                reverse("wa_consent_admin:ledger"),
                name="wa-consent-ledger",
                icon_name="clipboard-list",
                order=100,
                allowed=can_view_ledger,
            ),
            PermissionMenuItem(
                _("Templates"),
                reverse("wa_consent_admin:templates"),
                name="wa-consent-templates",
                icon_name="doc-full",
                order=200,
                allowed=can_view_templates,
            ),
            PermissionMenuItem(
                _("Consent wordings"),
                reverse("wa_consent_admin:wording_changes"),
                name="wa-consent-wordings",
                icon_name="doc-full-inverse",
                order=250,
                allowed=can_request_reconfirmation,
            ),
            PermissionMenuItem(
                _("Data requests"),
                reverse("wa_consent_admin:requests"),
                name="wa-consent-requests",
                icon_name="user",
                order=300,
                allowed=can_handle_data_requests,
            ),
            PermissionMenuItem(
                _("Import opt-ins"),
                reverse("wa_consent_admin:import"),
                name="wa-consent-import",
                icon_name="upload",
                order=400,
                allowed=can_import_contacts,
            ),
        ]
    )
    return SubmenuMenuItem(_("WhatsApp"), menu, name="whatsapp", icon_name="comment", order=850)
