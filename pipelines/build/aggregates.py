"""Build step: pre-aggregated counts so heatmap and trend pages stay fast at 10 M records.

Tables (dropped and recreated on each run; idempotent):

``cell_counts``
    One row per ``res`` (4..9) x ``cell`` x ``month`` x ``trafficking_type`` x
    ``record_type`` x ``source_kind`` x ``dest_county_fips`` (with its
    ``dest_region`` and ``dest_task_force``): ``records``, ``victims``. A record
    contributes to a cell at ``res`` only when its destination was indexed at
    ``dest_res >= res``: a ZIP-precision record (res 7) never appears at res 8 or 9.
    Sorted by ``res, month`` so a query for one resolution and period reads little.
``county_month_counts``
    One row per ``dest_county_fips`` (with region, task force) x ``month`` x
    ``trafficking_type`` x ``record_type`` x ``source_kind`` x ``dest_res``
    (NULL for county-precision records): ``records``, ``victims``. Every record
    with a destination counts here, so "records too coarse for res r" is the sum
    over ``dest_res IS NULL OR dest_res < r``.
``cell_indicator_counts``
    ``cell_counts`` with one more leading dimension, ``indicator``: one row per
    ``indicator`` x ``res`` x ``cell`` x ``month`` x ``trafficking_type`` x
    ``record_type`` x ``source_kind`` x ``dest_county_fips`` (``dest_region``,
    ``dest_task_force``). A record counts once under each distinct indicator it
    carries (``list_distinct(indicators)``; NULL elements and empty lists add
    nothing), under the same ``dest_res >= res`` rule. So ``indicator = 'x'``
    gives exactly what ``list_has_any(indicators, ['x'])`` gives over
    ``records`` (one indicator only: a filter on several would count a record
    once per indicator). Sorted by ``indicator, res, month`` so a read for one
    indicator, one resolution and a period touches a small slice.
``county_indicator_month_counts``
    ``county_month_counts`` with ``indicator`` in front, built the same way: the
    coarse (county) part of a one-indicator heatmap read.
``indicator_sets``
    ``set_id``, ``indicators``: each distinct indicator list of ``records``
    (``list_sort(list_distinct(indicators))``, non-empty) once, numbered.
``cell_indicator_sets``
    One row per ``dest_res`` x ``dest_cell`` (the record's own, finest cell) x
    ``month`` x ``trafficking_type`` x ``record_type`` x ``source_kind`` x
    ``dest_county_fips`` (region, task force) x ``set_id``: ``records``,
    ``victims``; records with a cell and at least one indicator. Sorted by
    ``dest_cell``, so the records inside one map cell are a few short ranges
    (one per resolution finer than it). A cell's breakdown under an indicator
    filter reads it instead of ``records``: the sets holding a wanted indicator
    are picked from the small ``indicator_sets``, and what co-occurs with them
    is the sets' lists, unnested once per set, not once per record.
``cell_build_state``
    One row: the fingerprint of ``records`` and ``batches`` these tables were
    built from (``FINGERPRINT_SQL`` of ``routes/contract/tables.py``).
    ``query/cells.py`` reads ``records`` instead while it does not match (after
    an ingest or a retention delete without a rebuild) or is missing, so a stale
    build never changes a result, only its speed.

Column names match ``records`` so :meth:`query.filters.Filters.where` applies to
every table unchanged, except the ``indicators`` filter: the query layer reads
the ``*indicator*`` tables with ``indicator = ?`` when it names exactly one
indicator, and ``records`` when it names several.
"""

from __future__ import annotations

import logging

import duckdb

from geo.grid import MAP_RESOLUTIONS, sql_cell_to_parent
from pipelines.build import table_timer
from routes.contract.sql import SQL, compose, ident, idents, join
from routes.contract.tables import DIMENSIONS, FINGERPRINT_SQL

log = logging.getLogger(__name__)

#: The tables this step owns (``cell_build_state`` last: it is written after the others).
TABLES = (
    "cell_counts", "county_month_counts", "cell_indicator_counts", "county_indicator_month_counts",
    "indicator_sets", "cell_indicator_sets", "cell_build_state",
)

_DIMENSIONS = idents(DIMENSIONS)


def _per_resolution_select(*, source: str, counts: SQL, keys: SQL | None = None) -> SQL:
    """``source`` rows per map resolution, cell (a record's parent there) and dimension.

    A row counts at ``res`` only when its destination was indexed at ``dest_res >= res``.
    Plain SQL that DuckDB and Spark SQL both run (``GROUP BY ALL``, ``::`` casts,
    64-bit ``&``/``|``).
    """
    parts = (
        compose("SELECT {keys}{res}::TINYINT AS res, {cell} AS cell, {dims}, {counts} FROM {source} "
                "WHERE dest_cell IS NOT NULL AND dest_res >= {res} GROUP BY ALL",
                keys=keys or SQL(""), res=res, cell=sql_cell_to_parent("dest_cell", res), dims=_DIMENSIONS, counts=counts,
                source=ident(source))
        for res in MAP_RESOLUTIONS
    )
    return join(parts, "\nUNION ALL\n")


def cell_counts_select() -> SQL:
    """The query behind ``cell_counts``; the DuckDB and the Spark build both run this text."""
    return _per_resolution_select(
        source="records", counts=SQL("count(*) AS records, coalesce(sum(victim_count), 0) AS victims")
    )


def _cell_counts_sql() -> SQL:
    return compose("CREATE OR REPLACE TABLE cell_counts AS SELECT * FROM ({select}) ORDER BY res, month, cell",
                   select=cell_counts_select())


#: The query behind ``county_month_counts``; the DuckDB and the Spark build both run this text.
COUNTY_MONTH_SELECT = compose("""
SELECT {dims}, dest_res, count(*) AS records, coalesce(sum(victim_count), 0) AS victims
FROM records
WHERE dest_county_fips IS NOT NULL
GROUP BY ALL
""", dims=_DIMENSIONS)

_COUNTY_SQL = compose("""
CREATE OR REPLACE TABLE county_month_counts AS{select}ORDER BY month, dest_county_fips
""", select=COUNTY_MONTH_SELECT)


# One row per (distinct indicator of a record, its finest cell, every dimension): the
# base both indicator tables group from, so ``records`` is unnested once.
_INDICATOR_BASE_SQL = compose("""
CREATE OR REPLACE TEMP TABLE _cell_indicator_base AS
SELECT indicator, dest_cell, dest_res, {dims},
       count(*)::BIGINT AS records, sum(victim_count)::BIGINT AS victims
FROM (
    SELECT unnest(list_distinct(indicators)) AS indicator, dest_cell, dest_res, {dims}, victim_count
    FROM records
    WHERE (dest_cell IS NOT NULL OR dest_county_fips IS NOT NULL) AND len(indicators) > 0
)
WHERE indicator IS NOT NULL
GROUP BY ALL
""", dims=_DIMENSIONS)


_INDICATOR_COUNTS = SQL("sum(records)::BIGINT AS records, coalesce(sum(victims), 0)::BIGINT AS victims")


def cell_indicator_counts_select() -> SQL:
    """The query behind ``cell_indicator_counts`` (from ``_cell_indicator_base``); both engines run it."""
    return _per_resolution_select(source="_cell_indicator_base", keys=SQL("indicator, "), counts=_INDICATOR_COUNTS)


def create_sorted(con: duckdb.DuckDBPyConnection, table: str, select: SQL, *, order: tuple[str, ...]) -> None:
    """``CREATE`` ``table`` from ``select`` sorted by ``order``, in two passes: aggregate, then sort.

    One statement that runs the per-resolution aggregates and the sort together ran out of
    memory on the 10 M demo under the build's memory limit (``ROUTES_BUILD_MEMORY``, 3GB:
    ``cell_indicator_counts``, 25 M rows); in two passes each operator spills on its own
    and the same build finishes (``docs/SCALE.md``). The table's rows and order are the same.
    """
    staging = ident(f"_{table}_unsorted")
    con.execute(compose("CREATE OR REPLACE TEMP TABLE {staging} AS {select}", staging=staging, select=select))
    con.execute(compose("CREATE OR REPLACE TABLE {table} AS SELECT * FROM {staging} ORDER BY {order}",
                        table=ident(table), staging=staging, order=idents(order)))
    con.execute(compose("DROP TABLE {staging}", staging=staging))


def _cell_indicator_sql() -> SQL:
    return compose(
        "CREATE OR REPLACE TABLE cell_indicator_counts AS SELECT * FROM ({select}) ORDER BY indicator, res, month, cell",
        select=cell_indicator_counts_select(),
    )


#: The query behind ``county_indicator_month_counts``; both engines run it.
COUNTY_INDICATOR_SELECT = compose("""
SELECT indicator, {dims}, dest_res, sum(records)::BIGINT AS records, coalesce(sum(victims), 0)::BIGINT AS victims
FROM _cell_indicator_base
WHERE dest_county_fips IS NOT NULL
GROUP BY ALL
""", dims=_DIMENSIONS)

_COUNTY_INDICATOR_SQL = compose("""
CREATE OR REPLACE TABLE county_indicator_month_counts AS{select}ORDER BY indicator, month, dest_county_fips
""", select=COUNTY_INDICATOR_SELECT)


# Records with a cell and an indicator, per finest cell, dimension and indicator list
# (sorted and de-duplicated): the lists are numbered from this one pass.
_SET_BASE_SQL = compose("""
CREATE OR REPLACE TEMP TABLE _indicator_set_base AS
SELECT dest_res, dest_cell, {dims}, list_sort(list_distinct(indicators)) AS indicators,
       count(*)::BIGINT AS records, coalesce(sum(victim_count), 0)::BIGINT AS victims
FROM records
WHERE dest_cell IS NOT NULL AND len(list_distinct(indicators)) > 0
GROUP BY ALL
""", dims=_DIMENSIONS)

#: The query behind ``indicator_sets`` (from ``_indicator_set_base``); both engines run it.
INDICATOR_SETS_SELECT = SQL("""
SELECT (row_number() OVER (ORDER BY indicators) - 1)::INTEGER AS set_id, indicators
FROM (SELECT DISTINCT indicators FROM _indicator_set_base)
""")

_INDICATOR_SETS_SQL = compose("""
CREATE OR REPLACE TABLE indicator_sets AS{select}""", select=INDICATOR_SETS_SELECT)

#: The query behind ``cell_indicator_sets``; both engines run it.
CELL_INDICATOR_SETS_SELECT = compose("""
SELECT b.dest_res, b.dest_cell, {dims}, s.set_id,
       b.records, b.victims
FROM _indicator_set_base AS b JOIN indicator_sets AS s USING (indicators)
""", dims=join((compose("b.{d}", d=ident(d)) for d in DIMENSIONS), ", "))

_CELL_INDICATOR_SETS_SQL = compose("""
CREATE OR REPLACE TABLE cell_indicator_sets AS{select}ORDER BY b.dest_cell
""", select=CELL_INDICATOR_SETS_SELECT)


def build(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Recreate the tables of :data:`TABLES` from ``records``.

    Parameters
    ----------
    con
        A read-write connection (``routes.warehouse.write_snapshot``).

    Returns
    -------
    dict
        Rows written per table.
    """
    with table_timer("cell_counts"):
        create_sorted(con, "cell_counts", cell_counts_select(), order=("res", "month", "cell"))
    with table_timer("county_month_counts"):
        con.execute(_COUNTY_SQL)
    with table_timer("cell_indicator_counts"):
        con.execute(_INDICATOR_BASE_SQL)
        create_sorted(con, "cell_indicator_counts", cell_indicator_counts_select(),
                      order=("indicator", "res", "month", "cell"))
    with table_timer("county_indicator_month_counts"):
        con.execute(_COUNTY_INDICATOR_SQL)
        con.execute("DROP TABLE IF EXISTS _cell_indicator_base")
    with table_timer("cell_indicator_sets"):
        con.execute(_SET_BASE_SQL)
        con.execute(_INDICATOR_SETS_SQL)
        con.execute(_CELL_INDICATOR_SETS_SQL)
        con.execute("DROP TABLE IF EXISTS _indicator_set_base")
    con.execute(compose("CREATE OR REPLACE TABLE cell_build_state AS {state}", state=FINGERPRINT_SQL))
    counts: dict[str, int] = {}
    for table in TABLES:
        row = con.execute(compose("SELECT count(*) FROM {table}", table=ident(table))).fetchone()
        counts[table] = int(row[0]) if row else 0
    log.info("Built aggregates: %s", ", ".join(f"{t} {n:,} rows" for t, n in counts.items()))
    return counts
