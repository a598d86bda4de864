"""Tests for ``bench/``: a ``--quick`` run at a tiny size writes every section.

Not a timing assertion: the figures depend on the machine. What is checked is
that a run measures each step, computes the ratios, and writes ``RESULTS.md``
and the chart.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import percentile, report
from bench.__main__ import run

SECTIONS = (
    "# Benchmarks",
    "**Machine**",
    "**Versions**",
    "## Budgets",
    "## Pipeline steps",
    "### Build, time per table",
    "## Against the analyst baseline and the physical reference",
    "### Whole steps against the machine's floor",
    "## Page queries",
    "#### Per function at",
    "## Browser",
    "## Geocoder and matching",
    "## Time against size",
    "## Left out",
)


def test_percentile_known_answers() -> None:
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([10, 20], 50) == 15
    assert percentile([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 95) == pytest.approx(95)


def test_ratio_reads_times_faster() -> None:
    assert report._ratio(10.0, 2.0) == "5.0×"
    assert report._ratio(300.0, 1.0) == "300×"
    assert report._ratio(None, 1.0) == "–"


@pytest.mark.slow
def test_quick_run_writes_every_section(tmp_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_QUIET", "1")
    monkeypatch.setenv("ROUTES_TILE_URL", "")
    out = tmp_env / "RESULTS.md"
    results = run([1500], out_path=out, work=tmp_env / "bench", quick=True, browser=False)

    text = out.read_text()
    for section in SECTIONS:
        assert section in text, section
    assert (tmp_env / "scaling.png").stat().st_size > 1000
    saved = json.loads((tmp_env / "bench" / "results.json").read_text())
    assert saved["sizes"].keys() == {"1500"}

    figures = results["sizes"]["1500"]
    assert figures["ingest"]["result"]["rows_read"] >= 1500
    assert figures["ingest"]["max_rss_mib"] > 0 and figures["build"]["cpu_s"] > 0
    assert figures["build"]["result"]["table_seconds"]
    baseline = figures["baseline"]
    assert baseline["seconds"]["row_inserts"] > 0 and baseline["routes"]["seconds"]["ingest_file"] > 0
    assert figures["reference"]["copy_parquet_s"] > 0
    for viewer in ("admin", "leadership", "analyst"):
        assert figures["pages"]["viewers"][viewer]["statewide"]["view_p95_ms"] > 0

    # ratios are computed, and the budgets the run cannot judge say why
    assert "× |" in text.split("### Whole steps")[1]
    baseline_table = text.split("Ratio = baseline seconds")[1].split("Physical reference")[0]
    assert baseline_table.count("×") >= 3
    assert "not measured" in text and "10 M not run" in text


def test_page_queries_refuse_to_time_a_warehouse_the_query_layer_does_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``measure_pages`` of one warehouse while ``ROUTES_WAREHOUSE`` names another would time the wrong one."""
    from bench.pages import measure_pages

    monkeypatch.setenv("ROUTES_WAREHOUSE", str(tmp_path / "other" / "routes.duckdb"))
    with pytest.raises(ValueError, match="set ROUTES_WAREHOUSE="):
        measure_pages(tmp_path / "measured" / "routes.duckdb")


def test_settled_takes_the_last_map_frame_once_every_map_drew() -> None:
    from bench.browser import settled

    draws = [[100.0, 0], [900.0, 0], [2500.0, 1], [3100.0, 0]]
    assert settled(draws, 4000.0, since=0.0, maps=2) == {"s": 3.1, "what": "map"}
    # a filter change at 1000 ms: frames before it do not count
    assert settled(draws, 4000.0, since=1000.0, maps=1) == {"s": 2.1, "what": "map"}
    # the second map never drew after the change: the main area's last change is the figure
    assert settled(draws, 4000.0, since=2600.0, maps=2) == {"s": 1.4, "what": "content"}
    assert settled([], 1500.0, since=0.0, maps=0) == {"s": 1.5, "what": "content"}


def test_playback_steps_split_frames_into_months() -> None:
    from bench.browser import playback_steps

    # three months: bursts of frames ending at 1100, 2700 and 4000 ms; one frame before Play
    draws = [[50.0, 0], [1000.0, 0], [1100.0, 0], [2600.0, 0], [2700.0, 0], [3900.0, 0], [4000.0, 0]]
    assert playback_steps(draws, since=500.0) == pytest.approx([1.6, 1.3])
    assert playback_steps(draws[:3], since=500.0) == []


def test_component_steps_time_each_switch_to_its_frame_on_screen() -> None:
    from bench.browser import component_steps

    # the first month is the map appearing, not a step; a step not yet on screen is not counted
    log = [[0, 100.0, 900.0, 1000.0], [1, 1500.0, 1510.0, 1600.0], [2, 2100.0, 2105.0, 2350.0], [3, 2900.0, 2905.0, None]]
    assert component_steps(log) == pytest.approx([0.1, 0.25])
    assert component_steps(log[:1]) == []


def test_speed_rows_judge_each_figure_against_its_target_and_floor() -> None:
    from bench.browser import speed_rows

    speed = {
        "views": {"statewide": {"s": 4.0, "what": "map"}, "deconfliction": {"s": 1.0, "what": "content"}},
        "filter": {"heatmap": {"s": 0.5, "what": "map"}},
        "playback_steps_s": [5.0, 1.0, 3.0],
        "floor": {"map_s": 2.0, "redraw_s": 0.25},
    }
    rows = {r["what"]: r for r in speed_rows(speed)}
    assert rows["open statewide (map)"]["verdict"] == "MISS" and rows["open statewide (map)"]["ratio"] == 2.0
    assert rows["open deconfliction (content)"]["verdict"] == "PASS"
    assert rows["filter change on heatmap (map)"]["ratio"] == 2.0
    assert rows["filter change on heatmap (map)"]["verdict"] == "PASS"
    step = rows["playback step on heatmap (median of 3)"]
    assert step["s"] == 3.0 and step["ratio"] == 12.0 and step["verdict"] == "MISS"
    # no floor measured: figures and verdicts, no ratio
    assert all(r["ratio"] is None for r in speed_rows({**speed, "floor": {}}))


def test_report_lists_the_speed_figures_with_their_verdicts() -> None:
    speed = {"views": {"heatmap": {"s": 7.5, "what": "map"}}, "filter": {}, "playback_steps_s": [],
             "floor": {"map_s": 2.5, "redraw_s": 0.2}, "errors": {"region": "TimeoutError: no map"}}
    text = "\n".join(report._speed_section({"100000": {"browser": {"speed": speed}}}, ["100000"]))
    assert "| open heatmap (map) | 7.50 | 2.50 | 3.0× | ≤ 2 s | **MISS** |" in text
    assert "region not measured: `TimeoutError: no map`" in text


def test_build_memory_budget_judges_the_10m_build_child_against_4_gib() -> None:
    def build(rss_mib: float) -> dict:
        return {"build": {"max_rss_mib": rss_mib, "build_memory": "3GB", "result": {"seconds": 1.0}, "cpu_s": 1.0}}

    def row(sizes: dict) -> list[object]:
        return next(r for r in report.budgets({"sizes": sizes}) if r[1] == "≤ 4 GiB peak RSS")

    assert row({"10000000": build(4639.0)})[3:5] == ["4.53 GiB", "**missed**"]
    assert row({"10000000": build(3900.0)})[3:5] == ["3.81 GiB", "**met**"]
    unmeasured = row({"1000000": build(1838.0)})
    assert unmeasured[3:5] == ["–", "not measured"] and "at 1 M the build peaked at 1,838 MiB" in str(unmeasured[5])
