"""Corridor focus on the Flows and corridors page (AppTest and the deck builder).

A click on a highway segment highlights and lists the flows routed over it; the
corridor layer is drawn over the arcs, so the pointer picks it; the corridors
follow the place in focus.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.util import AttributeDictionary

from tests.test_pages_apptest import FLOWS, VIEWERS, _app, _ok, warehouse_env  # noqa: F401 (the module's fixture)

pytestmark = pytest.mark.usefixtures("warehouse_env")


def _layers(app: object) -> dict[str, dict]:
    spec = json.loads(app.get("deck_gl_json_chart")[0].proto.json)  # type: ignore[attr-defined]
    return {layer["id"]: layer for layer in spec["layers"]}


def _chart_key(app: object) -> str:
    return next(k for k in app.session_state._state.filtered_state if str(k).startswith("flows_map"))  # type: ignore[attr-defined]


def test_a_clicked_corridor_segment_highlights_and_lists_its_flows() -> None:
    from query import flows
    from query.filters import Filters

    app = _ok(_app(FLOWS, VIEWERS["analyst"], params={"level": "county"}).run())
    layers = _layers(app)
    ids = list(layers)
    assert ids.index("corridors") > ids.index("flows"), "corridors over the arcs: the pointer picks the corridor"
    busiest = layers["corridors"]["data"][0]
    app.session_state[_chart_key(app)] = AttributeDictionary(
        {"selection": {"indices": {"corridors": [0]}, "objects": {"corridors": [busiest]}}}
    )
    _ok(app.run())
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


def test_the_corridors_follow_the_place_in_focus() -> None:
    app = _ok(_app(FLOWS, VIEWERS["analyst"], params={"level": "county"}).run())
    everything = {row["segment_id"] for row in _layers(app)["corridors"]["data"]}
    _ok(app.radio(key="flows_mode").set_value("outgoing").run())
    _ok(app.selectbox(key="flows_place").set_value("06073").run())  # San Diego
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
