"""geo/grid.py: H3 cells as integers, parents by bit arithmetic in Python and SQL."""

from __future__ import annotations

import duckdb
import h3
import numpy as np
import pytest

from geo import grid
from routes.contract.sql import compose

# Known answer: the San Francisco City Hall area at res 9.
SF = (37.7793, -122.4193)


def test_vectorised_cells_match_h3_per_point() -> None:
    rng = np.random.default_rng(3)
    lat = rng.uniform(32.5, 42.0, 500)
    lng = rng.uniform(-124.4, -114.2, 500)
    cells = grid.latlngs_to_cells(lat, lng, 7)
    expected = [h3.str_to_int(h3.latlng_to_cell(a, b, 7)) for a, b in zip(lat, lng, strict=True)]
    assert cells.tolist() == expected
    assert all(grid.cell_resolution(c) == 7 and grid.is_valid_cell(c) for c in cells)


def test_nan_points_get_no_cell() -> None:
    cells = grid.latlngs_to_cells(np.array([np.nan, SF[0]]), np.array([1.0, SF[1]]), 9)
    assert cells[0] == 0 and grid.is_valid_cell(cells[1])


@pytest.mark.parametrize("res", range(0, 10))
def test_sql_parent_equals_h3_parent(res: int) -> None:
    cell = grid.latlng_to_cell(*SF, 9)
    expected = h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), res))
    con = duckdb.connect()
    query = compose("SELECT {parent} FROM (SELECT ?::BIGINT AS c)", parent=grid.sql_cell_to_parent("c", res))
    got = con.execute(query, [cell]).fetchone()[0]
    assert got == expected == grid.cell_to_parent(cell, res)


def test_parent_finer_than_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="finer"):
        grid.cell_to_parent(grid.latlng_to_cell(*SF, 5), 7)


def test_precision_never_allows_finer_than_its_support() -> None:
    assert grid.PRECISION_MAX_RES == {"point": 9, "zip": 7, "place": 6, "county": None}


@pytest.mark.parametrize("res", [4, 5, 6, 7])
def test_child_ranges_hold_exactly_the_descendants(res: int) -> None:
    rng = np.random.default_rng(res)
    for lat, lng in zip(rng.uniform(32.6, 41.9, 20), rng.uniform(-124.3, -114.2, 20), strict=True):
        cell = h3.str_to_int(h3.latlng_to_cell(float(lat), float(lng), res))
        ranges = grid.child_ranges(cell, finest=9)
        assert [r for r, _, _ in ranges] == list(range(res, 10))
        for r, low, high in ranges:
            kids = [h3.str_to_int(k) for k in h3.cell_to_children(h3.int_to_str(cell), r)]
            assert (min(kids), max(kids)) == (low, high)
            # a neighbour's children at r lie outside; any valid r-cell inside has this parent
            for ring in h3.grid_ring(h3.int_to_str(cell), 1):
                other = [h3.str_to_int(k) for k in h3.cell_to_children(ring, r)]
                assert not any(low <= k <= high for k in other)
