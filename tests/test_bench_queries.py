"""bench/bench_queries.py runs on a small built warehouse and reports every reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_queries
from pipelines import build
from tests.support.warehouse_fixture import make_small_warehouse


@pytest.mark.slow  # runs every reader of the bench several times
def test_run_reports_p50_p95_per_reader_and_the_reference(tmp_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_env / "bench" / "routes.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    make_small_warehouse(path, n=1500)
    build.build_warehouse(warehouse_path=path)
    result = bench_queries.run(path, repeats=3, others=False)
    assert set(result["viewers"]) == {"leadership", "analyst"}
    for role, readers in result["viewers"].items():
        assert "suppression.guard_filters" in readers and "trends.headline_figures" in readers
        for name, figures in readers.items():
            assert figures["n"] == 3 and figures["p95_ms"] >= figures["p50_ms"] >= 0, (role, name)
            assert figures["errors"] == 0, (role, name, figures["first_error"])
    assert result["reference"]["n"] == 3
    assert "| leadership | trends.headline_figures |" in bench_queries.format_table(result)
