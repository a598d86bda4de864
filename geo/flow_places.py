"""Where a flow starts and ends, at each level of aggregation.

A flow is one record with both an origin (point source) and a destination
(destination source). This module says, for one record and one level of
:data:`routes.contract.flow_tables.FLOW_LEVELS`, which place each end is, what it is called and where to
draw it. The build (``pipelines/build/flows.py``) and the query layer
(``query/flows.py``, when a filter needs the records themselves) both use
:func:`sql_flow_records`, so an edge means the same everywhere. The flow tables
built from those rows (their names, keys, columns and SQL) are the warehouse
contract's: :mod:`routes.contract.flow_tables`.

========================  =========================================================
level                     an in-state end is …
========================  =========================================================
``res4``/``res5``/``res6``  the H3 cell at that resolution (id: the H3 string); a
                          record whose end has no cell (county-only precision) is
                          left out of the cell levels
``county``                the county FIPS
``region``                the Cal OES Mutual Aid Region
``task_force``            the task force covering the county
========================  =========================================================

An out-of-state origin is the same place at every level: its state or country
**and** the border entry point it comes through (``US-NV@primm``, ``MX@san_ysidro``;
see :mod:`geo.highways`), drawn at the entry point. Each record enters at exactly
one point, so an out-of-state origin is never counted twice.

Where to draw: a cell at its centre, a county at its polygon's centroid, a region
or task force at the centroid of its counties, an out-of-state origin at its
entry point. Routing (``pipelines/build/corridors.py``) anchors a county at its
most populous place (:func:`county_anchors`), so Los Angeles County starts in Los
Angeles, not in the desert.
"""

from __future__ import annotations

from functools import cache

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from geo import highways, reference
from geo.grid import sql_cell_to_parent
from routes import settings
from routes.contract.flow_tables import (  # noqa: F401  re-exported for pipelines/build/spark_flows.py and pipelines/build/spark_corridors.py only
    ALL_TIME_TABLES,
    AREA_FACTS_TABLE,
    FACTS_TABLE,
    FLOW_INDICATORS,
    FLOW_LEVELS,
    SOURCES_TABLE,
    sql_all_time,
    sql_flow_area_facts,
    sql_flow_facts,
    sql_level_edges,
    sql_with_source_bits,
)
from routes.contract.sql import SQL, compose, condition, ident, join, vocabulary_literal

#: Projected CRS for centroids (California Albers).
_CA_ALBERS = 3310


def sql_flow_records(where: SQL | str = "TRUE", *, entries: str = "flow_entry_candidates") -> SQL:
    """A ``SELECT`` of one row per flow record over ``records`` (alias ``r``).

    ``where`` is a condition on ``records`` (:class:`~routes.contract.sql.SQL` from
    :meth:`query.filters.Filters.where` with ``alias="r"``, its values passed as
    parameters by the caller). ``entries`` names a relation holding
    :func:`geo.highways.entry_candidates` (register it first).

    Columns: ``month``, ``trafficking_type``, ``record_type``, ``source_id``,
    ``source_kind``, ``victims``, ``ind_<indicator>`` (``ind_minor`` also counts
    ``minor_involved``), ``indicator_mask`` (bit ``i`` set when the record's
    ``indicators`` list holds ``FLOW_INDICATORS[i]``: what an indicator filter
    tests); for the origin ``o_outside``
    (``US-NV@primm``, NULL in state), ``o_entry``, ``o_state``, ``o_country``,
    ``o_county``, ``o_region``, ``o_task_force``, ``o_cell4``/``5``/``6``, ``o_lat``,
    ``o_lng`` (in state only); for the destination ``d_lat``, ``d_lng``,
    ``d_county``, ``d_region``, ``d_task_force``, ``d_cell4``/``5``/``6``.
    """
    indicator_flags = join((
        SQL("(coalesce(r.minor_involved, FALSE) OR list_contains(coalesce(r.indicators, []), 'minor')) AS ind_minor")
        if name == "minor"
        else compose("list_contains(coalesce(r.indicators, []), {name}) AS {flag}",
                     name=vocabulary_literal(name, FLOW_INDICATORS), flag=ident(f"ind_{name}"))
        for name in FLOW_INDICATORS
    ), ",\n        ")
    origin_cells = join((
        compose("CASE WHEN r.origin_county_fips IS NOT NULL AND r.origin_res >= {res} THEN {parent} END AS {cell}",
                res=res, parent=sql_cell_to_parent("r.origin_cell", res), cell=ident(f"o_cell{res}"))
        for res in (4, 5, 6)
    ), ",\n        ")
    dest_cells = join((
        compose("CASE WHEN r.dest_res >= {res} THEN {parent} END AS {cell}",
                res=res, parent=sql_cell_to_parent("r.dest_cell", res), cell=ident(f"d_cell{res}"))
        for res in (4, 5, 6)
    ), ",\n        ")
    mask = join((
        compose("CASE WHEN list_contains(coalesce(r.indicators, []), {name}) THEN {bit} ELSE 0 END",
                name=vocabulary_literal(name, FLOW_INDICATORS), bit=1 << bit)
        for bit, name in enumerate(FLOW_INDICATORS)
    ), " | ")
    return compose("""
WITH base AS (
    SELECT r.*,
        CASE WHEN r.origin_county_fips IS NULL THEN
            CASE WHEN coalesce(r.origin_country, 'US') = 'US'
                 THEN 'US' || coalesce('-' || r.origin_state, '')
                 ELSE r.origin_country END
        END AS o_key
    FROM records AS r
    WHERE r.dest_county_fips IS NOT NULL
      AND (r.origin_county_fips IS NOT NULL
           OR ((r.origin_state IS NOT NULL OR r.origin_country IS NOT NULL)
               AND NOT (coalesce(r.origin_state, '') = 'CA' AND coalesce(r.origin_country, 'US') = 'US')))
      AND ({where})
),
outside_points AS (
    SELECT DISTINCT o_key, origin_lat, origin_lng FROM base WHERE o_key IS NOT NULL
),
keyed AS (
    SELECT p.*, coalesce(k.outside_key, CASE WHEN p.o_key LIKE 'US%' THEN 'US' ELSE '*' END) AS cand_key
    FROM outside_points AS p
    LEFT JOIN (SELECT DISTINCT outside_key FROM {entries}) AS k ON k.outside_key = p.o_key
),
scored AS (
    SELECT keyed.o_key, keyed.origin_lat, keyed.origin_lng, c.entry_id, c.rank,
        2 * {earth_km} * asin(sqrt(
            pow(sin(radians(c.lat - keyed.origin_lat) / 2), 2)
            + cos(radians(keyed.origin_lat)) * cos(radians(c.lat))
              * pow(sin(radians(c.lng - keyed.origin_lng) / 2), 2))) AS d_km
    FROM keyed JOIN {entries} AS c ON c.outside_key = keyed.cand_key
),
chosen AS (
    SELECT o_key, origin_lat, origin_lng,
        CASE WHEN min(d_km) <= {near_km} THEN arg_min(entry_id, d_km)
             ELSE arg_min(entry_id, rank) END AS entry_id
    FROM scored GROUP BY o_key, origin_lat, origin_lng
)
SELECT
    r.month,
    r.trafficking_type,
    r.record_type,
    r.source_id,
    r.source_kind,
    coalesce(r.victim_count, 0) AS victims,
    {indicator_flags},
    ({mask})::INTEGER AS indicator_mask,
    CASE WHEN r.o_key IS NOT NULL THEN r.o_key || '@' || ch.entry_id END AS o_outside,
    ch.entry_id AS o_entry,
    CASE WHEN r.o_key IS NOT NULL THEN r.origin_state END AS o_state,
    CASE WHEN r.o_key IS NOT NULL THEN coalesce(r.origin_country, 'US') END AS o_country,
    r.origin_county_fips AS o_county,
    CASE WHEN r.o_key IS NULL THEN r.origin_region END AS o_region,
    CASE WHEN r.o_key IS NULL THEN r.origin_task_force END AS o_task_force,
    {origin_cells},
    CASE WHEN r.o_key IS NULL THEN r.origin_lat END AS o_lat,
    CASE WHEN r.o_key IS NULL THEN r.origin_lng END AS o_lng,
    r.dest_lat AS d_lat,
    r.dest_lng AS d_lng,
    r.dest_county_fips AS d_county,
    r.dest_region AS d_region,
    r.dest_task_force AS d_task_force,
    {dest_cells}
FROM base AS r
LEFT JOIN chosen AS ch
  ON ch.o_key = r.o_key
 AND ch.origin_lat IS NOT DISTINCT FROM r.origin_lat
 AND ch.origin_lng IS NOT DISTINCT FROM r.origin_lng
""", where=condition(where), entries=ident(entries), earth_km=highways.EARTH_RADIUS_KM, near_km=highways.ENTRY_NEAR_KM,
        indicator_flags=indicator_flags, mask=mask, origin_cells=origin_cells, dest_cells=dest_cells)

@cache
def _world_names() -> dict[str, str]:
    path = settings.REFERENCE_DIR / "world_centroids.csv"
    if not path.exists():
        return {}
    world = pd.read_csv(path, dtype=str, keep_default_na=False)
    names: dict[str, str] = {}
    for row in world.itertuples(index=False):
        if row.kind == "state":
            names[f"US-{row.state}"] = row.name
        elif row.kind == "country" and row.country != "US":
            names[row.country] = row.name
    names["US"] = "United States (state unknown)"
    return names


def outside_origin_ids() -> tuple[str, ...]:
    """Every out-of-state origin the protected release measures, entry point dropped: ``US-NV``, ``MX``, ….

    Fixed by the reference data (``world_centroids.csv``: every US state but
    California, every country but the US, and ``US`` for a US origin of unknown
    state), never by the records.

    >>> ids = outside_origin_ids()
    >>> "US-NV" in ids, "MX" in ids, "US" in ids, "US-CA" in ids
    (True, True, True, False)
    """
    return tuple(sorted(k for k in _world_names() if k != "US-CA"))


def default_entry(outside_id: str) -> str:
    """The entry point an out-of-state origin without one (``MX``, ``US-NV``) is routed through.

    >>> default_entry("MX"), default_entry("US-NV"), default_entry("MX@calexico")
    ('san_ysidro', 'primm', 'calexico')
    """
    key, _, entry = outside_id.partition("@")
    if entry:
        return entry
    state = key[3:] if key.startswith("US-") else None
    return highways.entry_point_for(state, "US" if key.startswith("US") else key)


def outside_name(outside_id: str) -> str:
    """A readable name for an out-of-state origin id.

    >>> outside_name("US-NV@primm")
    'Nevada, via Primm, I-15 at the Nevada line'
    """
    key, _, entry = outside_id.partition("@")
    name = _world_names().get(key, key)
    entry_name = highways.ENTRY_POINTS.get(entry, (entry,))[0]
    return f"{name}, via {entry_name}" if entry else name


def _centroids(frame: gpd.GeoDataFrame, by: str) -> pd.DataFrame:
    dissolved = frame[[by, "geometry"]].dissolve(by=by).to_crs(_CA_ALBERS)
    points = dissolved.geometry.centroid.to_crs(4326)
    return pd.DataFrame({"id": dissolved.index.astype(str), "lat": points.y.to_numpy(), "lng": points.x.to_numpy()})


@cache
def area_places() -> pd.DataFrame:
    """Counties, regions and task forces: ``kind``, ``id``, ``name``, ``lat``, ``lng``.

    >>> area_places().set_index(["kind", "id"]).loc[("county", "06067"), "name"]
    'Sacramento'
    """
    counties = reference.load_counties()[["county_fips", "geometry"]]
    dims = reference.county_dimensions()
    counties = counties.merge(dims[["county_fips", "county", "task_force"]], on="county_fips")
    counties = counties.merge(reference.load_regions()[["county_fips", "region"]], on="county_fips")
    county = _centroids(counties, "county_fips").merge(
        dims[["county_fips", "county"]].rename(columns={"county_fips": "id", "county": "name"}), on="id"
    )
    region = _centroids(counties, "region").assign(name=lambda f: f["id"])
    tf_names = reference.load_task_forces().drop_duplicates("task_force").set_index("task_force")["name"]
    task_force = _centroids(counties.dropna(subset=["task_force"]), "task_force")
    task_force["name"] = task_force["id"].map(tf_names).fillna(task_force["id"])
    parts = [
        county.assign(kind="county"), region.assign(kind="region"), task_force.assign(kind="task_force")
    ]
    return pd.concat(parts, ignore_index=True)[["kind", "id", "name", "lat", "lng"]]


def outside_places(outside_ids: list[str]) -> pd.DataFrame:
    """Out-of-state origins: ``kind`` (``state``/``country``), ``id``, ``name``, ``lat``, ``lng`` (the entry point).

    An id without an entry point (``MX``: the protected release drops it) is
    drawn at the origin's default entry point (:func:`geo.highways.entry_point_for`).

    >>> outside_places(["MX"]).loc[0, ["kind", "name"]].tolist()
    ['country', 'Mexico']
    """
    entries = highways.ENTRY_POINTS
    rows = []
    for oid in sorted(set(outside_ids)):
        key = oid.partition("@")[0]
        _, _, lat, lng, _ = entries[default_entry(oid)]
        rows.append(("state" if key.startswith("US") else "country", oid, outside_name(oid), lat, lng))
    return pd.DataFrame(rows, columns=["kind", "id", "name", "lat", "lng"])


def cell_places(cell_ids: list[str]) -> pd.DataFrame:
    """H3 cells (hex ids): ``kind`` = ``cell``, ``id``, ``name``, ``lat``, ``lng`` (centre).

    A cell is named after the gazetteer place nearest its centre
    (:func:`near_place_names`), so an analyst reads "12 km NE of Barstow", not a hex id.
    """
    ids = sorted(set(cell_ids))
    centres = np.array([h3.cell_to_latlng(c) for c in ids], dtype=float).reshape(-1, 2)
    return pd.DataFrame({
        "kind": "cell", "id": ids, "name": near_place_names(centres[:, 0], centres[:, 1]),
        "lat": centres[:, 0], "lng": centres[:, 1],
    })


_KM_PER_DEG_LAT = 110.57
_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
#: Longitude is shrunk by cos(37 deg), California's middle, so the nearest-place search
#: measures east-west distances about as kilometres do (within 5 % statewide).
_LNG_SCALE = float(np.cos(np.radians(37.0)))


@cache
def _gazetteer() -> tuple[np.ndarray, np.ndarray, np.ndarray, shapely.STRtree]:
    """Place latitudes, longitudes, names, and a tree of them for nearest-place queries."""
    places = reference.load_places().dropna(subset=["lat", "lng", "name"]).reset_index(drop=True)
    lat, lng = places["lat"].to_numpy(float), places["lng"].to_numpy(float)
    tree = shapely.STRtree(shapely.points(lng * _LNG_SCALE, lat))
    return lat, lng, places["name"].astype(str).to_numpy(), tree


def near_place_names(lat: np.ndarray, lng: np.ndarray) -> list[str]:
    """For each point, its nearest gazetteer place: ``"Barstow"`` within 2 km, else ``"12 km NE of Barstow"``.

    >>> near_place_names(np.array([34.0522, 34.2]), np.array([-118.2437, -118.2437]))
    ['Los Angeles', '4 km S of La Crescenta-Montrose']
    """
    p_lat, p_lng, names, tree = _gazetteer()
    lat, lng = np.asarray(lat, dtype=float), np.asarray(lng, dtype=float)
    if not len(lat) or not len(names):
        return [f"{y:.2f}, {x:.2f}" for y, x in zip(lat.tolist(), lng.tolist(), strict=True)]
    pairs = tree.query_nearest(shapely.points(lng * _LNG_SCALE, lat), all_matches=False)
    index = np.empty(len(lat), dtype=int)
    index[pairs[0]] = pairs[1]
    north = (lat - p_lat[index]) * _KM_PER_DEG_LAT
    east = (lng - p_lng[index]) * _KM_PER_DEG_LAT * np.cos(np.radians(lat))
    km = np.hypot(north, east)
    heading = np.round(np.degrees(np.arctan2(east, north)) / 45).astype(int) % 8
    return [
        str(names[i]) if d < 2 else f"{d:.0f} km {_COMPASS[h]} of {names[i]}"
        for i, d, h in zip(index.tolist(), km.tolist(), heading.tolist(), strict=True)
    ]


@cache
def county_anchors() -> pd.DataFrame:
    """Where routing starts or ends for a county: ``county_fips``, ``lat``, ``lng``.

    The county's most populous place; its centroid if it has none.

    >>> a = county_anchors().set_index("county_fips")
    >>> round(float(a.loc["06037", "lat"]), 1), round(float(a.loc["06037", "lng"]), 1)
    (34.1, -118.2)
    """
    places = reference.load_places().dropna(subset=["county_fips", "lat", "lng"])
    biggest = places.sort_values(["population", "name"], ascending=[False, True]).drop_duplicates("county_fips")
    counties = area_places()
    counties = counties[counties["kind"] == "county"].rename(columns={"id": "county_fips"})
    merged = counties[["county_fips", "lat", "lng"]].merge(
        biggest[["county_fips", "lat", "lng"]], on="county_fips", how="left", suffixes=("_c", "")
    )
    merged["lat"] = merged["lat"].fillna(merged["lat_c"])
    merged["lng"] = merged["lng"].fillna(merged["lng_c"])
    return merged[["county_fips", "lat", "lng"]].reset_index(drop=True)
