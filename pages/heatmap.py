"""Heatmap explorer: records per H3 cell, a fixed colour scale, and what is inside a cell."""

from __future__ import annotations

import streamlit as st

from maps import decks, statewide_maps
from maps import heatmap_maps as hm
from query import cells, release
from query.records import records_in_cell
from ui import chrome, deck_map, heatmap_parts, tables
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.session import current_viewer

cell_counts = snapshot_cached(cells.cell_counts)
scale_values = snapshot_cached(cells.scale_values)
cell_change = snapshot_cached(cells.cell_change)
cell_breakdown = snapshot_cached(cells.cell_breakdown)
cell_counts_by_month = snapshot_cached(cells.cell_counts_by_month)

viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
header = st.container()
with st.sidebar:
    res, measure, rescale = heatmap_parts.map_controls()
filters = ui_filters.sidebar_filters(viewer, play_in_browser=True)  # Play months: played in the map, no reruns
playing = ui_filters.is_playing()
months = ui_filters.available_months(viewer, filters)
comparison = ui_filters.sidebar_compare(filters, months=months)

zoomed_in = bool(filters.counties or filters.regions or filters.task_forces)
res = heatmap_parts.statewide_res(res, zoomed_in=zoomed_in)
if comparison is not None:  # the slider's period (or, when it spans everything, its second half)
    filters = comparison.after
period = tables.shown_period(filters, months=months)
before_period = tables.format_period(comparison.before.start, comparison.before.end) if comparison else ""
with header:
    chrome.page_header(
        "Heatmap explorer",
        f"{statewide_maps.records_text(filters.record_types)} at their destination" if measure == "records" else hm.MEASURE_WHAT[measure],
        period if comparison is None else f"{before_period} vs {period}",
        f"H3 res {res} hexagons (~{decks.RES_NAMES[res][1]} each); records located less precisely are counted in their county (pale fill)",
        viewer=viewer,
    )

with chrome.errors_shown():
    statewide = scale_values(viewer, res=res, measure=measure)
    counts = cell_counts(viewer, filters, res=res, measure=measure)
shown = counts[counts["level"].eq("cell")]
scaled = {"statewide": statewide, "measure": measure, "k": viewer.k, "rescale": rescale, "hidden": hidden}
fraction = cells.period_months(filters, available=months) / max(len(months), 1)
view = chrome.map_view("heatmap_map", decks.view_for_counties(filters.counties, regions=filters.regions))
if playing and comparison is None:  # every month of the period read once and sent once; the browser steps through them
    period_months = cells.months_between(filters.start or months[0], filters.end or months[-1])
    played = period_months[-deck_map.PLAY_MAX_MONTHS:]  # a bounded read and payload; a narrower period plays earlier ones
    with chrome.errors_shown():
        monthly = cell_counts_by_month(viewer, filters, res=res, measure=measure, months=tuple(played))
map_column, legend_column = st.columns([5, 1.4])
selected_hex = None
with map_column:
    chrome.reset_view_button("heatmap_map", fitted=zoomed_in)
    if playing and comparison is None:
        playback, legends = hm.playback_view(monthly.counts, played, month_fraction=1 / max(len(months), 1), view_state=view, **scaled)
        deck_map.played_months(
            playback, months=played, key=chrome.map_key("heatmap_map") + "_play", default_view=view, height=520,
            label=f"Heatmap of {hm.MEASURE_LABELS[measure].lower()} per cell, month by month",
            notes=["refused: " + monthly.refused[m] if m in monthly.refused else "" for m in played],
        )
        st.caption(heatmap_parts.playing_caption(played, period_months))
    elif comparison is None:
        deck, legends = hm.single_view(counts, period_fraction=fraction, view_state=view, **scaled)
        # one chart per detail level: a pick is a row index, so kept across levels it would
        # highlight another cell while the breakdown below still described the old one
        event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object",
                                key=f"{chrome.map_key('heatmap_map')}_res{res}", height=520)
        selected_hex = heatmap_parts.picked_hex(event)
    elif comparison.mode == "side":
        with chrome.errors_shown():
            before = cell_counts(viewer, comparison.before, res=res, measure=measure)
        half_view = decks.view_for_counties(filters.counties, regions=filters.regions, width_px=420, height_px=420)
        pair, legends = hm.side_view(before, counts, period_fraction=fraction, view_state=half_view, **scaled)
        a, b = st.columns(2)
        a.caption(f"Before: {before_period}")
        b.caption(f"After: {period}")
        # one component, one view: pan or zoom either map and both follow; the view goes into the link
        deck_map.synced_maps(pair, key=chrome.map_key("heatmap_map") + "_side", default_view=half_view, height=420,
                             labels=[f"Heatmap, before: {before_period}", f"Heatmap, after: {period}"])
    else:
        with chrome.errors_shown():
            shown = cell_change(viewer, comparison.before, comparison.after, res=res, measure=measure)
        deck, legends = hm.change_view(shown, measure=measure, view_state=view, hidden=hidden)
        st.pydeck_chart(deck, key=chrome.map_key("heatmap_map") + "_change", height=560)
with legend_column:
    heatmap_parts.show_legends(legends, shown, counts, change=comparison is not None and comparison.mode == "change",
                               why_no_cells=lambda: cells.no_cells_reason(viewer, res, filters=filters), hidden=hidden)
heatmap_parts.show_mostly_hidden(shown, res=res, hidden=hidden)
heatmap_parts.show_cell_panel(viewer, filters, counts, res=res, selected_hex=selected_hex, hidden=hidden,
                              breakdown_of=cell_breakdown, records_of=records_in_cell)
chrome.attribution_footer()
