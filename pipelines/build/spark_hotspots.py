"""``pipelines.build.hotspots`` on Spark: ``hotspot_classes`` from the lake.

The heavy part of the step is reading ``records``: the window (first month, last
day), the records per cell and period (the space-time cube) and the county of each
cell. Spark does those, with the DuckDB step's own text
(:data:`~pipelines.build.hotspots.WINDOW_SQL`,
:func:`~pipelines.build.hotspots.cell_counts_sql`,
:func:`~pipelines.build.hotspots.cell_county_counts_sql`; Spark SQL takes the same
``?`` parameters). Only the pick of each cell's county is Spark's own text
(:data:`SPARK_CELL_PLACES_PICK`): DuckDB's ``first(x ORDER BY ...)`` has no Spark
spelling, so a ``row_number()`` window does it.

The statistics (Gi* with esda, Mann-Kendall, the patterns) run on the driver, on
the aggregated cube, through the very function the DuckDB step calls
(:func:`~pipelines.build.hotspots.hotspots_of`). Not a pandas UDF: each of the
four analyses (res 5 and 6, months and quarters) needs its whole cube at once
(Gi* neighbourhoods span the grid), so a grouped UDF would split the work four
ways at most while shipping the same cube; and the cube is small (cells holding
records × at most 36 months), however many records there are.

``meta``'s ``data_as_of``, which can move the window's end later than the records
reach, comes from the lake's manifest (``python -m pipelines lake export`` copies it).

Held equal to the DuckDB step's table, row for row, by ``tests/test_spark_hotspots.py``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.build import hotspots as build_hotspots
from pipelines.build.hotspots import (
    WINDOW_SQL,
    cell_counts_sql,
    cell_county_counts_sql,
    hotspots_of,
    step_end,
    window_periods,
)
from pipelines.build.lake import read_manifest

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

TABLE = "hotspot_classes"

#: :data:`~pipelines.build.hotspots.CELL_PLACES_PICK` in Spark SQL: the county with most
#: records per cell, ties by FIPS (DuckDB sorts NULLs last by default, Spark first: said here).
SPARK_CELL_PLACES_PICK = """
        SELECT cell, dest_county_fips AS county_fips, dest_region AS region, dest_task_force AS task_force
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY cell ORDER BY n DESC, dest_county_fips ASC NULLS LAST) AS pick
            FROM by_county
        )
        WHERE pick = 1
"""

#: The table's columns and types: the DuckDB step's ``CREATE TABLE`` in Spark's spelling.
SCHEMA = re.sub(r"\bVARCHAR\b", "STRING", build_hotspots._DDL.split("(", 1)[1].rsplit(")", 1)[0]).strip()


def lake_data_as_of(lake: Path) -> date | None:
    """The ``data_as_of`` the lake's warehouse held when it was exported (None if unset or an older lake)."""
    return data_as_of_in(read_manifest(lake))


def data_as_of_in(manifest: dict[str, Any]) -> date | None:
    """The ``data_as_of`` of a lake's manifest (None if unset or an older lake)."""
    value = manifest.get("data_as_of")
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def hotspot_frame(spark: SparkSession, *, data_as_of: date | None, permutations: int = 0) -> pd.DataFrame:
    """Every row of ``hotspot_classes`` from the lake's ``records`` view (``spark_build.register_lake``)."""
    row = spark.sql(WINDOW_SQL).first()
    first_month, last_day = (row[0], row[1]) if row is not None else (None, None)

    def cell_counts(res: int, step: str, first: date, last: date) -> pd.DataFrame:
        return _to_pandas(spark.sql(cell_counts_sql(res, step), args=[res, first, step_end(last, step=step)]))

    def cell_places(res: int, first: date, last: date) -> pd.DataFrame:
        sql = f"WITH by_county AS ({cell_county_counts_sql(res)}) {SPARK_CELL_PLACES_PICK}"
        return _to_pandas(spark.sql(sql, args=[res, first, last]))

    return hotspots_of(
        window=lambda step: window_periods(first_month, last_day, data_as_of, step=step),
        cell_counts=cell_counts, cell_places=cell_places, permutations=permutations,
    )


def hotspot_classes(spark: SparkSession, *, data_as_of: date | None) -> DataFrame:
    """``hotspot_classes`` as a Spark frame with the DuckDB table's column types."""
    frame = hotspot_frame(spark, data_as_of=data_as_of)
    columns = [c.split()[0] for c in SCHEMA.split(",")]
    texts = {c.split()[0] for c in SCHEMA.split(",") if c.split()[1] == "STRING"}
    rows = [
        tuple(_plain(value, text=name in texts) for name, value in zip(columns, row, strict=True))
        for row in frame[columns].itertuples(index=False, name=None)
    ]
    return spark.createDataFrame(rows, schema=SCHEMA)


def _to_pandas(frame: DataFrame) -> pd.DataFrame:
    return pd.DataFrame([r.asDict() for r in frame.collect()], columns=frame.columns)


def _plain(value: Any, *, text: bool) -> Any:
    """A numpy or pandas scalar as the Python value Spark's row conversion takes (a missing text is None)."""
    if text:
        return None if value is None or pd.isna(value) else str(value)
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value.item() if hasattr(value, "item") else value
