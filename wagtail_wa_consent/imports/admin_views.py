"""The Wagtail admin screen that uploads an opt-in CSV: a dry run by default, then a per-row report.

The report is rendered in the response to the upload and never stored: it names phone numbers,
and the file can simply be chosen again for the real run.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin.views.generic import WagtailAdminTemplateMixin

from ..conf import get_setting
from ..consent.enums import Category
from ..wagtail_admin.permissions import can_import_contacts, can_view_ledger, can_view_phone_numbers
from .parsing import MAX_BYTES, MAX_ROWS
from .service import ImportFileError, ImportReport, RowResult, counts_by_code, import_opt_ins

#: Rows of each table shown on the page; the totals always count every row.
DISPLAY_LIMIT = 1000
#: Rows a real run records while the browser waits (a few milliseconds each, so this stays well
#: inside a 30-second worker timeout); larger files go through the command. Dry runs take MAX_ROWS.
RECORD_LIMIT = 2000


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, comma or semicolon separated, with a header row. Columns: phone, categories, "
            "opted_in_at, source; optional: country, language, wording, proof_reference."
        ),
    )
    region = forms.CharField(
        label=_("Default country"),
        required=False,
        max_length=2,
        help_text=_("Two-letter code (e.g. DE) for numbers written without + and a country code."),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check the file and show what would happen, without changing anything"),
        required=False,
        initial=True,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB. Split it into smaller files."),
                code="too_large",
                params={"size": MAX_BYTES // (1024 * 1024)},
            )
        return upload

    def clean_region(self) -> str:
        region = self.cleaned_data["region"].strip().upper()
        if region and region not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError(_("Enter a two-letter country code such as DE."), code="invalid")
        return region


class ImportView(WagtailAdminTemplateMixin, FormView):
    """GET shows the upload form; POST checks (dry run) or imports the file and shows the report."""

    form_class = ImportForm
    template_name = "wagtail_wa_consent/admin/import_form.html"
    results_template_name = "wagtail_wa_consent/admin/import_results.html"
    page_title = _("Import WhatsApp opt-ins")
    header_icon = "upload"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_import_contacts(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return {"region": get_setting("DEFAULT_REGION") or "", "dry_run": True}

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            max_rows=MAX_ROWS,
            record_limit=RECORD_LIMIT,
            max_megabytes=MAX_BYTES // (1024 * 1024),
            marketing_requires_confirmation=get_setting("MARKETING_REQUIRES_CONFIRMED_OPT_IN"),
        )
        return context

    def form_valid(self, form: ImportForm) -> HttpResponse:
        dry_run = form.cleaned_data["dry_run"]
        try:
            report = import_opt_ins(
                form.cleaned_data["file"],
                dry_run=dry_run,
                actor=f"admin:{self.request.user.pk}",
                region=form.cleaned_data["region"] or None,
                max_rows=None if dry_run else RECORD_LIMIT,
            )
        except ImportFileError as error:
            message = error.message
            if error.code == "too_many_rows" and not dry_run:
                message = _(
                    "This screen records at most %(max)s rows at a time. Split the file, or import "
                    "it with the command wa_import_opt_ins (a dry run here checks up to %(all)s rows)."
                ) % {"max": f"{RECORD_LIMIT:,}", "all": f"{MAX_ROWS:,}"}
            form.add_error("file", message)
            return self.form_invalid(form)
        # A fresh form: the dry run box ticked again, so a second upload never writes by accident.
        context = self.get_context_data(form=self.form_class(initial=self.get_initial()))
        context.update(self.report_context(report))
        return self.response_class(
            request=self.request,
            template=[self.results_template_name],
            context=context,
            using=self.template_engine,
        )

    def report_context(self, report: ImportReport) -> dict[str, Any]:
        reveal = can_view_phone_numbers(self.request.user)
        refused = report.refused_rows
        accepted = report.accepted_rows
        return {
            "report": report,
            "refused_rows": [self._row(row, reveal) for row in refused[:DISPLAY_LIMIT]],
            "accepted_rows": [self._row(row, reveal) for row in accepted[:DISPLAY_LIMIT]],
            "refused_truncated": len(refused) > DISPLAY_LIMIT,
            "accepted_truncated": len(accepted) > DISPLAY_LIMIT,
            "display_limit": DISPLAY_LIMIT,
            "refusal_counts": counts_by_code(refused),
            "link_contacts": can_view_ledger(self.request.user),
        }

    @staticmethod
    def _row(row: RowResult, reveal: bool) -> dict[str, Any]:
        return {
            "row": row,
            "phone": row.display_phone(reveal=reveal),
            "categories": ", ".join(_label(c) for c in row.categories),
            "unchanged": ", ".join(_label(c) for c in row.unchanged_categories),
        }


def _label(category: str) -> str:
    return str(Category(category).label) if category in Category.values else category
