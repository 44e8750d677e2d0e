"""Admin URLs, mounted by the ``register_admin_urls`` hook under ``<admin>/wa-consent/``."""

from __future__ import annotations

from django.urls import include, path

from .reports import LedgerReportView
from .views import ContactTimelineView, SyncTemplatesView, TemplateRegistryView

app_name = "wa_consent_admin"

urlpatterns = [
    path("ledger/", LedgerReportView.as_view(), name="ledger"),
    path("ledger/results/", LedgerReportView.as_view(results_only=True), name="ledger_results"),
    path("contacts/<int:pk>/", ContactTimelineView.as_view(), name="contact_timeline"),
    path("templates/", TemplateRegistryView.as_view(), name="templates"),
    path("templates/results/", TemplateRegistryView.as_view(results_only=True), name="templates_results"),
    path("templates/sync/", SyncTemplatesView.as_view(), name="templates_sync"),
    path("requests/", include("wagtail_wa_consent.rights.admin_urls")),
    path("import/", include("wagtail_wa_consent.imports.admin_urls")),
    path("wordings/", include("wagtail_wa_consent.wagtail_admin.reconfirm_urls")),
]
