"""``bench.bench_build_memory``: the build's peak RSS charged to each step, with DuckDB's share."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from bench import bench_build_memory
from pipelines import build
from tests.support.warehouse_fixture import make_small_warehouse


@pytest.mark.slow
def test_trace_charges_the_peak_to_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_QUIET", "1")
    monkeypatch.setenv("ROUTES_TRACE_QUIET", "1")
    for name in ("table_timer", "run_steps"):  # restored after the test: the trace wraps them
        monkeypatch.setattr(build, name, getattr(build, name))
    for step in build.BUILD_STEPS:
        module = importlib.import_module(step)
        monkeypatch.setattr(module, "build", module.build)
    live = tmp_path / "routes.duckdb"
    make_small_warehouse(live, n=1500, seed=3)

    result = bench_build_memory.trace(live)

    labels = result["labels"]
    for step in build.BUILD_STEPS:
        peak = labels[step.rsplit(".", 1)[-1]]
        assert peak["within"] == "start" and peak["rss_mib"] > 50
        assert 0 <= peak["duckdb_max_mib"] < peak["rss_mib"]
    assert result["vmhwm_mib"] >= max(p["rss_mib"] for p in labels.values())
    json.dumps(result)
