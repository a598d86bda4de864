"""Part of ``pipelines.build_flows`` on Spark: ``flow_sources``, ``flow_facts`` (and all-time), ``flow_area_facts``, the edges.

Not yet a step of :data:`pipelines.spark_build.SPARK_STEPS`: ``release load`` swaps a
step's tables in together, and the flow step has more tables (``flows`` at every
level, the cubes, ``location_totals``, ``coordination_pairs``, ``route_shifts``)
that do not run on Spark yet. What is here is held equal to DuckDB's tables by
``tests/test_spark_flows.py``.

One definition: the queries are ``geo.flow_places``'s own text
(:func:`~geo.flow_places.sql_flow_records`, :func:`~geo.flow_places.sql_flow_facts`,
:func:`~geo.flow_places.sql_flow_area_facts`), with the DuckDB spellings
Spark names differently rewritten by :func:`duckdb_to_spark` (``list_contains`` is
``array_contains``, the empty list ``[]`` is ``array()``, ``arg_min`` is ``min_by``).
H3 parents are the shared 64-bit arithmetic (``geo.grid.sql_cell_to_parent``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo import highways
from geo.flow_places import (
    ALL_TIME_TABLES,
    AREA_FACTS_TABLE,
    FACTS_TABLE,
    FLOW_LEVELS,
    SOURCES_TABLE,
    sql_all_time,
    sql_flow_area_facts,
    sql_flow_facts,
    sql_flow_records,
    sql_level_edges,
    sql_with_source_bits,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

#: DuckDB spellings in the shared flow SQL and Spark's for the same function.
_SPELLINGS = (
    ("list_contains(", "array_contains("), (", [])", ", array())"), ("arg_min(", "min_by("),
    ("list_sort(list_distinct(list(", "array_sort(array_distinct(collect_list("), ("len(source_ids)", "size(source_ids)"), ("::VARCHAR", "::STRING"),
    # the corridor segments' union of the edges' source lists
    ("list_sort(list_distinct(flatten(list(", "array_sort(array_distinct(flatten(collect_list("),
    ("len(list_distinct(flatten(list(", "size(array_distinct(flatten(collect_list("),
)

SOURCES_SELECT = (
    "SELECT (row_number() OVER (ORDER BY source_id) - 1)::INTEGER AS bit, source_id "
    "FROM (SELECT DISTINCT source_id FROM records)"
)  # the DuckDB step's text (pipelines.build_flows._build_flows)


def duckdb_to_spark(sql: str) -> str:
    """The shared flow SQL in Spark's spelling.

    >>> duckdb_to_spark("list_contains(coalesce(r.indicators, []), 'minor')")
    "array_contains(coalesce(r.indicators, array()), 'minor')"
    """
    for duck, spark in _SPELLINGS:
        sql = sql.replace(duck, spark)
    return sql


def register_flow_records(spark: SparkSession) -> object:
    """Register ``flow_entry_candidates``, ``flow_sources`` and ``_flow_records`` (persisted); return ``flow_sources``."""
    spark.createDataFrame(highways.entry_candidates()).createOrReplaceTempView("flow_entry_candidates")
    sources = spark.sql(SOURCES_SELECT).persist()
    sources.createOrReplaceTempView(SOURCES_TABLE)
    records_sql = duckdb_to_spark(sql_with_source_bits(f"({sql_flow_records()})"))
    spark.sql(records_sql).persist().createOrReplaceTempView("_flow_records")
    return sources


def flow_fact_tables(spark: SparkSession) -> dict[str, object]:
    """Spark frames of ``flow_sources``, ``flow_facts`` and ``flow_area_facts`` over the registered lake.

    Registers the views ``flow_entry_candidates``, ``flow_sources``, ``_flow_records``
    (:func:`register_flow_records`) and ``flow_facts`` (each later query reads the one before, as in DuckDB).
    """
    sources = register_flow_records(spark)
    facts = spark.sql(sql_flow_facts()).persist()
    facts.createOrReplaceTempView(FACTS_TABLE)
    area = spark.sql(sql_flow_area_facts())
    all_time = spark.sql(sql_all_time(FACTS_TABLE))
    return {SOURCES_TABLE: sources, FACTS_TABLE: facts, AREA_FACTS_TABLE: area, ALL_TIME_TABLES[FACTS_TABLE]: all_time}


def flow_edges(spark: SparkSession) -> object:
    """The edges of every level of :data:`~geo.flow_places.FLOW_LEVELS` (``_flow_edges`` of the DuckDB step), without ``source_bits``.

    Call after :func:`flow_fact_tables` (it reads ``_flow_records``). The DuckDB
    step's edges also carry ``source_bits``, a DuckDB ``BIT`` from
    ``bitstring_agg`` that Spark has no type for: not here yet.
    """
    union = "\nUNION ALL\n".join(duckdb_to_spark(sql_level_edges(level)) for level in FLOW_LEVELS)
    return spark.sql(union)
