"""Tests for the engine section of the benchmarks (``bench/engines.py``, ``bench.report``'s engine part).

No Spark here: what is checked is the process-tree memory reading, the fitted
cost curve, and that the section is written into an existing RESULTS.md without
touching its other sections, and kept when those are rewritten.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import engines, report


def _fake_results() -> dict:
    def engine(wall: float, mib: float) -> dict:
        return {"wall_s": wall, "build_s": wall - 1, "cpu_s": wall * 1.5, "peak_tree_rss_mib": mib,
                "max_rss_one_process_mib": mib / 2, "table_seconds": {"cell_counts": wall / 10}}

    sizes = {
        str(n): {"size": n, "records": n, "load_average_start": 1.0, "load_average_end": 2.0,
                 "lake_export": {"wall_s": 1.0}, "lake_mib": 3.0,
                 "duckdb": engine(2.0 * n / 1000, 300.0), "spark": engine(20.0 * (n / 1000) ** 0.5, 900.0)}
        for n in (1000, 100_000)
    }
    return {"date": "2026-12-05 00:00 UTC", "command": "python -m bench --engines", "machine": {"cores": 2},
            "versions": {"duckdb": "x", "pyspark": "y"}, "sizes": sizes}


def test_power_fit_known_answers() -> None:
    a, b = report.power_fit([10.0, 1000.0], [3.0, 300.0])
    assert b == pytest.approx(1.0)
    assert a == pytest.approx(0.3)
    a, b = report.power_fit([1.0, 4.0, 16.0], [5.0, 10.0, 20.0])
    assert b == pytest.approx(0.5)
    assert report.power_fit([10.0], [1.0]) is None


def test_tree_rss_counts_the_children() -> None:
    """A child holding ~200 MiB shows in its parent's tree, not in the parent alone."""
    code = "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ok"
        time.sleep(0.2)
        alone = engines._rss_kib(os.getpid()) / 1024
        tree = engines.tree_rss_mib(os.getpid())
        assert tree - alone > 190
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_run_tree_measures_a_grandchild(tmp_path: Path) -> None:
    """The peak is the tree's: a child whose own child allocates 150 MiB peaks above 150 MiB."""
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "\"import time; b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1)\"], check=True)")
    run = engines.run_tree(["-c", code], env={}, log_path=tmp_path / "log")
    assert run["peak_tree_rss_mib"] > 150
    parts = run["peak_tree_parts_mib"]  # the peak, process by process: the grandchild holds most of it
    assert sum(parts.values()) == pytest.approx(run["peak_tree_rss_mib"])
    assert max(parts.values()) > 150 and len(parts) == 2
    assert run["max_rss_one_process_mib"] > 150  # wait4 counts the reaped grandchild's peak as well
    assert run["wall_s"] >= 1
    assert 0 <= run["load_min"] <= run["load_max"]  # sampled during the step (a shared machine: no upper bound)


def test_engine_section_is_spliced_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmarks\n\nabove\n\n## Time against size\n\nbelow\n")
    results = _fake_results()
    report.write_engine_section(results, out_path=out, chart_path=tmp_path / "engines.png")
    text = out.read_text()
    assert text.index("above") < text.index(report.ENGINE_HEADING) < text.index("## Time against size")
    assert "| 100 k | 100,000 |" in text
    assert "Spark / DuckDB wall" in text
    assert "| 1.0–2.0 | – |" in text  # no load sampled during the step: start–end only; no time recorded

    results["sizes"]["1000"]["spark"].update(load_min=2.25, load_max=7.5)
    results["sizes"]["1000"]["measured_at"] = "2026-12-05 17:16 UTC"
    report.write_engine_section(results, out_path=out, chart_path=tmp_path / "engines.png")
    assert "| 1.0–2.0 (Spark 2.2–7.5) | 2026-12-05 17:16 UTC |" in out.read_text()
    assert (tmp_path / "engines.png").stat().st_size > 1000

    results["sizes"]["1000"]["spark"]["wall_s"] = 77.7
    report.write_engine_section(results, out_path=out, chart_path=tmp_path / "engines.png")
    again = out.read_text()
    assert again.count(report.ENGINE_HEADING) == 1
    assert "77.70" in again and "below" in again

    kept = report.existing_engine_section(out)
    assert kept is not None
    rewritten = report.splice_engine_section("# Benchmarks\n\n## Time against size\n", kept)
    assert "77.70" in rewritten
