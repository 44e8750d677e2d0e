"""Admin URLs of the wording-change screens, included under the ``wa_consent_admin`` namespace."""

from __future__ import annotations

from django.urls import path

from .reconfirm_views import ReconfirmView, WordingChangesView

urlpatterns = [
    path("", WordingChangesView.as_view(), name="wording_changes"),
    path("<int:pk>/reconfirm/", ReconfirmView.as_view(), name="wording_reconfirm"),
]
