"""Admin views: the template registry with its sync button, and the contact timeline.

The ledger report lives in ``reports.py``. Views stay thin: they check permissions and call the
services (``messaging.templates.sync_templates``) or the read helpers of this package.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, NumberColumn, StatusTagColumn
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.base import BaseListingView

from ..consent.models import ConsentState, Contact
from ..exceptions import WaConsentConfigurationError
from ..graph.errors import WhatsAppAPIError
from ..messaging.models import ChannelStatus, MessageTemplate
from ..messaging.templates import sync_templates
from .permissions import can_sync_templates, can_view_ledger, can_view_phone_numbers, can_view_templates
from .phones import phone_for_display
from .timeline import CONSENT, INBOUND, OUTBOUND, build_timeline

logger = logging.getLogger(__name__)


class TemplateRegistryView(BaseListingView):
    """Read-only list of the templates synced from Meta; changes happen in WhatsApp Manager."""

    page_title = gettext_lazy("WhatsApp templates")
    header_icon = "doc-full"
    template_name = "wagtail_wa_consent/admin/templates_index.html"
    index_url_name = "wa_consent_admin:templates"
    index_results_url_name = "wa_consent_admin:templates_results"
    default_ordering = "name"
    paginate_by = 50
    is_searchable = True
    search_fields = ["name"]
    verbose_name_plural = gettext_lazy("WhatsApp templates")
    columns = [
        Column("name", label=gettext_lazy("Name"), sort_key="name"),
        Column("language", label=gettext_lazy("Language"), sort_key="language"),
        Column(
            "category", label=gettext_lazy("Category"), accessor="get_category_display", sort_key="category"
        ),
        StatusTagColumn(
            "status",
            label=gettext_lazy("Status"),
            primary=lambda template: template.status == "APPROVED",
            sort_key="status",
        ),
        Column("quality_score", label=gettext_lazy("Quality")),
        NumberColumn("parameter_count", label=gettext_lazy("Parameters")),
        BooleanColumn("has_opt_out", label=gettext_lazy("Opt-out")),
        DateColumn("synced_at", label=gettext_lazy("Last synced"), sort_key="synced_at"),
    ]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_view_templates(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self) -> QuerySet[MessageTemplate]:
        return MessageTemplate.objects.all()

    def order_queryset(self, queryset: QuerySet[MessageTemplate]) -> QuerySet[MessageTemplate]:
        # name + language is unique, so pages never repeat or skip a row.
        ordered = super().order_queryset(queryset)
        return ordered.order_by(*ordered.query.order_by, "name", "language")

    def get_context_data(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(*args, **kwargs)
        context["can_sync"] = can_sync_templates(self.request.user)
        context["sync_url"] = reverse("wa_consent_admin:templates_sync")
        context["channel"] = ChannelStatus.objects.filter(pk=1).first()
        return context


class SyncTemplatesView(View):
    """POST only: copy the template list from the Graph API, report the outcome as a message."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if not can_sync_templates(request.user):
            raise PermissionDenied
        try:
            count = sync_templates()
        except WaConsentConfigurationError as error:
            # The message names the setting to fill in; it holds no secret.
            messages.error(request, _("WhatsApp is not configured: %(error)s") % {"error": error})
        except WhatsAppAPIError as error:
            # str() is redacted (no token, no number) and keeps Meta's fbtrace_id for support.
            logger.warning("template sync by user %s failed: %s", request.user.pk, error)
            messages.error(request, _("Meta did not return the template list. %(error)s") % {"error": error})
        else:
            messages.success(
                request,
                ngettext(
                    "Synced %(count)s template from WhatsApp.",
                    "Synced %(count)s templates from WhatsApp.",
                    count,
                )
                % {"count": count},
            )
        return HttpResponseRedirect(reverse("wa_consent_admin:templates"))


class ContactTimelineView(WagtailAdminTemplateMixin, TemplateView):
    """Everything that happened with one contact, oldest first."""

    template_name = "wagtail_wa_consent/admin/contact_timeline.html"
    header_icon = "history"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_view_ledger(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def contact(self) -> Contact:
        return get_object_or_404(Contact, pk=self.kwargs["pk"])

    def get_page_title(self) -> str:
        return _("Contact timeline")

    def get_page_subtitle(self) -> str:
        return str(self.contact)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wa_consent_admin:ledger"), "label": _("WhatsApp consent ledger")},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        contact = self.contact
        context.update(
            contact=contact,
            phone=phone_for_display(contact.phone_e164, reveal=can_view_phone_numbers(self.request.user)),
            states=ConsentState.objects.filter(contact=contact).order_by("category"),
            timeline=build_timeline(contact),
            CONSENT=CONSENT,
            OUTBOUND=OUTBOUND,
            INBOUND=INBOUND,
        )
        return context
