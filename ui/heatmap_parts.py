"""The Heatmap explorer's parts: its map controls, the note when most cells are hidden, and "Inside a cell".

The page passes in the cached readers these call (:func:`query.cells.cell_breakdown`,
:func:`query.records.records_in_cell`), so each is cached once, by the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from maps import decks
from maps.colours import Legend
from maps.heatmap_maps import DIMENSION_LABELS, MEASURE_LABELS
from query import cells
from query.filters import Filters
from query.viewer import Viewer
from ui import chrome, tables
from ui import filters as ui_filters


def map_controls() -> tuple[int, str, bool]:
    """The sidebar's "Map" choices, kept in the URL: detail (H3 res), what to show, rescale."""
    st.markdown("**Map**")
    res = ui_filters.url_choice(
        "Detail", list(decks.RES_NAMES), param="res", default=6, widget="select_slider",
        format_func=lambda r: f"{decks.RES_NAMES[r][0]} (res {r})",
        help="Finer cells show only records located precisely enough; the rest count in their county.",
    )
    measure = ui_filters.url_choice(
        "Show", list(MEASURE_LABELS), param="measure", default="records", horizontal=True,
        format_func=MEASURE_LABELS.get,
    )
    rescale = ui_filters.url_choice(
        "Rescale colours to this view", [], param="rescale", default=False, widget="toggle",
        help="Off: colours fixed on all records statewide, so they stay comparable while filters change.",
    )
    return int(res), str(measure), bool(rescale)  # type: ignore[call-overload]


def statewide_res(res: int, *, zoomed_in: bool) -> int:
    """``res``, or the finest a statewide map draws (said in the sidebar) when no place is chosen."""
    if res > decks.STATEWIDE_MAX_RES and not zoomed_in:
        st.sidebar.caption(
            f"Street-level cells need a region or county: showing res {decks.STATEWIDE_MAX_RES} statewide."
        )
        return decks.STATEWIDE_MAX_RES
    return res


def picked_hex(event: Any) -> str | None:
    """The hexagon a click on the map picked (an exact cell: layer ``cells`` or ``cells-res<r>``), if any."""
    objects = event.selection.objects if event and event.selection else {}
    # the exact cells: layer "cells", and "cells-res<r>" when they span resolutions (maps.layers.by_resolution)
    picked: list = next((rows for lid, rows in objects.items() if re.fullmatch(r"cells(-res\d+)?", lid) and rows), [])
    return picked[0].get("hex") if picked else None


def playing_caption(played: Sequence[date], period_months: Sequence[date]) -> str:
    """Under the played map: how many months play (the last ones of a longer period) and how to stop.

    >>> playing_caption([1, 2], [0, 1, 2]).startswith("Playing the last 2 of the period's 3 months")
    True
    """
    longer = (f"the last {len(played)} of the period's {len(period_months)} months (narrow the period to play "
              "earlier ones)" if len(period_months) > len(played) else f"{len(played)} months")
    return f"Playing {longer} in the map: pause or drag the slider under it; “Stop” in the sidebar shows the whole period again."


def show_legends(legends: Sequence[Legend], shown: pd.DataFrame, counts: pd.DataFrame, *, change: bool,
                 why_no_cells: Callable[[], str], hidden: str) -> None:
    """Beside the map: its legends, what an outlined hexagon is, how many cells are shown or hidden, and
    (``why_no_cells``) why no cell is drawn when every record is only in a county."""
    for legend in legends:
        chrome.draw_legend(legend)
    if not change and "rolled_up" in counts.columns and counts["rolled_up"].fillna(False).astype(bool).any():
        st.caption("Outlined hexagons: small cells rolled up into a larger one, its count in the outline's colour.")
    st.caption(tables.cells_caption(shown, counts, hidden=hidden))
    if shown["suppressed"].astype(bool).all() and counts["level"].eq("county").any():
        st.caption(why_no_cells())


def _coarser(to: int) -> None:
    st.session_state["url_res"] = to


def show_mostly_hidden(shown: pd.DataFrame, *, res: int, hidden: str) -> None:
    """When most cells read ``hidden``, say so and offer one click to coarser cells (or wider filters)."""
    suppressed_share = float(shown["suppressed"].astype(bool).mean()) if len(shown) else 0.0
    if suppressed_share <= 0.5:
        return
    # most cells hidden: a map of grey says little; one click to cells that hold more records
    coarser = [r for r in decks.RES_NAMES if r < res]
    note = f"{suppressed_share:.0%} of these cells read “{hidden}” (or are a change from such a count)."
    if not coarser:
        st.warning(note + " Widen the period or the filters to show more.", icon=":material/grid_off:")
        return
    name = decks.RES_NAMES[coarser[-1]][0]
    st.warning(note + f" Coarser cells hold more records each: try {name} (res {coarser[-1]}).",
               icon=":material/grid_off:")
    st.button(f"Show {name} cells (res {coarser[-1]})", key="heatmap_coarser",
              on_click=_coarser, args=(coarser[-1],), type="primary")


def show_cell_panel(
    viewer: Viewer, filters: Filters, counts: pd.DataFrame, *, res: int, selected_hex: str | None, hidden: str,
    breakdown_of: Callable[..., pd.DataFrame], records_of: Callable[..., pd.DataFrame],
) -> None:
    """"Inside a cell": pick a cell (clicked, or among the busiest), its breakdown and, with record access, its records."""
    st.markdown("#### Inside a cell")
    top = cells.top_cells(counts, n=25)
    options = ([selected_hex] if selected_hex and selected_hex not in set(top["hex"]) else []) + top["hex"].tolist()
    labels = dict(zip(top["hex"], top["label"], strict=True))
    if selected_hex:
        st.session_state["heatmap_cell"] = selected_hex
    elif st.session_state.get("heatmap_cell") and cells.cell_from_hex(st.session_state["heatmap_cell"])[1] != res:
        st.session_state["heatmap_cell"] = None  # picked at another detail level: no breakdown of a cell not drawn
    choice = st.selectbox(
        "Click a hexagon on the map, or pick one of the busiest cells", options, key="heatmap_cell",
        format_func=lambda h: labels.get(h) or cells.cell_label(h), index=None, placeholder="choose a cell",
    )
    if not choice:
        return
    with chrome.errors_shown():
        breakdown = breakdown_of(viewer, filters, cell=choice)
    if breakdown["suppressed"].all():
        st.info(
            f"Every part of this cell's breakdown reads “{hidden}”, so the breakdown is not shown. "
            "Try a coarser detail or wider filters."
        )
    else:
        tabs = st.tabs([DIMENSION_LABELS[d] for d in cells.BREAKDOWN_DIMENSIONS])
        for tab, dimension in zip(tabs, cells.BREAKDOWN_DIMENSIONS, strict=True):
            with tab:
                chrome.count_table(breakdown[breakdown["dimension"].eq(dimension)], label=DIMENSION_LABELS[dimension],
                                   viewer=viewer)
    if viewer.has_record_access:
        with st.expander("Records behind this cell: your task force's only; every view is audited"):
            if st.button("Show my task force's records in this cell", key="heatmap_show_records"):
                cell_id, cell_res = cells.cell_from_hex(choice)
                with chrome.errors_shown():
                    rows = records_of(viewer, filters, cell=cell_id, res=cell_res)
                st.caption(f"{len(rows):,} records (newest first)")
                tables.show_table(rows, viewer=viewer, name="Records in cell", filters=filters, hide_index=True,
                                  width="stretch")
