"""The Statewide page's emerging hot spots: the choices (kept in the URL), the map, its legend and what it counts.

The classes are computed at build time (``pipelines/build/hotspots.py``) and read
through :func:`query.trends.emerging_hot_spots`; the map and legend are
:mod:`maps.statewide_maps`'. The map waits for the county map above it
(:func:`ui.deferred.after_first_map`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from maps import decks
from maps import statewide_maps as sm
from query import trends
from query.filters import Filters
from query.viewer import Viewer
from ui import chrome, deferred
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.tables import format_period

emerging_hot_spots = snapshot_cached(trends.emerging_hot_spots)

#: The time steps the classes are computed for, as the choice names them.
STEP_LABELS = {"month": "Months", "quarter": "Quarters"}


def hot_spot_map(spots: pd.DataFrame, *, step: str, show_all: bool, filters: Filters, hidden: str) -> None:
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


def show_hot_spots(viewer: Viewer, filters: Filters, *, hidden: str) -> None:
    """The section: hexagon size, time step and "no pattern" choices, then the map and its legend, or how to build them."""
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
        return
    window = format_period(spots["first_period"].min(), spots["last_period"].max())
    map_column, legend_column = st.columns([5, 2])
    with map_column:
        hot_spot_map(spots, step=step, show_all=bool(show_all), filters=filters, hidden=hidden)
    with legend_column:
        chrome.draw_legend(sm.hot_spot_legend(spots))
    st.caption(
        f"Getis-Ord Gi* hot and cold spots of records per H3 res-{res} hexagon "
        f"(~{decks.RES_NAMES[res][1]}) for each {step} of {window}, records located to a place or "
        "finer; each cell's pattern combines them with a Mann-Kendall trend test (ArcGIS's Emerging "
        "Hot Spot Analysis classes). Computed at build time over all records: only the region and "
        "county filters apply here."
    )
