"""``pipelines.build.corridors`` on Spark: ``corridor_paths`` and ``corridor_segments`` from the lake.

What reads records runs on Spark with the DuckDB step's own text, through
:func:`pipelines.build.spark_flows.duckdb_to_spark`: the flow points per county-level
edge (:func:`~pipelines.build.corridors.edge_points_sql`, over
``geo.flow_places``'s flow records) and the segment loads
(:data:`~pipelines.build.corridors.SEGMENTS_SELECT`, over the county-level edges of
:func:`geo.flow_places.sql_level_edges`, the rows of ``flows`` it reads). The points
are rounded by ``floor(x * 100 + 0.5) / 100`` on both engines, not ``round()``,
whose halves DuckDB and Spark settle differently.

Routing runs on the driver, with the very functions the DuckDB step calls
(:func:`~pipelines.build.corridors.place_edge_points`,
:func:`~pipelines.build.corridors.edge_nodes_of`,
:func:`~pipelines.build.corridors.route_edge_nodes`): it needs networkx and the
highway graph, and what it reads is small whatever the records' number (the
edge points are distinct ~1 km point pairs per county-level edge; the routes, at
most a few thousand county pairs, one Dijkstra per origin node). Not a pandas UDF:
each executor would have to build the graph (seconds) to route a handful of pairs.

``route_shifts`` (:func:`route_shifts`): the flow step writes its edge rows and the
corridor step its segment rows; on Spark both are made here, after the corridors.
The counts per window are the steps' own queries
(:data:`~pipelines.build.flows.EDGE_SHIFT_COUNTS_SQL`,
:data:`~pipelines.build.corridors.SEGMENT_SHIFT_COUNTS_SQL`, the windows from
:data:`~pipelines.build.flows.WINDOWS_SQL`); the exact binomial tests and the
Benjamini-Hochberg adjustment run on the driver through
:func:`~pipelines.build.flows.shifts_frame`, over one row per edge or segment.

Held equal to the DuckDB step's tables, row for row, by ``tests/test_spark_corridors.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import pandas as pd

from geo import highways
from pipelines.build.corridors import (
    PATH_COLUMNS,
    SEGMENT_SHIFT_COUNTS_SQL,
    SEGMENTS_SELECT,
    corridor_graph,
    edge_nodes_of,
    edge_points_sql,
    place_edge_points,
    route_edge_nodes,
)
from pipelines.build.flows import (
    EDGE_SHIFT_COUNTS_SQL,
    SHIFT_COLUMNS,
    WINDOWS_SQL,
    shift_parameters,
    shift_windows_of,
    shifts_frame,
)
from pipelines.build.spark_flows import duckdb_to_spark, frame_rows

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

#: ``corridor_paths``'s types (the DuckDB step's ``CREATE TABLE``).
PATHS_SCHEMA = (
    "origin_id STRING, dest_id STRING, origin_node INT, dest_node INT, seq INT, segment_id INT"
)
#: :func:`geo.highways.segments_frame`'s columns, as DuckDB types them from pandas.
SEGMENTS_SCHEMA = (
    "segment_id BIGINT, route STRING, kind STRING, length_km DOUBLE, "
    "from_lat DOUBLE, from_lng DOUBLE, to_lat DOUBLE, to_lng DOUBLE, wkt STRING"
)
_POINT_COLUMNS = ("o_lat", "o_lng", "d_lat", "d_lng")


def corridor_paths(spark: SparkSession, graph: nx.Graph) -> pd.DataFrame:
    """Rows of ``corridor_paths`` from the lake's records (views of ``spark_build.register_lake``).

    Needs ``flow_entry_candidates`` (:func:`pipelines.build.spark_flows.register_flow_records`).
    """
    query = spark.sql(duckdb_to_spark(edge_points_sql()))
    points = pd.DataFrame([r.asDict() for r in query.collect()], columns=query.columns)
    points = points.astype({c: "float64" for c in _POINT_COLUMNS})  # a NULL point is NaN, as from DuckDB
    return route_edge_nodes(edge_nodes_of(place_edge_points(points), graph), graph)


def corridor_tables(spark: SparkSession, *, graph: nx.Graph | None = None) -> dict[str, DataFrame]:
    """Spark frames of ``corridor_paths`` and ``corridor_segments`` over the registered lake.

    Needs the flow step's views (``flow_entry_candidates`` and ``flows``: the Spark
    build's flow step, :data:`pipelines.build.spark_build.FLOWS`, registers them). Registers
    ``corridor_paths`` and ``_segments``.
    """
    graph = corridor_graph() if graph is None else graph
    paths = spark.createDataFrame(_rows(corridor_paths(spark, graph), PATH_COLUMNS), schema=PATHS_SCHEMA)
    paths.createOrReplaceTempView("corridor_paths")
    segments = highways.segments_frame(graph)
    spark.createDataFrame(_rows(segments, list(segments.columns)), schema=SEGMENTS_SCHEMA).createOrReplaceTempView("_segments")
    return {"corridor_paths": paths, "corridor_segments": spark.sql(duckdb_to_spark(SEGMENTS_SELECT))}


#: ``route_shifts``'s types (``build_flows.empty_shifts_sql``).
SHIFTS_SCHEMA = (
    "kind STRING, level STRING, trafficking_type STRING, origin_id STRING, origin_name STRING, "
    "dest_id STRING, dest_name STRING, segment_id INT, route STRING, recent_start DATE, recent_end DATE, "
    "baseline_start DATE, baseline_end DATE, recent_days INT, baseline_days INT, recent BIGINT, "
    "baseline BIGINT, recent_per_month DOUBLE, baseline_per_month DOUBLE, rate_ratio DOUBLE, "
    "p_value DOUBLE, q_value DOUBLE, shift STRING"
)


def route_shifts(spark: SparkSession) -> DataFrame:
    """``route_shifts``, edge and segment rows, from the registered ``records``, ``flows`` and ``corridor_segments``."""
    first = spark.sql(WINDOWS_SQL).collect()[0]
    windows = shift_windows_of(tuple(first))
    rows: list[tuple[Any, ...]] = []
    for counts_sql in (EDGE_SHIFT_COUNTS_SQL, SEGMENT_SHIFT_COUNTS_SQL) if windows else ():
        assert windows is not None
        query = spark.sql(counts_sql, args=shift_parameters(windows))
        counts = pd.DataFrame([r.asDict() for r in query.collect()], columns=query.columns)
        if len(counts):
            rows += frame_rows(shifts_frame(counts, windows), SHIFT_COLUMNS)
    return spark.createDataFrame(rows, schema=SHIFTS_SCHEMA)


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    """``frame``'s rows as plain Python values (Spark's row conversion takes no numpy scalars)."""
    return [
        tuple(v.item() if hasattr(v, "item") else v for v in row)
        for row in frame[columns].itertuples(index=False, name=None)
    ]
