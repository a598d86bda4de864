"""Flows and corridors: point source → destination arcs, place totals, highway loads, who should coordinate."""

from __future__ import annotations

import streamlit as st

from maps import decks
from maps import flows_maps as fm
from query import flows, release
from ui import chrome, flows_parts, tables
from ui import circuits as circuit_panel
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.session import current_viewer

edges_of = snapshot_cached(flows.flow_edges)
segment_flows_of = snapshot_cached(flows.segment_flows)
totals_of = snapshot_cached(flows.location_totals)
loads_of = snapshot_cached(flows.corridor_loads)
pairs_of = snapshot_cached(flows.coordination_pairs)
shifts_of = snapshot_cached(flows.route_shifts)

viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
header = st.container()
map_controls = st.sidebar.container()  # drawn above the shared filters, filled once they are known
filters = ui_filters.sidebar_filters(viewer)
with map_controls:
    level, top_n, show_corridors, evidence = flows_parts.map_controls(filters)
    reported, observed = evidence in ("reported", "both"), evidence in ("observed", "both")
    found = circuit_panel.read_circuits(viewer, filters)
    circuit = circuit_panel.choose_circuit(found, observed=observed)
months = ui_filters.available_months(viewer, filters)

with header:
    chrome.page_header(
        "Flows and corridors",
        "flow records: a point source (where a victim was recruited or lived) linked to a destination",
        tables.shown_period(filters, months=months),
        f"places grouped by {fm.LEVELS[level]}; corridors routed on schematic highways between counties",
        viewer=viewer,
    )

with chrome.errors_shown(not_built=fm.BUILD_NOTE):
    edges = edges_of(viewer, filters, level=level)
    locations = totals_of(viewer, filters, level=level)
with st.sidebar:
    mode, location, other = flows_parts.place_controls(locations)

drawn = decks.focus_edges(edges, mode=mode, location=location, other=other)
moved, moves_note = circuit_panel.read_moves(viewer, filters, level=level) if observed else (None, "")
if moved is not None:
    moved = decks.focus_edges(moved, mode=mode, location=location, other=other)
# the corridors follow the place in focus: only the flows leaving or reaching it load them
origins, dests = fm.focus_counties(level, mode, location, other)
corridors = flows_parts.read_corridors(loads_of, viewer, filters, origins=origins, dests=dests,
                                       both_ways=mode == "between") if show_corridors else None
visible = drawn[~drawn["suppressed"].astype(bool)]

map_column, legend_column = st.columns([5, 1.5])
with map_column:
    chrome.reset_view_button("flows_map", fitted=bool(filters.counties or filters.regions))
    map_key = chrome.map_key("flows_map")
    segment = fm.picked_segment(flows_parts.picked_corridor(map_key), corridors)  # clicked on the previous run
    over = segment_flows_of(viewer, filters, segment_id=int(segment["segment_id"])) if segment is not None else None
    deck, legends = fm.flows_view(
        edges, drawn=drawn, locations=locations, corridors=corridors, reported=reported, observed=observed,
        moves=moved, circuit=circuit, segment=segment, over=over, top_n=top_n, k=viewer.k, hidden=hidden,
        view_state=chrome.map_view("flows_map", decks.view_for_counties(filters.counties, regions=filters.regions)),
    )
    st.pydeck_chart(deck, key=map_key, height=560, on_select="rerun", selection_mode="single-object")
with legend_column:
    for legend in legends:
        chrome.draw_legend(legend)
    if reported:
        st.caption(tables.flows_caption(drawn, hidden=hidden))
    if moved is not None:
        st.caption(circuit_panel.moves_caption(moved, hidden=hidden))
    elif moves_note:
        st.caption(moves_note)

flows_parts.show_segment_flows(viewer, filters, segment=segment, over=over, corridors=corridors, hidden=hidden)

st.markdown("#### Flows")
tables.show_flows_table(visible.head(200), viewer=viewer, name="Flows", hidden=hidden, filters=filters, hide_index=True, width="stretch")
st.caption("Rolled up: under k at the chosen grouping, so counted with its neighbours one level coarser.")
if (outside_note := release.outside_flows_note(viewer, filters)) is not None:
    st.caption(outside_note)

flows_parts.show_shared_routes(viewer, filters, level=level, pairs_of=pairs_of, hidden=hidden)

st.markdown("#### Circuits: routes the same subjects were seen along")
circuit_panel.show_circuits(found, viewer, filters, hidden=hidden)

flows_parts.show_route_shifts(viewer, shifts_of=shifts_of, hidden=hidden)

chrome.attribution_footer()
ui_filters.advance_play()
