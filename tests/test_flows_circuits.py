"""The Flows page's evidence choice and circuits drawn in order, on the 60 k demo (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.support.apptest import FLOWS, VIEWERS, page_app, ran_ok

pytestmark = pytest.mark.slow


def _deck(app: Any) -> dict[str, Any]:
    charts = app.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def _layer(spec: dict[str, Any], layer_id: str) -> dict[str, Any] | None:
    return next((layer for layer in spec["layers"] if layer.get("id") == layer_id), None)


def _tokens(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [str(t) for (t,) in con.execute("SELECT DISTINCT token FROM record_identifiers").fetchall() if t]


def _legends(app: Any) -> str:
    return " ".join(e.proto.body for e in app.get("html"))


def _page_text(app: Any) -> str:
    parts = [json.dumps(_deck(app)), _legends(app)]
    parts += [str(v) for t in app.dataframe for v in t.value.to_numpy().ravel()]
    for kind in ("caption", "markdown", "selectbox", "radio"):
        for element in getattr(app, kind):
            parts.append(str(getattr(element, "value", "")))
            parts += [str(o) for o in getattr(element, "options", [])]
    return " ".join(parts)


def test_reported_journeys_by_default_and_observed_moves_when_chosen(demo: tuple[Path, dict]) -> None:
    path, _truth = demo
    app = ran_ok(page_app(FLOWS, VIEWERS["lead"]).run())
    spec = _deck(app)
    assert _layer(spec, "flows") is not None and _layer(spec, "moves") is None
    assert "evidence" not in app.query_params

    app.radio(key="url_evidence").set_value("observed").run()
    ran_ok(app)
    spec = _deck(app)
    moves = _layer(spec, "moves")
    assert moves is not None and _layer(spec, "flows") is None
    assert moves["data"] and all("observed moves" in row["tip"] for row in moves["data"])
    assert app.query_params["evidence"] == ["observed"] or app.query_params["evidence"] == "observed"

    app.radio(key="url_evidence").set_value("both").run()
    ran_ok(app)
    spec = _deck(app)
    flows, moves = _layer(spec, "flows"), _layer(spec, "moves")
    assert flows is not None and moves is not None
    move_colours = {tuple(row["target_rgba"][:3]) for row in moves["data"]}
    flow_colours = {tuple(row["target_rgba"][:3]) for row in flows["data"]}
    assert len(move_colours) == 1 and not move_colours & flow_colours
    legend = _legends(app)
    assert "reported journey" in legend and "observed move" in legend
    text = _page_text(app)
    assert not any(t in text for t in _tokens(path) if len(t) >= 8)


def test_a_link_with_the_evidence_opens_on_observed_moves(demo: tuple[Path, dict]) -> None:
    app = ran_ok(page_app(FLOWS, VIEWERS["partner"], params={"evidence": "observed"}).run())
    assert app.radio(key="url_evidence").value == "observed"
    spec = _deck(app)
    assert _layer(spec, "moves") is not None and _layer(spec, "flows") is None


def _stops_in_loop_order(names: list[str], loop: list[str]) -> bool:
    """``names`` (stop 1, 2, …) are the loop's places in its travel order, from any starting place."""
    if sorted(names) != sorted(loop):
        return False
    start = names.index(loop[0])
    return names[start:] + names[:start] == loop


def test_a_lead_switching_to_observed_moves_sees_the_planted_loop_drawn_in_order(demo: tuple[Path, dict]) -> None:
    from geo.flow_places import area_places

    path, truth = demo
    loop = next(c for c in truth["planted_circuits"] if c["shape"] == "loop")
    app = ran_ok(page_app(FLOWS, VIEWERS["lead"]).run())
    assert _layer(_deck(app), "circuit-numbers") is None  # reported journeys: no circuit unless one is chosen
    app.radio(key="url_evidence").set_value("observed").run()
    ran_ok(app)
    spec = _deck(app)
    numbers = _layer(spec, "circuit-numbers")
    assert numbers is not None, [layer.get("id") for layer in spec["layers"]]
    labels = [row["label"] for row in numbers["data"]]
    assert labels == [str(i) for i in range(1, len(loop["county_fips"]) + 1)]
    county = area_places().query("kind == 'county'").set_index("id")
    at = {(round(float(r.lng), 4), round(float(r.lat), 4)): fips for fips, r in county.iterrows()}
    stops = [at[(round(row["position"][0], 4), round(row["position"][1], 4))] for row in numbers["data"]]
    assert _stops_in_loop_order(stops, loop["county_fips"]), (stops, loop["county_fips"])
    segments = _layer(spec, "circuit-segments")
    assert segments is not None
    legs: dict[tuple[int, int], list] = {}  # each leg's steps (it bows to its right), joined end to end
    for row in segments["data"]:
        legs.setdefault(tuple(row["leg"]), [row["s"]]).append(row["t"])
    ends = [(at[(round(c[0][0], 4), round(c[0][1], 4))], at[(round(c[-1][0], 4), round(c[-1][1], 4))]) for c in legs.values()]
    assert ends == list(zip(stops, stops[1:] + stops[:1], strict=True))  # in order, closing back on stop 1
    arrows = _layer(spec, "circuit-arrows")
    assert arrows is not None and len(arrows["data"]) == len(ends)
    assert "back to 1" in _legends(app)
    text = _page_text(app)
    assert not any(t in text for t in _tokens(path) if len(t) >= 8)


def test_the_circuit_chosen_is_the_one_drawn(demo: tuple[Path, dict]) -> None:
    app = ran_ok(page_app(FLOWS, VIEWERS["partner"], params={"evidence": "both"}).run())
    choice = app.selectbox(key="flows_circuit_observed")
    assert choice.value == 1 and choice.options[0] == "none"
    first = [row["tip"] for row in _layer(_deck(app), "circuit-stops")["data"]]
    assert first[0].startswith("circuit 1: stop 1 ")
    choice.set_value(0).run()
    assert _layer(_deck(ran_ok(app)), "circuit-stops") is None
    if len(choice.options) > 2:  # a second circuit released in this build's draw (the I-10 path, most draws)
        app.selectbox(key="flows_circuit_observed").set_value(2).run()
        second = [row["tip"] for row in _layer(_deck(ran_ok(app)), "circuit-stops")["data"]]
        assert second[0].startswith("circuit 2: stop 1 ") and second != first
