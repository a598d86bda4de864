"""Corridor focus on the Flows and corridors page (AppTest and the deck builder).

A click on a highway segment highlights and lists the flows routed over it; the
corridor layer is drawn over the arcs, so the pointer picks it; the corridors
follow the place in focus.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from streamlit.util import AttributeDictionary

from tests.support.apptest import FLOWS, VIEWERS, page_app, ran_ok

pytestmark = pytest.mark.usefixtures("pages_warehouse")


def _layers(app: object) -> dict[str, dict]:
    spec = json.loads(app.get("deck_gl_json_chart")[0].proto.json)  # type: ignore[attr-defined]
    return {layer["id"]: layer for layer in spec["layers"]}


def _chart_key(app: object) -> str:
    return next(k for k in app.session_state._state.filtered_state if str(k).startswith("flows_map"))  # type: ignore[attr-defined]


def test_a_clicked_corridor_segment_highlights_and_lists_its_flows() -> None:
    from query import flows
    from query.filters import Filters

    app = ran_ok(page_app(FLOWS, VIEWERS["analyst"], params={"level": "county"}).run())
    layers = _layers(app)
    ids = list(layers)
    assert ids.index("corridors") > ids.index("flows"), "corridors over the arcs: the pointer picks the corridor"
    busiest = layers["corridors"]["data"][0]
    app.session_state[_chart_key(app)] = AttributeDictionary(
        {"selection": {"indices": {"corridors": [0]}, "objects": {"corridors": [busiest]}}}
    )
    ran_ok(app.run())
    expected = flows.segment_flows(VIEWERS["analyst"], Filters(), segment_id=int(busiest["segment_id"]))
    assert len(expected), "the busiest segment carries flows"
    layers = _layers(app)
    assert {"corridor-focus", "flows-focus"} <= set(layers)
    assert len(layers["flows-focus"]["data"]) == len(expected[expected["origin_id"].ne(expected["dest_id"])])
    assert any("Flows routed over the selected" in m.value for m in app.markdown)
    listed = [t for t in app.dataframe if len(t.value) == len(expected)]
    assert listed, "the flows over the segment are listed"
    # the analyst reads the release by default, which has no victims per flow: the
    # column is left out rather than shown as "fewer than 11" for every flow
    assert "Victims" not in listed[0].value.columns, list(listed[0].value.columns)
    assert "Share over the segment" in listed[0].value.columns, list(listed[0].value.columns)
    assert any("of this segment's load" in c.value for c in app.caption), [c.value for c in app.caption]


def test_the_corridors_follow_the_place_in_focus() -> None:
    app = ran_ok(page_app(FLOWS, VIEWERS["analyst"], params={"level": "county"}).run())
    everything = {row["segment_id"] for row in _layers(app)["corridors"]["data"]}
    ran_ok(app.radio(key="flows_mode").set_value("outgoing").run())
    ran_ok(app.selectbox(key="flows_place").set_value("06073").run())  # San Diego
    leaving = _layers(app)["corridors"]["data"]
    assert leaving and {row["segment_id"] for row in leaving} < everything
    loads = pd.Series([row["width"] for row in leaving])
    assert loads.notna().all()


def test_corridor_loads_keep_only_the_flows_of_the_focus() -> None:
    from query import flows

    viewer = VIEWERS["analyst"]
    everything = flows.corridor_loads(viewer)
    leaving = flows.corridor_loads(viewer, origins=["06073"])
    assert 0 < len(leaving) < len(everything)
    merged = leaving.merge(everything, on="segment_id", suffixes=("_focus", "_all"))
    shown = merged[~merged["suppressed_focus"] & ~merged["suppressed_all"]]
    assert (shown["load_focus"] <= shown["load_all"]).all() and (shown["load_focus"] < shown["load_all"]).any()
    assert flows.corridor_loads(viewer, origins=[]).empty


def test_the_flows_listed_over_a_segment_add_up_to_its_load() -> None:
    """The release splits a county pair over several routes: the table says which part goes over the segment.

    Without the share, a segment with a load of 125 listed three flows of 102, 98
    and 72 records: the screen contradicted itself.
    """
    from query import flows
    from query.filters import Filters

    for viewer in (VIEWERS["analyst"], dataclasses.replace(VIEWERS["analyst"], scope="own")):
        loads = flows.corridor_loads(viewer)
        for seg in loads[~loads["suppressed"].astype(bool)].head(5).itertuples():
            over = flows.segment_flows(viewer, Filters(), segment_id=int(seg.segment_id))
            assert over["share"].between(0, 1, inclusive="right").all(), over["share"]
            shown = over[~over["suppressed"].astype(bool)]
            carried = float((shown["records"].astype(float) * shown["share"]).sum())
            # the load also counts flows too small to list (under k: rolled up, on no segment)
            assert carried <= seg.load + len(shown), (viewer.scope, seg.segment_id, carried, seg.load)
            if viewer.scope == "own":  # exact paths: one route per pair, carried whole
                assert over["share"].eq(1.0).all(), over["share"]
