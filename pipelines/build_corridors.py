"""Build step: route the county-level flows over the highway graph and sum the loads.

Each county-level edge of ``flows`` (a county, or an out-of-state origin at its
border entry point, to a county) is routed along the shortest path (by
``length_km``) of :func:`geo.highways.highway_graph` between the graph nodes
nearest its two ends: a county at its most populous place
(:func:`geo.flow_places.county_anchors`), an out-of-state origin at its entry
point. One Dijkstra per distinct origin node serves every edge from there.
Flows whose two ends snap to the same node (within one county, or neighbours on
the same interchange) load no segment.

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
:mod:`pipelines.build_flows`): each segment's recent load against its baseline.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import duckdb
import networkx as nx
import pandas as pd

from geo import highways
from geo.flow_places import county_anchors
from pipelines.build import table_timer
from pipelines.build_flows import empty_shifts_sql, shift_windows, shifts_frame
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


def _ends(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every distinct county-level flow end with its routing anchor: ``id``, ``lat``, ``lng``."""
    outside = con.execute("""
        SELECT DISTINCT origin_id AS id, origin_lat AS lat, origin_lng AS lng
        FROM flows WHERE level = 'county' AND origin_kind IN ('state', 'country')
    """).df()
    counties = county_anchors().rename(columns={"county_fips": "id"})
    return pd.concat([counties, outside], ignore_index=True)


def route_pairs(con: duckdb.DuckDBPyConnection, graph: nx.Graph) -> pd.DataFrame:
    """The path of every distinct county-level (origin, destination): rows of ``corridor_paths``."""
    pairs = con.execute("""
        SELECT DISTINCT origin_id, dest_id FROM flows WHERE level = 'county' ORDER BY ALL
    """).df()
    columns = ["origin_id", "dest_id", "origin_node", "dest_node", "seq", "segment_id"]
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    ends = _ends(con)
    ends["node"] = highways.nearest_nodes(graph, ends["lat"].to_numpy(), ends["lng"].to_numpy())
    node_of = ends.drop_duplicates("id").set_index("id")["node"]
    pairs["origin_node"] = pairs["origin_id"].map(node_of)
    pairs["dest_node"] = pairs["dest_id"].map(node_of)
    missing = pairs[pairs["origin_node"].isna() | pairs["dest_node"].isna()]
    if not missing.empty:
        log.warning("No routing anchor for %d flow ends (e.g. %r)", len(missing), missing.iloc[0].tolist())
    pairs = pairs.dropna(subset=["origin_node", "dest_node"]).astype({"origin_node": int, "dest_node": int})
    routed = pairs[pairs["origin_node"] != pairs["dest_node"]]
    paths = highways.shortest_path_segments(
        graph, zip(routed["origin_node"], routed["dest_node"], strict=True)
    )
    rows = [
        (o, d, u, v, seq, segment)
        for o, d, u, v in routed.itertuples(index=False)
        for seq, segment in enumerate(paths[(u, v)])
    ]
    return pd.DataFrame(rows, columns=columns)


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


def _build_segments(con: duckdb.DuckDBPyConnection, graph: nx.Graph) -> int:
    con.register("_segments", highways.segments_frame(graph))
    con.execute("DROP TABLE IF EXISTS corridor_segments")
    con.execute("""
        CREATE TABLE corridor_segments AS
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
    """)
    con.unregister("_segments")
    return _rows(con, "corridor_segments")


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
    counts = con.execute("""
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
    """, [windows["recent_start"], windows["recent_start"], windows["baseline_start"]]).df()
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

    Needs ``flows`` (``pipelines.build_flows`` runs first). Returns rows per table.
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
