"""The data-request queue in the Wagtail admin: list with the deadline clock, new request, detail
with downloads and actions. Every view needs ``can_handle_data_requests``; actions are POSTs that
call the service in ``requests.py``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Case, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.base import BaseListingView
from wagtail.admin.widgets.button import HeaderButton

from ..consent.models import Contact
from ..exceptions import InvalidPhoneNumber
from ..pages.export import export_contact
from ..wagtail_admin.permissions import can_handle_data_requests, can_view_ledger, can_view_phone_numbers
from ..wagtail_admin.phones import phone_for_display
from . import requests as service
from .admin_forms import CompleteForm, ExtendForm, NewRequestForm, RefuseForm
from .evidence_pack import evidence_pack_response
from .models import DataSubjectRequest
from .numbers import NumberChangeRefused

logger = logging.getLogger("wagtail_wa_consent.rights")

Kind = DataSubjectRequest.Kind
State = DataSubjectRequest.State

#: What completing each kind does, shown beside the button.
COMPLETE_EFFECT = {
    Kind.ACCESS: gettext_lazy("Marks it done. Send the person the JSON export or the evidence pack first."),
    Kind.PORTABILITY: gettext_lazy("Marks it done. Send the person the JSON export first."),
    Kind.ERASURE: gettext_lazy(
        "Withdraws every consent, deletes the number, IP addresses, user agents and message contents, "
        "and puts the number on the suppression list. The anonymised ledger stays. Cannot be undone."
    ),
    Kind.RECTIFICATION: gettext_lazy("Moves the contact, and its whole history, to the new number."),
    Kind.OBJECTION: gettext_lazy(
        "Withdraws every consent and puts the number on the suppression list, so no import adds it back."
    ),
}

#: Why a number change was refused, for staff.
REFUSAL_MESSAGES = {
    "in_use": gettext_lazy("Another contact with its own history holds the new number. Resolve that first."),
    "erased_number": gettext_lazy(
        "The new number belongs to an erased contact; it cannot be reused automatically."
    ),
    "unchanged": gettext_lazy("The new number is the contact's number already."),
    "erased": gettext_lazy("The contact was erased: there is no number to change."),
}


class _HandleRequestsMixin:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_handle_data_requests(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


# --- List -------------------------------------------------------------------------------------


class RequestFilterSet(WagtailFilterSet):
    state = django_filters.MultipleChoiceFilter(
        label=gettext_lazy("State"), choices=State.choices, widget=forms.CheckboxSelectMultiple
    )
    kind = django_filters.MultipleChoiceFilter(
        label=gettext_lazy("Request"), choices=Kind.choices, widget=forms.CheckboxSelectMultiple
    )
    deadline = django_filters.ChoiceFilter(
        label=gettext_lazy("Deadline"),
        choices=[("overdue", gettext_lazy("Overdue")), ("week", gettext_lazy("Due within 7 days"))],
        method="filter_deadline",
        empty_label=gettext_lazy("Any"),
    )
    contact = django_filters.NumberFilter(label=gettext_lazy("Contact ID"), field_name="contact_id")

    class Meta:
        model = DataSubjectRequest
        fields: list[str] = []

    def filter_deadline(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        now = timezone.now()
        open_requests = queryset.filter(state=State.OPEN)
        if value == "overdue":
            return open_requests.filter(due_at__lt=now)
        if value == "week":
            return open_requests.filter(due_at__gte=now, due_at__lt=now + timedelta(days=7))
        return queryset


class DeadlineColumn(Column):
    """Days left, or overdue in red; a marker when the deadline was extended."""

    cell_template_name = "wagtail_wa_consent/admin/requests_deadline_cell.html"

    def get_cell_context_data(self, instance: DataSubjectRequest, parent_context: dict) -> dict[str, Any]:
        context = super().get_cell_context_data(instance, parent_context)
        context.update(deadline=deadline(instance))
        return context


def deadline(request: DataSubjectRequest) -> dict[str, Any]:
    """The clock of one request, for templates: whole calendar days in the site's time zone."""
    days = (timezone.localtime(request.due_at).date() - timezone.localdate()).days
    return {
        "open": request.state == State.OPEN,
        "due_at": request.due_at,
        "overdue": request.is_overdue,
        "days_left": max(days, 0),
        "days_overdue": max(-days, 0),
        "extended": request.extended,
    }


class RequestIndexView(_HandleRequestsMixin, BaseListingView):
    page_title = gettext_lazy("Data requests")
    header_icon = "user"
    index_url_name = "wa_consent_admin:requests"
    index_results_url_name = "wa_consent_admin:requests_results"
    filterset_class = RequestFilterSet
    default_ordering = "due_at"
    paginate_by = 50
    verbose_name_plural = gettext_lazy("data requests")

    @cached_property
    def columns(self) -> list[Column]:  # type: ignore[override]
        return [
            TitleColumn(
                "request",
                label=gettext_lazy("Request"),
                accessor=lambda r: f"#{r.pk} {r.get_kind_display()}",
                get_url=lambda r: reverse("wa_consent_admin:request_detail", args=[r.pk]),
            ),
            StatusTagColumn(
                "state",
                label=gettext_lazy("State"),
                accessor="get_state_display",
                primary=lambda r: r.state == State.OPEN,
            ),
            Column("contact", label=gettext_lazy("Contact"), accessor=_contact_label),
            Column("channel", label=gettext_lazy("Received through"), accessor="get_channel_display"),
            DateColumn("received_at", label=gettext_lazy("Received"), sort_key="received_at"),
            DeadlineColumn("due_at", label=gettext_lazy("Deadline"), sort_key="due_at"),
        ]

    def get_base_queryset(self) -> QuerySet[DataSubjectRequest]:
        return DataSubjectRequest.objects.select_related("contact")

    def order_queryset(self, queryset: QuerySet[DataSubjectRequest]) -> QuerySet[DataSubjectRequest]:
        # Open requests first, whatever the column order, so the most urgent is always on top.
        open_first = Case(When(state=State.OPEN, then=Value(0)), default=Value(1))
        ordered = super().order_queryset(queryset)
        return ordered.order_by(open_first, *ordered.query.order_by, "pk")

    def get_header_buttons(self) -> list[Any]:
        return [
            HeaderButton(_("New request"), url=reverse("wa_consent_admin:request_new"), icon_name="plus"),
            *super().get_header_buttons(),
        ]


def _contact_label(request: DataSubjectRequest) -> str:
    return str(request.contact) if request.contact_id else _("No data held")


# --- New request ------------------------------------------------------------------------------


class RequestCreateView(_HandleRequestsMixin, WagtailAdminTemplateMixin, FormView):
    """A request received outside the preference centre (e-mail, letter, phone)."""

    form_class = NewRequestForm
    template_name = "wagtail_wa_consent/admin/requests_new.html"
    page_title = gettext_lazy("New data request")
    header_icon = "user"

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        contact_id = self.request.GET.get("contact", "")
        # From a contact's timeline: the number need not be typed (or even be visible to staff).
        if contact_id.isdigit() and Contact.objects.filter(pk=contact_id).exists():
            initial["contact"] = contact_id
        return initial

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wa_consent_admin:requests"), "label": _("Data requests")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(action_url=self.request.get_full_path(), submit_button_label=_("Record the request"))
        return context

    def form_valid(self, form: NewRequestForm) -> HttpResponse:
        contact = form.found_contact()
        note = form.cleaned_data["note"]
        if contact is None:
            note = f"{note}\n{_('No data held for this number.')}".strip()
        request = service.open_request(
            form.cleaned_data["kind"],
            channel=DataSubjectRequest.Channel.ADMIN,
            contact=contact,
            received_at=form.received_at(),
            new_phone=form.cleaned_data["new_phone"],
            note=note,
            user=self.request.user,
        )
        messages.success(self.request, _("Request #%(id)s recorded.") % {"id": request.pk})
        return HttpResponseRedirect(reverse("wa_consent_admin:request_detail", args=[request.pk]))

    def form_invalid(self, form: NewRequestForm) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


# --- Detail and actions -----------------------------------------------------------------------


class RequestDetailView(_HandleRequestsMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_wa_consent/admin/requests_detail.html"
    header_icon = "user"

    @cached_property
    def data_request(self) -> DataSubjectRequest:
        return get_object_or_404(
            DataSubjectRequest.objects.select_related("contact", "handled_by"), pk=self.kwargs["pk"]
        )

    def get_page_title(self) -> str:
        return _("Data request #%(id)s") % {"id": self.kwargs["pk"]}

    def get_page_subtitle(self) -> str:
        return self.data_request.get_kind_display()

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wa_consent_admin:requests"), "label": _("Data requests")},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        item = self.data_request
        contact = item.contact
        reveal = can_view_phone_numbers(self.request.user)
        context.update(
            item=item,
            contact=contact,
            phone=phone_for_display(contact.phone_e164 if contact else None, reveal=reveal),
            new_phone=phone_for_display(item.new_phone, reveal=reveal),
            number_changes=contact.number_changes.order_by("changed_at") if contact else [],
            timeline_url=(
                reverse("wa_consent_admin:contact_timeline", args=[contact.pk])
                if contact and can_view_ledger(self.request.user)
                else ""
            ),
            deadline=deadline(item),
            complete_effect=COMPLETE_EFFECT[item.kind],
            complete_form=kwargs.get("complete_form") or CompleteForm(),
            refuse_form=kwargs.get("refuse_form") or RefuseForm(),
            extend_form=kwargs.get("extend_form") or ExtendForm(),
            can_extend=item.state == State.OPEN and item.due_at < service.latest_due(item),
            urls={
                name: reverse(f"wa_consent_admin:request_{name}", args=[item.pk])
                for name in ("export", "evidence_pack", "complete", "refuse", "extend")
            },
        )
        return context

    def _back(self) -> HttpResponse:
        return HttpResponseRedirect(reverse("wa_consent_admin:request_detail", args=[self.data_request.pk]))

    def _invalid(self, status: int = 400, **forms: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(**forms), status=status)


class RequestCompleteView(RequestDetailView):
    """POST: run the request's action. An erasure first shows a confirmation page."""

    http_method_names = ["post"]
    confirm_template_name = "wagtail_wa_consent/admin/requests_confirm.html"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = CompleteForm(request.POST)
        item = self.data_request
        if not form.is_valid():
            return self._invalid(complete_form=form)
        if item.kind == Kind.ERASURE and not form.cleaned_data["confirm"] and item.state == State.OPEN:
            return self.response_class(
                request=request,
                template=[self.confirm_template_name],
                context=self.get_context_data(complete_form=form),
                using=self.template_engine,
            )
        try:
            service.complete_request(item, user=request.user, note=form.cleaned_data["note"])
        except service.RequestClosed:
            messages.warning(request, _("This request is closed already."))
        except NumberChangeRefused as error:
            messages.error(request, str(REFUSAL_MESSAGES.get(error.code, error)))
        except InvalidPhoneNumber as error:
            problem = error.messages[0]
            messages.error(request, _("The new number is not valid: %(error)s") % {"error": problem})
        else:
            messages.success(request, _("Request #%(id)s is done.") % {"id": item.pk})
        return self._back()


class RequestRefuseView(RequestDetailView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = RefuseForm(request.POST)
        if not form.is_valid():
            return self._invalid(refuse_form=form)
        try:
            service.refuse_request(self.data_request, reason=form.cleaned_data["reason"], user=request.user)
        except service.RequestClosed:
            messages.warning(request, _("This request is closed already."))
        else:
            messages.success(request, _("Request #%(id)s is refused.") % {"id": self.data_request.pk})
        return self._back()


class RequestExtendView(RequestDetailView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = ExtendForm(request.POST)
        if not form.is_valid():
            return self._invalid(extend_form=form)
        try:
            service.extend_deadline(
                self.data_request,
                months=form.cleaned_data["months"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except service.RequestClosed:
            messages.warning(request, _("This request is closed already."))
        except service.ExtensionTooLong:
            form.add_error("months", _("Art. 12(3) allows at most two further months in total."))
            return self._invalid(extend_form=form)
        else:
            messages.success(request, _("The deadline is extended."))
        return self._back()


# --- Downloads --------------------------------------------------------------------------------


class _DownloadView(_HandleRequestsMixin, View):
    http_method_names = ["get"]

    def contact(self, pk: int) -> Any:
        item = get_object_or_404(DataSubjectRequest.objects.select_related("contact"), pk=pk)
        if item.contact is None:
            raise Http404("No data is held for this request.")
        logger.info("data request %s: download by user %s", item.pk, self.request.user.pk)
        return item.contact


class RequestExportView(_DownloadView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        response = JsonResponse(
            export_contact(self.contact(pk)), json_dumps_params={"indent": 2, "ensure_ascii": False}
        )
        filename = f"whatsapp-data-request-{pk}-{timezone.localdate().isoformat()}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class RequestEvidencePackView(_DownloadView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return evidence_pack_response(self.contact(pk), request)
