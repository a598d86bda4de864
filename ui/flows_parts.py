"""The Flows and corridors page's parts: its map and place controls, and the sections under the map.

The page passes in the cached readers these call (:mod:`query.flows`), so each is
cached once, by the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from maps import flows_maps as fm
from query import flows
from query.filters import Filters
from query.viewer import Viewer
from routes.errors import RoutesError
from ui import chrome, tables
from ui import circuits as circuit_panel
from ui import filters as ui_filters


def map_controls(filters: Filters) -> tuple[str, int, bool, str]:
    """The sidebar's "Map" choices, kept in the URL: grouping, busiest flows drawn, corridors, evidence."""
    levels = [level for level in fm.LEVELS if level in flows.levels_for(filters)]
    if st.session_state.get("url_level") not in levels:  # e.g. the region filter was just cleared
        st.session_state.pop("url_level", None)
    st.markdown("**Map**")
    level = ui_filters.url_choice(
        "Group places by", levels, param="level", default="county", widget="select_slider",
        format_func=fm.LEVELS.get, help="Coarse groupings for the statewide picture, H3 cells for a closer look.",
    )
    if len(levels) < len(fm.LEVELS):
        st.caption("Finer hexagons (res 5, res 6) once a region, task force or county is chosen.")
    top_n = ui_filters.url_choice("Busiest flows drawn opaque", [10, 25, 50, 100], param="top", default=25, widget="selectbox")
    show_corridors = ui_filters.url_choice("Highway corridors", [], param="corridors", default=True, widget="toggle")
    evidence = ui_filters.url_choice(
        "Evidence", list(circuit_panel.EVIDENCE), param="evidence", default="reported", format_func=circuit_panel.EVIDENCE.get,
        horizontal=True, help="Reported journeys: a record's point source to its destination. Observed moves: the same "
                              "subject seen in one place, then next in another (no identifier is shown).",
    )
    return str(level), int(top_n), bool(show_corridors), str(evidence)  # type: ignore[call-overload]


def place_controls(locations: pd.DataFrame) -> tuple[str, str | None, str | None]:
    """The sidebar's "Place" choices: which flows (all, arriving, leaving, between), the place and the second place."""
    names = locations.set_index("location_id")["name"].to_dict()
    place_ids = sorted(names, key=lambda i: str(names.get(i)))
    st.markdown("**Place**")
    mode = st.radio("Show", list(fm.MODES), format_func=fm.MODES.get, key="flows_mode", horizontal=True)
    location = st.selectbox("Place", place_ids, format_func=lambda i: names.get(i, i), index=None,
                            placeholder="choose a place", key="flows_place", disabled=mode == "all")
    other = st.selectbox("Second place", place_ids, format_func=lambda i: names.get(i, i), index=None,
                         placeholder="choose a place", key="flows_other", disabled=mode != "between")
    return str(mode), location, other


def picked_corridor(map_key: str) -> list[dict] | None:
    """The corridor rows clicked on map ``map_key`` in the previous run, if any."""
    state = st.session_state.get(map_key)
    return ((state.get("selection") or {}).get("objects") or {}).get("corridors") if state else None


def read_corridors(loads_of: Callable[..., pd.DataFrame], viewer: Viewer, filters: Filters, **options: Any) -> pd.DataFrame | None:
    """The corridor loads (:func:`query.flows.corridor_loads`), or ``None`` when DuckDB cannot read them."""
    with chrome.errors_shown():
        try:
            return loads_of(viewer, filters, **options)
        except duckdb.Error:
            return None


def show_segment_flows(viewer: Viewer, filters: Filters, *, segment: pd.Series | None, over: pd.DataFrame | None,
                       corridors: pd.DataFrame | None, hidden: str) -> None:
    """The flows routed over the clicked corridor segment, or how to pick one."""
    if segment is not None and over is not None:
        st.markdown(f"#### Flows routed over the selected {segment['route']} segment")
        if over.empty:
            st.caption("No county-to-county flow of k or more records is routed over this segment under these filters.")
        else:
            tables.show_flows_table(over.head(200), viewer=viewer, name="Flows over a corridor segment", hidden=hidden,
                                    filters=filters, hide_index=True, width="stretch")
            listed = over[~over["suppressed"].astype(bool)]
            carried = int(round(float((listed["records"].astype(float) * listed["share"]).sum())))
            load_text = "" if pd.isna(segment["load"]) else (
                f" The flows listed carry {carried:,} of this segment's load of {int(segment['load']):,} flow records;"
                " the rest are flows too small to list."
            )
            st.caption("Share over the segment: the part of each flow routed over it (a flow between two counties may"
                       " take several routes)." + load_text)
        st.caption("Routes run county to county on the schematic highways; flows rolled up to a region follow no segment.")
    elif corridors is not None and len(corridors):
        st.caption("Click a corridor segment on the map to highlight and list the flows routed over it.")


def show_shared_routes(viewer: Viewer, filters: Filters, *, level: str, pairs_of: Callable[..., pd.DataFrame],
                       hidden: str) -> None:
    """"Task forces that share a route": coordination pairs by task force (or by region)."""
    st.markdown("#### Task forces that share a route")
    with chrome.errors_shown(not_built=fm.BUILD_NOTE):
        try:
            pairs = pairs_of(viewer, filters, level="task_force" if level == "task_force" else "region")
        except duckdb.Error:
            pairs = None
    if pairs is None or pairs.empty:
        st.caption("No cross-task-force flows under these filters.")
    else:
        tables.show_flows_table(pairs.drop(columns=["victims"]), viewer=viewer, name="Task forces sharing a route",
                                hidden=hidden, filters=filters, hide_index=True, width="stretch")


def show_route_shifts(viewer: Viewer, *, shifts_of: Callable[..., pd.DataFrame], hidden: str) -> None:
    """"Route shifts": county-to-county flows new, growing, fading or gone lately, in an expander."""
    with st.expander("Route shifts: flows new, growing, fading or gone lately"):
        try:
            shifts = shifts_of(viewer, level="county")
            changed = shifts[shifts["shift"].ne("steady")].head(100)
            if not shifts.empty:  # the release counts flows per year: its windows are years, the exact ones a quarter
                first = shifts.iloc[0]
                st.caption(f"Recent {tables.format_period(first['recent_start'], first['recent_end'])} against "
                           f"{tables.format_period(first['baseline_start'], first['baseline_end'])}.")
            if changed.empty:
                st.caption("No county-to-county flow changed beyond what chance explains.")
            else:
                tables.show_table(fm.route_shifts_table(changed, hidden=hidden), viewer=viewer, name="Route shifts",
                                  hide_index=True, width="stretch")
            if len(shifts):
                first = shifts.iloc[0]
                st.caption(
                    f"Recent: {tables.format_period(first['recent_start'], first['recent_end'])}; baseline: "
                    f"{tables.format_period(first['baseline_start'], first['baseline_end'])}. Rate ratio: recent "
                    f"records per month over the baseline's; blank where either count reads “{hidden}”."
                )
        except (RoutesError, duckdb.Error, KeyError):
            st.caption("Route shifts are not built yet (`python -m pipelines build`).")
