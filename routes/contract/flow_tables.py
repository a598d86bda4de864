"""The flow tables of the warehouse: their names, keys and columns, and the SQL that builds and reads them.

Written by ``pipelines/build/flows.py`` (and ``pipelines/build/spark_flows.py`` on
Spark), read by ``query/flows.py``: both import the table names, their keys and
the SQL text from here, so an edge means the same on both sides. The rows they
start from are :func:`geo.flow_places.sql_flow_records` (one row per flow record,
each end placed at every level; it needs the grid's parents and the border entry
points, so it lives with the places).

A level of :data:`FLOW_LEVELS` is ``res6``/``res5``/``res4`` (the H3 cell at that
resolution), ``county``, ``region`` or ``task_force``; an out-of-state origin is
the same place at every level (its state or country and its entry point).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from routes.contract.sql import (
    SQL,
    Table,
    compose,
    condition,
    ident,
    idents,
    join,
    relation,
    vocabulary_literal,
)
from routes.contract.vocabularies import INDICATORS

#: The levels flows aggregate to, finest first.
FLOW_LEVELS = ("res6", "res5", "res4", "county", "region", "task_force")

#: The H3 resolution of each cell level.
CELL_LEVELS = {"res4": 4, "res5": 5, "res6": 6}

#: The indicators whose share each edge reports (``share_<name>``).
FLOW_INDICATORS = INDICATORS


def check_level(level: str, *, allowed: tuple[str, ...] = FLOW_LEVELS) -> str:
    """Return ``level`` if valid, else raise a :class:`ValueError` naming the choices.

    >>> check_level("county")
    'county'
    """
    if level not in allowed:
        raise ValueError(f"unknown flow level {level!r}; choose one of {', '.join(allowed)}")
    return level


def sql_end_id(side: str, level: str) -> str:
    """The SQL expression of one end's place id at ``level`` over :func:`geo.flow_places.sql_flow_records` rows.

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
    source: SQL | str = "_flow_records",
    weight: str | None = None,
    bits: int | None = None,
    source_lists: bool = True,
    by_month: bool = True,
    cube: bool = False,
) -> SQL:
    """A ``SELECT`` aggregating :func:`geo.flow_places.sql_flow_records` rows (relation ``source``) to edges at ``level``.

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
        o_key, d_key = ident(f"o_cell{res}"), ident(f"d_cell{res}")
        o_id = compose("coalesce(o_outside, printf('%x', {o_key}))", o_key=o_key)
        d_id = compose("printf('%x', {d_key})", d_key=d_key)
        cells = compose("{o_key} AS origin_cell, {d_key} AS dest_cell", o_key=o_key, d_key=d_key)
    else:
        o_key, d_key = ident(f"o_{level}"), ident(f"d_{level}")
        o_id, d_id = compose("coalesce(o_outside, {o_key})", o_key=o_key), d_key
        cells = SQL("NULL::BIGINT AS origin_cell, NULL::BIGINT AS dest_cell")
    context = []
    for side, name in (("o", "origin"), ("d", "dest")):
        for area, column in _CONTEXT_COLUMN.items():
            expr = ident(f"{side}_{area}") if area in keep else SQL("NULL::VARCHAR")
            context.append(compose("{expr} AS {name}", expr=expr, name=ident(f"{name}_{column}")))
    groups = idents(sorted({f"o_{a}" for a in keep} | {f"d_{a}" for a in keep} | {o_key, d_key}))
    if cube:
        weight = "records"
    counts = ident(weight) if weight is not None else None

    def counted(condition: str | None = None) -> SQL:
        where = SQL(condition) if condition else None  # literal conditions below, on declared columns
        if counts is None:
            return compose("count(*) FILTER (WHERE {w})", w=where) if where else SQL("count(*)")
        if where is None:
            return compose("sum({c})::BIGINT", c=counts)
        return compose("coalesce(sum({c}) FILTER (WHERE {w}), 0)::BIGINT", c=counts, w=where)

    if cube:
        indicators = join((compose("sum({n})::BIGINT AS {n}", n=ident(f"n_{n}")) for n in FLOW_INDICATORS), ", ")
        minors = SQL("sum(minors)::BIGINT")
    else:
        indicators = join((compose("{c} AS {n}", c=counted(ident(f"ind_{n}")), n=ident(f"n_{n}"))
                           for n in FLOW_INDICATORS), ", ")
        minors = counted("ind_minor")
    time_keys = SQL("month, trafficking_type, " if by_month else "")
    if bits is None:
        source_bits = SQL("")
    elif cube:
        source_bits = SQL(" bit_or(source_bits) AS source_bits,")
    else:
        source_bits = compose(" bitstring_agg(source_bit, 0, {top}) AS source_bits,", top=max(int(bits), 1) - 1)
    return compose("""
    SELECT {level} AS level, {months},
        {o_id} AS origin_id,
        CASE WHEN o_outside IS NULL THEN {kind}
             WHEN o_country = 'US' THEN 'state' ELSE 'country' END AS origin_kind,
        {d_id} AS dest_id, {kind} AS dest_kind,
        {cells},
        {context},
        o_entry AS origin_entry, o_state AS origin_state, o_country AS origin_country,
        records, victims, minors, tips, incidents, recoveries, services, confirmed,
        {sources}{bits_column}
        {n_columns}
    FROM (
        SELECT {time_keys}o_outside, o_entry, o_state, o_country, {groups},
            {records} AS records,
            sum(victims)::BIGINT AS victims,
            {minors} AS minors,
            {tips} AS tips,
            {incidents} AS incidents,
            {recoveries} AS recoveries,
            {services} AS services,
            {confirmed} AS confirmed,
            {source_ids}{source_bits}
            {indicators}
        FROM {source}
        WHERE (o_outside IS NOT NULL OR {o_key} IS NOT NULL) AND {d_key} IS NOT NULL
        GROUP BY {time_keys}o_outside, o_entry, o_state, o_country, {groups}
    )
    """,
        level=vocabulary_literal(level, FLOW_LEVELS),
        months=SQL("month, trafficking_type" if by_month else "NULL::DATE AS month, NULL::VARCHAR AS trafficking_type"),
        o_id=o_id, kind=vocabulary_literal(kind, (*FLOW_LEVELS, "cell")), d_id=d_id, cells=cells,
        context=join(context, ", "),
        sources=SQL("len(source_ids) AS sources, source_ids," if source_lists else "bit_count(source_bits) AS sources,"),
        bits_column=SQL(" source_bits," if bits is not None else ""),
        n_columns=idents(f"n_{n}" for n in FLOW_INDICATORS),
        time_keys=time_keys, groups=groups, records=counted(), minors=minors,
        tips=counted("record_type = 'tip'"), incidents=counted("record_type = 'incident'"),
        recoveries=counted("record_type = 'recovery'"), services=counted("record_type = 'service'"),
        confirmed=counted("record_type IN ('incident', 'recovery')"),
        source_ids=SQL("list_sort(list_distinct(list(source_id))) AS source_ids," if source_lists else ""),
        source_bits=source_bits, indicators=indicators, source=relation(source), o_key=o_key, d_key=d_key,
    )


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


def sql_with_source_bits(rows: SQL | str) -> SQL:
    """:func:`geo.flow_places.sql_flow_records` rows (``rows``: a relation) with ``source_bit`` from :data:`SOURCES_TABLE`."""
    return compose("SELECT r.*, s.bit AS source_bit FROM {rows} AS r JOIN {bits} AS s USING (source_id)",
                   rows=relation(rows), bits=ident(SOURCES_TABLE))


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


def sql_flow_facts(source: SQL | str = "_flow_records") -> SQL:
    """A ``SELECT`` of :data:`FACTS_TABLE`: :func:`geo.flow_places.sql_flow_records` rows grouped by :data:`FACT_KEYS`.

    Records alike in every key become one row (``n``, ``victims``), so a filter
    on record type, source kind or indicator (which the ``flows`` table does not
    keep) re-aggregates this narrow table rather than ``records``. Sorted by
    record type, then month: a record-type filter (the commonest of those) and a
    period both skip row groups.
    """
    return compose(
        "SELECT {keys}, count(*)::INTEGER AS n, sum(victims)::BIGINT AS victims "
        "FROM {source} GROUP BY ALL ORDER BY record_type, month, trafficking_type",
        keys=idents(FACT_KEYS), source=relation(source),
    )


#: :data:`FACTS_TABLE` without the cells: what the county, region and task-force levels read.
AREA_FACTS_TABLE = "flow_area_facts"
AREA_FACT_KEYS = tuple(k for k in FACT_KEYS if "_cell" not in k)


def sql_flow_area_facts(source: SQL | str = FACTS_TABLE) -> SQL:
    """A ``SELECT`` of :data:`AREA_FACTS_TABLE`: facts summed over their cells (fewer, narrower rows)."""
    return compose(
        "SELECT {keys}, sum(n)::INTEGER AS n, sum(victims)::BIGINT AS victims "
        "FROM {source} GROUP BY ALL ORDER BY month, trafficking_type",
        keys=idents(AREA_FACT_KEYS), source=relation(source),
    )


#: Flow records at the area levels, counted per filter dimension and once more per
#: indicator they carry: an exact, small read for filters naming at most one indicator.
CUBE_TABLE = "flow_area_cube"
CUBE_KEYS = (
    "indicator", "month", "trafficking_type", "record_type", "source_kind",
    "o_outside", "o_entry", "o_state", "o_country", "o_county", "o_region", "o_task_force",
    "d_county", "d_region", "d_task_force",
)


def sql_flow_area_cube(bits: int, source: SQL | str = "_flow_records") -> SQL:
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


def sql_flow_cell_cube(bits: int, source: SQL | str = "_flow_records") -> SQL:
    """A ``SELECT`` of :data:`CELL_CUBE_TABLE`: :func:`sql_flow_area_cube` per res 4 origin and destination cell.

    Only rows :func:`sql_level_edges` keeps at ``res4`` (a destination cell, and
    an origin cell or an out-of-state origin).
    """
    return _sql_cube(bits, source, keys=CELL_CUBE_KEYS, carried=_CELL_CUBE_CARRIED,
                     where=SQL("(o_outside IS NOT NULL OR o_cell4 IS NOT NULL) AND d_cell4 IS NOT NULL"))


#: The ``flows`` table (``pipelines/build/flows.py``): what identifies an edge there
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


def sql_all_time(table: str) -> SQL:
    """A ``SELECT`` of ``ALL_TIME_TABLES[table]``: the rows of ``table`` summed over ``month``.

    Counts keep their table's type (``victims`` is BIGINT everywhere) and
    ``source_bits`` are OR-ed, so a reader sums the copy exactly as it sums the
    monthly table with no period filter.
    """
    shape = _ALL_TIME_SHAPES[table]
    totals = join((compose("sum({c})::{t} AS {c}", c=ident(c), t=SQL("BIGINT" if c == "victims" else shape.sum_type))
                   for c in shape.sums), ", ")
    carried = join((compose(", any_value({c}) AS {c}", c=ident(c)) for c in shape.carried), "")
    bits = SQL(", bit_or(source_bits) AS source_bits" if shape.bits else "")
    keys = idents(shape.keys)
    return compose(
        "SELECT {keys}{carried}, {totals}{bits} FROM {table} GROUP BY {keys} ORDER BY {order}",
        keys=keys, carried=carried, totals=totals, bits=bits, table=ident(table), order=SQL(shape.order),
    )


def _sql_cube(bits: int, source: SQL | str, *, keys: tuple[str, ...], carried: tuple[str, ...] = (),
              where: SQL | str = "TRUE") -> SQL:
    names = join((compose("({bit}, {name})", bit=bit, name=vocabulary_literal(name, FLOW_INDICATORS))
                  for bit, name in enumerate(FLOW_INDICATORS)), ", ")
    counts = join((compose("(count(*) FILTER (WHERE {i}))::INTEGER AS {n}", i=ident(f"ind_{n}"), n=ident(f"n_{n}"))
                   for n in FLOW_INDICATORS), ", ")
    kept = join((compose("any_value({c}) AS {c}, ", c=ident(c)) for c in carried), "")
    return compose("""
    WITH kept AS (SELECT * FROM {source} WHERE {where}),
    tagged AS (
        SELECT NULL::VARCHAR AS indicator, * FROM kept
        UNION ALL
        SELECT i.name AS indicator, r.* FROM kept AS r
        JOIN (VALUES {names}) AS i(bit, name) ON (r.indicator_mask & (1 << i.bit)) <> 0
    )
    SELECT {group}, {kept}count(*)::INTEGER AS records, sum(victims)::BIGINT AS victims,
        (count(*) FILTER (WHERE ind_minor))::INTEGER AS minors, {counts},
        bitstring_agg(source_bit, 0, {top}) AS source_bits
    FROM tagged
    GROUP BY {group} ORDER BY indicator NULLS FIRST, month, trafficking_type
    """, source=relation(source), where=condition(where), names=names, group=idents(keys), kept=kept, counts=counts,
                   top=max(int(bits), 1) - 1)


def sql_fact_records(where: SQL | str = "TRUE", *, table: SQL | str = FACTS_TABLE) -> SQL:
    """:data:`FACTS_TABLE` rows under ``where``, shaped as :func:`geo.flow_places.sql_flow_records` rows plus ``n``.

    Feed it to :func:`sql_level_edges` with ``weight="n"`` (``table``
    :data:`AREA_FACTS_TABLE` for the area levels only). ``where`` is a
    trusted condition on the fact columns (``month``, ``trafficking_type``,
    ``record_type``, ``source_kind``, ``indicator_mask``), its values parameters.
    """
    flags = join((compose("(indicator_mask & {mask}) <> 0 AS {flag}", mask=1 << bit, flag=ident(f"ind_{name}"))
                  for bit, name in enumerate(FLOW_INDICATORS) if name != "minor"), ", ")
    return compose("SELECT * EXCLUDE (indicator_mask), {flags} FROM {table} WHERE {where}",
                   flags=flags, table=relation(table), where=condition(where))


def indicator_mask(names: tuple[str, ...] | list[str]) -> int:
    """The bits of ``indicator_mask`` for ``names`` (an unknown name sets none).

    >>> indicator_mask(["online_ads", "drugs"])
    3
    """
    return sum(1 << FLOW_INDICATORS.index(n) for n in set(names) if n in FLOW_INDICATORS)




#: The ``flows`` table's place and count columns besides :data:`EDGE_KEYS`' ids, in table order.
_FLOWS_COLUMNS = (
    "level", "month", "trafficking_type",
    "origin_id", "origin_kind", "origin_name", "origin_lat", "origin_lng", "origin_cell", "origin_county_fips",
    "origin_region", "origin_task_force", "origin_entry", "origin_state", "origin_country",
    "dest_id", "dest_kind", "dest_name", "dest_lat", "dest_lng", "dest_cell", "dest_county_fips", "dest_region",
    "dest_task_force",
    "records", "victims", "minors", "tips", "incidents", "recoveries", "services", "confirmed",
    "sources", "source_ids", "source_bits",
    *(f"n_{n}" for n in FLOW_INDICATORS), *(f"share_{n}" for n in FLOW_INDICATORS),
)


def _all_time_table(table: str) -> Table:
    shape = _ALL_TIME_SHAPES[table]
    columns = (*shape.keys, *shape.carried, *shape.sums, *(("source_bits",) if shape.bits else ()))
    return Table(ALL_TIME_TABLES[table], shape.keys, columns)


#: Every table ``pipelines/build/flows.py`` writes: name, key (one row per key) and columns, in table order.
FLOW_TABLES: tuple[Table, ...] = (
    # a cell is split by the areas it spans (each edge's area columns are single-valued)
    Table(FLOWS_TABLE, ("level", "month", "trafficking_type", "origin_id", "dest_id", "origin_county_fips",
                        "origin_region", "origin_task_force", "dest_county_fips", "dest_region", "dest_task_force"),
          _FLOWS_COLUMNS),
    Table(FACTS_TABLE, FACT_KEYS, (*FACT_KEYS, "n", "victims")),
    Table(AREA_FACTS_TABLE, AREA_FACT_KEYS, (*AREA_FACT_KEYS, "n", "victims")),
    Table(CUBE_TABLE, CUBE_KEYS, (*CUBE_KEYS, *_CUBE_SUMS, "source_bits")),
    Table(CELL_CUBE_TABLE, CELL_CUBE_KEYS, (*CELL_CUBE_KEYS, *_CELL_CUBE_CARRIED, *_CUBE_SUMS, "source_bits")),
    *(_all_time_table(t) for t in _ALL_TIME_SHAPES),
    Table(SOURCES_TABLE, ("bit",), ("bit", "source_id")),
    Table("location_totals", ("level", "month", "trafficking_type", "location_id", "county_fips", "region",
                               "task_force"), (
        "level", "month", "trafficking_type", "location_id", "location_kind", "name", "lat", "lng", "county_fips",
        "region", "task_force", "incoming", "outgoing", "internal",
    )),
    Table("coordination_pairs", ("level", "month", "trafficking_type", "origin_id", "dest_id", "origin_task_force",
                                  "dest_task_force"), (
        "level", "month", "trafficking_type", "origin_id", "origin_name", "dest_id", "dest_name",
        "origin_task_force", "origin_task_force_name", "dest_task_force", "dest_task_force_name",
        "records", "victims", "tips", "confirmed", "sources", "source_ids",
    )),
    Table("route_shifts", ("kind", "level", "trafficking_type", "origin_id", "dest_id", "segment_id"), (
        "kind", "level", "trafficking_type", "origin_id", "origin_name", "dest_id", "dest_name", "segment_id",
        "route", "recent_start", "recent_end", "baseline_start", "baseline_end", "recent_days", "baseline_days",
        "recent", "baseline", "recent_per_month", "baseline_per_month", "rate_ratio", "p_value", "q_value", "shift",
    )),
)

#: The columns of :func:`geo.flow_places.sql_flow_records` rows (``_flow_records``), in order.
FLOW_RECORD_COLUMNS = (
    "month", "trafficking_type", "record_type", "source_id", "source_kind", "victims",
    *(f"ind_{n}" for n in FLOW_INDICATORS), "indicator_mask",
    "o_outside", "o_entry", "o_state", "o_country", "o_county", "o_region", "o_task_force",
    "o_cell4", "o_cell5", "o_cell6", "o_lat", "o_lng", "d_lat", "d_lng", "d_county", "d_region", "d_task_force",
    "d_cell4", "d_cell5", "d_cell6",
)

#: The working relations of the flow step and of a flow read (temporary, never in a snapshot).
FLOW_WORKING = ("_flow_records", "_flow_edges", "_flow_places", "flow_entry_candidates", "_areas", "_shifts")
