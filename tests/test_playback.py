"""Playing months on the Heatmap in the browser: what the page sends once, and Play/Stop under AppTest.

The page reads every month of the period at once (``query.cells.cell_counts_by_month``)
and sends one deck holding each month's layers (``maps.decks.heatmap_playback_deck``);
the component steps through them without a rerun. Each month must be exactly the
single-month heatmap: the same reader's values, the same cells hidden. The browser
side (the month label advancing, frames drawn, each step's time) is in
``tests/test_playback_browser.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from maps import colours, decks
from query import cells, release
from query.filters import Filters
from routes import settings
from tests.support.apptest import HEATMAP, VIEWERS, page_app, ran_ok
from tests.support.exact_path import exact_viewer, read_the_whole_warehouse
from tests.support.warehouse_fixture import make_small_warehouse

EXACT = exact_viewer("ana", "analyst", "la")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from pipelines.build import build_warehouse

    root = tmp_path_factory.mktemp("playback")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROUTES_WAREHOUSE", str(root / "warehouse" / "routes.duckdb"))
        patch.setenv("ROUTES_CONTROL", str(root / "warehouse" / "control.sqlite"))
        patch.setenv("ROUTES_KEY_FILE", str(root / "secrets" / "routes.key"))
        path = settings.warehouse_path()
        make_small_warehouse(path, n=4000, seed=2, is_demo=False)
        build_warehouse(warehouse_path=path)
        yield path


def _calendar(viewer: object) -> list[date]:
    histogram = cells.histogram_by_month(viewer, Filters())  # type: ignore[arg-type]
    first, last = min(histogram["month"]), max(histogram["month"])
    return cells.months_between(first, last)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("who", ["partner", "exact"])
@pytest.mark.parametrize("res", [6, 4])
def test_each_month_is_the_single_month_heatmap(built: Path, monkeypatch: pytest.MonkeyPatch, who: str, res: int) -> None:
    """Every month's rows equal ``cell_counts`` of that month alone, hidden cells included.

    For the partner (the release) a released value under k reads "fewer than 11":
    the row is there, ``suppressed`` and without a count, as on the single-month map.
    """
    if who == "exact":
        read_the_whole_warehouse(monkeypatch)
    viewer = VIEWERS["partner"] if who == "partner" else EXACT
    months = _calendar(viewer)[-14:]
    monthly = cells.cell_counts_by_month(viewer, Filters(), res=res, measure="records", months=months)
    assert monthly.months == tuple(months) and not monthly.refused
    hidden_seen = 0
    for month in months:
        alone = cells.cell_counts(viewer, Filters().with_period(month, month), res=res, measure="records")
        got = monthly.counts[monthly.counts["month"].eq(month)].drop(columns="month")
        _same(got, alone)
        hidden = got[got["suppressed"].astype(bool)]
        assert hidden["records"].isna().all()  # a hidden cell never travels with its count
        hidden_seen += len(hidden)
    assert hidden_seen > 0, "the fixture should hide some month's cells: the rule is not exercised"
    if who == "partner":  # the release's cells are quarters: a quarter's months read the same
        by_month = dict(tuple(monthly.counts.groupby("month")))
        for month in months:
            quarter = release.widen_to_quarters(Filters().with_period(month, month)).start
            if quarter in by_month and quarter != month:
                _same(by_month[month].drop(columns="month"), by_month[quarter].drop(columns="month"))


def test_the_deck_shows_each_month_as_the_single_month_map(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Month ``i``'s group of layers is :func:`maps.decks.heatmap_layers` of that month, value for value."""
    read_the_whole_warehouse(monkeypatch)
    months = _calendar(EXACT)[-6:]
    monthly = cells.cell_counts_by_month(EXACT, Filters(), res=6, months=months)
    frames = [monthly.counts[monthly.counts["month"].eq(m)].drop(columns="month") for m in months]
    scale = colours.heatmap_scale(monthly.counts["value"].dropna(), minimum=EXACT.k, unit="records")
    played = decks.heatmap_playback_deck(frames, scale=scale, hidden="suppressed")
    spec = json.loads(played.deck.to_json())
    assert len(played.groups) == len(months)
    for frame, group in zip(frames, played.groups, strict=True):
        want = json.loads(decks.make_deck(decks.heatmap_layers(frame, scale=scale, hidden="suppressed"), base=False)
                          .to_json())["layers"]
        mark = f"{decks.PLAYBACK_GROUP_MARK}{group}"
        got = [layer for layer in spec["layers"] if layer["id"].endswith(mark)]
        assert [g["id"].removesuffix(mark) for g in got] == [w["id"] for w in want]
        for g, w in zip(got, want, strict=True):
            assert g["data"] == w["data"]
    visible = {layer["id"] for layer in spec["layers"] if decks.PLAYBACK_GROUP_MARK in layer["id"] and layer.get("visible", True)}
    assert visible and all(v.endswith(f"{decks.PLAYBACK_GROUP_MARK}{played.groups[0]}") for v in visible)


def _component_args(app: object) -> dict:
    (element,) = [e for e in app.get("component_instance") if "deck_map" in e.proto.component_name]  # type: ignore[attr-defined]
    return json.loads(element.proto.json_args)


def test_play_sends_every_month_once_and_stop_keeps_the_page(built: Path) -> None:
    """Play: one component with every month of the period, no rerun per month; Stop: the map and period as before."""
    app = ran_ok(page_app(HEATMAP, VIEWERS["partner"], params={"from": "2024-01", "to": "2024-12"}).run())
    period = app.select_slider(key="f_period").value
    play = next(b for b in app.button if b.key == "f_play_button")
    ran_ok(play.click().run())
    assert app.session_state["f_playing"] is True  # playing in the browser: the page does not step it
    args = _component_args(app)
    playback = args["playback"]
    assert playback["labels"][0] == "Jan 2024" and playback["labels"][-1] == "Dec 2024" and len(playback["labels"]) == 12
    assert len(playback["groups"]) == 12 and len(args["specs"]) == 1
    assert app.select_slider(key="f_period").value == period  # the period is not stepped by reruns
    stop = next(b for b in app.button if b.key == "f_play_button")
    ran_ok(stop.click().run())
    assert app.session_state["f_playing"] is False
    assert app.select_slider(key="f_period").value == period
    assert app.get("deck_gl_json_chart")  # the single map again
    ran_ok(next(b for b in app.button if b.key == "f_play_button").click().run())  # a third press: playing again
    assert _component_args(app)["playback"]["labels"][0] == "Jan 2024"


def test_a_long_period_plays_its_last_months(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole calendar (the default period) plays its last ``PLAY_MAX_MONTHS`` months, and says so."""
    from ui import deck_map

    monkeypatch.setattr(deck_map, "PLAY_MAX_MONTHS", 6)  # the fixture's calendar is 24 months
    app = ran_ok(page_app(HEATMAP, VIEWERS["partner"]).run())
    calendar = app.select_slider(key="f_period").options
    ran_ok(next(b for b in app.button if b.key == "f_play_button").click().run())
    labels = _component_args(app)["playback"]["labels"]
    assert labels == calendar[-6:] and len(calendar) > 6
    assert any(f"the last {len(labels)} of the period's {len(calendar)} months" in c.value for c in app.caption)


def test_the_cli_reads_several_months_as_the_page_does(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``query cells cell_counts_by_month`` takes its months from --param months=A:B or --from/--to; none is one clear line."""
    from pipelines.cli import main

    assert main(["query", "cells", "cell_counts_by_month", "--as", "partner", "--param", "res=6",
                 "--param", "months=2025-01:2025-03"]) == 0
    out = capsys.readouterr().out
    assert "month,level,cell" in out and "2025-03-01" in out and "2025-04-01" not in out, out[:400]
    assert main(["query", "cells", "cell_counts_by_month", "--as", "partner", "--param", "res=6",
                 "--from", "2025-02", "--to", "2025-02"]) == 0
    out = capsys.readouterr().out
    assert "2025-02-01" in out and "2025-01-01" not in out
    assert main(["query", "cells", "cell_counts_by_month", "--as", "partner", "--param", "res=6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--param months=2024-01:2024-06" in err, err
