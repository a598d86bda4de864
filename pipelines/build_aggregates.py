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

Column names match ``records`` so :meth:`query.filters.Filters.where` applies to
both tables unchanged (except the ``indicators`` filter: the query layer reads
``records`` when it is set).
"""

from __future__ import annotations

import logging

import duckdb

from geo.grid import MAP_RESOLUTIONS, sql_cell_to_parent

log = logging.getLogger(__name__)

#: The tables this step owns.
TABLES = ("cell_counts", "county_month_counts")

_DIMENSIONS = (
    "month, trafficking_type, record_type, source_kind, "
    "dest_county_fips, dest_region, dest_task_force"
)


def _cell_counts_sql() -> str:
    parts = [
        f"SELECT {res}::TINYINT AS res, {sql_cell_to_parent('dest_cell', res)} AS cell, "  # noqa: S608 (ints from geo.grid)
        f"{_DIMENSIONS}, count(*) AS records, coalesce(sum(victim_count), 0) AS victims "
        f"FROM records WHERE dest_cell IS NOT NULL AND dest_res >= {res} "
        f"GROUP BY ALL"
        for res in MAP_RESOLUTIONS
    ]
    union = "\nUNION ALL\n".join(parts)
    return f"CREATE OR REPLACE TABLE cell_counts AS SELECT * FROM ({union}) ORDER BY res, month, cell"  # noqa: S608


_COUNTY_SQL = f"""
CREATE OR REPLACE TABLE county_month_counts AS
SELECT {_DIMENSIONS}, dest_res, count(*) AS records, coalesce(sum(victim_count), 0) AS victims
FROM records
WHERE dest_county_fips IS NOT NULL
GROUP BY ALL
ORDER BY month, dest_county_fips
"""  # noqa: S608 (fixed text)


def build(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Recreate ``cell_counts`` and ``county_month_counts`` from ``records``.

    Parameters
    ----------
    con
        A read-write connection (``routes.warehouse.write_snapshot``).

    Returns
    -------
    dict
        Rows written per table.
    """
    con.execute(_cell_counts_sql())
    con.execute(_COUNTY_SQL)
    counts: dict[str, int] = {}
    for table in TABLES:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (fixed names)
        counts[table] = int(row[0]) if row else 0
    log.info("Built aggregates: %s", ", ".join(f"{t} {n:,} rows" for t, n in counts.items()))
    return counts
