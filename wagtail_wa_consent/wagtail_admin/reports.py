"""The consent ledger report: every ledger event, filterable, with a streamed CSV export."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, StatusTagColumn, TitleColumn
from wagtail.admin.views.mixins import Echo
from wagtail.admin.views.reports import ReportView

from ..consent.enums import Category, EventType, OptInLevel, Source
from ..consent.models import ConsentEvent
from .evidence import evidence_of
from .formatting import exact_time, iso_utc, spreadsheet_safe
from .permissions import can_view_ledger, can_view_phone_numbers
from .phones import phone_for_display

logger = logging.getLogger(__name__)

#: Rows fetched per database round trip while streaming the export.
EXPORT_CHUNK_SIZE = 2000


class LedgerFilterSet(WagtailFilterSet):
    category = django_filters.MultipleChoiceFilter(
        label=_("Category"), choices=Category.choices, widget=forms.CheckboxSelectMultiple
    )
    event_type = django_filters.MultipleChoiceFilter(
        label=_("Event"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )
    source = django_filters.MultipleChoiceFilter(
        label=_("Source"), choices=Source.choices, widget=forms.CheckboxSelectMultiple
    )
    opt_in_level = django_filters.MultipleChoiceFilter(
        label=_("Opt-in level"), choices=OptInLevel.choices, widget=forms.CheckboxSelectMultiple
    )
    # Whole days, both ends included (django-filter stretches "to" to the end of that day).
    occurred_at = django_filters.DateFromToRangeFilter(label=_("Date"), widget=DateRangePickerWidget)

    class Meta:
        model = ConsentEvent
        fields: list[str] = []


def _wording_digest(event: ConsentEvent) -> str:
    return event.wording.digest if event.wording_id else ""


#: CSV column -> (heading, value of one event). The phone column is filled in per user.
EXPORT_COLUMNS: dict[str, tuple[Any, Callable[[ConsentEvent], object]]] = {
    "time": (_("Time (UTC)"), lambda e: iso_utc(e.occurred_at)),
    "contact_id": (_("Contact ID"), lambda e: e.contact_id),
    "phone": (_("Phone number"), lambda e: ""),
    "category": (_("Category"), lambda e: e.category),
    "event": (_("Event"), lambda e: e.event_type),
    "source": (_("Source"), lambda e: e.source),
    "opt_in_level": (_("Opt-in level"), lambda e: e.opt_in_level),
    "wording_digest": (_("Wording digest"), _wording_digest),
    "language": (_("Language"), lambda e: e.language),
    "policy_revision": (_("Privacy policy revision"), lambda e: e.policy_revision),
    "page_url": (_("Page URL"), lambda e: e.page_url),
    "user_action": (_("User action"), lambda e: e.user_action),
    "reference": (_("Reference"), lambda e: e.reference),
    "recorded_by": (_("Recorded by"), lambda e: e.actor),
    "ip_address": (_("IP address (truncated)"), lambda e: getattr(evidence_of(e), "ip_address", "")),
    "message_id": (_("WhatsApp message ID"), lambda e: e.confirming_message_id),
    "hash": (_("Hash"), lambda e: e.hash),
}


class LedgerReportView(ReportView):
    """Read-only listing of the ledger for users with ``wa_consent.view_ledger``.

    Codes (``withdrawn``, ``web_block``) rather than labels go into the CSV, so exports taken in
    different admin languages can be compared and processed.
    """

    page_title = _("WhatsApp consent ledger")
    header_icon = "clipboard-list"
    index_url_name = "wa_consent_admin:ledger"
    index_results_url_name = "wa_consent_admin:ledger_results"
    results_template_name = "wagtail_wa_consent/admin/ledger_results.html"
    filterset_class = LedgerFilterSet
    default_ordering = "-occurred_at"
    # Paste an order number, a wamid or a hash from a complaint. Being searchable also keeps
    # Oscar's "search_form" context processor from putting the shop's search into this header.
    is_searchable = True
    search_fields = ["reference", "confirming_message_id", "hash"]
    # XLSX is built in memory; only the streamed CSV scales to a long ledger.
    FORMATS = (ReportView.FORMAT_CSV,)
    list_export = list(EXPORT_COLUMNS)
    export_headings = {key: heading for key, (heading, _value) in EXPORT_COLUMNS.items()}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_view_ledger(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def reveal_phone_numbers(self) -> bool:
        return can_view_phone_numbers(self.request.user)

    @cached_property
    def columns(self) -> list[Column]:  # type: ignore[override]
        reveal = self.reveal_phone_numbers
        return [
            Column(
                "occurred_at",
                label=_("Time"),
                accessor=lambda e: exact_time(e.occurred_at),
                sort_key="occurred_at",
            ),
            TitleColumn(
                "contact",
                label=_("Contact"),
                accessor=lambda e: str(e.contact),
                get_url=lambda e: reverse("wa_consent_admin:contact_timeline", args=[e.contact_id]),
                sort_key="contact_id",
            ),
            Column(
                "phone",
                label=_("Phone number"),
                accessor=lambda e: phone_for_display(e.contact.phone_e164, reveal=reveal),
            ),
            Column("category", label=_("Category"), accessor="get_category_display"),
            StatusTagColumn(
                "event_type",
                label=_("Event"),
                accessor="get_event_type_display",
                primary=lambda e: e.event_type == EventType.CONFIRMED,
            ),
            Column("source", label=_("Source"), accessor="get_source_display"),
            Column("opt_in_level", label=_("Opt-in level"), accessor="get_opt_in_level_display"),
            Column("language", label=_("Language")),
            Column("hash", label=_("Hash"), accessor=lambda e: e.hash[:12]),
        ]

    def get_base_queryset(self) -> QuerySet[ConsentEvent]:
        return ConsentEvent.objects.select_related("contact", "wording", "personal_evidence")

    def order_queryset(self, queryset: QuerySet[ConsentEvent]) -> QuerySet[ConsentEvent]:
        ordering = self.ordering or self.default_ordering
        # Several categories change in one instant: the id keeps pages and exports stable.
        return queryset.order_by(ordering, "-pk" if ordering.startswith("-") else "pk")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.is_export:
            # Skip the listing context, which would load every row into memory.
            return self.as_spreadsheet(self.get_filtered_queryset(), self.FORMAT_CSV)
        return super().get(request, *args, **kwargs)

    def get_filename(self) -> str:
        return f"whatsapp-consent-ledger-{timezone.localdate().isoformat()}"

    def get_header_more_buttons(self) -> list[Any]:
        # ReportView adds "Download XLSX" too; keep only the formats in FORMATS.
        buttons = super().get_header_more_buttons()
        return [button for button in buttons if "export=xlsx" not in (getattr(button, "url", "") or "")]

    def to_row_dict(self, item: ConsentEvent) -> dict[str, str]:
        row = {key: spreadsheet_safe(value(item)) for key, (_heading, value) in EXPORT_COLUMNS.items()}
        # Validated E.164: not a formula, and an apostrophe would spoil it for other programs.
        row["phone"] = phone_for_display(item.contact.phone_e164, reveal=self.reveal_phone_numbers)
        return row

    def stream_csv(self, queryset: QuerySet[ConsentEvent]) -> Iterator[bytes]:
        logger.info(
            "consent ledger exported by user %s (phone numbers %s)",
            self.request.user.pk,
            "shown" if self.reveal_phone_numbers else "masked",
        )
        writer = csv.DictWriter(Echo(), fieldnames=self.list_export)
        yield writer.writerow({key: str(self.export_headings[key]) for key in self.list_export})
        for event in queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE):
            yield writer.writerow(self.to_row_dict(event))
