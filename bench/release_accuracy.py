"""How close the protected release is to the truth, per level (``python -m bench.release_accuracy``).

Compares the released tables with ``records`` of the warehouse that
``ROUTES_WAREHOUSE`` names (an administrator's check: it reads the records) and
prints the median relative error per level, over the cells whose true count is
not zero, and the largest relative error of the statewide monthly totals.
"""

from __future__ import annotations

import json
import sys

import duckdb
import pandas as pd

from geo import grid
from routes import warehouse
from routes.contract.sql import compose

#: Level name -> (true counts SQL over ``records``, released counts SQL), both giving ``k``, ``n``.
LEVELS = {
    "statewide-month": (
        "SELECT month::VARCHAR AS k, count(*) AS n FROM records WHERE month IS NOT NULL GROUP BY ALL",
        "SELECT month::VARCHAR AS k, sum(records) AS n FROM release_counts GROUP BY ALL",
    ),
    "region-month": (
        "SELECT month::VARCHAR || dest_region AS k, count(*) AS n FROM records WHERE dest_region IS NOT NULL GROUP BY ALL",
        "SELECT month::VARCHAR || dest_region AS k, sum(records) AS n FROM release_counts WHERE dest_region IS NOT NULL GROUP BY ALL",
    ),
    "county-year": (
        "SELECT year(month)::VARCHAR || dest_county_fips AS k, count(*) AS n FROM records "
        "WHERE dest_county_fips IS NOT NULL GROUP BY ALL",
        "SELECT year(month)::VARCHAR || dest_county_fips AS k, sum(records) AS n FROM release_counts "
        "WHERE dest_county_fips IS NOT NULL GROUP BY ALL",
    ),
    "county-month": (
        "SELECT month::VARCHAR || dest_county_fips AS k, count(*) AS n FROM records "
        "WHERE dest_county_fips IS NOT NULL GROUP BY ALL",
        "SELECT month::VARCHAR || dest_county_fips AS k, sum(records) AS n FROM release_counts "
        "WHERE dest_county_fips IS NOT NULL GROUP BY ALL",
    ),
    "res6-cell-year": (
        compose("SELECT year(month)::VARCHAR || {parent}::VARCHAR AS k, count(*) AS n "
                "FROM records WHERE dest_res >= 6 GROUP BY ALL", parent=grid.sql_cell_to_parent("dest_cell", 6)),
        "SELECT year(month)::VARCHAR || cell::VARCHAR AS k, sum(records) AS n FROM release_cells "
        "WHERE res = 6 AND cell IS NOT NULL GROUP BY ALL",
    ),
    "county-flow-year": (
        "SELECT year(month)::VARCHAR || origin_county_fips || dest_county_fips AS k, count(*) AS n FROM records "
        "WHERE origin_county_fips IS NOT NULL AND dest_county_fips IS NOT NULL GROUP BY ALL",
        "SELECT year(month)::VARCHAR || origin_county_fips || dest_county_fips AS k, sum(records) AS n "
        "FROM release_flows WHERE trafficking_type IS NULL GROUP BY ALL",
    ),
}


def level_errors(con: duckdb.DuckDBPyConnection, level: str) -> pd.DataFrame:
    """``k``, ``true``, ``released``, ``rel_error`` for every cell of ``level`` with a true count."""
    true_sql, released_sql = LEVELS[level]
    true = con.execute(true_sql).df().rename(columns={"n": "true"})
    released = con.execute(released_sql).df().rename(columns={"n": "released"})
    both = true.merge(released, on="k", how="left").fillna({"released": 0})
    both["rel_error"] = (both["released"] - both["true"]).abs() / both["true"]
    return both


def accuracy(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Median relative error per level, and the largest one of the statewide months."""
    out = {f"median {level}": float(level_errors(con, level)["rel_error"].median()) for level in LEVELS}
    out["max statewide-month"] = float(level_errors(con, "statewide-month")["rel_error"].max())
    return out


def main() -> int:
    with warehouse.open_snapshot() as con:
        print(json.dumps({k: round(v, 4) for k, v in accuracy(con).items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
