"""Wagtail admin for campaigns: a ModelViewSet (list, create, edit) plus a report page with the
progress bar and the start / pause / resume / cancel buttons. Views stay thin: they call the
functions of ``service``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn, TitleColumn
from wagtail.admin.views.generic import EditView, WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet

from . import service
from .models import Campaign

FORM_FIELDS = [
    "name",
    "template",
    "parameters",
    "languages",
    "countries",
    "last_order_from",
    "last_order_to",
    "opted_in_since",
    "send_at",
]


def can_view(user: Any) -> bool:
    return user.has_perm("wa_campaigns.view_campaign") or user.has_perm("wa_campaigns.change_campaign")


def can_run(user: Any) -> bool:
    return user.has_perm("wa_campaigns.change_campaign")


class CampaignEditView(EditView):
    """Only drafts and scheduled campaigns can be edited; the others show their report."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        campaign = self.get_object()
        if not campaign.editable:
            messages.warning(request, _("A campaign that has started cannot be edited."))
            return HttpResponseRedirect(reverse("wa_campaigns:report", args=(campaign.pk,)))
        return super().dispatch(request, *args, **kwargs)


class CampaignReportView(WagtailAdminTemplateMixin, TemplateView):
    """Progress (a server-rendered <progress>), the action buttons and the outcome report."""

    template_name = "wa_campaigns/report.html"
    header_icon = "mail"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_view(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def campaign(self) -> Campaign:
        campaign = get_object_or_404(Campaign.objects.select_related("template"), pk=self.kwargs["pk"])
        return service.refresh_status(campaign)

    def get_page_title(self) -> str:
        return _("Campaign report")

    def get_page_subtitle(self) -> str:
        return self.campaign.name

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wa_campaigns:index"), "label": _("WhatsApp campaigns")},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        campaign = self.campaign
        status = campaign.status
        context.update(
            campaign=campaign,
            report=service.report(campaign),
            can_run=can_run(self.request.user),
            actions=[
                (name, label)
                for name, label, allowed in [
                    ("start", _("Start"), status == "draft"),
                    ("pause", _("Pause"), status in ("scheduled", "sending")),
                    ("resume", _("Resume"), status == "paused"),
                    ("cancel", _("Cancel campaign"), status not in ("cancelled", "done")),
                ]
                if allowed
            ],
        )
        return context


class CampaignActionView(View):
    """POST only (CSRF-protected by Django's middleware): start, pause, resume or cancel."""

    http_method_names = ["post"]
    ACTIONS = {
        "start": service.start,
        "pause": service.pause,
        "resume": service.resume,
        "cancel": service.cancel,
    }

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if not can_run(request.user):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        function = self.ACTIONS.get(action)
        if function is None:
            return HttpResponse(status=404)
        try:
            function(campaign)
        except service.CampaignStateError as error:
            messages.error(request, str(error))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("Campaign updated: %(status)s.") % {"status": campaign.get_status_display()}
            )
        return HttpResponseRedirect(reverse("wa_campaigns:report", args=(pk,)))


class CampaignViewSet(ModelViewSet):
    model = Campaign
    name = "wa_campaigns"
    url_prefix = "wa-campaigns"
    icon = "mail"
    menu_label = gettext_lazy("WhatsApp campaigns")
    add_to_admin_menu = True
    menu_order = 860
    form_fields = FORM_FIELDS
    edit_view_class = CampaignEditView
    list_filter = ["status"]
    search_fields = ["name"]
    list_display = [
        TitleColumn("name", label=gettext_lazy("Name"), url_name="wa_campaigns:report", sort_key="name"),
        Column("status", label=gettext_lazy("Status"), accessor="get_status_display", sort_key="status"),
        Column("template", label=gettext_lazy("Template")),
        NumberColumn("total_recipients", label=gettext_lazy("Recipients")),
        DateColumn("send_at", label=gettext_lazy("Send at"), sort_key="send_at"),
    ]

    def get_urlpatterns(self) -> list:
        return [
            *super().get_urlpatterns(),
            path("<int:pk>/report/", CampaignReportView.as_view(), name="report"),
            path("<int:pk>/<slug:action>/", CampaignActionView.as_view(), name="action"),
        ]
