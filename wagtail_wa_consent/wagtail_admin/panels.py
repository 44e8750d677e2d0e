"""The dashboard panel: opt-in funnel, opt-outs per day and delivery rates of the last 30 days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.admin.ui.components import Component

from . import stats
from .charts import BarChart, ColumnChart, bar_chart, day_column_chart, percent
from .permissions import can_view_ledger


def funnel_chart(funnel: stats.Funnel, days: int) -> BarChart:
    rate = percent(funnel.confirmed, funnel.requested)
    description = _(
        "Last %(days)s days: %(requested)s opt-ins requested on the site, %(confirmed)s confirmed in "
        "WhatsApp (%(rate)s), %(declined)s declined, %(expired)s expired unanswered."
    ) % {
        "days": days,
        "requested": funnel.requested,
        "confirmed": funnel.confirmed,
        "rate": rate or _("no requests"),
        "declined": funnel.declined,
        "expired": funnel.expired,
    }
    return bar_chart(
        "wa-consent-funnel",
        _("Double opt-in funnel"),
        description,
        [
            (_("Requested"), funnel.requested),
            (_("Confirmed"), funnel.confirmed),
            (_("Declined"), funnel.declined),
            (_("Expired"), funnel.expired),
        ],
        reference=funnel.requested,
        value_heading=_("Events"),
        share_heading=_("Share of requests"),
    )


def opt_out_chart(series: list[tuple[date, int]], days: int) -> ColumnChart:
    total = sum(value for _day, value in series)
    description = ngettext(
        "Last %(days)s days: %(total)s consent withdrawn.",
        "Last %(days)s days: %(total)s consents withdrawn.",
        total,
    ) % {"days": days, "total": total}
    if total:
        # Name the peak too, so the description says what the picture shows.
        day, count = max(series, key=lambda item: item[1])
        description += " " + _("Most on %(day)s: %(count)s.") % {
            "day": date_format(day, "SHORT_DATE_FORMAT"),
            "count": count,
        }
    return day_column_chart(
        "wa-consent-opt-outs",
        _("Opt-outs per day"),
        description,
        series,
        date_heading=_("Day"),
        value_heading=_("Withdrawn"),
    )


def delivery_chart(delivery: stats.Delivery, days: int) -> BarChart:
    description = _(
        "Last %(days)s days: of %(total)s messages handed to WhatsApp, %(sent)s were accepted, "
        "%(delivered)s delivered, %(read)s read and %(failed)s failed."
    ) % {
        "days": days,
        "total": delivery.total,
        "sent": delivery.sent,
        "delivered": delivery.delivered,
        "read": delivery.read,
        "failed": delivery.failed,
    }
    failed = _("Failed")
    return bar_chart(
        "wa-consent-delivery",
        _("Delivery of outbound messages"),
        description,
        [
            (_("Sent"), delivery.sent),
            (_("Delivered"), delivery.delivered),
            (_("Read"), delivery.read),
            (failed, delivery.failed),
        ],
        reference=delivery.total,
        value_heading=_("Messages"),
        share_heading=_("Share of messages handed to WhatsApp"),
        alert=[failed],
    )


class ConsentDashboardPanel(Component):
    """Shown on the admin home page to users who may read the ledger (three aggregate queries)."""

    name = "wa_consent_dashboard"
    order = 160
    template_name = "wagtail_wa_consent/admin/dashboard_panel.html"

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        # The hook adds the panel only for permitted users; this guards other callers.
        request = (parent_context or {}).get("request")
        if request is None or not can_view_ledger(request.user):
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        window = stats.last_days()
        days = stats.WINDOW_DAYS
        return {
            "funnel": funnel_chart(stats.opt_in_funnel(window), days),
            "opt_outs": opt_out_chart(stats.opt_outs_per_day(window), days),
            "delivery": delivery_chart(stats.delivery(window), days),
            "days": days,
            "ledger_url": reverse("wa_consent_admin:ledger"),
        }
