"""Tests for geo/flow_places.py: how a cell on a flow map is named."""

from __future__ import annotations

import h3
import numpy as np

from geo import flow_places as fp


def test_near_place_names_find_the_nearest_place_exactly() -> None:
    """The tree lookup names the same place as comparing every place, also far outside California."""
    rng = np.random.default_rng(7)
    lat = np.concatenate([rng.uniform(32.5, 42.0, 3000), [30.0, 45.0]])  # two points far outside California
    lng = np.concatenate([rng.uniform(-124.4, -114.1, 3000), [-120.0, -130.0]])
    names = fp.near_place_names(lat, lng)
    p_lat, p_lng, p_names, _ = fp._gazetteer()
    scale = fp._LNG_SCALE  # the search's distance: longitude shrunk by one factor statewide
    brute = p_names[np.argmin((lat[:, None] - p_lat) ** 2 + ((lng[:, None] - p_lng) * scale) ** 2, axis=1)]
    assert all(name == place or name.endswith(f" of {place}") for name, place in zip(names, brute, strict=True))


def test_a_cell_is_named_after_the_place_nearest_its_centre() -> None:
    """Not its hex id: "3 km W of Escondido" (the heading points from the place to the cell)."""
    cell = h3.latlng_to_cell(33.1192, -117.0864, 6)  # Escondido
    name = fp.cell_places([cell]).set_index("id").loc[cell, "name"]
    assert name == "3 km W of Escondido"
    # the most isolated place: 0.05 degrees (5.5 km) north or east of it is still nearest to it
    p_lat, p_lng, names, _ = fp._gazetteer()
    gaps = [np.partition((p_lat - y) ** 2 + (p_lng - x) ** 2, 1)[1] for y, x in zip(p_lat, p_lng, strict=True)]
    lone = int(np.argmax(gaps))
    y, x = p_lat[lone], p_lng[lone]
    assert fp.near_place_names(np.array([y + 0.05, y, y]), np.array([x, x + 0.05 / np.cos(np.radians(y)), x])) == [
        f"6 km N of {names[lone]}", f"6 km E of {names[lone]}", str(names[lone])
    ]
    assert fp.near_place_names(np.array([]), np.array([])) == []
