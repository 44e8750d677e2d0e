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


#: (label, URL name, icon, permission test), in menu order.
ITEMS = (
    (_("Consent ledger"), "ledger", "clipboard-list", can_view_ledger),
    (_("Templates"), "templates", "doc-full", can_view_templates),
    (_("Consent wordings"), "wording_changes", "doc-full-inverse", can_request_reconfirmation),
    (_("Data requests"), "requests", "user", can_handle_data_requests),
    (_("Import opt-ins"), "import", "upload", can_import_contacts),
)


def whatsapp_menu_item() -> SubmenuMenuItem:
    """The submenu; Wagtail hides it when none of its items is shown."""
    menu = Menu(
        items=[
            PermissionMenuItem(
                label,
                reverse(f"wa_consent_admin:{url_name}"),
                name=f"wa-consent-{url_name.replace('_', '-')}",
                icon_name=icon,
                order=100 * position,
                allowed=allowed,
            )
            for position, (label, url_name, icon, allowed) in enumerate(ITEMS, start=1)
        ]
    )
    return SubmenuMenuItem(_("WhatsApp"), menu, name="whatsapp", icon_name="comment", order=850)
