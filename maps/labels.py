"""Which map names show at which zoom: place, county and highway names without overlaps.

The names come from the shipped gazetteer (:mod:`geo.reference`): places of at
least :data:`PLACE_MIN_POPULATION` residents, the 58 counties, the schematic
highways' route numbers. A map's zoom is cut into whole-number **bands**
(:data:`ZOOM_BANDS`; band ``b`` is drawn for zooms ``b`` to ``b + 1``, the last
one for every zoom above it). For each band, :func:`label_rows` places the names
greedily in screen space: largest places first, each name's box (its font size
in pixels times its length, :func:`label_box_px`) tested against the boxes
already placed at that band; a name that would overlap one is left off that
band. Font sizes are fixed in pixels within a band while the map grows up to
twice as large across it, so no two names of one band overlap at any zoom the
band covers.

Why here and not in the browser: pydeck's offline deck.gl bundle (the HTML
export's and the synchronised maps', deck.gl 9.3 core and layers) has no
``@deck.gl/extensions``, so deck.gl's ``CollisionFilterExtension`` cannot be
named in a deck that has to draw offline; a set computed in Python is the same
in every renderer, costs the browser nothing, and tests check it with boxes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from geo import reference

__all__ = [
    "COUNTY_PRIORITY",
    "HIGHWAY_PRIORITY",
    "LABEL_MIN_PX",
    "SHOW_PX",
    "PLACE_MIN_POPULATION",
    "ZOOM_BANDS",
    "MapLabel",
    "band_of_zoom",
    "label_box_px",
    "label_rows",
    "labels_at_band",
    "metres_per_pixel",
    "place_max_px",
    "place_size_m",
    "world_px",
]

#: Whole-number zoom bands: the statewide view (4.75) is band 4, a city block band 12 and above.
ZOOM_BANDS: tuple[int, ...] = tuple(range(4, 13))
#: Places with fewer residents are not named on the map (the gazetteer still geocodes them).
PLACE_MIN_POPULATION = 15_000
#: A name is drawn at a band once its size on the ground reaches this many pixels there
#: (places: 4.5, so the four largest cities are named on the statewide view; counties: 8) ...
SHOW_PX = {"place": 4.5, "county": 8.0, "highway": 0.0}
#: ... and is drawn no smaller than this (pixels): a word, not a speck.
LABEL_MIN_PX = 9.0
#: Largest font sizes (pixels): places (a town of 15,000 at most 10.5, growing 0.9 per doubling
#: of residents up to 15 from about 480,000), county names, highway route numbers.
PLACE_MAX_PX = 15.0
COUNTY_MAX_PX = 12.0
HIGHWAY_PX = 11.0
#: County names are 9 km tall on the ground, capped at :data:`COUNTY_MAX_PX` (legible from zoom ~6).
COUNTY_SIZE_M = 9_000.0
#: Highway route numbers from this band on.
HIGHWAY_MIN_BAND = 6
#: Who wins a contested spot: places by residents; a county name as a place of 150,000,
#: a route number as one of 100,000 (big cities first, then counties, roads, towns).
COUNTY_PRIORITY = 150_000
HIGHWAY_PRIORITY = 100_000
#: Box of a name: average glyph width as a share of the font size (capitals are wider),
#: line height, and a margin on every side (the halo and some air), in pixels.
CHAR_WIDTH = 0.58
CAPITAL_WIDTH = 0.70
LINE_HEIGHT = 1.2
MARGIN_PX = 2.0
#: deck.gl's Web Mercator world is 512 pixels wide at zoom 0.
WORLD_PX = 512.0
_EARTH_CIRCUMFERENCE_M = 40_075_016.686


@dataclass(frozen=True)
class MapLabel:
    """One name on the map: where, what kind, and its font size (pixels) in each band it shows in.

    ``kind`` is ``place``, ``county`` or ``highway``; ``priority`` decides who wins a
    contested spot (residents for a place); ``bands`` maps a band to the font size
    drawn there, for the bands where the name is placed.
    """

    text: str
    lng: float
    lat: float
    kind: str
    priority: float
    bands: dict[int, float] = field(default_factory=dict)


def band_of_zoom(zoom: float) -> int:
    """The band drawn at ``zoom``.

    >>> [band_of_zoom(z) for z in (3.0, 4.75, 9.99, 10.0, 15.5)]
    [4, 4, 9, 10, 12]
    """
    return int(min(max(math.floor(zoom), ZOOM_BANDS[0]), ZOOM_BANDS[-1]))


def metres_per_pixel(zoom: float, lat: float) -> float:
    """Ground metres in one screen pixel at ``zoom`` and latitude ``lat`` (deck.gl's 512-pixel world).

    >>> round(metres_per_pixel(4, 37.0))
    3907
    """
    return _EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) / (WORLD_PX * 2.0**zoom)


def world_px(lng: float, lat: float, zoom: float) -> tuple[float, float]:
    """A point's Web Mercator position in pixels at ``zoom`` (x east, y south), as deck.gl projects it."""
    scale = WORLD_PX * 2.0**zoom
    s = math.sin(math.radians(lat))
    x = (lng + 180.0) / 360.0 * scale
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale
    return x, y


def place_size_m(population: float) -> float:
    """A place name's height on the ground (metres): larger places read from further out.

    Los Angeles (3.8 M) is legible on the statewide view, a town of 100,000 from
    about zoom 7, one of 15,000 from about zoom 8.

    >>> [round(place_size_m(p) / 1000, 1) for p in (3_820_914, 100_000, 15_000)]
    [36.6, 7.1, 3.0]
    """
    return 40.0 * float(population) ** 0.45


def place_max_px(population: float) -> float:
    """The largest a place's name is drawn (pixels): larger places in larger type.

    >>> [place_max_px(p) for p in (15_000, 60_000, 3_820_914)]
    [10.5, 12.3, 15.0]
    """
    doublings = math.log2(max(float(population), PLACE_MIN_POPULATION) / PLACE_MIN_POPULATION)
    return round(min(10.5 + 0.9 * doublings, PLACE_MAX_PX), 1)


def label_box_px(text: str, size_px: float) -> tuple[float, float]:
    """Width and height (pixels) a name takes at ``size_px``, margins included.

    >>> label_box_px("Fresno", 10.0)
    (40.0, 16.0)
    """
    capitals = sum(ch.isupper() or ch.isdigit() for ch in text)
    width = size_px * (CAPITAL_WIDTH * capitals + CHAR_WIDTH * (len(text) - capitals))
    return round(width + 2 * MARGIN_PX, 2), round(size_px * LINE_HEIGHT + 2 * MARGIN_PX, 2)


def _size_px(candidate: tuple[str, float, float, str, float, float], band: int) -> float:
    text, _lng, lat, kind, _priority, size_m = candidate
    if kind == "highway":
        return HIGHWAY_PX if band >= HIGHWAY_MIN_BAND else 0.0
    cap = place_max_px(_priority) if kind == "place" else COUNTY_MAX_PX
    on_ground = size_m / metres_per_pixel(band, lat)
    return round(min(max(on_ground, LABEL_MIN_PX), cap), 1) if on_ground >= SHOW_PX[kind] else 0.0


@cache
def _candidates() -> tuple[tuple[str, float, float, str, float, float], ...]:
    """Every name that may be drawn: ``(text, lng, lat, kind, priority, size_m)``, highest priority first."""
    out: list[tuple[str, float, float, str, float, float]] = []
    places = reference.load_places()
    big = places[places["population"].fillna(0) >= PLACE_MIN_POPULATION]
    for r in big.itertuples(index=False):
        out.append((str(r.name), round(float(r.lng), 4), round(float(r.lat), 4), "place", float(r.population),
                    place_size_m(float(r.population))))
    counties = reference.load_counties()
    for name, point in zip(counties["name"], counties.geometry.representative_point(), strict=True):
        out.append((str(name).upper(), round(point.x, 4), round(point.y, 4), "county", COUNTY_PRIORITY, COUNTY_SIZE_M))
    for row in reference.load_highways().itertuples(index=False):
        for geom in getattr(row.geometry, "geoms", [row.geometry]):
            coords = list(geom.coords)
            x, y, *_ = coords[len(coords) // 3]
            out.append((str(row.route), round(x, 4), round(y, 4), "highway", HIGHWAY_PRIORITY, 0.0))
    # highest priority first; ties by name, so the order (and so the result) never depends on the files' order
    return tuple(sorted(out, key=lambda c: (-c[4], c[0], c[1], c[2])))


def _place_band(candidates: Sequence[tuple[str, float, float, str, float, float]], band: int) -> dict[int, float]:
    """Greedy placement at ``band``: the index and font size of each candidate placed."""
    placed = np.empty((0, 4))  # x0, y0, x1, y1 of the boxes placed
    out: dict[int, float] = {}
    for i, candidate in enumerate(candidates):
        size = _size_px(candidate, band)
        if not size:
            continue
        x, y = world_px(candidate[1], candidate[2], band)
        w, h = label_box_px(candidate[0], size)
        box = np.array([x - w / 2, y - h / 2, x + w / 2, y + h / 2])
        if len(placed) and np.any((placed[:, 0] < box[2]) & (box[0] < placed[:, 2])
                                  & (placed[:, 1] < box[3]) & (box[1] < placed[:, 3])):
            continue
        placed = np.vstack([placed, box])
        out[i] = size
    return out


@cache
def label_rows() -> tuple[MapLabel, ...]:
    """Every name placed in at least one band, highest priority first, with its size in each band it shows in."""
    candidates = _candidates()
    bands: dict[int, dict[int, float]] = {}
    for band in ZOOM_BANDS:
        for i, size in _place_band(candidates, band).items():
            bands.setdefault(i, {})[band] = size
    return tuple(
        MapLabel(text=c[0], lng=c[1], lat=c[2], kind=c[3], priority=c[4], bands=bands[i])
        for i, c in enumerate(candidates) if i in bands
    )


def labels_at_band(band: int, *, kinds: Sequence[str] = ("place", "county", "highway")) -> list[MapLabel]:
    """The names drawn at ``band``, of the given kinds."""
    return [label for label in label_rows() if band in label.bands and label.kind in kinds]
