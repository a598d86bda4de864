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
