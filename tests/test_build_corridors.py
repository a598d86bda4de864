"""Tests for pipelines/build/corridors.py: flows routed over the highway graph, segment loads."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo import highways
from pipelines.build import corridors as build_corridors
from routes import warehouse
from tests.support.flow_records import flow_record, write_flow_warehouse


def _segments(path: Path) -> pd.DataFrame:
    with warehouse.open_snapshot(path=path) as con:
        return con.sql(
            "SELECT segment_id, any_value(route) AS route, sum(load) AS load, "
            "any_value(from_lat) AS from_lat, any_value(from_lng) AS from_lng, "
            "any_value(to_lat) AS to_lat, any_value(to_lng) AS to_lng "
            "FROM corridor_segments GROUP BY segment_id"
        ).df().set_index("segment_id")


def _path_routes(path: Path, origin_id: str, dest_id: str) -> list[str]:
    with warehouse.open_snapshot(path=path) as con:
        return [r[0] for r in con.execute(
            "SELECT s.route FROM corridor_paths AS p JOIN (SELECT DISTINCT segment_id, route "
            "FROM corridor_segments) AS s USING (segment_id) WHERE origin_id = ? AND dest_id = ? "
            "ORDER BY p.seq", [origin_id, dest_id]
        ).fetchall()]


@pytest.fixture(scope="module")
def known_routes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [flow_record(i, origin="06067", dest="06037") for i in range(12)]            # Sacramento → LA
    rows += [flow_record(100 + i, origin=None, dest="06037", state="NV", country="US",
                     origin_latlng=(36.17, -115.14)) for i in range(5)]               # Las Vegas → LA
    rows += [flow_record(200 + i, origin="06037", dest="06037") for i in range(4)]        # within LA
    return write_flow_warehouse(tmp_path_factory.mktemp("corridors") / "w.duckdb", pd.DataFrame(rows))


def test_sacramento_to_los_angeles_loads_i5(known_routes: Path) -> None:
    routes = _path_routes(known_routes, "06067", "06037")
    assert routes and all({"I-5", "SR-99"} & set(r.split(" / ")) for r in routes)
    segments = _segments(known_routes)
    with warehouse.open_snapshot(path=known_routes) as con:
        ids = [r[0] for r in con.execute(
            "SELECT segment_id FROM corridor_paths WHERE origin_id = '06067' AND dest_id = '06037'"
        ).fetchall()]
    # only the Sacramento flow uses the I-5 north of the Grapevine: its 12 records
    north = segments.loc[ids]
    assert (north.loc[north["from_lat"].clip(lower=north["to_lat"]) > 35.5, "load"] == 12).all()
    assert (segments.loc[ids, "load"] >= 12).all()


def test_las_vegas_enters_at_primm_on_i15(known_routes: Path) -> None:
    routes = _path_routes(known_routes, "US-NV@primm", "06037")
    assert routes[0] == "I-15"
    segments = _segments(known_routes)
    primm = highways.ENTRY_POINTS["primm"]
    first = segments[(segments["to_lat"].round(2) == round(primm[2], 2)) | (segments["from_lat"].round(2) == round(primm[2], 2))]
    assert first["load"].sum() == 5


def test_flows_within_one_place_load_nothing(known_routes: Path) -> None:
    assert _path_routes(known_routes, "06037", "06037") == []
    sacramento = len(_path_routes(known_routes, "06067", "06037"))
    las_vegas = len(_path_routes(known_routes, "US-NV@primm", "06037"))
    assert _segments(known_routes)["load"].sum() == 12 * sacramento + 5 * las_vegas


def test_edge_nodes_follow_where_records_are(known_routes: Path) -> None:
    with warehouse.open_snapshot(path=known_routes) as con:
        nodes = build_corridors.edge_nodes(con, build_corridors.corridor_graph()).set_index(["origin_id", "dest_id"])
    graph = build_corridors.corridor_graph()
    node = nodes.loc[("US-NV@primm", "06037"), "origin_node"]
    assert highways.haversine_km(graph.nodes[node]["lat"], graph.nodes[node]["lng"], 35.61, -115.39) < 1


# ------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from pipelines.demo.setup import setup_demo

    folder = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.setenv("ROUTES_CONTROL", str(folder / "control.sqlite"))
    mp.setenv("ROUTES_KEY_FILE", str(folder / "routes.key"))
    try:
        setup_demo(records=4000, seed=7, out_dir=folder / "demo", warehouse_path=folder / "w.duckdb")
    finally:
        mp.undo()
    truth = json.loads((folder / "demo" / "ground_truth.json").read_text())
    return folder / "w.duckdb", truth


@pytest.mark.slow
def test_planted_routes_are_the_top_flows_and_corridors(demo: tuple[Path, dict]) -> None:
    path, truth = demo
    with warehouse.open_snapshot(path=path) as con:
        county = con.sql(
            "SELECT origin_id, dest_id, sum(records) AS records FROM flows WHERE level = 'county' "
            "AND origin_id <> dest_id GROUP BY ALL ORDER BY records DESC, origin_id, dest_id"
        ).df()
    planted = truth["planted_flows"]
    top = set(zip(county["origin_id"].head(2 * len(planted)), county["dest_id"].head(2 * len(planted)), strict=True))
    for flow in planted:
        pairs = {(o, d) for o in flow["origin_county_fips"] for d in flow["dest_county_fips"]}
        assert pairs & top, flow["name"]
        biggest = county[[(o, d) in pairs for o, d in zip(county["origin_id"], county["dest_id"], strict=True)]].iloc[0]
        routes = {part for r in _path_routes(path, biggest["origin_id"], biggest["dest_id"]) for part in r.split(" / ")}
        assert flow["expected_corridor"] in routes, flow["name"]
    segments = _segments(path).sort_values("load", ascending=False)
    segments["rank"] = range(1, len(segments) + 1)
    best_rank = {
        route: segments.loc[[route in r.split(" / ") for r in segments["route"]], "rank"].min()
        for route in truth["planted_corridors"]
    }
    assert segments.iloc[0]["route"].split(" / ")[0] in truth["planted_corridors"]
    assert all(rank <= len(segments) / 2 for rank in best_rank.values()), best_rank
