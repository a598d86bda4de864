"""Build step: the pre-aggregates the trend readers and the filter guard read.

``query/trends.py`` (headline figures, monthly series, county rates, rankings)
and ``query.suppression.guard_filters`` (which every filtered reader calls) need
counts of *every* record (with or without a destination county or a month) under
any combination of the shared filters, indicators included. Scanning ``records``
for each of them costs a full scan per call; these tables hold the same counts
grouped by every filter dimension, so a call reads a few thousand rows instead.

Tables (dropped and recreated on each run; idempotent):

``trend_counts``
    One row per ``month`` x ``trafficking_type`` x ``record_type`` x
    ``source_kind`` x ``dest_county_fips`` x ``dest_region`` x
    ``dest_task_force`` (NULLs kept as their own groups, so every record counts
    exactly once): ``records`` (BIGINT), ``victims`` (``sum(victim_count)``,
    NULL when every record of the group has none), ``minors`` (records with
    ``minor_involved``). About a tenth of the rows of ``records`` at 1 M.
``trend_indicator_counts``
    The same with one more dimension, ``indicator_mask`` (about 40 % of the rows
    of ``records`` at 1 M, so only read when a filter names indicators). Bit
    ``bit`` set when the record's ``indicators`` list holds the indicator of
    ``trend_indicator_bits`` with that bit (0 for an empty or NULL list). The
    column names match ``records`` so :meth:`query.filters.Filters.where` (side
    ``dest``) applies unchanged, except the ``indicators`` filter, which becomes
    ``(indicator_mask & mask) <> 0``.
``trend_indicator_bits``
    ``indicator``, ``bit`` (0..62), ``complete``: one row per distinct indicator
    found in ``records`` (the most frequent first). ``complete`` is false when
    there were more than 63 distinct indicators, so some have no bit: a filter on
    one of those must read ``records``.
``source_precision_counts``
    ``source_id``, ``precision`` (the destination precision, ``'origin only'``
    when there is none), ``records``: the geocoding-precision mix of the Data
    intake page.
``trend_build_state``
    One row: the fingerprint of ``records`` and ``batches`` these tables were
    built from (:data:`routes.contract.tables.FINGERPRINT_SQL`) and ``build_id``, a new UUID per build
    (the query layer keys its per-build caches on it). The query layer (``query/aggregates.py``,
    with the same SQL) reads ``records`` instead whenever the fingerprint no
    longer matches, e.g. after an ingest or a retention delete without a rebuild.
"""

from __future__ import annotations

import logging

import duckdb

from pipelines.build import table_timer
from routes.contract.sql import SQL, compose, ident, idents, join, string_literal
from routes.contract.tables import DIMENSIONS, FINGERPRINT_SQL

log = logging.getLogger(__name__)

#: The tables this step owns.
TABLES = (
    "trend_counts", "trend_indicator_counts", "trend_indicator_bits", "source_precision_counts",
    "trend_build_state",
)

#: Bits available in the BIGINT mask.
MAX_BITS = 63

TREND_DIMENSIONS = DIMENSIONS

_BITS_SQL = compose("""
CREATE OR REPLACE TABLE trend_indicator_bits AS
WITH found AS (
    SELECT indicator, count(*) AS n
    FROM (SELECT unnest(indicators) AS indicator FROM records)
    WHERE indicator IS NOT NULL
    GROUP BY indicator
), ranked AS (
    SELECT indicator, (row_number() OVER (ORDER BY n DESC, indicator) - 1)::INTEGER AS bit FROM found
)
SELECT indicator, bit, (SELECT count(*) FROM found) <= {max_bits} AS complete
FROM ranked WHERE bit < {max_bits}
ORDER BY bit
""", max_bits=MAX_BITS)


def _mask_expression(con: duckdb.DuckDBPyConnection) -> SQL:
    """SQL for the indicator mask of one ``records`` row (``0::BIGINT`` when no bits)."""
    bits = con.execute("SELECT indicator, bit FROM trend_indicator_bits ORDER BY bit").fetchall()
    return mask_expression(bits)


def mask_expression(bits: list[tuple[str, int]], *, contains: str = "list_contains") -> SQL:
    """SQL for the indicator mask of one ``records`` row from ``(indicator, bit)`` pairs.

    ``contains`` names the engine's list-membership function (DuckDB's
    ``list_contains``, Spark's ``array_contains``); the rest is the same text on both.
    """
    if contains not in _CONTAINS:
        raise ValueError(f"contains must be one of {_CONTAINS!r}, not {contains!r}")
    if not bits:
        return SQL("0::BIGINT")
    terms = join((
        compose("(CASE WHEN {contains}(indicators, {name}) THEN {bit} ELSE 0 END)::BIGINT",
                contains=SQL(contains), name=string_literal(name), bit=1 << int(bit))
        for name, bit in bits
    ), " | ")
    return compose("coalesce({terms}, 0::BIGINT)", terms=terms)


#: The list-membership functions of the engines (DuckDB, Spark).
_CONTAINS = ("list_contains", "array_contains")


def trend_select(mask: SQL | None) -> SQL:
    """The query behind ``trend_counts`` (``mask`` None) and ``trend_indicator_counts``; both engines run it."""
    masked = compose(", {mask} AS indicator_mask", mask=mask) if mask else SQL("")
    return compose("""
SELECT {dims}{masked},
       count(*)::BIGINT AS records,
       sum(victim_count)::BIGINT AS victims,
       (count(*) FILTER (WHERE minor_involved))::BIGINT AS minors
FROM records
GROUP BY ALL
""", dims=idents(TREND_DIMENSIONS), masked=masked)


def _trend_sql(table: str, mask: SQL | None) -> SQL:
    return compose("""
CREATE OR REPLACE TABLE {table} AS{select}ORDER BY month, dest_county_fips
""", table=ident(table), select=trend_select(mask))


#: The query behind ``source_precision_counts``; both engines run it.
PRECISION_SELECT = SQL("""
SELECT source_id, coalesce(dest_precision, 'origin only') AS precision, count(*)::BIGINT AS records
FROM records GROUP BY ALL""")

_PRECISION_SQL = compose("""
CREATE OR REPLACE TABLE source_precision_counts AS{select} ORDER BY source_id
""", select=PRECISION_SELECT)


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
    with table_timer("trend_indicator_bits"):
        con.execute(_BITS_SQL)
    with table_timer("trend_counts"):
        con.execute(_trend_sql("trend_counts", None))
    with table_timer("trend_indicator_counts"):
        con.execute(_trend_sql("trend_indicator_counts", _mask_expression(con)))
    with table_timer("source_precision_counts"):
        con.execute(_PRECISION_SQL)
    con.execute(compose(
        "CREATE OR REPLACE TABLE trend_build_state AS SELECT *, uuid()::VARCHAR AS build_id FROM ({state})",
        state=FINGERPRINT_SQL,
    ))
    counts = {
        table: int(con.execute(compose("SELECT count(*) FROM {table}", table=ident(table))).fetchall()[0][0])
        for table in TABLES
    }
    log.info("Built trend aggregates: %s", ", ".join(f"{t} {n:,} rows" for t, n in counts.items()))
    return counts
