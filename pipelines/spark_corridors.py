"""``pipelines.build_corridors`` on Spark: ``corridor_paths`` and ``corridor_segments`` from the lake.

What reads records runs on Spark with the DuckDB step's own text, through
:func:`pipelines.spark_flows.duckdb_to_spark`: the flow points per county-level
edge (:func:`~pipelines.build_corridors.edge_points_sql`, over
``geo.flow_places``'s flow records) and the segment loads
(:data:`~pipelines.build_corridors.SEGMENTS_SELECT`, over the county-level edges of
:func:`geo.flow_places.sql_level_edges`, the rows of ``flows`` it reads). The points
are rounded by ``floor(x * 100 + 0.5) / 100`` on both engines, not ``round()``,
whose halves DuckDB and Spark settle differently.

Routing runs on the driver, with the very functions the DuckDB step calls
(:func:`~pipelines.build_corridors.place_edge_points`,
:func:`~pipelines.build_corridors.edge_nodes_of`,
:func:`~pipelines.build_corridors.route_edge_nodes`): it needs networkx and the
highway graph, and what it reads is small whatever the records' number (the
edge points are distinct ~1 km point pairs per county-level edge; the routes, at
most a few thousand county pairs, one Dijkstra per origin node). Not a pandas UDF:
each executor would have to build the graph (seconds) to route a handful of pairs.

Not here: the ``kind='segment'`` rows of ``route_shifts``, which the corridor step
adds to the flow step's ``route_shifts`` (neither runs on Spark yet).

Held equal to the DuckDB step's tables, row for row, by ``tests/test_spark_corridors.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import pandas as pd

from geo import highways
from geo.flow_places import sql_level_edges
from pipelines.build_corridors import (
    PATH_COLUMNS,
    SEGMENTS_SELECT,
    corridor_graph,
    edge_nodes_of,
    edge_points_sql,
    place_edge_points,
    route_edge_nodes,
)
from pipelines.spark_flows import duckdb_to_spark, register_flow_records

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

    Needs ``flow_entry_candidates`` (:func:`pipelines.spark_flows.register_flow_records`).
    """
    query = spark.sql(duckdb_to_spark(edge_points_sql()))
    points = pd.DataFrame([r.asDict() for r in query.collect()], columns=query.columns)
    points = points.astype({c: "float64" for c in _POINT_COLUMNS})  # a NULL point is NaN, as from DuckDB
    return route_edge_nodes(edge_nodes_of(place_edge_points(points), graph), graph)


def corridor_tables(spark: SparkSession, *, graph: nx.Graph | None = None) -> dict[str, DataFrame]:
    """Spark frames of ``corridor_paths`` and ``corridor_segments`` over the registered lake.

    Registers the views ``flow_entry_candidates``, ``flow_sources``, ``_flow_records``
    (:func:`~pipelines.spark_flows.register_flow_records`), ``flows`` (the county-level
    edges only: all the segments read), ``corridor_paths`` and ``_segments``.
    """
    graph = corridor_graph() if graph is None else graph
    register_flow_records(spark)
    paths = spark.createDataFrame(_rows(corridor_paths(spark, graph), PATH_COLUMNS), schema=PATHS_SCHEMA)
    paths.createOrReplaceTempView("corridor_paths")
    segments = highways.segments_frame(graph)
    spark.createDataFrame(_rows(segments, list(segments.columns)), schema=SEGMENTS_SCHEMA).createOrReplaceTempView("_segments")
    spark.sql(duckdb_to_spark(sql_level_edges("county"))).createOrReplaceTempView("flows")
    return {"corridor_paths": paths, "corridor_segments": spark.sql(duckdb_to_spark(SEGMENTS_SELECT))}


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    """``frame``'s rows as plain Python values (Spark's row conversion takes no numpy scalars)."""
    return [
        tuple(v.item() if hasattr(v, "item") else v for v in row)
        for row in frame[columns].itertuples(index=False, name=None)
    ]
