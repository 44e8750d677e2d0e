"""Admin URLs of this package, included under the ``wa_consent_admin`` namespace."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
