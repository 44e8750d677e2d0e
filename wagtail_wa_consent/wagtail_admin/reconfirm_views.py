"""Admin screens for substantially changed consent wordings: who consented to an older text,
and asking them to confirm the current one."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic import WagtailAdminTemplateMixin

from ..consent.models import WordingSupersession
from ..storefront.wording_changes import affected_states, current_wording
from .permissions import can_request_reconfirmation


class _ReconfirmPermissionMixin:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_request_reconfirmation(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class WordingChangesView(_ReconfirmPermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """Every wording an editor superseded, with how many standing consents still rest on it."""

    template_name = "wagtail_wa_consent/admin/wording_changes.html"
    page_title = gettext_lazy("Consent wordings")
    page_subtitle = gettext_lazy("Substantial changes")
    header_icon = "doc-full"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rows = WordingSupersession.objects.select_related("wording", "page", "changed_by").order_by(
            "-superseded_at", "-pk"
        )
        context["rows"] = [
            {
                "supersession": row,
                "affected": affected_states(WordingSupersession.objects.filter(pk=row.pk)).count(),
                "url": reverse("wa_consent_admin:wording_reconfirm", args=[row.pk]),
            }
            for row in rows[:200]
        ]
        return context


class ReconfirmView(_ReconfirmPermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: what will be sent and to how many. POST: queue the questions."""

    template_name = "wagtail_wa_consent/admin/wording_reconfirm.html"
    page_title = gettext_lazy("Ask to confirm again")
    header_icon = "doc-full"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        supersession = get_object_or_404(
            WordingSupersession.objects.select_related("wording", "page"), pk=self.kwargs["pk"]
        )
        text = ""
        if supersession.page is not None:
            text, _url = current_wording(
                supersession.page, supersession.block_id, supersession.wording.language
            )
        context.update(
            supersession=supersession,
            affected=affected_states(WordingSupersession.objects.filter(pk=supersession.pk)).count(),
            new_text=text,
            index_url=reverse("wa_consent_admin:wording_changes"),
        )
        return context

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        from ..tasks import request_reconfirmations

        supersession = get_object_or_404(WordingSupersession, pk=pk)
        affected = affected_states(WordingSupersession.objects.filter(pk=supersession.pk)).count()
        if affected == 0:
            messages.warning(request, _("No standing consent rests on this wording: nothing to send."))
        else:
            request_reconfirmations.delay([supersession.pk], request.user.pk)
            messages.success(
                request,
                ngettext(
                    "Asking %(count)s contact to confirm again.",
                    "Asking %(count)s contacts to confirm again.",
                    affected,
                )
                % {"count": affected},
            )
        return HttpResponseRedirect(reverse("wa_consent_admin:wording_changes"))
