"""Flows and corridors: point source → destination arcs, place totals, highway loads, who should coordinate."""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import streamlit as st

from geo import reference
from maps import colours, decks, layers, moves_maps
from maps import statewide_maps as sm
from query import flows, release
from query.release import ReleaseNotBuiltError
from routes.errors import RoutesError
from ui import chrome, tables
from ui import circuits as circuit_panel
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.session import current_viewer

LEVELS = {
    "region": "Cal OES region", "task_force": "task force", "county": "county",
    "res4": "H3 res 4 (~1,770 km²)", "res5": "H3 res 5 (~250 km²)", "res6": "H3 res 6 (~36 km²)",
}
MODES = {"all": "all flows", "incoming": "arriving at", "outgoing": "leaving from", "between": "between two places"}
BUILD_NOTE = (
    "The flow tables are not built yet. Run `python -m pipelines build` "
    "(or `make demo`) to derive flows and corridors from the records."
)



def _counties_of(level: str, place: str | None) -> list[str] | None:
    """The county codes of a place at a grouping (``None`` for H3 cells, which have none)."""
    if not place:
        return None
    if level == "county":
        return [place]
    if level in ("region", "task_force"):
        dims = reference.county_dimensions()
        return dims.loc[dims[level].eq(place), "county_fips"].tolist()
    return None


def _focus_counties(level: str, mode: str, place: str | None, other: str | None) -> tuple[list[str] | None, list[str] | None]:
    """Origin and destination counties of the flows in focus (``None``: any)."""
    if mode == "incoming":
        return None, _counties_of(level, place)
    if mode == "outgoing":
        return _counties_of(level, place), None
    if mode == "between" and place and other:
        return _counties_of(level, place), _counties_of(level, other)
    return None, None


def _picked_segment(picked: list[dict] | None, corridors: pd.DataFrame | None) -> pd.Series | None:
    """The corridor row of a click on the map, if that segment is still drawn."""
    if not picked or corridors is None or "segment_id" not in picked[0]:
        return None
    rows = corridors[corridors["segment_id"].eq(int(picked[0]["segment_id"]))]
    return rows.iloc[0] if len(rows) else None


viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
header = st.container()
map_controls = st.sidebar.container()  # drawn above the shared filters, filled once they are known
filters = ui_filters.sidebar_filters(viewer)
levels = [level for level in LEVELS if level in flows.levels_for(filters)]
if st.session_state.get("url_level") not in levels:  # e.g. the region filter was just cleared
    st.session_state.pop("url_level", None)
with map_controls:
    st.markdown("**Map**")
    level = ui_filters.url_choice(
        "Group places by", levels, param="level", default="county", widget="select_slider",
        format_func=LEVELS.get, help="Coarse groupings for the statewide picture, H3 cells for a closer look.",
    )
    if len(levels) < len(LEVELS):
        st.caption("Finer hexagons (res 5, res 6) once a region, task force or county is chosen.")
    top_n = ui_filters.url_choice("Busiest flows drawn opaque", [10, 25, 50, 100], param="top", default=25, widget="selectbox")
    show_corridors = ui_filters.url_choice("Highway corridors", [], param="corridors", default=True, widget="toggle")
    evidence = str(ui_filters.url_choice(
        "Evidence", list(circuit_panel.EVIDENCE), param="evidence", default="reported", format_func=circuit_panel.EVIDENCE.get,
        horizontal=True, help="Reported journeys: a record's point source to its destination. Observed moves: the same "
                              "subject seen in one place, then next in another (no identifier is shown).",
    ))
    reported, observed = evidence in ("reported", "both"), evidence in ("observed", "both")
    found = circuit_panel.read_circuits(viewer, filters)
    circuit = circuit_panel.choose_circuit(found, observed=observed)
months = ui_filters.available_months(viewer, filters)

period = chrome.format_period(filters.start or (months[0] if months else None), filters.end or (months[-1] if months else None))
with header:
    chrome.page_header(
        "Flows and corridors",
        "flow records: a point source (where a victim was recruited or lived) linked to a destination",
        period,
        f"places grouped by {LEVELS[level]}; corridors routed on schematic highways between counties",
        viewer=viewer,
    )

edges_of = snapshot_cached(flows.flow_edges)
segment_flows_of = snapshot_cached(flows.segment_flows)
totals_of = snapshot_cached(flows.location_totals)
loads_of = snapshot_cached(flows.corridor_loads)
pairs_of = snapshot_cached(flows.coordination_pairs)
shifts_of = snapshot_cached(flows.route_shifts)

try:
    edges = edges_of(viewer, filters, level=level)
    locations = totals_of(viewer, filters, level=level)
except ReleaseNotBuiltError:
    st.info(BUILD_NOTE)
    chrome.attribution_footer()
    st.stop()
except RoutesError as error:
    chrome.show_error(error)
except duckdb.Error:
    st.info(BUILD_NOTE)
    chrome.attribution_footer()
    st.stop()

names = locations.set_index("location_id")["name"].to_dict()
place_ids = sorted(names, key=lambda i: str(names.get(i)))
with st.sidebar:
    st.markdown("**Place**")
    mode = st.radio("Show", list(MODES), format_func=MODES.get, key="flows_mode", horizontal=True)
    location = st.selectbox("Place", place_ids, format_func=lambda i: names.get(i, i), index=None,
                            placeholder="choose a place", key="flows_place", disabled=mode == "all")
    other = st.selectbox("Second place", place_ids, format_func=lambda i: names.get(i, i), index=None,
                         placeholder="choose a place", key="flows_other", disabled=mode != "between")

drawn = decks.focus_edges(edges, mode=mode, location=location, other=other)
moved, moves_note = circuit_panel.read_moves(viewer, filters, level=str(level)) if observed else (None, "")
if moved is not None:
    moved = decks.focus_edges(moved, mode=mode, location=location, other=other)
# the corridors follow the place in focus: only the flows leaving or reaching it load them
origins, dests = _focus_counties(str(level), mode, location, other)
try:
    corridors = loads_of(viewer, filters, origins=origins, dests=dests, both_ways=mode == "between") if show_corridors else None
except RoutesError as error:
    chrome.show_error(error)
except duckdb.Error:
    corridors = None
visible = drawn[~drawn["suppressed"].astype(bool)]
edge_scale = colours.fixed_scale(edges["records"].max() if len(edges) else None, n=5, minimum=viewer.k, palette_name="cividis", unit="flow records")
corridor_scale = None
if corridors is not None and len(corridors):
    corridor_scale = colours.fixed_scale(corridors["load"].max(), n=4, minimum=viewer.k, palette_name="blues", unit="flow records along the segment")

map_column, legend_column = st.columns([5, 1.5])
with map_column:
    chrome.reset_view_button("flows_map", fitted=bool(filters.counties or filters.regions))
    map_key = chrome.map_key("flows_map")
    state = st.session_state.get(map_key)  # the segment clicked on the previous run, if any
    picked = ((state.get("selection") or {}).get("objects") or {}).get("corridors") if state else None
    segment = _picked_segment(picked, corridors)
    over = segment_flows_of(viewer, filters, segment_id=int(segment["segment_id"])) if segment is not None else None
    st.pydeck_chart(
        decks.flows_deck(
            edges=drawn if reported else None, locations=locations if reported else None, corridors=corridors, edge_scale=edge_scale,
            corridor_scale=corridor_scale, top_n=int(top_n),
            view_state=chrome.map_view("flows_map", decks.view_for_counties(filters.counties, regions=filters.regions)),
            focus_segment=None if segment is None else int(segment["segment_id"]), focus_flows=over, hidden=hidden,
            moves=moved, circuit=circuit,
        ),
        key=map_key, height=560, on_select="rerun", selection_mode="single-object",
    )
with legend_column:
    if segment is not None:
        chrome.draw_legend(layers.focus_legend(str(segment["route"])))
    if observed:
        chrome.draw_legend(moves_maps.evidence_legend(reported=reported, observed=observed))
    if circuit is not None:
        chrome.draw_legend(moves_maps.circuit_legend(circuit))
    if reported:
        chrome.draw_legend(layers.arc_legend(edge_scale, top_n=int(top_n)))
        chrome.draw_legend(layers.location_legend(hidden=hidden))
    if corridor_scale is not None:
        chrome.draw_legend(corridor_scale.legend("Corridor load (line width and colour)", suppressed=True, hidden=hidden))
    if reported:
        st.caption(f"{len(visible):,} flows shown · {int(drawn['suppressed'].sum()):,} not drawn (they read “{hidden}”)")
    if moved is not None:
        st.caption(circuit_panel.moves_caption(moved, hidden=hidden))
    elif moves_note:
        st.caption(moves_note)

if segment is not None and over is not None:
    st.markdown(f"#### Flows routed over the selected {segment['route']} segment")
    if over.empty:
        st.caption("No county-to-county flow of k or more records is routed over this segment under these filters.")
    else:
        tables.show_table(sm.flows_table(release.drop_unreleased(viewer, over.head(200)), hidden=hidden), viewer=viewer, name="Flows over a corridor segment",
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

st.markdown("#### Flows")
tables.show_table(sm.flows_table(release.drop_unreleased(viewer, visible.head(200)), hidden=hidden), viewer=viewer, name="Flows", filters=filters, hide_index=True, width="stretch")
st.caption("Rolled up: under k at the chosen grouping, so counted with its neighbours one level coarser.")
if (outside_note := release.outside_flows_note(viewer, filters)) is not None:
    st.caption(outside_note)

st.markdown("#### Task forces that share a route")
try:
    pairs = pairs_of(viewer, filters, level="task_force" if level == "task_force" else "region")
except ReleaseNotBuiltError:
    st.info(BUILD_NOTE)
    chrome.attribution_footer()
    st.stop()
except RoutesError as error:
    chrome.show_error(error)
except duckdb.Error:
    pairs = None
if pairs is None or pairs.empty:
    st.caption("No cross-task-force flows under these filters.")
else:
    tables.show_table(sm.flows_table(release.drop_unreleased(viewer, pairs.drop(columns=["victims"])), hidden=hidden), viewer=viewer, name="Task forces sharing a route", filters=filters, hide_index=True, width="stretch")

st.markdown("#### Circuits: routes the same subjects were seen along")
circuit_panel.show_circuits(found, viewer, filters, hidden=hidden)

with st.expander("Route shifts: flows new, growing, fading or gone lately"):
    try:
        shifts = shifts_of(viewer, level="county")
        changed = shifts[shifts["shift"].ne("steady")].head(100)
        if not shifts.empty:  # the release counts flows per year: its windows are years, the exact ones a quarter
            first = shifts.iloc[0]
            st.caption(f"Recent {chrome.format_period(first['recent_start'], first['recent_end'])} against "
                       f"{chrome.format_period(first['baseline_start'], first['baseline_end'])}.")
        if changed.empty:
            st.caption("No county-to-county flow changed beyond what chance explains.")
        else:
            tables.show_table(
                pd.DataFrame({
                    "Change": changed["shift"].tolist(),
                    "From": changed["origin_name"].tolist(),
                    "To": changed["dest_name"].tolist(),
                    "Recent": [sm.count_text(v, hidden) for v in changed["recent"]],
                    "Baseline": [sm.count_text(v, hidden) for v in changed["baseline"]],
                    "Rate ratio": ["" if math.isnan(v) else f"{v:.2f}" for v in changed["rate_ratio"].astype(float)],
                }), viewer=viewer, name="Route shifts",
                hide_index=True, width="stretch",
            )
        if len(shifts):
            first = shifts.iloc[0]
            st.caption(
                f"Recent: {chrome.format_period(first['recent_start'], first['recent_end'])}; baseline: "
                f"{chrome.format_period(first['baseline_start'], first['baseline_end'])}. Rate ratio: recent "
                f"records per month over the baseline's; blank where either count reads “{hidden}”."
            )
    except (RoutesError, duckdb.Error, KeyError):
        st.caption("Route shifts are not built yet (`python -m pipelines build`).")

chrome.attribution_footer()
ui_filters.advance_play()
