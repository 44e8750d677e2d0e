"""The dashboard panel: aggregate numbers, accessible inline SVG, only for ledger readers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from wagtail_wa_consent.wagtail_admin import stats
from wagtail_wa_consent.wagtail_admin.charts import bar_chart, day_column_chart
from wagtail_wa_consent.wagtail_admin.panels import ConsentDashboardPanel

from . import VIEW_LEDGER, VIEW_PHONE, admin_user, contact, event, outbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    """Inside the window: 4 requests, 2 double opt-in confirmations, 1 single opt-in, 1 declined,
    3 withdrawals on two days; 5 messages. Plus rows from 40 days ago that must not count."""
    now = timezone.now()
    old = now - timedelta(days=40)
    people = [contact(f"+49151234567{n:02d}") for n in range(4)]
    for person in people:
        event(person, "marketing", "requested", at=now - timedelta(days=3))
    event(
        people[0], "marketing", "confirmed", at=now - timedelta(days=2), level="confirmed", source="whatsapp"
    )
    event(
        people[1], "marketing", "confirmed", at=now - timedelta(days=2), level="confirmed", source="whatsapp"
    )
    event(
        people[2], "transactional", "confirmed", at=now - timedelta(days=2), level="single", source="checkout"
    )
    event(people[3], "marketing", "declined", at=now - timedelta(days=2), source="whatsapp")
    event(people[0], "marketing", "withdrawn", at=now - timedelta(days=1), source="whatsapp")
    event(people[1], "marketing", "withdrawn", at=now - timedelta(days=1), source="whatsapp")
    event(people[2], "transactional", "withdrawn", at=now, source="preference_centre")
    event(people[3], "marketing", "requested", at=old)
    event(people[3], "marketing", "withdrawn", at=old, source="whatsapp")

    outbound(people[0], "sent", sent_at=now)
    outbound(people[0], "delivered", sent_at=now, delivered_at=now)
    outbound(people[1], "read", sent_at=now, delivered_at=now, read_at=now)
    outbound(people[1], "read", sent_at=now, read_at=now)  # "read" came without "delivered"
    outbound(people[2], "failed", failed_at=now)
    outbound(people[2], "queued")  # not handed to WhatsApp yet
    outbound(people[3], "read", at=old, sent_at=old, read_at=old)
    return now


def test_stats_count_only_the_window(seeded):
    window = stats.last_days()
    assert stats.opt_in_funnel(window) == stats.Funnel(requested=4, confirmed=2, declined=1, expired=0)
    assert stats.opt_in_funnel(window).confirmation_rate == 0.5
    series = stats.opt_outs_per_day(window)
    assert len(series) == stats.WINDOW_DAYS and series[-1][0] == timezone.localdate()
    today, yesterday = timezone.localdate(), timezone.localdate() - timedelta(days=1)
    assert dict(series)[yesterday] == 2 and dict(series)[today] == 1 and sum(v for _d, v in series) == 3
    assert stats.delivery(window) == stats.Delivery(total=5, sent=4, delivered=3, read=2, failed=1)


def test_panel_is_three_aggregate_queries(seeded, rf):
    request = rf.get("/")
    request.user = admin_user(VIEW_LEDGER)
    panel = ConsentDashboardPanel()
    with CaptureQueriesContext(connection) as queries:
        panel.get_context_data({"request": request})
    assert len(queries) == 3


def sr_table(html: str, chart_id: str) -> dict[str, list[str]]:
    """The visually hidden data table of one chart: row label -> cells."""
    figure = html[html.index(f'id="{chart_id}-title"') :]
    table = figure[figure.index('<table class="w-sr-only">') : figure.index("</table>")]
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", table, re.S)
    return {label: re.findall(r"<td>(.*?)</td>", cells) for label, cells in rows}


def test_panel_renders_accessible_svg_charts_with_the_counts(client, seeded):
    client.force_login(admin_user(VIEW_LEDGER))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    for chart_id in ("wa-consent-funnel", "wa-consent-opt-outs", "wa-consent-delivery"):
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in html
        assert f'<title id="{chart_id}-title">' in html and f'<desc id="{chart_id}-desc">' in html
    assert html.count('<svg role="img"') == 3
    assert "<script" not in html[html.index("wa-consent-dashboard") :].split("</section>")[0]

    assert sr_table(html, "wa-consent-funnel") == {
        "Requested": ["4", "100%"],
        "Confirmed": ["2", "50%"],
        "Declined": ["1", "25%"],
        "Expired": ["0", "0%"],
    }
    delivery = sr_table(html, "wa-consent-delivery")
    assert delivery == {
        "Sent": ["4", "80%"],
        "Delivered": ["3", "60%"],
        "Read": ["2", "40%"],
        "Failed": ["1", "20%"],
    }
    opt_outs = sr_table(html, "wa-consent-opt-outs")
    assert len(opt_outs) == 30 and sum(int(cells[0]) for cells in opt_outs.values()) == 3
    assert "Last 30 days: 3 consents withdrawn." in html
    assert "4 opt-ins requested on the site, 2 confirmed in WhatsApp (50%)" in html


def test_panel_is_hidden_without_view_ledger(client, seeded):
    client.force_login(admin_user(VIEW_PHONE))
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "wa-consent-dashboard" not in html and "Double opt-in funnel" not in html


def test_panel_renders_nothing_for_other_users_even_if_added(rf, db):
    request = rf.get("/")
    request.user = admin_user()
    assert ConsentDashboardPanel().render_html({"request": request}) == ""


def test_bar_widths_are_proportional_to_the_reference():
    chart = bar_chart("c", "T", "D", [("a", 10), ("b", 5), ("c", 0)], reference=10)
    widths = [float(row.bar_width) for row in chart.rows]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert [row.share for row in chart.rows] == ["100%", "50%", "0%"]


def test_svg_numbers_are_never_localised(client, seeded):
    # A decimal comma (German) would break the SVG coordinates.
    with translation.override("de"):
        chart = day_column_chart("c", "T", "D", stats.opt_outs_per_day(stats.last_days()))
        numbers = [chart.column_width, *(c.x for c in chart.columns), *(c.height for c in chart.columns)]
    assert all(re.fullmatch(r"\d+(\.\d)?", n) for n in numbers)
    client.force_login(admin_user(VIEW_LEDGER))
    html = client.get(reverse("wagtailadmin_home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    for attribute in re.findall(
        r' (?:x|y|width|height)="([^"]*)"', html[html.index("wa-consent-dashboard") :]
    ):
        assert "," not in attribute
