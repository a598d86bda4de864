"""Statewide: leadership's first stop. Is it getting better or worse, and where?"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from maps import decks
from maps import statewide_maps as sm
from query import release, trends
from query.filters import Filters
from routes.errors import RoutesError
from ui import charts, chrome, deferred, tables
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.session import current_viewer

resolve_period = snapshot_cached(trends.resolve_period)
headline_figures = snapshot_cached(trends.headline_figures)
monthly_series = snapshot_cached(trends.monthly_series)
county_rates = snapshot_cached(trends.county_rates)
counties_ranked_by_change = snapshot_cached(trends.counties_ranked_by_change)
emerging_hot_spots = snapshot_cached(trends.emerging_hot_spots)

AGAINST = {"previous": "the previous period", "year_before": "the same period a year before"}
STEP_LABELS = {"month": "Months", "quarter": "Quarters"}

viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
# nothing chosen yet: the slider starts at the last full quarter (against the same quarter a year before)
quarter = ui_filters.last_full_quarter(ui_filters.available_months(viewer, Filters()), today=date.today())
filters = ui_filters.sidebar_filters(viewer, default_period=quarter)
default_period = quarter if quarter and (filters.start, filters.end) == quarter else None
try:
    period = resolve_period(viewer, filters)
except RoutesError as error:
    chrome.show_error(error)
if period is None:
    chrome.page_header("Statewide", "records at their destination", "no data", "county", viewer=viewer)
    st.info("The warehouse holds no records yet. Load the demo with `make demo`, or ingest files.")
    st.stop()
period_text = chrome.format_period(*period) + (" (the last full quarter)" if default_period else "")

chrome.page_header(
    "Statewide",
    f"{sm.records_text(filters.record_types)} at their destination",
    period_text,
    "county and Cal OES region; hot spots on H3 hexagons",
    viewer=viewer,
)

# The page is laid out top to bottom (headline figures, monthly series, counties,
# hot spots) but the county map is computed and sent first: the containers hold
# each part's place, so a browser draws the map while the figures and charts
# above it are still being computed (and before their charts' code has loaded).
headline_box, series_box, counties_box = st.container(), st.container(), st.container()

with headline_box:
    against = str(ui_filters.url_choice(
        "Compare with", list(AGAINST), param="against", default="year_before", horizontal=True,
        format_func=AGAINST.get,
    ))

# ---------------------------------------------------------------- counties (first on the wire)
with counties_box:
    st.markdown(f"#### Counties, {period_text}")
    map_column, table_column = st.columns([3, 2])
try:
    rates = county_rates(viewer, filters)
except RoutesError as error:
    chrome.show_error(error)
with map_column:
    deck, legend = sm.county_rate_deck(
        rates, view_state=decks.view_for_counties(filters.counties, regions=filters.regions), hidden=hidden
    )
    st.pydeck_chart(deck, key="statewide_rates", height=480)
    chrome.draw_legend(legend)
    st.caption(
        f"Records per 100,000 residents (Census 2019 estimates), {period_text}, by the county of "
        f"the destination; grey counties read “{hidden}”."
    )
try:
    ranked = counties_ranked_by_change(viewer, filters, against=against)
except RoutesError as error:
    chrome.show_error(error)
with table_column:
    st.caption(f"Counties ranked by change against {AGAINST[against]}")
    tables.show_table(sm.ranking_table(ranked, hidden=hidden), viewer=viewer, name="County ranking", filters=filters, hide_index=True, height=480, width="stretch")

# ---------------------------------------------------------------- headline figures
try:
    headline = headline_figures(viewer, filters)
except RoutesError as error:
    chrome.show_error(error)
metrics = sm.headline_metrics(headline, against=against, columns=sm.metric_columns(filters.record_types), hidden=hidden)
with headline_box:
    chrome.metric_row(metrics, viewer=viewer)
    st.caption(
        f"{period_text} against {AGAINST[against]}. A change is shown only when both figures are; "
        "more records can mean more reporting and more work by agencies, not only more trafficking."
    )

# ---------------------------------------------------------------- monthly series
with series_box:
    st.markdown("#### Records per month")
    statewide_tab, region_tab = st.tabs(["Statewide", "By Cal OES region"])
    try:
        with statewide_tab:
            # the long series, every month, with the chosen period shaded: a quarter is not three dots
            series = monthly_series(viewer, filters.with_period(None, None))
            if series["records"].notna().any():
                st.image(charts.line_chart_svg(series, height=240, highlight=period), width="stretch",
                         alt=f"Line chart: statewide records per month, {period_text} shaded")
            else:
                st.info(f"Every month reads “{hidden}” under these filters.")
        with region_tab:
            by_region = monthly_series(viewer, filters.with_period(None, None), by="region")
            shown = by_region[by_region.groupby("region")["records"].transform(lambda r: r.notna().any())]
            if len(shown):
                st.image(charts.line_chart_svg(shown, series="region", height=260, highlight=period), width="stretch",
                         alt=f"Line chart: records per month in each Cal OES region, {period_text} shaded")
            else:
                st.info(f"Every region's months read “{hidden}” under these filters.")
    except RoutesError as error:
        chrome.show_error(error)
    st.caption(f"Gaps are months that read “{hidden}”.")

# ---------------------------------------------------------------- emerging hot spots


def hot_spot_map(spots: pd.DataFrame, *, step: str, show_all: bool, filters: Filters) -> None:
    """The hot-spot map; on a session's first view, only once the browser has shown the county map.

    Two maps set up in the same frame share the browser's (software) shader
    compiling: the one at the bottom of the page made the county map wait.
    """
    if deferred.after_first_map("statewide_hot_spots"):
        st.pydeck_chart(
            sm.hot_spot_deck(spots, step=step, show_no_pattern=show_all, hidden=hidden,
                             view_state=decks.view_for_counties(filters.counties, regions=filters.regions)),
            key="statewide_hot_spots", height=480,
        )
    else:
        with st.container(height=480, border=False):  # the map's place, so nothing below moves
            st.caption("The hot-spot map is drawn once the county map is on screen.")


st.markdown("#### Emerging hot spots")
left, middle, right = st.columns([2, 2, 2])
with left:
    res = int(ui_filters.url_choice(  # type: ignore[call-overload]
        "Hexagons", [5, 6], param="hs_res", default=6, horizontal=True,
        format_func=lambda r: f"res {r} (~{decks.RES_NAMES[r][1]})",
    ))
with middle:
    step = str(ui_filters.url_choice(
        "Time step", list(STEP_LABELS), param="hs_step", default="month", horizontal=True,
        format_func=STEP_LABELS.get,
    ))
with right:
    show_all = ui_filters.url_choice(
        "Show cells with no pattern", [], param="hs_all", default=True, widget="toggle",
    )
spots = emerging_hot_spots(viewer, filters, res=res, step=step)
if spots.empty:
    st.info("Hot spots have not been computed for this warehouse yet: run `python -m pipelines build`.")
else:
    window = chrome.format_period(spots["first_period"].min(), spots["last_period"].max())
    map_column, legend_column = st.columns([5, 2])
    with map_column:
        hot_spot_map(spots, step=step, show_all=bool(show_all), filters=filters)
    with legend_column:
        chrome.draw_legend(sm.hot_spot_legend(spots))
    st.caption(
        f"Getis-Ord Gi* hot and cold spots of records per H3 res-{res} hexagon "
        f"(~{decks.RES_NAMES[res][1]}) for each {step} of {window}, records located to a place or "
        "finer; each cell's pattern combines them with a Mann-Kendall trend test (ArcGIS's Emerging "
        "Hot Spot Analysis classes). Computed at build time over all records: only the region and "
        "county filters apply here."
    )

chrome.attribution_footer()
ui_filters.advance_play()
