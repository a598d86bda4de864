"""What a pick on a map means once the map changes under it (AppTest).

A pydeck pick is kept by Streamlit as a row index of the drawn layer: when the
data under it changes (another detail level) the same index is another cell.
The page must then describe no cell rather than the old one under a new highlight.
"""

from __future__ import annotations

import json

import pytest
from streamlit.util import AttributeDictionary

from tests.test_pages_apptest import HEATMAP, VIEWERS, _app, _ok, warehouse_env  # noqa: F401 (the module's fixture)

pytestmark = pytest.mark.usefixtures("warehouse_env")


def _pick(app: object, key: str, layer: str, index: int, row: dict[str, object]) -> None:
    """Stand in for a click on the map: the selection state Streamlit keeps for chart ``key``."""
    app.session_state[key] = AttributeDictionary(  # type: ignore[attr-defined]
        {"selection": {"indices": {layer: [index]}, "objects": {layer: [row]}}}
    )


def test_changing_the_detail_level_clears_a_picked_cell() -> None:
    app = _ok(_app(HEATMAP, VIEWERS["analyst"], params={"counties": "06037", "res": "6"}).run())
    chart = app.get("deck_gl_json_chart")[0]
    spec = json.loads(chart.proto.json)
    row = next(layer for layer in spec["layers"] if layer["id"] == "cells")["data"][0]
    key = next(k for k in app.session_state._state.filtered_state if str(k).startswith("heatmap_map"))  # the chart's key
    _pick(app, key, "cells", 0, {"hex": row["hex"]})
    _ok(app.run())
    assert app.selectbox(key="heatmap_cell").value == row["hex"]  # the pick is described below the map
    _ok(app.select_slider(key="url_res").set_value(7).run())
    assert app.selectbox(key="heatmap_cell").value is None, "a res-6 cell described under a res-7 map"
    assert not app.tabs, "no breakdown of a cell the map no longer draws"
