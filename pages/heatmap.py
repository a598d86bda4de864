"""Heatmap explorer: records per H3 cell, a fixed colour scale, and what is inside a cell."""

from __future__ import annotations

import re

import streamlit as st

from maps import colours, decks, statewide_maps
from query import cells, release
from query.records import records_in_cell
from routes.errors import RoutesError
from ui import chrome, deck_map, tables
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.session import current_viewer

cell_counts = snapshot_cached(cells.cell_counts)
scale_values = snapshot_cached(cells.scale_values)
cell_change = snapshot_cached(cells.cell_change)
cell_breakdown = snapshot_cached(cells.cell_breakdown)
cell_counts_by_month = snapshot_cached(cells.cell_counts_by_month)

MEASURE_LABELS = {"records": "Records", "victims": "Victims", "per_capita": "Per 100,000 residents"}
WHAT = {
    "records": "records (tips, incidents, recoveries, service intakes) at their destination",
    "victims": "victims (sum of victim counts) at the records' destination",
    "per_capita": "records per 100,000 residents of the county each cell lies in",
}
DIMENSION_LABELS = {
    "trafficking_type": "Type", "record_type": "Record type", "source_kind": "Source kind",
    "indicator": "Indicators", "month": "Month",
}

viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
header = st.container()
with st.sidebar:
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

filters = ui_filters.sidebar_filters(viewer, play_in_browser=True)  # Play months: played in the map, no reruns
playing = ui_filters.is_playing()
months = ui_filters.available_months(viewer, filters)
comparison = ui_filters.sidebar_compare(filters, months=months)

zoomed_in = bool(filters.counties or filters.regions or filters.task_forces)
if res > decks.STATEWIDE_MAX_RES and not zoomed_in:
    st.sidebar.caption(
        f"Street-level cells need a region or county: showing res {decks.STATEWIDE_MAX_RES} statewide."
    )
    res = decks.STATEWIDE_MAX_RES
name, area = decks.RES_NAMES[res]
if comparison is not None:  # the slider's period (or, when it spans everything, its second half)
    filters = comparison.after
period = chrome.format_period(filters.start or (months[0] if months else None), filters.end or (months[-1] if months else None))
with header:
    chrome.page_header(
        "Heatmap explorer",
        f"{statewide_maps.records_text(filters.record_types)} at their destination" if measure == "records" else WHAT[measure],
        period if comparison is None else f"{chrome.format_period(comparison.before.start, comparison.before.end)} vs {period}",
        f"H3 res {res} hexagons (~{area} each); records located less precisely are counted in their county (pale fill)",
        viewer=viewer,
    )

try:
    statewide = scale_values(viewer, res=res, measure=measure)
    counts = cell_counts(viewer, filters, res=res, measure=measure)
except RoutesError as error:
    chrome.show_error(error)

fraction = cells.period_months(filters, available=months) / max(len(months), 1)
shown = counts[counts["level"].eq("cell")]
scale = colours.heatmap_scale(
    statewide, period_fraction=fraction, minimum=viewer.k if measure != "per_capita" else 0.0,
    unit=MEASURE_LABELS[measure].lower(), view_values=shown["value"] if rescale else None,
)
county_scale = colours.heatmap_scale(
    [], view_values=counts.loc[counts["level"].eq("county"), "value"],
    unit=MEASURE_LABELS[measure].lower(), n=4, palette_name="blues",
)
view = chrome.map_view("heatmap_map", decks.view_for_counties(filters.counties, regions=filters.regions))
if playing and comparison is None:
    # every month of the period read once and sent once; the browser steps through them
    period_months = cells.months_between(filters.start or months[0], filters.end or months[-1])
    played = period_months[-deck_map.PLAY_MAX_MONTHS:]  # a bounded read and payload; a narrower period plays earlier ones
    try:
        monthly = cell_counts_by_month(viewer, filters, res=res, measure=measure, months=tuple(played))
    except RoutesError as error:
        chrome.show_error(error)
    month_cells = monthly.counts[monthly.counts["level"].eq("cell")]
    scale = colours.heatmap_scale(  # one month's scale, as the single-month map's
        statewide, period_fraction=1 / max(len(months), 1), minimum=viewer.k if measure != "per_capita" else 0.0,
        unit=MEASURE_LABELS[measure].lower(), view_values=month_cells["value"] if rescale else None,
    )
    county_scale = colours.heatmap_scale(
        [], view_values=monthly.counts.loc[monthly.counts["level"].eq("county"), "value"],
        unit=MEASURE_LABELS[measure].lower(), n=4, palette_name="blues",
    )

map_column, legend_column = st.columns([5, 1.4])
selected_hex = None
with map_column:
    chrome.reset_view_button("heatmap_map", fitted=zoomed_in)
    if playing and comparison is None:
        by_month = {m: frame.drop(columns="month") for m, frame in monthly.counts.groupby("month", sort=False)}
        empty = monthly.counts.drop(columns="month").iloc[:0]
        playback = decks.heatmap_playback_deck(
            [by_month.get(m, empty) for m in played], scale=scale, county_scale=county_scale, measure=measure,
            view_state=view, hidden=hidden,
        )
        deck_map.played_months(
            playback, months=played, key=chrome.map_key("heatmap_map") + "_play", default_view=view, height=520,
            label=f"Heatmap of {MEASURE_LABELS[measure].lower()} per cell, month by month",
            notes=["refused: " + monthly.refused[m] if m in monthly.refused else "" for m in played],
        )
        longer = (f"the last {len(played)} of the period's {len(period_months)} months (narrow the period to play "
                  "earlier ones)" if len(period_months) > len(played) else f"{len(played)} months")
        st.caption(
            f"Playing {longer} in the map: pause or drag the slider under it; "
            "“Stop” in the sidebar shows the whole period again."
        )
    elif comparison is None:
        # one chart per detail level: a pick is a row index, so kept across levels it would
        # highlight another cell while the breakdown below still described the old one
        event = st.pydeck_chart(
            decks.heatmap_deck(counts, scale=scale, county_scale=county_scale, measure=measure, view_state=view, hidden=hidden),
            on_select="rerun", selection_mode="single-object", key=f"{chrome.map_key('heatmap_map')}_res{res}", height=520,
        )
        objects = event.selection.objects if event and event.selection else {}
        # the exact cells: layer "cells", and "cells-res<r>" when they span resolutions (maps.layers.by_resolution)
        picked: list = next((rows for lid, rows in objects.items() if re.fullmatch(r"cells(-res\d+)?", lid) and rows), [])
        selected_hex = picked[0].get("hex") if picked else None
    elif comparison.mode == "side":
        try:
            before = cell_counts(viewer, comparison.before, res=res, measure=measure)
        except RoutesError as error:
            chrome.show_error(error)
        half_view = decks.view_for_counties(filters.counties, regions=filters.regions, width_px=420, height_px=420)
        a, b = st.columns(2)
        before_period = chrome.format_period(comparison.before.start, comparison.before.end)
        a.caption(f"Before: {before_period}")
        b.caption(f"After: {period}")
        # one component, one view: pan or zoom either map and both follow; the view goes into the link
        deck_map.synced_maps(
            [decks.heatmap_deck(frame, scale=scale, county_scale=county_scale, measure=measure, view_state=half_view, hidden=hidden)
             for frame in (before, counts)],
            key=chrome.map_key("heatmap_map") + "_side", default_view=half_view, height=420,
            labels=[f"Heatmap, before: {before_period}", f"Heatmap, after: {period}"],
        )
    else:
        try:
            change = cell_change(viewer, comparison.before, comparison.after, res=res, measure=measure)
        except RoutesError as error:
            chrome.show_error(error)
        shown = change
        change_scale = colours.diverging_scale(change["change"].abs().max(), unit=f"change in {MEASURE_LABELS[measure].lower()}")
        st.pydeck_chart(decks.change_deck(change, scale=change_scale, measure=measure, view_state=view, hidden=hidden), key=chrome.map_key("heatmap_map") + "_change", height=560)
with legend_column:
    if comparison is not None and comparison.mode == "change":
        chrome.draw_legend(change_scale.legend("Change per cell", hidden=hidden))
    else:
        chrome.draw_legend(scale.legend(f"{MEASURE_LABELS[measure]} per cell", hidden=hidden))
        chrome.draw_legend(county_scale.legend("County fill: records not in a cell", suppressed=False))
        if "rolled_up" in counts.columns and counts["rolled_up"].fillna(False).astype(bool).any():
            st.caption("Outlined hexagons: small cells rolled up into a larger one, its count in the outline's colour.")
    visible = shown[~shown["suppressed"].astype(bool)]
    in_no_cell = int(counts["level"].eq("county").sum())
    st.caption(
        f"{len(visible):,} cells shown · {int(shown['suppressed'].sum()):,} cells read “{hidden}” · "
        f"{in_no_cell:,} {'county' if in_no_cell == 1 else 'counties'} with records not in a cell"
    )
    if visible.empty and counts["level"].eq("county").any():
        st.caption(cells.no_cells_reason(viewer, res, filters=filters))

suppressed_share = float(shown["suppressed"].astype(bool).mean()) if len(shown) else 0.0
coarser = [r for r in decks.RES_NAMES if r < res]
if suppressed_share > 0.5:
    # most cells hidden: a map of grey says little; one click to cells that hold more records
    note = (
        f"{suppressed_share:.0%} of these cells read “{hidden}” (or are a change from such a count)."
    )
    if coarser:
        st.warning(note + f" Coarser cells hold more records each: try {decks.RES_NAMES[coarser[-1]][0]} (res {coarser[-1]}).",
                   icon=":material/grid_off:")

        def _coarser(to: int) -> None:
            st.session_state["url_res"] = to

        st.button(f"Show {decks.RES_NAMES[coarser[-1]][0]} cells (res {coarser[-1]})", key="heatmap_coarser",
                  on_click=_coarser, args=(coarser[-1],), type="primary")
    else:
        st.warning(note + " Widen the period or the filters to show more.", icon=":material/grid_off:")

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
if choice:
    try:
        breakdown = cell_breakdown(viewer, filters, cell=choice)
    except RoutesError as error:
        chrome.show_error(error)
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
                try:
                    rows = records_in_cell(viewer, filters, cell=cell_id, res=cell_res)
                except RoutesError as error:
                    chrome.show_error(error)
                st.caption(f"{len(rows):,} records (newest first)")
                tables.show_table(rows, viewer=viewer, name="Records in cell", filters=filters, hide_index=True,
                                  width="stretch")

chrome.attribution_footer()
