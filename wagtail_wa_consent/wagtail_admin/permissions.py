"""Who may see what in the Wagtail admin screens of this app.

The ledger and phone permissions are declared on ``Contact`` (``consent/models.py``); the template
registry uses the model permissions of ``MessageTemplate``. Superusers pass every check, because
Django's ``ModelBackend.has_perm`` answers True for active superusers.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet

APP_LABEL = "wa_consent"

#: See the consent ledger report, the contact timelines and the dashboard panel.
VIEW_LEDGER = f"{APP_LABEL}.view_ledger"
#: See full phone numbers (everyone else sees a masked number).
VIEW_PHONE_NUMBER = f"{APP_LABEL}.view_phone_number"
#: See the template registry.
VIEW_TEMPLATES = f"{APP_LABEL}.view_messagetemplate"
#: Run "Sync now" (it rewrites the registry from Meta's list).
SYNC_TEMPLATES = f"{APP_LABEL}.change_messagetemplate"

#: Upload a CSV of existing opt-ins (dry run and import).
IMPORT_CONTACTS = f"{APP_LABEL}.import_contacts"
#: See superseded wordings and ask their contacts to confirm again.
REQUEST_RECONFIRMATION = f"{APP_LABEL}.request_reconfirmation"
#: Work the data-subject request queue (export, erase, rectify, close).
HANDLE_DATA_REQUESTS = f"{APP_LABEL}.handle_datasubjectrequest"

#: Codenames offered in Wagtail's group editor, by model.
REGISTERED_CODENAMES: dict[str, tuple[str, ...]] = {
    "contact": ("view_ledger", "view_phone_number", "import_contacts", "request_reconfirmation"),
    "datasubjectrequest": ("handle_datasubjectrequest",),
    "messagetemplate": ("view_messagetemplate", "change_messagetemplate"),
}


def can_view_ledger(user: Any) -> bool:
    return bool(user.has_perm(VIEW_LEDGER))


def can_view_phone_numbers(user: Any) -> bool:
    return bool(user.has_perm(VIEW_PHONE_NUMBER))


def can_sync_templates(user: Any) -> bool:
    return bool(user.has_perm(SYNC_TEMPLATES))


def can_view_templates(user: Any) -> bool:
    # Whoever may sync the list may also read it.
    return bool(user.has_perm(VIEW_TEMPLATES)) or can_sync_templates(user)


def can_import_contacts(user: Any) -> bool:
    return bool(user.has_perm(IMPORT_CONTACTS))


def can_request_reconfirmation(user: Any) -> bool:
    return bool(user.has_perm(REQUEST_RECONFIRMATION))


def can_handle_data_requests(user: Any) -> bool:
    return bool(user.has_perm(HANDLE_DATA_REQUESTS))


def registered_permissions() -> QuerySet[Permission]:
    """The permissions the ``register_permissions`` hook hands to Wagtail's group editor."""
    query = Q()
    for model, codenames in REGISTERED_CODENAMES.items():
        query |= Q(content_type__model=model, codename__in=codenames)
    return Permission.objects.filter(Q(content_type__app_label=APP_LABEL) & query)
