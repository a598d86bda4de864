"""What a pick on a map means once the map changes under it (AppTest).

A pydeck pick is kept by Streamlit as a row index of the drawn layer: when the
data under it changes (another detail level) the same index is another cell.
The page must then describe no cell rather than the old one under a new highlight.
"""

from __future__ import annotations

import json

import pytest
from streamlit.util import AttributeDictionary

from tests.support.apptest import HEATMAP, VIEWERS, page_app, ran_ok

pytestmark = pytest.mark.usefixtures("pages_warehouse")


def _pick(app: object, key: str, layer: str, index: int, row: dict[str, object]) -> None:
    """Stand in for a click on the map: the selection state Streamlit keeps for chart ``key``."""
    app.session_state[key] = AttributeDictionary(  # type: ignore[attr-defined]
        {"selection": {"indices": {layer: [index]}, "objects": {layer: [row]}}}
    )


def test_changing_the_detail_level_clears_a_picked_cell() -> None:
    app = ran_ok(page_app(HEATMAP, VIEWERS["analyst"], params={"counties": "06037", "res": "6", "scope": "own"}).run())
    chart = app.get("deck_gl_json_chart")[0]
    spec = json.loads(chart.proto.json)
    row = next(layer for layer in spec["layers"] if layer["id"] == "cells")["data"][0]
    key = next(k for k in app.session_state._state.filtered_state if str(k).startswith("heatmap_map"))  # the chart's key
    _pick(app, key, "cells", 0, {"hex": row["hex"]})
    ran_ok(app.run())
    assert app.selectbox(key="heatmap_cell").value == row["hex"]  # the pick is described below the map
    ran_ok(app.select_slider(key="url_res").set_value(7).run())
    assert app.selectbox(key="heatmap_cell").value is None, "a res-6 cell described under a res-7 map"
    assert not app.tabs, "no breakdown of a cell the map no longer draws"


def test_rolled_up_parents_are_outlines_beneath_the_exact_cells() -> None:
    import h3
    import pandas as pd

    from maps import colours, decks

    child = h3.latlng_to_cell(34.05, -118.25, 7)
    parent = h3.cell_to_parent(h3.latlng_to_cell(34.6, -118.1, 7), 5)
    counts = pd.DataFrame({
        "level": ["cell", "cell"], "hex": [child, parent], "res": [7, 5], "county_fips": ["06037", "06037"],
        "value": [40.0, 12.0], "records": [40, 12], "victims": [50, 15], "per_100k": [1.0, 0.3],
        "rolled_up": [False, True], "suppressed": [False, False],
    })
    scale = colours.fixed_scale(50, n=5, minimum=11, palette_name="viridis")
    spec = json.loads(decks.heatmap_deck(counts, scale=scale).to_json())
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert [row["hex"] for row in layers["cells"]["data"]] == [child], "the rolled-up parent is not filled"
    rolled = layers["cells-rolled-up"]
    assert [row["hex"] for row in rolled["data"]] == [parent] and rolled["filled"] is False
    ids = list(layers)
    assert ids.index("cells-rolled-up") < ids.index("cells"), "beneath the exact cells"


def test_a_click_on_cells_of_another_resolution_is_described_too() -> None:
    """Exact cells of several resolutions are drawn one layer per resolution (``cells-res<r>``,
    ``maps.layers.by_resolution``): a click on one of those is a picked cell like one on ``cells``."""
    app = ran_ok(page_app(HEATMAP, VIEWERS["analyst"], params={"counties": "06037", "res": "6", "scope": "own"}).run())
    spec = json.loads(app.get("deck_gl_json_chart")[0].proto.json)
    row = next(layer for layer in spec["layers"] if layer["id"] == "cells")["data"][0]
    key = next(k for k in app.session_state._state.filtered_state if str(k).startswith("heatmap_map"))
    _pick(app, key, "cells-res5", 0, {"hex": row["hex"]})
    ran_ok(app.run())
    assert app.selectbox(key="heatmap_cell").value == row["hex"]
