"""Benchmark the build: seconds per output table for a synthetic warehouse.

``python bench/bench_build.py [RECORDS]`` (default 1,000,000) writes a synthetic
warehouse (``tests/support/warehouse_fixture.py``, fixed seed) into a temporary folder,
runs :func:`pipelines.build.build_warehouse` once to warm caches (highway graph,
reference data) on a small warehouse, then times the full build. Target
(``docs/DESIGN.md``): 1 M records in at most 30 s on 2 cores.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ROUTES_QUIET", "1")

from pipelines import build  # noqa: E402
from tests.support.warehouse_fixture import make_small_warehouse  # noqa: E402


def run(records: int = 1_000_000, *, seed: int = 1) -> dict[str, float]:
    """Build a warehouse of ``records`` synthetic records; return seconds per output table.

    The result also holds ``"<table> (cpu)"`` (CPU seconds of all threads: what
    the build costs when the machine is shared), ``"total"`` (the whole
    :func:`build_warehouse` call, snapshot copy and swap included), ``"generate"``
    (writing the input) and the machine's load average after the build.
    """
    folder = Path(tempfile.mkdtemp(prefix="routes-bench-"))
    warm = folder / "warm.duckdb"
    make_small_warehouse(warm, n=2000, seed=seed)
    build.build_warehouse(warehouse_path=warm)
    path = folder / "bench.duckdb"
    started = time.perf_counter()
    make_small_warehouse(path, n=records, seed=seed)
    generate = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    table_seconds = build.TableSeconds()
    build.build_warehouse(warehouse_path=path, table_seconds=table_seconds)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    seconds = dict(table_seconds.wall)
    seconds.update({f"{t} (cpu)": v for t, v in table_seconds.cpu.items()})
    seconds["total"] = total
    seconds["total (cpu)"] = cpu
    seconds["generate"] = generate
    seconds["load average (1 min)"] = os.getloadavg()[0]
    return seconds


def main() -> int:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seconds = run(records)
    print(f"build of {records:,} records")
    for table, value in seconds.items():
        unit = "" if table.startswith("load average") else " s"
        print(f"  {table:<28} {value:8.2f}{unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
