"""Admin URLs of this package, included under the ``wa_consent_admin`` namespace."""

from __future__ import annotations

from django.urls import path

from .admin_views import ImportView

urlpatterns = [
    path("", ImportView.as_view(), name="import"),
]
