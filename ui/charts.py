"""Small charts drawn as inline SVG (no chart library for the browser to load).

A Vega-Lite chart (``st.line_chart``) costs the browser about a megabyte of
JavaScript to load and compile, and the server an Altair import and chart spec on
every run; on the Statewide page that work competed with the county map for the
two cores its first frame needs. These charts are plain SVG images (``st.image``,
like the period histogram): a line per series, gaps where a month is hidden.
``st.html`` would strip SVG, so there are no per-point tooltips; the figures
themselves are in the tables and headline numbers beside them.
:func:`show_line_chart` draws one on a page, or says that every month is hidden.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

#: Okabe-Ito colours (distinguishable under the common colour-vision deficiencies).
SERIES_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7f7f7f", "#f0e442")
SINGLE_COLOUR = "#3b6e8f"


def _nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (an axis' top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def line_chart_svg(
    frame: pd.DataFrame,
    *,
    x: str = "month",
    y: str = "records",
    series: str | None = None,
    height: int = 240,
    width: int = 960,
    colours: Sequence[str] | None = None,
    label: str = "records",
    highlight: tuple[date, date] | None = None,
) -> str:
    """Monthly values as SVG lines: one per value of ``series`` (or one line), NaN as gaps.

    ``width`` × ``height`` is the drawing's size in pixels; ``st.image(svg,
    width="stretch")`` scales it to its container. ``highlight`` (first and last
    month, inclusive) shades the chosen period behind the long series.

    >>> months = [date(2024, m, 1) for m in (1, 2, 3, 4)]
    >>> svg = line_chart_svg(pd.DataFrame({"month": months, "records": [20, 25, None, 7]}))
    >>> svg.startswith("<svg") and svg.count("<polyline") == 1 and svg.count("<circle") == 1
    True
    >>> "chosen period" in line_chart_svg(pd.DataFrame({"month": months, "records": [1, 2, 3, 4]}),
    ...                                   highlight=(date(2024, 3, 1), date(2024, 4, 1)))
    True
    """
    months = sorted({pd.Timestamp(m).date().replace(day=1) for m in frame[x]})
    index = {m: i for i, m in enumerate(months)}
    groups: list[tuple[str | None, pd.DataFrame]] = (
        [(str(name), part) for name, part in frame.groupby(series, sort=True)] if series else [(None, frame)]
    )
    values = pd.to_numeric(frame[y], errors="coerce").astype("float64")
    top = _nice_top(float(values.max()) if values.notna().any() else 0.0)
    left, right, top_pad, bottom = 48, 8, 10, 22
    legend_h = 18 if series else 0
    plot_w, plot_h = width - left - right, height - top_pad - bottom - legend_h
    step = plot_w / max(len(months) - 1, 1)

    def px(month: date) -> float:
        return left + index[month] * step

    def py(value: float) -> float:
        return top_pad + legend_h + plot_h * (1 - value / top)

    palette = list(colours or (SERIES_COLOURS if series else (SINGLE_COLOUR,)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="11" fill="#5a6270">',
        f"<title>{html.escape(label.capitalize())} per month (hidden months left blank)</title>",
    ]
    if highlight is not None and months:
        lo, hi = (d.replace(day=1) for d in highlight)
        inside = [m for m in months if lo <= m <= hi]
        if inside:
            x0, x1 = px(inside[0]) - step / 2, px(inside[-1]) + step / 2
            x0, x1 = max(x0, left), min(x1, width - right)
            parts.append(
                f'<rect x="{x0:.1f}" y="{top_pad + legend_h}" width="{max(x1 - x0, 2):.1f}" height="{plot_h}" '
                f'fill="#f3d98b" fill-opacity="0.45"/>'
            )
            parts.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{top_pad + legend_h + 11}" text-anchor="middle" '
                f'fill="#6b5310">chosen period</text>'
            )
    for i in range(5):  # horizontal grid lines and their values
        value = top * i / 4
        yy = py(value)
        parts.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    for month in months:  # a tick and the year at every January (and at the first month)
        if month.month == 1 or month == months[0]:
            xx = px(month)
            parts.append(f'<line x1="{xx:.1f}" y1="{py(0):.1f}" x2="{xx:.1f}" y2="{py(0) + 4:.1f}" stroke="#9aa3ad"/>')
            parts.append(f'<text x="{xx:.1f}" y="{height - 6}" text-anchor="middle">{month.year}</text>')
    for n, (name, part) in enumerate(groups):
        colour = palette[n % len(palette)]
        points = sorted(
            (pd.Timestamp(m).date().replace(day=1), v)
            for m, v in zip(part[x], pd.to_numeric(part[y], errors="coerce").astype("float64"), strict=True)
        )
        run: list[str] = []
        runs: list[list[str]] = []
        for month, value in points:
            if value != value:  # NaN: hidden, a gap in the line
                if run:
                    runs.append(run)
                run = []
                continue
            xx, yy = px(month), py(value)
            run.append(f"{xx:.1f},{yy:.1f}")
        if run:
            runs.append(run)
        for line in runs:
            if len(line) == 1:  # a month between two gaps: a dot
                cx, cy = line[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{colour}"/>')
            else:
                parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        if name is not None:  # legend along the top
            lx = left + n * 130
            parts.append(f'<rect x="{lx}" y="2" width="10" height="10" fill="{colour}"/>')
            parts.append(f'<text x="{lx + 14}" y="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def show_line_chart(frame: pd.DataFrame, *, alt: str, all_hidden: str, series: str | None = None,
                    y: str = "records", **svg_options: Any) -> None:
    """Draw :func:`line_chart_svg` of ``frame`` (``alt`` its text for screen readers), or ``all_hidden`` if every value is hidden.

    With ``series``, a series every value of which is hidden is left out (nothing to draw, no legend entry).
    """
    if series is not None:
        frame = frame[frame.groupby(series)[y].transform(lambda values: values.notna().any()).astype(bool)]
    if frame[y].notna().any():
        st.image(line_chart_svg(frame, series=series, y=y, **svg_options), width="stretch", alt=alt)
    else:
        st.info(all_hidden)
