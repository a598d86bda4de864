"""``pipelines.build.moves`` on Spark: ``moves`` and ``circuits`` from the lake's identifiers.

The queries are the DuckDB step's own text
(:data:`~pipelines.build.moves.IDENTIFIERS_SELECT`,
:data:`~pipelines.build.moves.LINK_STEP_SELECT`,
:data:`~pipelines.build.moves.SIGHTINGS_SELECT`,
:func:`~pipelines.build.moves.moves_select`,
:data:`~pipelines.build.moves.CIRCUIT_SIGHTINGS_SELECT`) with the DuckDB spellings
Spark names differently rewritten by :func:`moves_to_spark`: a row tuple's distinct
count (``count(DISTINCT (a, b))``, which Spark counts as ``struct(a, b)``), ``*
EXCLUDE``, the list of a move's two sources, and the window as an interval
(``to_days(?)`` is ``make_dt_interval(?)``).

Linking identifiers into subjects (connected components) is the DuckDB step's
label propagation, round by round until no label changes; each round's labels are
checkpointed so the plan does not grow with the rounds. Mining the circuits runs on
the driver with the step's own function (:func:`~pipelines.build.moves.find_circuits`),
over the county sightings of subjects seen in three counties or more, as the DuckDB
step does. Held equal to the DuckDB step's tables, row for row, by
``tests/test_spark_moves.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from pipelines.build.matches import MAX_CASES_PER_TOKEN
from pipelines.build.moves import (
    CIRCUIT_SIGHTINGS_SELECT,
    IDENTIFIERS_SELECT,
    LINK_STEP_SELECT,
    MOVE_LEVELS,
    SIGHTINGS_SELECT,
    find_circuits,
    moves_select,
)
from pipelines.build.spark_flows import duckdb_to_spark, frame_rows
from routes import settings

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

_SPELLINGS = (
    ("count(DISTINCT (source_id, case_key))", "count(DISTINCT struct(source_id, case_key))"),
    ("ids.* EXCLUDE (kind, token, case_key, has_record)",
     "ids.source_id, ids.record_id, ids.seen_at, ids.county, ids.region, ids.task_force, ids.res4, ids.res5, ids.res6"),
    ("list_distinct(flatten(list([prev_source, source_id])))", "array_distinct(collect_set(prev_source) || collect_set(source_id))"),
    ("to_days(?)", "make_dt_interval(?, 0, 0, 0)"),
    ("len(_sources)", "size(_sources)"),
)

#: ``circuits``'s types (the DuckDB step's ``CREATE TABLE``).
CIRCUITS_SCHEMA = (
    "rank INT, circuit_id STRING, shape STRING, places ARRAY<STRING>, n_places INT, tokens INT, "
    "cross_source_tokens INT, sources INT, median_dwell_days ARRAY<DOUBLE>"
)
_CIRCUIT_COLUMNS = ["rank", "circuit_id", "shape", "places", "n_places", "tokens", "cross_source_tokens",
                    "sources", "median_dwell_days"]


def moves_to_spark(sql: str) -> str:
    """The moves step's SQL in Spark's spelling (then :func:`~pipelines.build.spark_flows.duckdb_to_spark`'s)."""
    for duck, spark in _SPELLINGS:
        sql = sql.replace(duck, spark)
    return duckdb_to_spark(sql)


def register_sightings(spark: SparkSession, *, max_cases_per_token: int = MAX_CASES_PER_TOKEN) -> int:
    """Register ``_sightings`` (persisted): identifiers linked into subjects; return the rounds taken."""
    ids = spark.sql(moves_to_spark(IDENTIFIERS_SELECT), args=[max_cases_per_token]).persist()
    ids.createOrReplaceTempView("_move_ids")
    edges = spark.sql(
        "SELECT DISTINCT node, dense_rank() OVER (ORDER BY source_id, record_id) AS rec FROM _move_ids"
    ).localCheckpoint()
    edges.createOrReplaceTempView("_move_edges")
    labels = spark.sql("SELECT DISTINCT node, node AS label FROM _move_edges").localCheckpoint()
    rounds = 0
    while True:
        rounds += 1
        labels.createOrReplaceTempView("_move_labels")
        following = spark.sql(LINK_STEP_SELECT).localCheckpoint()
        following.createOrReplaceTempView("_move_labels_next")
        changed = spark.sql(
            "SELECT count(*) AS n FROM _move_labels_next AS n JOIN _move_labels AS l USING (node) "
            "WHERE n.label <> l.label"
        ).collect()[0]["n"]
        labels = following
        if changed == 0:
            break
    labels.createOrReplaceTempView("_move_labels")
    spark.sql(SIGHTINGS_SELECT).persist().createOrReplaceTempView("_sightings")
    ids.unpersist()
    return rounds


def moves(spark: SparkSession, *, window_days: int | None = None, max_cases_per_token: int = MAX_CASES_PER_TOKEN) -> DataFrame:
    """``moves`` over the registered lake; registers ``_sightings`` first (:func:`register_sightings`)."""
    window = settings.moves_window_days() if window_days is None else window_days
    if window < 1:
        raise ValueError(f"window_days must be at least 1, not {window!r}")
    register_sightings(spark, max_cases_per_token=max_cases_per_token)
    return spark.sql(moves_to_spark(moves_select()), args=[window] * len(MOVE_LEVELS))


def circuits(spark: SparkSession, *, window_days: int | None = None, min_tokens: int | None = None) -> DataFrame:
    """``circuits`` from the registered ``_sightings``, mined on the driver (:func:`~pipelines.build.moves.find_circuits`)."""
    window = settings.moves_window_days() if window_days is None else window_days
    k = settings.circuit_min_tokens() if min_tokens is None else min_tokens
    query = spark.sql(CIRCUIT_SIGHTINGS_SELECT)
    rows = pd.DataFrame([r.asDict() for r in query.collect()], columns=query.columns)
    frame = find_circuits(rows, window_days=window, min_tokens=k)
    return spark.createDataFrame(frame_rows(frame, _CIRCUIT_COLUMNS), schema=CIRCUITS_SCHEMA)
