"""The H3 grid: cells as 64-bit integers, parents derived by bit arithmetic.

Cells are stored as ``BIGINT`` (H3 ids fit in 63 bits). A record is indexed only
at resolutions its geocoding precision supports (:data:`PRECISION_MAX_RES`); any
coarser resolution is derived with :func:`cell_to_parent` in Python or
:func:`sql_cell_to_parent` in SQL, never by geocoding again.
"""

from __future__ import annotations

from collections.abc import Iterable

import h3
import numpy as np
import pyarrow as pa
from h3ronpy import vector

from routes.contract.sql import SQL

#: The finest resolution each geocoding precision supports; ``county`` gets no
#: cell (the record counts towards its county only). A res-9 cell is about
#: 0.1 km2, res 7 about 5 km2 (a ZIP), res 6 about 36 km2 (a town).
PRECISION_MAX_RES: dict[str, int | None] = {
    "point": 9,
    "zip": 7,
    "place": 6,
    "county": None,
}

#: The resolutions the app aggregates to (statewide → street level).
MAP_RESOLUTIONS = (4, 5, 6, 7, 8, 9)

_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT


def latlngs_to_cells(lat: np.ndarray, lng: np.ndarray, res: int) -> np.ndarray:
    """Index arrays of points at ``res``; returns ``int64`` cells (0 where lat/lng is NaN).

    >>> int(latlngs_to_cells(np.array([37.77]), np.array([-122.41]), 9)[0])
    617700169970876415
    """
    lat = np.asarray(lat, dtype=np.float64)
    lng = np.asarray(lng, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lng)
    cells = np.zeros(lat.shape, dtype=np.int64)
    if ok.any():
        found = vector.coordinates_to_cells(lat[ok], lng[ok], res)
        cells[ok] = np.asarray(pa.array(found).fill_null(0)).astype(np.int64)
    return cells


def latlng_to_cell(lat: float, lng: float, res: int) -> int:
    """One point to its cell at ``res`` as an integer."""
    return int(h3.str_to_int(h3.latlng_to_cell(lat, lng, res)))


def cell_resolution(cell: int) -> int:
    """The resolution encoded in a 64-bit cell id."""
    return (int(cell) & _RES_MASK) >> _RES_SHIFT


def cell_to_parent(cell: int, res: int) -> int:
    """The parent of ``cell`` at ``res`` (bit arithmetic, same as H3's).

    >>> cell_to_parent(617700169970876415, 5) == h3.str_to_int(h3.cell_to_parent(h3.int_to_str(617700169970876415), 5))
    True
    """
    cell = int(cell)
    if res > cell_resolution(cell):
        raise ValueError(f"resolution {res!r} is finer than the cell's {cell_resolution(cell)}")
    unused = (1 << (3 * (15 - res))) - 1
    return ((cell & ~_RES_MASK) | (res << _RES_SHIFT)) | unused


def sql_cell_to_parent(column: str, res: int) -> SQL:
    """A DuckDB expression for the parent of the BIGINT cell in ``column`` at ``res``.

    ``column`` must be a trusted column name (a literal of the caller), never user
    input; ``res`` is an int. The expression is :class:`~routes.contract.sql.SQL`:
    it goes into :func:`~routes.contract.sql.compose` as it is.
    """
    res = int(res)
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution {res!r} is outside 0..15")
    unused = (1 << (3 * (15 - res))) - 1
    keep = ~_RES_MASK & 0x7FFFFFFFFFFFFFFF
    return SQL(f"((({column} & {keep}) | {res << _RES_SHIFT}) | {unused})")


def child_ranges(cell: int, finest: int = 15) -> list[tuple[int, int, int]]:
    """``(res, low, high)`` per resolution from the cell's own to ``finest``: its descendants there, as id ranges.

    A cell's children at one resolution share its base cell and digits and differ
    only in the digits below it, which come after them in the id's bits, so they
    are exactly the valid cells of that resolution in ``low..high`` (digits 0, up
    to digits 6). A table sorted by cell reads a few short ranges instead of
    working out every row's parent.

    >>> c = h3.str_to_int(h3.latlng_to_cell(34.05, -118.25, 5))
    >>> [(r, lo, hi)] = [x for x in child_ranges(c) if x[0] == 7]
    >>> kids = [h3.str_to_int(k) for k in h3.cell_to_children(h3.int_to_str(c), 7)]
    >>> (min(kids), max(kids)) == (lo, hi)
    True
    """
    cell = int(cell)
    res = cell_resolution(cell)
    out = []
    digits = 0  # the digits between res and r, all set
    for r in range(res, int(finest) + 1):
        if r > res:
            digits |= 7 << (3 * (15 - r))
        low = ((cell & ~_RES_MASK) | (r << _RES_SHIFT)) & ~digits
        sixes = sum(6 << (3 * (15 - d)) for d in range(res + 1, r + 1))
        out.append((r, low, low | sixes))
    return out


def cells_to_strings(cells: Iterable[int]) -> list[str]:
    """Integer cells to the hex strings deck.gl's H3HexagonLayer draws."""
    return [h3.int_to_str(int(c)) for c in cells]


def is_valid_cell(cell: int) -> bool:
    """Whether ``cell`` is a valid H3 cell id."""
    return bool(h3.is_valid_cell(h3.int_to_str(int(cell)))) if int(cell) > 0 else False


def cell_to_latlng(cell: int) -> tuple[float, float]:
    """The centre of ``cell`` as ``(lat, lng)``."""
    return h3.cell_to_latlng(h3.int_to_str(int(cell)))
