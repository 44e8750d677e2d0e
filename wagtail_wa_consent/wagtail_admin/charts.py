"""Server-rendered charts: geometry for inline SVG, computed here and drawn by templates.

No JavaScript and no third-party assets. Coordinates are pre-formatted strings, so a locale with a
decimal comma cannot break the SVG. Each chart also carries its data as table rows, rendered as a
visually hidden table for screen readers (``templates/wagtail_wa_consent/admin/charts/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext

#: Wagtail's teal: 5:1 against white, 3:1 against the dark theme's panels (WCAG 1.4.11).
BAR_COLOUR = "#007d7e"
#: Failures: the same contrasts; their label says "failed", so colour is never the only cue.
ALERT_COLOUR = "#d0312d"


def _n(value: float) -> str:
    """A coordinate for SVG: dot decimal, at most one decimal place, never localised."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a whole-number percentage ("" when ``whole`` is 0)."""
    if not whole:
        return ""
    # Translators: a percentage; languages that put a space before "%" write "%(percent)s\u00a0%%".
    return gettext("%(percent)s%%") % {"percent": round(100 * part / whole)}


@dataclass(frozen=True)
class BarRow:
    label: str
    value: int
    #: e.g. "45 %" of the chart's reference, or "".
    share: str
    colour: str
    label_y: str
    bar_y: str
    bar_width: str
    value_x: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per row, scaled to ``reference`` (or the largest value)."""

    chart_id: str
    title: str
    description: str
    rows: list[BarRow]
    width: str
    height: str
    bar_x: str
    bar_height: str
    value_heading: str
    share_heading: str


BAR_CHART_WIDTH = 480
_LABEL_WIDTH = 150
_VALUE_SPACE = 96
_ROW_HEIGHT = 30
_BAR_HEIGHT = 18


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    items: Sequence[tuple[str, int]],
    *,
    reference: int | None = None,
    value_heading: str = "",
    share_heading: str = "",
    alert: Sequence[str] = (),
) -> BarChart:
    """Bars for ``items`` of (label, value); ``alert`` labels are drawn in the alert colour."""
    scale = max([reference or 0, *(value for _label, value in items)]) or 1
    bar_space = BAR_CHART_WIDTH - _LABEL_WIDTH - _VALUE_SPACE
    rows = []
    for index, (label, value) in enumerate(items):
        top = index * _ROW_HEIGHT + (_ROW_HEIGHT - _BAR_HEIGHT) / 2
        width = bar_space * value / scale
        rows.append(
            BarRow(
                label=label,
                value=value,
                share=percent(value, reference) if reference is not None else "",
                colour=ALERT_COLOUR if label in alert else BAR_COLOUR,
                label_y=_n(top + _BAR_HEIGHT / 2),
                bar_y=_n(top),
                bar_width=_n(width),
                value_x=_n(_LABEL_WIDTH + width + 6),
            )
        )
    return BarChart(
        chart_id=chart_id,
        title=title,
        description=description,
        rows=rows,
        width=_n(BAR_CHART_WIDTH),
        height=_n(max(len(items), 1) * _ROW_HEIGHT),
        bar_x=_n(_LABEL_WIDTH),
        bar_height=_n(_BAR_HEIGHT),
        value_heading=value_heading,
        share_heading=share_heading,
    )


@dataclass(frozen=True)
class DayColumn:
    day: date
    label: str
    value: int
    x: str
    y: str
    height: str


@dataclass(frozen=True)
class ColumnChart:
    """One column per day; the axis shows 0, the maximum, and the first and last day."""

    chart_id: str
    title: str
    description: str
    columns: list[DayColumn]
    width: str
    height: str
    column_width: str
    plot_left: str
    plot_right: str
    baseline_y: str
    top_y: str
    max_value: int
    first_label: str
    last_label: str
    date_label_y: str
    date_heading: str
    value_heading: str
    colour: str = BAR_COLOUR


COLUMN_CHART_WIDTH = 480
_PLOT_LEFT = 36
_PLOT_RIGHT = COLUMN_CHART_WIDTH - 8
_PLOT_TOP = 12
_BASELINE = 132
_DATE_LABEL_Y = 150
_COLUMN_CHART_HEIGHT = 160


def day_column_chart(
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[tuple[date, int]],
    *,
    date_heading: str = "",
    value_heading: str = "",
) -> ColumnChart:
    max_value = max((value for _day, value in series), default=0)
    slot = (_PLOT_RIGHT - _PLOT_LEFT) / max(len(series), 1)
    plot_height = _BASELINE - _PLOT_TOP
    columns = []
    for index, (day, value) in enumerate(series):
        height = plot_height * value / max_value if max_value else 0
        columns.append(
            DayColumn(
                day=day,
                label=date_format(day, "SHORT_DATE_FORMAT"),
                value=value,
                x=_n(_PLOT_LEFT + index * slot + slot * 0.15),
                y=_n(_BASELINE - height),
                height=_n(height),
            )
        )
    return ColumnChart(
        chart_id=chart_id,
        title=title,
        description=description,
        columns=columns,
        width=_n(COLUMN_CHART_WIDTH),
        height=_n(_COLUMN_CHART_HEIGHT),
        column_width=_n(slot * 0.7),
        plot_left=_n(_PLOT_LEFT),
        plot_right=_n(_PLOT_RIGHT),
        baseline_y=_n(_BASELINE),
        top_y=_n(_PLOT_TOP),
        max_value=max_value,
        first_label=columns[0].label if columns else "",
        last_label=columns[-1].label if columns else "",
        date_label_y=_n(_DATE_LABEL_Y),
        date_heading=date_heading,
        value_heading=value_heading,
    )
