"""Where a flow starts and ends, at each level of aggregation.

A flow is one record with both an origin (point source) and a destination
(destination source). This module says, for one record and one level of
:data:`FLOW_LEVELS`, which place each end is, what it is called and where to
draw it. The build (``pipelines/build_flows.py``) and the query layer
(``query/flows.py``, when a filter needs the records themselves) both use
:func:`sql_flow_records`, so an edge means the same everywhere.

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
entry point. Routing (``pipelines/build_corridors.py``) anchors a county at its
most populous place (:func:`county_anchors`), so Los Angeles County starts in Los
Angeles, not in the desert.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from geo import highways, reference
from geo.grid import sql_cell_to_parent
from routes import settings
from routes.contract.vocabularies import INDICATORS

#: The levels flows aggregate to, finest first.
FLOW_LEVELS = ("res6", "res5", "res4", "county", "region", "task_force")

#: The H3 resolution of each cell level.
CELL_LEVELS = {"res4": 4, "res5": 5, "res6": 6}

#: The indicators whose share each edge reports (``share_<name>``).
FLOW_INDICATORS = INDICATORS

#: Projected CRS for centroids (California Albers).
_CA_ALBERS = 3310


def check_level(level: str, *, allowed: tuple[str, ...] = FLOW_LEVELS) -> str:
    """Return ``level`` if valid, else raise a :class:`ValueError` naming the choices.

    >>> check_level("county")
    'county'
    """
    if level not in allowed:
        raise ValueError(f"unknown flow level {level!r}; choose one of {', '.join(allowed)}")
    return level


def sql_flow_records(where: str = "TRUE", *, entries: str = "flow_entry_candidates") -> str:
    """A ``SELECT`` of one row per flow record over ``records`` (alias ``r``).

    ``where`` is a trusted SQL condition on ``records`` (from
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
    indicator_flags = ",\n        ".join(
        (
            "(coalesce(r.minor_involved, FALSE) OR list_contains(coalesce(r.indicators, []), 'minor')) AS ind_minor"
            if name == "minor"
            else f"list_contains(coalesce(r.indicators, []), '{name}') AS ind_{name}"
        )
        for name in FLOW_INDICATORS
    )
    origin_cells = ",\n        ".join(
        f"CASE WHEN r.origin_county_fips IS NOT NULL AND r.origin_res >= {res} "
        f"THEN {sql_cell_to_parent('r.origin_cell', res)} END AS o_cell{res}"
        for res in (4, 5, 6)
    )
    dest_cells = ",\n        ".join(
        f"CASE WHEN r.dest_res >= {res} THEN {sql_cell_to_parent('r.dest_cell', res)} END AS d_cell{res}"
        for res in (4, 5, 6)
    )
    mask = " | ".join(
        f"CASE WHEN list_contains(coalesce(r.indicators, []), '{name}') THEN {1 << bit} ELSE 0 END"
        for bit, name in enumerate(FLOW_INDICATORS)
    )
    return f"""
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
        2 * {highways.EARTH_RADIUS_KM} * asin(sqrt(
            pow(sin(radians(c.lat - keyed.origin_lat) / 2), 2)
            + cos(radians(keyed.origin_lat)) * cos(radians(c.lat))
              * pow(sin(radians(c.lng - keyed.origin_lng) / 2), 2))) AS d_km
    FROM keyed JOIN {entries} AS c ON c.outside_key = keyed.cand_key
),
chosen AS (
    SELECT o_key, origin_lat, origin_lng,
        CASE WHEN min(d_km) <= {highways.ENTRY_NEAR_KM} THEN arg_min(entry_id, d_km)
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
"""  # noqa: S608 (trusted identifiers only; values are parameters)


def sql_end_id(side: str, level: str) -> str:
    """The SQL expression of one end's place id at ``level`` over :func:`sql_flow_records` rows.

    >>> sql_end_id("d", "region")
    'd_region'
    """
    check_level(level)
    if side not in ("o", "d"):
        raise ValueError(f"side must be 'o' or 'd', not {side!r}")
    if level in CELL_LEVELS:
        inside = f"printf('%x', {side}_cell{CELL_LEVELS[level]})"
    else:
        inside = f"{side}_{level}"
    return f"coalesce(o_outside, {inside})" if side == "o" else inside


_CONTEXT = {  # which area columns each level keeps (single-valued there)
    "res6": ("county", "region", "task_force"),
    "res5": ("county", "region", "task_force"),
    "res4": ("county", "region", "task_force"),
    "county": ("county", "region", "task_force"),
    "region": ("region",),
    "task_force": ("task_force",),
}
_CONTEXT_COLUMN = {"county": "county_fips", "region": "region", "task_force": "task_force"}


def sql_level_edges(
    level: str,
    *,
    source: str = "_flow_records",
    weight: str | None = None,
    bits: int | None = None,
    source_lists: bool = True,
    by_month: bool = True,
    cube: bool = False,
) -> str:
    """A ``SELECT`` aggregating :func:`sql_flow_records` rows (relation ``source``) to edges at ``level``.

    One row per ``month`` × ``trafficking_type`` × origin × destination (and the
    single-valued area columns of the level), with the count columns of the
    ``flows`` table and ``n_<indicator>``; no names or coordinates. With
    ``weight``, each source row stands for that many records (the ``n`` of
    :func:`sql_fact_records` rows) and ``victims`` is already their sum. With
    ``bits`` (the number of rows of :data:`SOURCES_TABLE`), the rows carry
    ``source_bit`` and the edges get ``source_bits``, a ``BIT`` of that length
    with bit ``i`` set when source ``i`` supports the edge (cheaper to combine
    than ``source_ids`` lists); ``source_lists=False`` (with ``bits``) then
    leaves the lists out and counts ``sources`` from the bits.
    ``by_month=False`` sums over months and types (``month`` and
    ``trafficking_type`` NULL): one row per edge, for a reader that has already
    filtered the period and types and adds them up anyway. ``cube=True`` reads
    :data:`CUBE_TABLE` rows, whose counts are already sums (``records``,
    ``minors``, ``n_<indicator>``, ``source_bits``); it needs ``bits``.
    """
    if not source_lists and bits is None:
        raise ValueError("source_lists=False needs bits: the sources are counted from source_bits")
    res = CELL_LEVELS.get(level)
    kind = "cell" if res else level
    keep = _CONTEXT[level]
    if res:
        o_key, d_key = f"o_cell{res}", f"d_cell{res}"
        o_id = f"coalesce(o_outside, printf('%x', {o_key}))"
        d_id = f"printf('%x', {d_key})"
        cells = f"{o_key} AS origin_cell, {d_key} AS dest_cell"
    else:
        o_key, d_key = f"o_{level}", f"d_{level}"
        o_id, d_id = f"coalesce(o_outside, {o_key})", d_key
        cells = "NULL::BIGINT AS origin_cell, NULL::BIGINT AS dest_cell"
    context = []
    for side, name in (("o", "origin"), ("d", "dest")):
        for area, column in _CONTEXT_COLUMN.items():
            expr = f"{side}_{area}" if area in keep else "NULL::VARCHAR"
            context.append(f"{expr} AS {name}_{column}")
    groups = sorted({f"o_{a}" for a in keep} | {f"d_{a}" for a in keep} | {o_key, d_key})
    if cube:
        weight = "records"

    def counted(condition: str | None = None) -> str:
        if weight is None:
            return "count(*)" + (f" FILTER (WHERE {condition})" if condition else "")
        if condition is None:
            return f"sum({weight})::BIGINT"
        return f"coalesce(sum({weight}) FILTER (WHERE {condition}), 0)::BIGINT"

    if cube:
        indicators = ", ".join(f"sum(n_{n})::BIGINT AS n_{n}" for n in FLOW_INDICATORS)
        minors = "sum(minors)::BIGINT"
    else:
        indicators = ", ".join(f"{counted(f'ind_{n}')} AS n_{n}" for n in FLOW_INDICATORS)
        minors = counted("ind_minor")
    time_keys = "month, trafficking_type, " if by_month else ""
    if bits is None:
        source_bits = ""
    elif cube:
        source_bits = " bit_or(source_bits) AS source_bits,"
    else:
        source_bits = f" bitstring_agg(source_bit, 0, {max(int(bits), 1) - 1}) AS source_bits,"
    return f"""
    SELECT '{level}' AS level, {"month, trafficking_type" if by_month else "NULL::DATE AS month, NULL::VARCHAR AS trafficking_type"},
        {o_id} AS origin_id,
        CASE WHEN o_outside IS NULL THEN '{kind}'
             WHEN o_country = 'US' THEN 'state' ELSE 'country' END AS origin_kind,
        {d_id} AS dest_id, '{kind}' AS dest_kind,
        {cells},
        {", ".join(context)},
        o_entry AS origin_entry, o_state AS origin_state, o_country AS origin_country,
        records, victims, minors, tips, incidents, recoveries, services, confirmed,
        {"len(source_ids) AS sources, source_ids," if source_lists else "bit_count(source_bits) AS sources,"}{" source_bits," if bits is not None else ""}
        {", ".join(f"n_{n}" for n in FLOW_INDICATORS)}
    FROM (
        SELECT {time_keys}o_outside, o_entry, o_state, o_country, {", ".join(groups)},
            {counted()} AS records,
            sum(victims)::BIGINT AS victims,
            {minors} AS minors,
            {counted("record_type = 'tip'")} AS tips,
            {counted("record_type = 'incident'")} AS incidents,
            {counted("record_type = 'recovery'")} AS recoveries,
            {counted("record_type = 'service'")} AS services,
            {counted("record_type IN ('incident', 'recovery')")} AS confirmed,
            {"list_sort(list_distinct(list(source_id))) AS source_ids," if source_lists else ""}{source_bits}
            {indicators}
        FROM {source}
        WHERE (o_outside IS NOT NULL OR {o_key} IS NOT NULL) AND {d_key} IS NOT NULL
        GROUP BY {time_keys}o_outside, o_entry, o_state, o_country, {", ".join(groups)}
    )
    """  # noqa: S608 (trusted identifiers only; values are parameters)


#: The table of flow facts and what one fact keeps: every filter dimension and
#: every end at every level. ``n`` records (``victims`` their sum) share them.
FACTS_TABLE = "flow_facts"
FACT_KEYS = (
    "month", "trafficking_type", "record_type", "source_id", "source_bit", "source_kind", "indicator_mask", "ind_minor",
    "o_outside", "o_entry", "o_state", "o_country", "o_county", "o_region", "o_task_force",
    "o_cell4", "o_cell5", "o_cell6", "d_county", "d_region", "d_task_force", "d_cell4", "d_cell5", "d_cell6",
)


#: ``bit``, ``source_id``: which bit of ``source_bits`` stands for which source (sorted by id).
SOURCES_TABLE = "flow_sources"


def sql_with_source_bits(relation: str) -> str:
    """:func:`sql_flow_records` rows (``relation``) with ``source_bit`` from :data:`SOURCES_TABLE`."""
    return f"SELECT r.*, s.bit AS source_bit FROM {relation} AS r JOIN {SOURCES_TABLE} AS s USING (source_id)"  # noqa: S608


def decode_source_bits(bits: pd.Series, source_ids: list[str]) -> pd.Series:
    """``source_bits`` as text (``'0110'``) → the sorted source ids they stand for (``None`` stays ``None``).

    >>> decode_source_bits(pd.Series(["101", None]), ["a", "b", "c"]).tolist()
    [['a', 'c'], None]
    """
    # few distinct patterns (at most 2 ** sources) among many edges: decode each once
    decoded = {
        text: [source_ids[i] for i, ch in enumerate(text) if ch == "1"]
        for text in bits.dropna().unique() if isinstance(text, str)
    }
    return pd.Series([decoded.get(text) if isinstance(text, str) else None for text in bits],
                     index=bits.index, dtype=object)


def sql_flow_facts(source: str = "_flow_records") -> str:
    """A ``SELECT`` of :data:`FACTS_TABLE`: :func:`sql_flow_records` rows grouped by :data:`FACT_KEYS`.

    Records alike in every key become one row (``n``, ``victims``), so a filter
    on record type, source kind or indicator (which the ``flows`` table does not
    keep) re-aggregates this narrow table rather than ``records``. Sorted by
    record type, then month: a record-type filter (the commonest of those) and a
    period both skip row groups.
    """
    keys = ", ".join(FACT_KEYS)
    return (
        f"SELECT {keys}, count(*)::INTEGER AS n, sum(victims)::BIGINT AS victims "  # noqa: S608 (trusted identifiers)
        f"FROM {source} GROUP BY ALL ORDER BY record_type, month, trafficking_type"
    )


#: :data:`FACTS_TABLE` without the cells: what the county, region and task-force levels read.
AREA_FACTS_TABLE = "flow_area_facts"
AREA_FACT_KEYS = tuple(k for k in FACT_KEYS if "_cell" not in k)


def sql_flow_area_facts(source: str = FACTS_TABLE) -> str:
    """A ``SELECT`` of :data:`AREA_FACTS_TABLE`: facts summed over their cells (fewer, narrower rows)."""
    keys = ", ".join(AREA_FACT_KEYS)
    return (
        f"SELECT {keys}, sum(n)::INTEGER AS n, sum(victims)::BIGINT AS victims "  # noqa: S608 (trusted identifiers)
        f"FROM {source} GROUP BY ALL ORDER BY month, trafficking_type"
    )


#: Flow records at the area levels, counted per filter dimension and once more per
#: indicator they carry: an exact, small read for filters naming at most one indicator.
CUBE_TABLE = "flow_area_cube"
CUBE_KEYS = (
    "indicator", "month", "trafficking_type", "record_type", "source_kind",
    "o_outside", "o_entry", "o_state", "o_country", "o_county", "o_region", "o_task_force",
    "d_county", "d_region", "d_task_force",
)


def sql_flow_area_cube(bits: int, source: str = "_flow_records") -> str:
    """A ``SELECT`` of :data:`CUBE_TABLE` over :func:`sql_with_source_bits` rows.

    ``indicator`` NULL: every record once; ``indicator`` = a name of
    :data:`FLOW_INDICATORS`: the records whose ``indicators`` list holds it (what
    an indicator filter of that one name keeps). Per :data:`CUBE_KEYS`:
    ``records``, ``victims``, ``minors``, ``n_<indicator>`` and ``source_bits``
    (``bits`` long). Sorted by indicator and month, so one indicator and a period
    are a small slice.
    """
    return _sql_cube(bits, source, keys=CUBE_KEYS)


#: :data:`CUBE_TABLE` with the res 4 cells of both ends: the statewide cell map under
#: record-type, source-kind or one-indicator filters reads it instead of the facts
#: (res 5 and 6 are drawn for part of the state only, a small read of the facts).
CELL_CUBE_TABLE = "flow_res4_cube"
CELL_CUBE_KEYS = (
    "indicator", "month", "trafficking_type", "record_type", "source_kind",
    "o_outside", "o_county", "o_task_force", "o_cell4", "d_county", "d_task_force", "d_cell4",
)
#: Carried, not grouped on: they follow from ``o_outside`` or the county.
_CELL_CUBE_CARRIED = ("o_entry", "o_state", "o_country", "o_region", "d_region")


def sql_flow_cell_cube(bits: int, source: str = "_flow_records") -> str:
    """A ``SELECT`` of :data:`CELL_CUBE_TABLE`: :func:`sql_flow_area_cube` per res 4 origin and destination cell.

    Only rows :func:`sql_level_edges` keeps at ``res4`` (a destination cell, and
    an origin cell or an out-of-state origin).
    """
    return _sql_cube(bits, source, keys=CELL_CUBE_KEYS, carried=_CELL_CUBE_CARRIED,
                     where="(o_outside IS NOT NULL OR o_cell4 IS NOT NULL) AND d_cell4 IS NOT NULL")


#: The ``flows`` table (``pipelines/build_flows.py``): what identifies an edge there
#: (and the areas of its ends), and the counts that add up over months and types.
FLOWS_TABLE = "flows"
EDGE_KEYS = (
    "level", "origin_id", "origin_kind", "origin_cell", "origin_county_fips", "origin_region",
    "origin_task_force", "origin_entry", "origin_state", "origin_country", "dest_id", "dest_kind",
    "dest_cell", "dest_county_fips", "dest_region", "dest_task_force",
)
EDGE_SUMS = (
    "records", "victims", "minors", "tips", "incidents", "recoveries", "services", "confirmed",
    *(f"n_{n}" for n in FLOW_INDICATORS),
)


@dataclass(frozen=True)
class _AllTimeShape:
    """How a month-keyed table sums over its months: keys (but ``month``), counts and their type, order."""

    keys: tuple[str, ...]
    sums: tuple[str, ...]
    sum_type: str
    order: str
    carried: tuple[str, ...] = ()  # follow from the keys (any value of the group will do)
    bits: bool = True  # has ``source_bits`` to OR


_CUBE_SUMS = ("records", "victims", "minors", *(f"n_{n}" for n in FLOW_INDICATORS))
_ALL_TIME_SHAPES = {
    FLOWS_TABLE: _AllTimeShape(("level", "trafficking_type", *EDGE_KEYS[1:]), EDGE_SUMS, "BIGINT",
                               "level, trafficking_type"),
    FACTS_TABLE: _AllTimeShape(tuple(k for k in FACT_KEYS if k != "month"), ("n", "victims"), "INTEGER",
                               "record_type, trafficking_type", bits=False),
    CUBE_TABLE: _AllTimeShape(tuple(k for k in CUBE_KEYS if k != "month"), _CUBE_SUMS, "INTEGER",
                              "indicator NULLS FIRST, record_type, trafficking_type"),
    CELL_CUBE_TABLE: _AllTimeShape(tuple(k for k in CELL_CUBE_KEYS if k != "month"), _CUBE_SUMS, "INTEGER",
                                   "indicator NULLS FIRST, record_type, trafficking_type",
                                   carried=_CELL_CUBE_CARRIED),
}

#: Each month-keyed table summed over its months, for a view of the whole period (no
#: start or end: the app's default): about a third of the facts' rows, a tenth of
#: the cubes' and ``flows``'. A copy has its table's keys and counts, not ``month``
#: (nor, for ``flows``, the names, places, source lists and shares it derives).
ALL_TIME_TABLES = {table: f"{table}_all_time" for table in _ALL_TIME_SHAPES}


def sql_all_time(table: str) -> str:
    """A ``SELECT`` of ``ALL_TIME_TABLES[table]``: the rows of ``table`` summed over ``month``.

    Counts keep their table's type (``victims`` is BIGINT everywhere) and
    ``source_bits`` are OR-ed, so a reader sums the copy exactly as it sums the
    monthly table with no period filter.
    """
    shape = _ALL_TIME_SHAPES[table]
    totals = ", ".join(
        f"sum({c})::{'BIGINT' if c == 'victims' else shape.sum_type} AS {c}" for c in shape.sums
    )
    carried = "".join(f", any_value({c}) AS {c}" for c in shape.carried)
    bits = ", bit_or(source_bits) AS source_bits" if shape.bits else ""
    keys = ", ".join(shape.keys)
    return (
        f"SELECT {keys}{carried}, {totals}{bits} FROM {table} "  # noqa: S608 (trusted identifiers)
        f"GROUP BY {keys} ORDER BY {shape.order}"
    )


def _sql_cube(bits: int, source: str, *, keys: tuple[str, ...], carried: tuple[str, ...] = (),
              where: str = "TRUE") -> str:
    names = ", ".join(f"({bit}, '{name}')" for bit, name in enumerate(FLOW_INDICATORS))
    counts = ", ".join(f"(count(*) FILTER (WHERE ind_{n}))::INTEGER AS n_{n}" for n in FLOW_INDICATORS)
    kept = "".join(f"any_value({c}) AS {c}, " for c in carried)
    group = ", ".join(keys)
    return f"""
    WITH kept AS (SELECT * FROM {source} WHERE {where}),
    tagged AS (
        SELECT NULL::VARCHAR AS indicator, * FROM kept
        UNION ALL
        SELECT i.name AS indicator, r.* FROM kept AS r
        JOIN (VALUES {names}) AS i(bit, name) ON (r.indicator_mask & (1 << i.bit)) <> 0
    )
    SELECT {group}, {kept}count(*)::INTEGER AS records, sum(victims)::BIGINT AS victims,
        (count(*) FILTER (WHERE ind_minor))::INTEGER AS minors, {counts},
        bitstring_agg(source_bit, 0, {max(int(bits), 1) - 1}) AS source_bits
    FROM tagged
    GROUP BY {group} ORDER BY indicator NULLS FIRST, month, trafficking_type
    """  # noqa: S608 (trusted identifiers only)


def sql_fact_records(where: str = "TRUE", *, table: str = FACTS_TABLE) -> str:
    """:data:`FACTS_TABLE` rows under ``where``, shaped as :func:`sql_flow_records` rows plus ``n``.

    Feed it to :func:`sql_level_edges` with ``weight="n"`` (``table``
    :data:`AREA_FACTS_TABLE` for the area levels only). ``where`` is a
    trusted condition on the fact columns (``month``, ``trafficking_type``,
    ``record_type``, ``source_kind``, ``indicator_mask``), its values parameters.
    """
    flags = ", ".join(
        f"(indicator_mask & {1 << bit}) <> 0 AS ind_{name}"
        for bit, name in enumerate(FLOW_INDICATORS) if name != "minor"
    )
    return f"SELECT * EXCLUDE (indicator_mask), {flags} FROM {table} WHERE {where}"  # noqa: S608 (trusted)


def indicator_mask(names: tuple[str, ...] | list[str]) -> int:
    """The bits of ``indicator_mask`` for ``names`` (an unknown name sets none).

    >>> indicator_mask(["online_ads", "drugs"])
    3
    """
    return sum(1 << FLOW_INDICATORS.index(n) for n in set(names) if n in FLOW_INDICATORS)


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
