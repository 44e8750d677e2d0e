"""Admin URLs of this package, included under the ``wa_consent_admin`` namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from .admin_views import (
    RequestCompleteView,
    RequestCreateView,
    RequestDetailView,
    RequestEvidencePackView,
    RequestExportView,
    RequestExtendView,
    RequestIndexView,
    RequestRefuseView,
)

urlpatterns: list[URLPattern] = [
    path("", RequestIndexView.as_view(), name="requests"),
    path("results/", RequestIndexView.as_view(results_only=True), name="requests_results"),
    path("new/", RequestCreateView.as_view(), name="request_new"),
    path("<int:pk>/", RequestDetailView.as_view(), name="request_detail"),
    path("<int:pk>/export.json", RequestExportView.as_view(), name="request_export"),
    path("<int:pk>/evidence-pack.html", RequestEvidencePackView.as_view(), name="request_evidence_pack"),
    path("<int:pk>/complete/", RequestCompleteView.as_view(), name="request_complete"),
    path("<int:pk>/refuse/", RequestRefuseView.as_view(), name="request_refuse"),
    path("<int:pk>/extend/", RequestExtendView.as_view(), name="request_extend"),
]
