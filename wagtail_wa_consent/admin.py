"""Read-only Django admin views of the ledger: it can be inspected, never edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .consent.models import ConsentEvent, ConsentWording


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["contact", "sequence", "category", "event_type", "source", "occurred_at"]
    list_filter = ["category", "event_type", "source"]


@admin.register(ConsentWording)
class ConsentWordingAdmin(ReadOnlyAdmin):
    list_display = ["digest", "language", "created_at"]
