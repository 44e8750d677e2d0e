"""Admin URLs of the wording-change screens, included under the ``wa_consent_admin`` namespace."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
