"""Statewide: leadership's first stop. Is it getting better or worse, and where?"""

from __future__ import annotations

from datetime import date

import streamlit as st

from maps import decks
from maps import statewide_maps as sm
from query import release, trends
from query.filters import Filters
from ui import charts, chrome, tables
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.hot_spots import show_hot_spots
from ui.session import current_viewer

resolve_period = snapshot_cached(trends.resolve_period)
headline_figures = snapshot_cached(trends.headline_figures)
monthly_series = snapshot_cached(trends.monthly_series)
county_rates = snapshot_cached(trends.county_rates)
counties_ranked_by_change = snapshot_cached(trends.counties_ranked_by_change)

AGAINST = {"previous": "the previous period", "year_before": "the same period a year before"}

viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
# nothing chosen yet: the slider starts at the last full quarter (against the same quarter a year before)
quarter = ui_filters.last_full_quarter(ui_filters.available_months(viewer, Filters()), today=date.today())
filters = ui_filters.sidebar_filters(viewer, default_period=quarter)
default_period = quarter if quarter and (filters.start, filters.end) == quarter else None
with chrome.errors_shown():
    period = resolve_period(viewer, filters)
if period is None:
    chrome.page_header("Statewide", "records at their destination", "no data", "county", viewer=viewer)
    st.info("The warehouse holds no records yet. Load the demo with `make demo`, or ingest files.")
    st.stop()
period_text = chrome.format_period(*period) + (" (the last full quarter)" if default_period else "")

chrome.page_header("Statewide", f"{sm.records_text(filters.record_types)} at their destination", period_text,
                   "county and Cal OES region; hot spots on H3 hexagons", viewer=viewer)

# Laid out top to bottom (headline figures, monthly series, counties, hot spots), but the county map is sent
# first: the containers hold each part's place, so a browser draws it while the parts above are computed.
headline_box, series_box, counties_box = st.container(), st.container(), st.container()

with headline_box:
    against = str(ui_filters.url_choice("Compare with", list(AGAINST), param="against", default="year_before",
                                        horizontal=True, format_func=AGAINST.get))

# ---------------------------------------------------------------- counties (first on the wire)
with counties_box:
    st.markdown(f"#### Counties, {period_text}")
    map_column, table_column = st.columns([3, 2])
with chrome.errors_shown():
    rates = county_rates(viewer, filters)
with map_column:
    view = decks.view_for_counties(filters.counties, regions=filters.regions)
    deck, legend = sm.county_rate_deck(rates, view_state=view, hidden=hidden)
    st.pydeck_chart(deck, key="statewide_rates", height=480)
    chrome.draw_legend(legend)
    st.caption(f"Records per 100,000 residents (Census 2019 estimates), {period_text}, by the county of "
               f"the destination; grey counties read “{hidden}”.")
with chrome.errors_shown():
    ranked = counties_ranked_by_change(viewer, filters, against=against)
with table_column:
    st.caption(f"Counties ranked by change against {AGAINST[against]}")
    tables.show_table(sm.ranking_table(ranked, hidden=hidden), viewer=viewer, name="County ranking", filters=filters,
                      hide_index=True, height=480, width="stretch")

# ---------------------------------------------------------------- headline figures
with chrome.errors_shown():
    headline = headline_figures(viewer, filters)
metrics = sm.headline_metrics(headline, against=against, columns=sm.metric_columns(filters.record_types), hidden=hidden)
with headline_box:
    chrome.metric_row(metrics, viewer=viewer)
    st.caption(f"{period_text} against {AGAINST[against]}. A change is shown only when both figures are; "
               "more records can mean more reporting and more work by agencies, not only more trafficking.")

# ---------------------------------------------------------------- monthly series
with series_box:
    st.markdown("#### Records per month")
    statewide_tab, region_tab = st.tabs(["Statewide", "By Cal OES region"])
    every_month = filters.with_period(None, None)  # the long series, the chosen period shaded: a quarter is not three dots
    with chrome.errors_shown(), statewide_tab:
        charts.show_line_chart(monthly_series(viewer, every_month), height=240, highlight=period,
                               alt=f"Line chart: statewide records per month, {period_text} shaded",
                               all_hidden=f"Every month reads “{hidden}” under these filters.")
    with chrome.errors_shown(), region_tab:
        charts.show_line_chart(monthly_series(viewer, every_month, by="region"), series="region", height=260,
                               highlight=period, all_hidden=f"Every region's months read “{hidden}” under these filters.",
                               alt=f"Line chart: records per month in each Cal OES region, {period_text} shaded")
    st.caption(f"Gaps are months that read “{hidden}”.")

# ---------------------------------------------------------------- emerging hot spots
show_hot_spots(viewer, filters, hidden=hidden)

chrome.attribution_footer()
ui_filters.advance_play()
