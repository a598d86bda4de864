"""``pipelines.build.flows`` on Spark: every table of the flow step but ``route_shifts``.

``flow_sources``, ``flow_facts``, ``flow_area_facts``, the two cubes
(``flow_area_cube``, ``flow_res4_cube``), ``flows``, the ``*_all_time`` copies,
``location_totals`` and ``coordination_pairs``. ``route_shifts`` also holds the
corridor step's segment rows, so on Spark it is made with the corridors
(:func:`pipelines.build.spark_corridors.route_shifts`). Held equal to DuckDB's tables,
row for row, by ``tests/test_spark_flows.py``.

``source_bits``: DuckDB's ``BIT`` (from ``bitstring_agg``, combined by ``bit_or``)
has no Spark type. Spark computes the same bits as a string of ``0``/``1`` (the
text form of a DuckDB ``BIT``: character ``i`` is source ``i``), and ``release
load`` casts it to ``BIT``, as it casts every column to the DuckDB step's type.
The two aggregates are rewritten by :func:`duckdb_to_spark` into Spark
higher-order functions over the set of bits (or bit strings) of a group.

The place names of ``flows`` (Python: :func:`pipelines.build.flows.flow_place_ids`)
are made on the driver for the distinct ends only, and joined by the step's own
``FLOWS_SELECT``.

One definition: the queries are ``geo.flow_places``'s own text
(:func:`~geo.flow_places.sql_flow_records`, :func:`~geo.flow_places.sql_flow_facts`,
:func:`~geo.flow_places.sql_flow_area_facts`), with the DuckDB spellings
Spark names differently rewritten by :func:`duckdb_to_spark` (``list_contains`` is
``array_contains``, the empty list ``[]`` is ``array()``, ``arg_min`` is ``min_by``).
H3 parents are the shared 64-bit arithmetic (``geo.grid.sql_cell_to_parent``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo import highways
from geo.flow_places import area_places, sql_flow_records
from pipelines.build.flows import (
    CELL_ENDS_SQL,
    FLOWS_SELECT,
    OUTSIDE_ENDS_SQL,
    coordination_pairs_select,
    flow_place_ids,
)
from routes.contract.flow_tables import (
    FLOW_LEVELS,
    SOURCES_TABLE,
    sql_all_time,
    sql_flow_area_cube,
    sql_flow_cell_cube,
    sql_level_edges,
    sql_with_source_bits,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

#: DuckDB spellings in the shared flow SQL and Spark's for the same function.
_SPELLINGS = (
    ("list_contains(", "array_contains("), (", [])", ", array())"), ("arg_min(", "min_by("),
    ("list_sort(list_distinct(list(", "array_sort(array_distinct(collect_list("), ("len(source_ids)", "size(source_ids)"), ("::VARCHAR", "::STRING"),
    # the corridor segments' union of the edges' source lists
    ("list_sort(list_distinct(flatten(list(", "array_sort(array_distinct(flatten(collect_list("),
    ("len(list_distinct(flatten(list(", "size(array_distinct(flatten(collect_list("),
    ("len(p.source_ids)", "size(p.source_ids)"),  # coordination_pairs
    # a BIT's OR over a group: OR the group's distinct bit strings, starting from one of them
    ("bit_or(source_bits)",
     "aggregate(collect_set(source_bits), min(source_bits), (acc, s) -> concat_ws('', "
     "transform(sequence(1, length(acc)), i -> IF(substr(acc, i, 1) = '1' OR substr(s, i, 1) = '1', '1', '0'))))"),
)
#: ``bitstring_agg(bit, 0, top)``: a string of ``top + 1`` zeros with a one at each bit of the group.
_BITSTRING_AGG = re.compile(r"bitstring_agg\((\w+), 0, (\d+)\)")

SOURCES_SELECT = (
    "SELECT (row_number() OVER (ORDER BY source_id) - 1)::INTEGER AS bit, source_id "
    "FROM (SELECT DISTINCT source_id FROM records)"
)  # the DuckDB step's text (pipelines.build.flows._build_flows)


def duckdb_to_spark(sql: str) -> str:
    """The shared flow SQL in Spark's spelling.

    >>> duckdb_to_spark("list_contains(coalesce(r.indicators, []), 'minor')")
    "array_contains(coalesce(r.indicators, array()), 'minor')"
    """
    for duck, spark in _SPELLINGS:
        sql = sql.replace(duck, spark)
    return _BITSTRING_AGG.sub(
        lambda m: f"aggregate(collect_set({m[1]}), repeat('0', {int(m[2]) + 1}), "
        "(acc, b) -> overlay(acc PLACING '1' FROM b + 1 FOR 1))",
        sql,
    )


def register_flow_records(spark: SparkSession) -> object:
    """Register ``flow_entry_candidates``, ``flow_sources`` and ``_flow_records`` (persisted); return ``flow_sources``."""
    spark.createDataFrame(highways.entry_candidates()).createOrReplaceTempView("flow_entry_candidates")
    sources = spark.sql(SOURCES_SELECT).persist()
    sources.createOrReplaceTempView(SOURCES_TABLE)
    records_sql = duckdb_to_spark(sql_with_source_bits(f"({sql_flow_records()})"))
    spark.sql(records_sql).persist().createOrReplaceTempView("_flow_records")
    return sources


#: ``_flow_places``'s types (:func:`pipelines.build.flows.flow_place_ids`).
PLACES_SCHEMA = "kind STRING, id STRING, name STRING, lat DOUBLE, lng DOUBLE"


def flow_sources(spark: SparkSession, lake: Path | None = None) -> DataFrame:
    """``flow_sources``; registers the flow records first (:func:`register_flow_records`)."""
    return register_flow_records(spark)  # type: ignore[return-value]


def source_bit_count(spark: SparkSession) -> int:
    """Rows of the registered ``flow_sources``: the length of every ``source_bits``."""
    return int(spark.sql(f"SELECT count(*) AS n FROM {SOURCES_TABLE}").collect()[0]["n"])  # noqa: S608


def area_cube_select(spark: SparkSession, lake: Path | None = None) -> str:
    """``flow_area_cube``'s query (the step's text) for the registered sources."""
    return duckdb_to_spark(sql_flow_area_cube(source_bit_count(spark)))


def cell_cube_select(spark: SparkSession, lake: Path | None = None) -> str:
    """``flow_res4_cube``'s query (the step's text) for the registered sources."""
    return duckdb_to_spark(sql_flow_cell_cube(source_bit_count(spark)))


def all_time_select(table: str) -> str:
    """``ALL_TIME_TABLES[table]``'s query in Spark's spelling."""
    return duckdb_to_spark(sql_all_time(table))


def flows_frame(spark: SparkSession, lake: Path | None = None) -> DataFrame:
    """``flows``: the edges of every level with ``source_bits``, named on the driver.

    Registers ``_flow_edges`` (persisted) and ``_flow_places`` (the areas, and the
    distinct out-of-state origins and cells of the edges, named by
    :func:`pipelines.build.flows.flow_place_ids`).
    """
    bits = source_bit_count(spark)
    union = "\nUNION ALL\n".join(duckdb_to_spark(sql_level_edges(level, bits=bits)) for level in FLOW_LEVELS)
    spark.sql(union).persist().createOrReplaceTempView("_flow_edges")
    outside = [r[0] for r in spark.sql(OUTSIDE_ENDS_SQL).collect()]
    cells = [r[0] for r in spark.sql(CELL_ENDS_SQL).collect()]
    places = flow_place_ids(outside, cells)
    spark.createDataFrame(frame_rows(places, ["kind", "id", "name", "lat", "lng"]), schema=PLACES_SCHEMA) \
        .createOrReplaceTempView("_flow_places")
    return spark.sql(duckdb_to_spark(FLOWS_SELECT))


def coordination_pairs_frame(spark: SparkSession, lake: Path | None = None) -> DataFrame:
    """``coordination_pairs`` from the registered ``flows``, the area names registered as ``_areas``."""
    rows = frame_rows(area_places(), ["kind", "id", "name", "lat", "lng"])
    spark.createDataFrame(rows, schema=PLACES_SCHEMA).createOrReplaceTempView("_areas")
    return spark.sql(duckdb_to_spark(coordination_pairs_select()))


def frame_rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    """``frame``'s rows as plain Python values for ``createDataFrame``: numpy scalars unwrapped, NaN as NULL.

    NaN becomes NULL because DuckDB stores a pandas NaN as NULL, and the tables must be the same.
    """
    def plain(value: Any) -> Any:
        value = value.item() if hasattr(value, "item") else value
        if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            return None
        return value

    return [tuple(plain(v) for v in row) for row in frame[columns].itertuples(index=False, name=None)]
