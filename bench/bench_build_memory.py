"""Where the build's memory goes: peak RSS per step and per table, and DuckDB's share of it.

``python -m bench.bench_build_memory WAREHOUSE [STEP …]`` rebuilds ``WAREHOUSE`` in place
(:func:`pipelines.build.build_warehouse`, as ``python -m pipelines build`` does;
run it on a copy) while a thread reads, every 0.05 s:

- the process's resident set (``VmRSS`` in ``/proc/self/status``);
- the memory DuckDB's buffer manager holds (``duckdb_memory()`` on a second
  connection to the build's database: the part ``memory_limit`` caps);
- the size of the build's spill folder (:func:`pipelines.build.memory.spill_dir`).

Each sample is charged to the table being written (the build's
:func:`pipelines.build.table_timer` blocks) or else to the step. For each label
it prints the peak RSS, DuckDB's memory at that moment and the rest (Python:
pandas, numpy, H3 and OpenDP arrays, results fetched from DuckDB, plus the
interpreter and its libraries), the highest DuckDB figure and the most spilled.
The last stdout line is the same as JSON. ``VmHWM`` (the kernel's peak, which a
0.05 s sampler can miss) is printed for the whole build.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ROUTES_QUIET", "1")

import duckdb  # noqa: E402

from pipelines import build  # noqa: E402
from pipelines.build.memory import spill_dir  # noqa: E402

MIB = 1024 * 1024


def _status_mib(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _folder_mib(folder: Path) -> float:
    try:
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / MIB
    except OSError:
        return 0.0


class Sampler:
    """Sample RSS, DuckDB's memory and the spill folder; keep each label's peaks."""

    def __init__(self, spill: Path, *, every_s: float = 0.05) -> None:
        self.spill, self.every_s = spill, every_s
        self.label = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self.order: list[str] = []
        self.within: dict[str, str] = {}
        self.cursor: duckdb.DuckDBPyConnection | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _duckdb_mib(self) -> float:
        if self.cursor is None:
            return 0.0
        try:
            row = self.cursor.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
        except duckdb.Error:
            return float("nan")
        return (row[0] or 0) / MIB if row else 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()

    def sample(self) -> None:
        rss, db, spilled = _status_mib("VmRSS"), self._duckdb_mib(), _folder_mib(self.spill)
        label = self.label
        if label not in self.peaks:
            self.order.append(label)
            self.peaks[label] = {"rss_mib": 0.0, "duckdb_at_peak_mib": 0.0, "python_at_peak_mib": 0.0,
                                 "duckdb_max_mib": 0.0, "spill_max_mib": 0.0, "seconds": 0.0}
        p = self.peaks[label]
        if rss > p["rss_mib"]:
            p.update(rss_mib=rss, duckdb_at_peak_mib=db, python_at_peak_mib=rss - db)
        p["duckdb_max_mib"] = max(p["duckdb_max_mib"], db)
        p["spill_max_mib"] = max(p["spill_max_mib"], spilled)
        p["seconds"] += self.every_s

    @contextlib.contextmanager
    def labelled(self, label: str) -> Iterator[None]:
        outer, self.label = self.label, label
        self.within.setdefault(label, outer)  # a table's step, a step's "start"
        try:
            yield
        finally:
            self.sample()
            self.label = outer
            if not os.environ.get("ROUTES_TRACE_QUIET"):
                print(_line(label, self.peaks.get(label)), file=sys.stderr, flush=True)


def _line(label: str, p: dict[str, float] | None) -> str:
    if p is None:
        return f"{label:<34} (no sample)"
    return (f"{label:<34} {p['rss_mib']:>9,.0f} {p['duckdb_at_peak_mib']:>8,.0f} {p['python_at_peak_mib']:>8,.0f}"
            f" {p['duckdb_max_mib']:>10,.0f} {p['spill_max_mib']:>9,.0f} {p['seconds']:>7.1f}")


def _instrument(sampler: Sampler) -> None:
    """Charge samples to tables and steps: wrap ``table_timer``, each step's ``build`` and ``run_steps``."""
    timer = build.table_timer

    @contextlib.contextmanager
    def traced_timer(table: str) -> Iterator[None]:
        with sampler.labelled(table), timer(table):
            yield

    build.table_timer = traced_timer  # type: ignore[assignment]  # before the steps import it
    for name in build.BUILD_STEPS:
        module = importlib.import_module(name)
        module.build = _labelled_step(sampler, name.rsplit(".", 1)[-1], module.build)  # type: ignore[attr-defined]
    run_steps = build.run_steps

    def traced_run_steps(con: duckdb.DuckDBPyConnection, **kw: Any) -> dict[str, int]:
        sampler.cursor = con.cursor()
        try:
            return run_steps(con, **kw)
        finally:
            sampler.cursor.close()
            sampler.cursor = None
            sampler.label = "checkpoint and swap"

    build.run_steps = traced_run_steps  # type: ignore[assignment]


def _labelled_step(sampler: Sampler, label: str, step: Callable[..., Any]) -> Callable[..., Any]:
    def labelled_step(con: duckdb.DuckDBPyConnection) -> Any:
        with sampler.labelled(label):
            return step(con)

    return labelled_step


def trace(warehouse_path: Path, *, steps: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Rebuild ``warehouse_path`` under the sampler; return its peaks by label, wall and CPU seconds."""
    sampler = Sampler(spill_dir(warehouse_path))
    _instrument(sampler)
    load = [os.getloadavg()[0]]
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    build.build_warehouse(warehouse_path=warehouse_path, steps=steps)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    sampler.stop()
    load.append(os.getloadavg()[0])
    labels = {k: {**sampler.peaks[k], "within": sampler.within.get(k, "")} for k in sampler.order}
    return {"labels": labels, "wall_s": wall, "cpu_s": cpu,
            "vmhwm_mib": _status_mib("VmHWM"), "memory_limit": os.environ.get("ROUTES_BUILD_MEMORY", "default"),
            "load_average_1min": load}


def main() -> int:
    steps = tuple(f"pipelines.build.{s}" for s in sys.argv[2:]) or None  # e.g. aggregates
    result = trace(Path(sys.argv[1]), steps=steps)
    print(f"{'label':<34} {'peak RSS':>9} {'DuckDB':>8} {'rest':>8} {'DuckDB max':>10} {'spill max':>9} {'s':>7}")
    for label, p in result["labels"].items():
        print(_line(label, p))
    print(f"wall {result['wall_s']:.1f} s, CPU {result['cpu_s']:.1f} s, VmHWM {result['vmhwm_mib']:,.0f} MiB, "
          f"load average {result['load_average_1min']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
