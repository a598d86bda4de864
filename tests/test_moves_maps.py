"""Observed moves and circuits as map layers and a table (maps/moves_maps.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from maps import moves_maps

LOOP = ["06067", "06077", "06019", "06029", "06067"]  # Sacramento, San Joaquin, Fresno, Kern, back


def _circuit(places: list[str], shape: str) -> pd.Series:
    return pd.Series({"rank": 1, "shape": shape, "places": places})


def _layers(places: list[str], shape: str) -> dict[str, pd.DataFrame]:
    return {layer.id: pd.DataFrame(layer.data) for layer in moves_maps.circuit_layers(_circuit(places, shape))}


def _legs(segments: pd.DataFrame) -> dict[tuple[int, int], list[list[float]]]:
    """Each leg's curve (its steps joined), by its two stop numbers, in drawing order."""
    out: dict[tuple[int, int], list[list[float]]] = {}
    for row in segments.to_dict("records"):
        curve = out.setdefault(tuple(row["leg"]), [list(row["s"])])
        assert curve[-1] == list(row["s"])  # the steps join up
        curve.append(list(row["t"]))
    return out


def _km_apart(a: list[list[float]], b: list[list[float]]) -> float:
    """The least distance (km) between two polylines, sampled every few hundred metres."""
    def dense(line: list[list[float]]) -> np.ndarray:
        pts = np.array(line)
        return np.vstack([p + (q - p) * t for p, q in zip(pts[:-1], pts[1:], strict=True) for t in np.linspace(0, 1, 400)])
    pa, pb = dense(a), dense(b)
    kx = 111.32 * math.cos(math.radians(float(pa[:, 1].mean())))
    return float(np.hypot((pa[:, None, 0] - pb[None, :, 0]) * kx, (pa[:, None, 1] - pb[None, :, 1]) * 111.32).min())


def test_legs_running_the_other_way_along_one_line_lie_apart() -> None:
    """Kern → Sacramento runs over San Joaquin → Fresno: drawn straight they were 0.5 km apart (one line
    however far one zoomed in); each leg bowing to its right puts them apart by more than a casing's
    width from zoom 6 on (11 px there is about 11 km)."""
    legs = _legs(_layers(LOOP, "loop")["circuit-segments"])
    assert _km_apart(legs[(2, 3)], legs[(4, 1)]) > 20
    stops = moves_maps.circuit_stops(LOOP)
    points = list(zip(stops["lng"], stops["lat"], strict=True))
    assert _km_apart([list(points[1]), list(points[2])], [list(points[3]), list(points[0])]) < 1  # as they were
    # every leg bows to the right of its travel (east of a leg going north)
    north = moves_maps.leg_curve((-120.0, 36.0), (-120.0, 37.0))
    assert all(lng >= -120.0 for lng, _ in north) and north[len(north) // 2][0] > -119.9


def test_a_loop_is_numbered_stops_with_each_step_directed_and_closed_on_stop_one() -> None:
    layers = _layers(LOOP, "loop")
    numbers = layers["circuit-numbers"]
    assert numbers["label"].tolist() == ["1", "2", "3", "4"]
    stops = moves_maps.circuit_stops(LOOP)
    assert stops["name"].tolist() == ["Sacramento", "San Joaquin", "Fresno", "Kern"]
    points = list(zip(stops["lng"], stops["lat"], strict=True))
    legs = _legs(layers["circuit-segments"])
    assert list(legs) == [(i + 1, (i + 1) % 4 + 1) for i in range(4)]  # in order, closing back on stop 1
    for (i, j), curve in legs.items():  # each leg runs from its stop to the next, step by step
        assert curve[0] == list(points[i - 1]) and curve[-1] == list(points[j - 1])
    for curve, head in zip(legs.values(), layers["circuit-arrows"]["polygon"], strict=True):
        tip = head[0]
        base = [(head[1][0] + head[2][0]) / 2, (head[1][1] + head[2][1]) / 2]
        # the curve's direction of travel where the head sits (between two of its steps)
        at = min(range(len(curve) - 1), key=lambda k: math.dist(curve[k], base))
        towards = (curve[at + 1][0] - curve[at][0], curve[at + 1][1] - curve[at][1])
        pointing = (tip[0] - base[0], tip[1] - base[1])
        cos = (towards[0] * pointing[0] + towards[1] * pointing[1]) / (math.hypot(*towards) * math.hypot(*pointing))
        assert cos > 0.98  # each arrow head points from its stop to the next


def test_a_path_does_not_close() -> None:
    path = ["06001", "06013", "06075"]
    layers = _layers(path, "path")
    assert len(_legs(layers["circuit-segments"])) == 2 and len(layers["circuit-arrows"]) == 2
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
