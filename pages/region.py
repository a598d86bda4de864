"""Region: one Cal OES region, task force or county — its map, flows, neighbours, trend; briefings."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from maps import statewide_maps as sm
from query import release, trends
from ui import charts, chrome, tables
from ui import filters as ui_filters
from ui.briefing_export import show_briefing_export
from ui.cache import snapshot_cached
from ui.place_choice import choose_place, read_profile
from ui.session import current_viewer

monthly_series = snapshot_cached(trends.monthly_series)

viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
filters = ui_filters.sidebar_filters(viewer)
kind, place = choose_place(viewer)
with chrome.errors_shown():
    profile, period, flows_note = read_profile(viewer, filters, **{kind: place})

current = profile.headline[profile.headline["period"].eq("current")]
start, end = (current["start"].iloc[0], current["end"].iloc[0]) if len(current) else (None, None)
period_text = chrome.format_period(start, end) if len(current) else "no data"
chrome.page_header(
    profile.name,
    f"{sm.records_text(filters.record_types)} at their destination in this place; flows from point source to destination",
    period_text,
    "county (rates per 100,000 residents); flows by county",
    viewer=viewer,
)

metrics = sm.headline_metrics(
    profile.headline,
    columns=sm.metric_columns(filters.record_types, base=("records", "victims"), unfiltered=("tips", "recoveries")),
    hidden=hidden,
)
chrome.metric_row(metrics, viewer=viewer)

map_column, side_column = st.columns([3, 2])
with map_column:
    deck, legend = sm.region_deck(profile.county_rates, profile.neighbours, hidden=hidden)
    st.pydeck_chart(deck, key="region_map", height=440)
    chrome.draw_legend(legend)
with side_column:
    st.markdown("**Trend: records per month**")
    # every month (not only the period's few), the period shaded
    trend = monthly_series(viewer, replace(filters, regions=(), task_forces=(), counties=profile.counties).with_period(None, None))
    charts.show_line_chart(trend, height=260, width=560, highlight=period, all_hidden=f"Every month reads “{hidden}” here.",
                           alt=f"Line chart: records per month in {profile.name}, {period_text} shaded")
    st.caption(f"Gaps are months that read “{hidden}”.")
    st.markdown("**Its counties**")
    tables.show_table(sm.rates_table(profile.county_rates, hidden=hidden), viewer=viewer, name="County rates", hide_index=True, width="stretch", height=180)

st.markdown("#### Flows in and out")
if profile.flows_in is not None and profile.flows_out is not None:  # None: these filters refuse flows (noted below)
    flows_in_column, flows_out_column = st.columns(2)
    with flows_in_column:
        st.caption("Into this place, from elsewhere (point source → here), by county")
        tables.show_table(sm.flows_table(release.drop_unreleased(viewer, profile.flows_in), side="origin", hidden=hidden), viewer=viewer, name="Flows in", hide_index=True, width="stretch", height=220)
    with flows_out_column:
        st.caption("Out of this place, to elsewhere (here → destination), by county")
        tables.show_table(sm.flows_table(release.drop_unreleased(viewer, profile.flows_out), side="dest", hidden=hidden), viewer=viewer, name="Flows out", hide_index=True, width="stretch", height=220)
for note in profile.notes:
    st.caption(note)
if flows_note:
    st.warning(flows_note, icon=":material/info:")

st.markdown("#### Neighbouring counties")
st.caption("Counties that border this place or face it across the Bay, over the same period.")
tables.show_table(sm.rates_table(profile.neighbours, hidden=hidden), viewer=viewer, name="Neighbouring counties", hide_index=True, width="stretch")

st.markdown("#### Briefing export")
# imported here, after the page is drawn: the PDF and map libraries behind it load late on a cold start
import briefings  # noqa: E402
from briefings.audiences import AUDIENCES  # noqa: E402

show_briefing_export(viewer, kind=kind, place=place, start=start, end=end, export=briefings.export_briefing,
                     audiences=AUDIENCES)

chrome.attribution_footer()
ui_filters.advance_play()
