"""Build step: route the county-level flows over the highway graph and sum the loads.

Each county-level edge of ``flows`` (a county, or an out-of-state origin at its
border entry point, to a county) is routed along the shortest path (by
``length_km``) of :func:`geo.highways.highway_graph` between two graph nodes:
every record's origin and destination point snaps to its nearest node (an
out-of-state origin at its entry point; a record without a point at its
county's most populous place, :func:`geo.flow_places.county_anchors`), and the
edge takes the node pair most of its records share (:func:`edge_nodes`). One
Dijkstra per distinct origin node serves every edge from there. Flows whose two
ends snap to the same node (within one town) load no segment.

Tables:

``corridor_paths``
    The route of each county-level edge: ``origin_id``, ``dest_id``,
    ``origin_node``, ``dest_node``, ``seq`` (0, 1, … along the path),
    ``segment_id``. The query layer joins filtered flows to it, so corridor
    loads follow every filter.
``corridor_segments``
    One row per loaded segment × ``month`` × ``trafficking_type``:
    ``segment_id``, ``route`` (``I-5``, ``I-5 / SR-99`` where routes share a
    segment, ``link`` or ``connector`` where the graph joins them), ``kind``,
    ``length_km``, ``from_lat``, ``from_lng``, ``to_lat``, ``to_lng``, ``wkt``
    (``LINESTRING`` in lng lat order), ``load`` (flow records passing along the
    segment), ``victims``, ``tips``, ``confirmed``, ``od_pairs`` (distinct
    county-level edges using it), ``sources``, ``source_ids``. The busiest
    segments are the corridors.

It also writes the ``kind='segment'`` rows of ``route_shifts`` (defined in
:mod:`pipelines.build.flows`): each segment's recent load against its baseline.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import duckdb
import networkx as nx
import pandas as pd

from geo import highways
from geo.flow_places import county_anchors, sql_flow_records
from pipelines.build import table_timer
from pipelines.build.flows import empty_shifts_sql, shift_parameters, shift_windows, shifts_frame
from routes import settings

log = logging.getLogger(__name__)

TABLES = ("corridor_paths", "corridor_segments")


@cache
def _graph_for(path: Path, mtime_ns: int) -> nx.Graph:
    return highways.highway_graph(path=path)


def corridor_graph() -> nx.Graph:
    """The highway graph of the configured layer (cached while the file is unchanged)."""
    path = settings.highways_path()
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return _graph_for(path, mtime)


#: Flow points are rounded to this many decimal degrees (about 1 km) before snapping.
POINT_DECIMALS = 2


def _rounded(column: str) -> str:
    """``column`` rounded to :data:`POINT_DECIMALS`, half up, in IEEE arithmetic both engines share.

    Not ``round()``: DuckDB rounds the double's exact binary value and Spark its
    shortest decimal form, so ``round(25.025, 2)`` is 25.02 on one and 25.03 on the
    other. ``floor(x * 100 + 0.5) / 100`` is the same operations on both.
    """
    scale = 10**POINT_DECIMALS
    return f"floor({column} * {scale} + 0.5) / {scale}"


def edge_points_sql() -> str:
    """Flow records per county-level edge and rounded pair of points (needs ``flow_entry_candidates``).

    DuckDB's text; ``pipelines/build/spark_corridors.py`` runs it through
    :func:`pipelines.build.spark_flows.duckdb_to_spark`.
    """
    return f"""
        WITH fr AS ({sql_flow_records()})
        SELECT coalesce(o_outside, o_county) AS origin_id, d_county AS dest_id, o_entry,
            {_rounded("o_lat")} AS o_lat, {_rounded("o_lng")} AS o_lng,
            {_rounded("d_lat")} AS d_lat, {_rounded("d_lng")} AS d_lng,
            count(*) AS records
        FROM fr
        WHERE coalesce(o_outside, o_county) IS NOT NULL AND d_county IS NOT NULL
        GROUP BY ALL
    """  # noqa: S608 (trusted SQL)


def _edge_points(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Records per county-level edge and (rounded) pair of points: where flows really start and end."""
    con.register("flow_entry_candidates", highways.entry_candidates())
    points = con.execute(edge_points_sql()).df()
    con.unregister("flow_entry_candidates")
    return place_edge_points(points)


def place_edge_points(points: pd.DataFrame) -> pd.DataFrame:
    """:func:`edge_points_sql` rows with every end placed: an out-of-state origin at its
    entry point, an end without a point at its county's anchor (:func:`geo.flow_places.county_anchors`)."""
    anchors = county_anchors().set_index("county_fips")
    entries = highways.entry_points().set_index("entry_id")
    outside = points["o_entry"].notna()
    if outside.any():
        points.loc[outside, "o_lat"] = points.loc[outside, "o_entry"].map(entries["lat"]).astype(float)
        points.loc[outside, "o_lng"] = points.loc[outside, "o_entry"].map(entries["lng"]).astype(float)
    for side, ids in (("o", points["origin_id"]), ("d", points["dest_id"])):
        missing = points[f"{side}_lat"].isna() | points[f"{side}_lng"].isna()
        if missing.any():
            points.loc[missing, f"{side}_lat"] = ids[missing].map(anchors["lat"]).astype(float)
            points.loc[missing, f"{side}_lng"] = ids[missing].map(anchors["lng"]).astype(float)
    return points.dropna(subset=["o_lat", "o_lng", "d_lat", "d_lng"])


def edge_nodes(con: duckdb.DuckDBPyConnection, graph: nx.Graph) -> pd.DataFrame:
    """The graph nodes each county-level edge is routed between: ``origin_id``, ``dest_id``,
    ``origin_node``, ``dest_node`` (:func:`edge_nodes_of` the warehouse's flow points)."""
    return edge_nodes_of(_edge_points(con), graph)


def edge_nodes_of(points: pd.DataFrame, graph: nx.Graph) -> pd.DataFrame:
    """The node pair of each county-level edge, from its placed points (:func:`place_edge_points`).

    Each record's two points snap to their nearest nodes; an edge takes the node
    pair that most of its records share (ties: the lowest node ids). So flows
    from Los Angeles to the High Desert start in Los Angeles and end near
    Victorville, not at San Bernardino County's largest town.
    """
    columns = ["origin_id", "dest_id", "origin_node", "dest_node"]
    if points.empty:
        return pd.DataFrame(columns=columns)
    points["origin_node"] = highways.nearest_nodes(graph, points["o_lat"].to_numpy(), points["o_lng"].to_numpy())
    points["dest_node"] = highways.nearest_nodes(graph, points["d_lat"].to_numpy(), points["d_lng"].to_numpy())
    pairs = points.groupby(columns, as_index=False)["records"].sum()
    pairs = pairs.sort_values(["records", "origin_node", "dest_node"], ascending=[False, True, True], kind="stable")
    return pairs.drop_duplicates(["origin_id", "dest_id"])[columns].sort_values(["origin_id", "dest_id"], ignore_index=True)


#: Columns of ``corridor_paths``.
PATH_COLUMNS = ["origin_id", "dest_id", "origin_node", "dest_node", "seq", "segment_id"]


def route_pairs(con: duckdb.DuckDBPyConnection, graph: nx.Graph) -> pd.DataFrame:
    """The path of every county-level (origin, destination): rows of ``corridor_paths``."""
    return route_edge_nodes(edge_nodes(con, graph), graph)


def route_edge_nodes(pairs: pd.DataFrame, graph: nx.Graph) -> pd.DataFrame:
    """Rows of ``corridor_paths`` for :func:`edge_nodes_of`'s pairs: one Dijkstra per origin node."""
    if pairs.empty:
        return pd.DataFrame(columns=PATH_COLUMNS)
    pairs = pairs.astype({"origin_node": int, "dest_node": int})
    routed = pairs[pairs["origin_node"] != pairs["dest_node"]]
    paths = highways.shortest_path_segments(
        graph, zip(routed["origin_node"], routed["dest_node"], strict=True)
    )
    rows = [
        (o, d, u, v, seq, segment)
        for o, d, u, v in routed.itertuples(index=False)
        for seq, segment in enumerate(paths[(u, v)])
    ]
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def _build_paths(con: duckdb.DuckDBPyConnection, graph: nx.Graph) -> int:
    paths = route_pairs(con, graph)
    con.execute("DROP TABLE IF EXISTS corridor_paths")
    con.execute("""
        CREATE TABLE corridor_paths (
            origin_id VARCHAR, dest_id VARCHAR, origin_node INTEGER, dest_node INTEGER,
            seq INTEGER, segment_id INTEGER
        )""")
    if not paths.empty:
        con.register("_paths", paths)
        con.execute("INSERT INTO corridor_paths SELECT * FROM _paths ORDER BY origin_id, dest_id, seq")
        con.unregister("_paths")
    return _rows(con, "corridor_paths")


#: ``corridor_segments``: the county-level ``flows`` summed along ``corridor_paths`` per
#: segment of ``_segments`` (:func:`geo.highways.segments_frame`), month and type.
#: DuckDB's text; ``pipelines/build/spark_corridors.py`` runs it through ``duckdb_to_spark``.
SEGMENTS_SELECT = """
        SELECT s.segment_id, s.route, s.kind, s.length_km,
            s.from_lat, s.from_lng, s.to_lat, s.to_lng, s.wkt,
            f.month, f.trafficking_type,
            sum(f.records)::BIGINT AS load,
            sum(f.victims)::BIGINT AS victims,
            sum(f.tips)::BIGINT AS tips,
            sum(f.confirmed)::BIGINT AS confirmed,
            count(DISTINCT (f.origin_id, f.dest_id)) AS od_pairs,
            len(list_distinct(flatten(list(f.source_ids)))) AS sources,
            list_sort(list_distinct(flatten(list(f.source_ids)))) AS source_ids
        FROM flows AS f
        JOIN corridor_paths AS p ON p.origin_id = f.origin_id AND p.dest_id = f.dest_id
        JOIN _segments AS s ON s.segment_id = p.segment_id
        WHERE f.level = 'county'
        GROUP BY ALL
"""


def _build_segments(con: duckdb.DuckDBPyConnection, graph: nx.Graph) -> int:
    con.register("_segments", highways.segments_frame(graph))
    con.execute("DROP TABLE IF EXISTS corridor_segments")
    con.execute(f"CREATE TABLE corridor_segments AS {SEGMENTS_SELECT}")
    con.unregister("_segments")
    return _rows(con, "corridor_segments")


#: Per highway segment and type (and ``all``): load in the recent window and in the
#: baseline, from ``corridor_segments``; parameters ``build_flows.shift_parameters``. Both engines run it.
SEGMENT_SHIFT_COUNTS_SQL = """
        WITH windowed AS (
            SELECT segment_id, any_value(route) AS route, trafficking_type,
                sum(load) FILTER (WHERE month >= ?)::BIGINT AS recent,
                sum(load) FILTER (WHERE month < ?)::BIGINT AS baseline
            FROM corridor_segments
            WHERE month >= date_trunc('month', ?::DATE)
            GROUP BY segment_id, trafficking_type
        ),
        both_types AS (
            SELECT * FROM windowed
            UNION ALL
            SELECT segment_id, any_value(route), 'all', sum(recent)::BIGINT, sum(baseline)::BIGINT
            FROM windowed GROUP BY segment_id
        )
        SELECT 'segment' AS kind, 'segment' AS level, trafficking_type, segment_id, route,
            coalesce(recent, 0) AS recent, coalesce(baseline, 0) AS baseline
        FROM both_types
        WHERE coalesce(recent, 0) + coalesce(baseline, 0) > 0
        ORDER BY trafficking_type, segment_id
"""


def _build_segment_shifts(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'route_shifts'"
    ).fetchall()[0][0]
    if not exists:
        con.execute(empty_shifts_sql())
    con.execute("DELETE FROM route_shifts WHERE kind = 'segment'")
    windows = shift_windows(con)
    if windows is None:
        return 0
    counts = con.execute(SEGMENT_SHIFT_COUNTS_SQL, shift_parameters(windows)).df()
    shifts = shifts_frame(counts, windows)
    if shifts.empty:
        return 0
    con.register("_shifts", shifts)
    con.execute("INSERT INTO route_shifts BY NAME SELECT * FROM _shifts")
    con.unregister("_shifts")
    return len(shifts)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608 (own table name)


def build(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild ``corridor_paths`` and ``corridor_segments`` (and the segment route shifts).

    Needs ``flows`` (``pipelines.build.flows`` runs first). Returns rows per table.
    """
    graph = corridor_graph()
    counts: dict[str, int] = {}
    with table_timer("corridor_paths"):
        counts["corridor_paths"] = _build_paths(con, graph)
    with table_timer("corridor_segments"):
        counts["corridor_segments"] = _build_segments(con, graph)
    with table_timer("route_shifts (segments)"):
        counts["route_shifts_segments"] = _build_segment_shifts(con)
    log.info("Built corridors: %s", counts)
    return counts
