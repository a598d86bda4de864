"""maps/: colour scales, layers and decks (pure functions, no browser)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pydeck as pdk
import pytest

from maps import colours, decks, layers
from routes import settings


def _luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = (c / 255 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_sequential_palettes_are_monotone_in_lightness() -> None:
    # colour-blind safe means readable by lightness alone: viridis/cividis/blues are monotone
    for name in ("viridis", "cividis", "blues"):
        lum = [_luminance(c) for c in colours.PALETTES[name]]
        assert lum == sorted(lum) or lum == sorted(lum, reverse=True), name


def test_diverging_palette_is_light_in_the_middle() -> None:
    pal = colours.PALETTES["puor"]
    mid = _luminance(pal[len(pal) // 2])
    assert mid > max(_luminance(pal[0]), _luminance(pal[-1]))


def test_scale_assigns_classes_and_grey_for_suppressed() -> None:
    scale = colours.ColourScale(breaks=(10.0, 20.0), colours=((1, 1, 1), (2, 2, 2), (3, 3, 3)))
    out = scale.rgba_of(pd.Series([5, 10, 19, 20, 1000, None], dtype="Int64"))
    assert out[:, 0].tolist() == [1, 2, 2, 3, 3, colours.SUPPRESSED_RGBA[0]]
    assert tuple(out[5]) == colours.SUPPRESSED_RGBA


def test_fixed_scale_does_not_move_with_the_data() -> None:
    statewide = np.arange(11, 500)
    full = colours.heatmap_scale(statewide)
    assert colours.heatmap_scale(statewide).breaks == full.breaks
    half = colours.heatmap_scale(statewide, period_fraction=0.5)
    assert np.allclose(np.array(half.breaks) * 2, full.breaks, rtol=0.1)
    rescaled = colours.heatmap_scale(statewide, view_values=[11, 12, 13, 14, 15, 16, 17])
    assert rescaled.breaks != full.breaks and "rescaled" in rescaled.basis


def test_legend_as_data_lists_every_class_and_suppressed() -> None:
    scale = colours.fixed_scale(1000, n=4, minimum=11)
    legend = scale.legend("Records per cell")
    assert len(legend.entries) == len(scale.colours) + 1
    assert legend.entries[-1].rgba == colours.SUPPRESSED_RGBA
    assert legend.entries[-1].label == "fewer than 11"


def test_diverging_scale_is_symmetric_and_accepts_missing() -> None:
    scale = colours.diverging_scale(100)
    assert scale.breaks == tuple(-b for b in reversed(scale.breaks))
    assert colours.diverging_scale(pd.NA).breaks  # all suppressed: still a scale


def _deck_json(deck: pdk.Deck) -> dict:
    return json.loads(deck.to_json())


def _cells() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": ["cell", "cell", "county"],
            "cell": pd.array([608692970719281151, 608692970685726719, None], dtype="Int64"),
            "hex": ["872830828ffffff", "872830826ffffff", None],
            "res": pd.array([7, 7, None], dtype="Int64"),
            "county_fips": ["06075", "06075", "06037"],
            "records": pd.array([40, None, 25], dtype="Int64"),
            "victims": pd.array([60, None, 30], dtype="Int64"),
            "per_100k": pd.array([4.5, None, 0.2], dtype="Float64"),
            "value": pd.array([40, None, 25], dtype="Float64"),
            "rolled_up": [False, False, True],
            "suppressed": [False, True, False],
        }
    )


def test_heatmap_deck_is_offline_with_text_tooltips() -> None:
    scale = colours.fixed_scale(100, minimum=11)
    spec = _deck_json(decks.heatmap_deck(_cells(), scale=scale))
    assert spec.get("mapProvider") in (None, "")
    assert spec["mapStyle"] == "__MAP_STYLE__" or not spec.get("mapStyle")
    ids = [layer["id"] for layer in spec["layers"]]
    assert ids[:2] == ["county-outlines", "highways"] and "cells" in ids and "cells-suppressed" in ids
    assert ids[-1] == "highway-labels"
    cells = next(layer for layer in spec["layers"] if layer["id"] == "cells")
    assert [row["hex"] for row in cells["data"]] == ["872830828ffffff"]
    suppressed = next(layer for layer in spec["layers"] if layer["id"] == "cells-suppressed")
    assert [row["hex"] for row in suppressed["data"]] == ["872830826ffffff"]
    assert "fewer than 11" in suppressed["data"][0]["tip"] and "suppressed" not in suppressed["data"][0]["tip"]
    assert cells["lineWidthUnits"] == "pixels"  # a literal, not an accessor


def test_tooltip_is_plain_text_so_html_never_runs() -> None:
    assert set(decks.TOOLTIP) == {"text", "style"}
    edges = pd.DataFrame(
        {
            "origin_id": ["a"], "dest_id": ["b"], "origin_name": ["<script>alert(1)</script>"],
            "dest_name": ["<img src=x onerror=alert(2)>"], "origin_lat": [34.0], "origin_lng": [-118.0],
            "dest_lat": [37.0], "dest_lng": [-122.0], "records": pd.array([30], dtype="Int64"),
            "victims": pd.array([40], dtype="Int64"), "suppressed": [False], "level": ["county"], "rolled_up": [False],
        }
    )
    spec = _deck_json(decks.flows_deck(edges=edges, edge_scale=colours.fixed_scale(100)))
    tip = next(layer for layer in spec["layers"] if layer["id"] == "flows")["data"][0]["tip"]
    assert "<script>alert(1)</script>" in tip  # kept as characters, shown with innerText


def test_arcs_top_n_opaque_rest_faded_and_tilted() -> None:
    n = 30
    edges = pd.DataFrame(
        {
            "origin_lat": np.linspace(33, 41, n), "origin_lng": np.full(n, -120.0),
            "dest_lat": np.full(n, 34.0), "dest_lng": np.full(n, -118.0),
            "records": pd.array(np.arange(n) + 11, dtype="Int64"), "suppressed": [False] * n,
        }
    )
    layer = layers.arc_layer(edges, top_n=5)
    data = pd.DataFrame(layer.data)
    alphas = [row[3] for row in data["target_rgba"]]
    assert sum(a > layers.FADED_ALPHA for a in alphas) == 5
    assert data["width"].max() > data["width"].min()
    spec = json.loads(pdk.Deck(layers=[layer], map_provider=None).to_json())["layers"][0]
    assert spec["getTilt"] == layers.ARC_TILT_DEG != 0


def test_arcs_skip_suppressed_and_internal_flows() -> None:
    edges = pd.DataFrame(
        {
            "origin_id": ["a", "a", "b"], "dest_id": ["a", "b", "a"],
            "origin_lat": [34.0, 34.0, 37.0], "origin_lng": [-118.0, -118.0, -122.0],
            "dest_lat": [34.0, 37.0, 34.0], "dest_lng": [-118.0, -122.0, -118.0],
            "records": pd.array([50, 20, None], dtype="Int64"), "suppressed": [False, False, True],
        }
    )
    spec = _deck_json(decks.flows_deck(edges=edges))
    arcs = next(layer for layer in spec["layers"] if layer["id"] == "flows")
    assert len(arcs["data"]) == 1


def test_focus_edges_modes() -> None:
    e = pd.DataFrame({"origin_id": ["a", "b", "a", "c"], "dest_id": ["b", "a", "c", "a"]})
    assert decks.focus_edges(e, mode="incoming", location="a").index.tolist() == [1, 3]
    assert decks.focus_edges(e, mode="outgoing", location="a").index.tolist() == [0, 2]
    assert decks.focus_edges(e, mode="between", location="a", other="c").index.tolist() == [2, 3]
    with pytest.raises(ValueError, match="mode"):
        decks.focus_edges(e, mode="sideways", location="a")


def test_locations_and_corridors_layers() -> None:
    locations = pd.DataFrame(
        {
            "location_id": ["06037", "06073"], "name": ["Los Angeles", "San Diego"],
            "lat": [34.0, 32.8], "lng": [-118.2, -117.1],
            "incoming": pd.array([100, None], dtype="Int64"), "outgoing": pd.array([20, 50], dtype="Int64"),
            "internal": pd.array([5, 0], dtype="Int64"), "suppressed": [False, False],
        }
    )
    segments = pd.DataFrame(
        {
            "route": ["I-5"], "length_km": [20.0], "from_lat": [34.0], "from_lng": [-118.2],
            "to_lat": [34.2], "to_lng": [-118.4], "load": pd.array([80], dtype="Int64"), "suppressed": [False],
        }
    )
    spec = _deck_json(
        decks.flows_deck(locations=locations, corridors=segments, corridor_scale=colours.fixed_scale(100))
    )
    ids = [layer["id"] for layer in spec["layers"]]
    assert "locations" in ids and "corridors" in ids
    loc = next(layer for layer in spec["layers"] if layer["id"] == "locations")
    assert loc["data"][0]["fill"] == list(layers.LOCATION_RGBA["incoming"])
    assert "incoming 100" in loc["data"][0]["tip"] and "fewer than 11" in loc["data"][1]["tip"]


def test_county_choropleth_marks_suppressed_counties() -> None:
    counties = pd.DataFrame(
        {"county_fips": ["06037", "06003"], "value": pd.array([500.0, None], dtype="Float64"),
         "suppressed": [False, True], "tip": ["LA", "Alpine: suppressed"]}
    )
    layer = layers.county_fill_layer(counties, scale=colours.fixed_scale(1000))
    features = {f["properties"]["county_fips"]: f["properties"] for f in layer.data["features"]}
    assert set(features) == {"06037", "06003"}
    assert features["06003"]["fill"][:3] == list(colours.SUPPRESSED_RGBA[:3])
    lines = layers.county_line_layer(counties, layer_id="lines")
    colour_of = {tuple(row["c"]) for row in lines.data}
    assert colour_of == {colours.SUPPRESSED_LINE_RGBA, layers.COUNTY_FILL_LINE_RGBA}
    assert lines.data[-1]["c"] == list(colours.SUPPRESSED_LINE_RGBA)  # drawn last, on top of shared borders


def test_base_layers_are_line_layers_and_the_deck_json_is_compact() -> None:
    """No PathLayer (its shader is what a browser without a GPU spends most of a first frame compiling)."""
    deck = decks.make_deck([])
    spec = json.loads(deck.to_json())
    assert {layer["@@type"] for layer in spec["layers"]} == {"LineLayer", "TextLayer"}
    assert "\n" not in deck.to_json() and ", " not in deck.to_json()[:200]
    assert all(len(str(v).split(".")[-1]) <= layers.COORD_DECIMALS for row in spec["layers"][0]["data"] for v in row["s"])


def test_tile_layer_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_TILE_URL", "")
    assert "basemap" not in [layer.id for layer in layers.base_layers()]
    monkeypatch.setenv("ROUTES_TILE_URL", "http://tiles.local/{z}/{x}/{y}.pbf")
    assert settings.tile_url()
    assert layers.base_layers()[0].id == "basemap"


def test_view_fits_counties() -> None:
    state = decks.view_for_counties()
    la = decks.view_for_counties(["06037"])
    region = decks.view_for_counties(regions=["Region I"])
    assert la.zoom > state.zoom and region.zoom > state.zoom
    assert 33 < la.latitude < 35.5


def test_heatmap_deck_draws_hexagons_with_one_shader_and_labels_without_a_box() -> None:
    """Software WebGL compiles each shader before the first frame: no path outline, no label box.

    deck.gl draws H3 cells of res 5 or coarser, or of mixed resolutions, as polygons
    outlined by a ``PathLayer`` (the slowest shader to compile); label backgrounds are a
    shader of their own. Every hexagon layer is one resolution drawn as columns.
    """
    import h3

    child = h3.latlng_to_cell(34.05, -118.25, 6)
    hidden_cell = h3.latlng_to_cell(36.7, -119.8, 6)
    parents = [h3.cell_to_parent(h3.latlng_to_cell(38.5, -121.5, 6), 5), h3.cell_to_parent(h3.latlng_to_cell(40.8, -124.1, 6), 4)]
    counts = pd.DataFrame({
        "level": ["cell"] * 4, "hex": [child, hidden_cell, *parents], "res": [6, 6, 5, 4],
        "county_fips": ["06037", "06019", "06067", "06023"], "value": pd.array([40, None, 12, 14], dtype="Float64"),
        "records": pd.array([40, None, 12, 14], dtype="Int64"), "victims": [50, None, 15, 16], "per_100k": [1.0, None, 0.3, 0.4],
        "rolled_up": [False, False, True, True], "suppressed": [False, True, False, False],
    })
    spec = _deck_json(decks.heatmap_deck(counts, scale=colours.fixed_scale(50, minimum=11)))
    hexagons = [layer for layer in spec["layers"] if layer["@@type"] == "H3HexagonLayer"]
    assert sorted(row["hex"] for layer in hexagons for row in layer["data"]) == sorted([child, hidden_cell, *parents])
    for layer in hexagons:
        assert layer["highPrecision"] is False, layer["id"]
        assert len({h3.get_resolution(row["hex"]) for row in layer["data"]}) == 1, layer["id"]
    ids = [layer["id"] for layer in spec["layers"]]
    assert ids.index("cells-rolled-up-res4") < ids.index("cells-rolled-up") < ids.index("cells")
    assert not any(layer.get("background") for layer in spec["layers"]), "a label box is a shader of its own"


def test_corridors_and_the_segment_in_focus_are_line_layers() -> None:
    """No PathLayer on the flows map: its shader is the slowest to compile in software WebGL."""
    segments = pd.DataFrame({
        "segment_id": [7, 8], "route": ["I-5", "I-5"], "length_km": [20.0, 30.0],
        "from_lat": [34.0, 34.2], "from_lng": [-118.2, -118.4], "to_lat": [34.2, 34.5], "to_lng": [-118.4, -118.6],
        "load": pd.array([80, None], dtype="Int64"), "suppressed": [False, True],
    })
    spec = _deck_json(decks.flows_deck(corridors=segments, corridor_scale=colours.fixed_scale(100), focus_segment=7))
    by_id = {layer["id"]: layer for layer in spec["layers"]}
    assert "PathLayer" not in {layer["@@type"] for layer in spec["layers"]}
    corridors = by_id["corridors"]
    assert corridors["@@type"] == "LineLayer" and [row["segment_id"] for row in corridors["data"]] == [7, 8]
    assert corridors["data"][0]["s"] == [-118.2, 34.0] and corridors["data"][0]["t"] == [-118.4, 34.2]
    assert "fewer than 11" in corridors["data"][1]["tip"]
    assert by_id["corridor-focus"]["data"] == [{"s": [-118.2, 34.0], "t": [-118.4, 34.2]}]
