"""Tests for geo/highways.py: the corridor graph and the border entry points."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
from shapely.geometry import LineString

from geo import highways
from routes.errors import ReferenceDataError


@pytest.fixture(scope="module")
def graph() -> nx.Graph:
    return highways.highway_graph()


def _routes_between(graph: nx.Graph, a: tuple[float, float], b: tuple[float, float]) -> list[str]:
    u, v = highways.nearest_node(graph, *a), highways.nearest_node(graph, *b)
    segments = highways.shortest_path_segments(graph, [(u, v)])[(u, v)]
    by_id = highways.segments_frame(graph).set_index("segment_id")
    return by_id.loc[segments, "route"].tolist()


def test_schematic_graph_is_connected_with_positive_lengths(graph: nx.Graph) -> None:
    assert nx.is_connected(graph)
    segments = highways.segments_frame(graph)
    assert (segments["length_km"] > 0).all()
    assert segments["segment_id"].is_unique
    assert {"I-5", "SR-99", "I-80", "I-15", "I-10", "US-101"} <= {
        part for route in segments["route"] for part in route.split(" / ")
    }


def test_routes_meet_where_they_share_a_town(graph: nx.Graph) -> None:
    # Sacramento is a vertex of I-5, SR-99 and I-80: one node, degree > 2
    node = highways.nearest_node(graph, 38.582, -121.494)
    routes = {graph.edges[e]["route"] for e in graph.edges(node)}
    assert any("I-80" in r for r in routes) and any("I-5" in r for r in routes)


def test_sacramento_to_los_angeles_goes_along_i5_or_sr99(graph: nx.Graph) -> None:
    routes = _routes_between(graph, (38.58, -121.49), (34.05, -118.24))
    assert routes
    assert all({"I-5", "SR-99"} & set(r.split(" / ")) for r in routes)


def test_las_vegas_origin_enters_on_i15(graph: nx.Graph) -> None:
    entry = highways.ENTRY_POINTS[highways.entry_point_for("NV", "US", lat=36.17, lng=-115.14)]
    routes = _routes_between(graph, (entry[2], entry[3]), (34.54, -117.29))  # to Victorville
    assert routes[0].startswith("I-15")


@pytest.mark.parametrize(
    ("state", "country", "lat", "lng", "expected"),
    [
        ("NV", "US", None, None, "primm"),
        ("NV", "US", 36.17, -115.14, "primm"),        # Las Vegas
        ("NV", "US", 39.53, -119.81, "truckee"),      # Reno
        ("NV", "US", 39.3, -116.6, "primm"),          # Nevada's centroid: the default
        ("AZ", "US", 33.45, -112.07, "blythe"),       # Phoenix
        ("AZ", "US", 32.69, -114.63, "winterhaven"),  # Yuma
        ("OR", "US", 45.52, -122.68, "oregon_i5"),    # Portland
        ("TX", "US", 29.76, -95.37, "blythe"),
        ("NY", "US", 40.71, -74.01, "truckee"),
        (None, "MX", 23.6, -102.5, "san_ysidro"),     # Mexico as a whole
        (None, "MX", 32.51, -117.04, "san_ysidro"),   # Tijuana
        (None, "MX", 32.62, -115.45, "calexico"),     # Mexicali
        (None, "GT", 14.63, -90.51, "san_ysidro"),
        (None, "PH", 14.6, 120.98, "lax"),
        (None, "CA", 43.65, -79.38, "oregon_i5"),     # Canada, not California
        (None, "US", None, None, "primm"),            # a US state we do not know
    ],
)
def test_entry_points(state, country, lat, lng, expected) -> None:
    assert highways.entry_point_for(state, country, lat=lat, lng=lng) == expected


def test_entry_candidates_cover_every_entry_point() -> None:
    candidates = highways.entry_candidates()
    assert set(candidates["entry_id"]) <= set(highways.ENTRY_POINTS)
    assert (candidates.groupby("outside_key")["rank"].min() == 0).all()
    assert {"US", "*"} <= set(candidates["outside_key"])


def test_crossing_lines_are_split_and_joined(tmp_path: Path) -> None:
    # an X: two routes crossing at (0, 0) without a shared vertex, plus a far dead end
    layer = gpd.GeoDataFrame(
        {"route": ["A", "B"]},
        geometry=[LineString([(-1, -1), (1, 1)]), LineString([(-1, 1), (1, -1)])],
        crs=4326,
    )
    path = tmp_path / "x.geojson"
    layer.to_file(path, driver="GeoJSON")
    g = highways.highway_graph(path=path, join_km=0)
    assert nx.is_connected(g)
    centre = highways.nearest_node(g, 0.0, 0.0)
    assert abs(g.nodes[centre]["lat"]) < 1e-9 and g.degree(centre) == 4


def test_separate_parts_get_a_connector(tmp_path: Path) -> None:
    layer = gpd.GeoDataFrame(
        {"ref": ["A", "B"]},
        geometry=[LineString([(0, 0), (0, 1)]), LineString([(3, 0), (3, 1)])],
        crs=4326,
    )
    path = tmp_path / "two.parquet"
    layer.to_parquet(path)
    g = highways.highway_graph(path=path, join_km=0)
    assert nx.is_connected(g)
    kinds = highways.segments_frame(g)["kind"].value_counts().to_dict()
    assert kinds == {"road": 2, "connector": 1}


def test_a_missing_layer_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="nope.geojson"):
        highways.read_highway_layer(tmp_path / "nope.geojson")


def test_a_layer_without_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}}
    ]}))
    with pytest.raises(ValueError, match="no line strings"):
        highways.read_highway_layer(path)
