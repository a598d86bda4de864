"""Observed moves and circuits as map layers and a table (maps/moves_maps.py)."""

from __future__ import annotations

import math

import pandas as pd

from maps import moves_maps

LOOP = ["06067", "06077", "06019", "06029", "06067"]  # Sacramento, San Joaquin, Fresno, Kern, back


def _circuit(places: list[str], shape: str) -> pd.Series:
    return pd.Series({"rank": 1, "shape": shape, "places": places})


def _layers(places: list[str], shape: str) -> dict[str, pd.DataFrame]:
    return {layer.id: pd.DataFrame(layer.data) for layer in moves_maps.circuit_layers(_circuit(places, shape))}


def test_a_loop_is_numbered_stops_with_each_step_directed_and_closed_on_stop_one() -> None:
    layers = _layers(LOOP, "loop")
    numbers = layers["circuit-numbers"]
    assert numbers["label"].tolist() == ["1", "2", "3", "4"]
    stops = moves_maps.circuit_stops(LOOP)
    assert stops["name"].tolist() == ["Sacramento", "San Joaquin", "Fresno", "Kern"]
    points = list(zip(stops["lng"], stops["lat"], strict=True))
    segments = layers["circuit-segments"]["path"].tolist()
    assert segments == [[list(points[i]), list(points[(i + 1) % 4])] for i in range(4)]
    for (a, b), head in zip(segments, layers["circuit-arrows"]["polygon"], strict=True):
        tip = head[0]
        base = [(head[1][0] + head[2][0]) / 2, (head[1][1] + head[2][1]) / 2]
        towards = (b[0] - a[0], b[1] - a[1])
        pointing = (tip[0] - base[0], tip[1] - base[1])
        cos = (towards[0] * pointing[0] + towards[1] * pointing[1]) / (math.hypot(*towards) * math.hypot(*pointing))
        assert cos > 0.99  # each arrow head points from its stop to the next


def test_a_path_does_not_close() -> None:
    path = ["06001", "06013", "06075"]
    layers = _layers(path, "path")
    assert len(layers["circuit-segments"]) == 2 and len(layers["circuit-arrows"]) == 2
    assert "back to 1" not in moves_maps.circuit_legend(_circuit(path, "path")).entries[0].label
    assert "back to 1" in moves_maps.circuit_legend(_circuit(LOOP, "loop")).entries[0].label


def test_moves_are_drawn_in_their_own_colour_and_hidden_ones_not_at_all() -> None:
    frame = pd.DataFrame({
        "origin_id": ["a", "b", "c"], "dest_id": ["b", "c", "c"], "origin_name": ["A", "B", "C"],
        "dest_name": ["B", "C", "C"], "origin_lat": [36.0, 37.0, 38.0], "origin_lng": [-120.0, -121.0, -122.0],
        "dest_lat": [37.0, 38.0, 38.0], "dest_lng": [-121.0, -122.0, -122.0],
        "moves": pd.array([40, pd.NA, 12], dtype="Int64"), "suppressed": [False, True, False],
    })
    data = pd.DataFrame(moves_maps.move_arc_layer(frame).data)
    assert len(data) == 1 and data["tip"].iloc[0].startswith("A → B (observed moves)\n40 moves")
    assert {tuple(c[:3]) for c in data["target_rgba"]} == {moves_maps.MOVE_RGBA[:3]}


def test_a_circuit_reads_over_the_arcs_on_a_dark_casing() -> None:
    drawn = moves_maps.circuit_layers(_circuit(LOOP, "loop"))
    ids = [layer.id for layer in drawn]
    # the casing first (beneath), wider than the magenta segments, in a dark colour
    assert ids.index("circuit-casing") < ids.index("circuit-segments")
    assert ids.index("circuit-arrow-casing") < ids.index("circuit-arrows")
    casing, segments = (next(x for x in drawn if x.id == i) for i in ("circuit-casing", "circuit-segments"))
    assert casing.get_width > segments.get_width >= 5
    assert sum(casing.get_color[:3]) < 200 < sum(segments.get_color[:3])
    # arcs rise above the map: with the depth test they hid the flat circuit drawn after them
    assert all(layer.parameters == {"depthCompare": "always"} for layer in drawn)
