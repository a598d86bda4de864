"""Benchmark the demo generator: wall seconds, CPU seconds and peak memory.

``python bench/bench_demo.py [RECORDS ...]`` (default 60,000 and 10,000,000).
Each size runs in a fresh child process so its peak RSS is its own; the files go
to a temporary folder that is removed afterwards. Budget (issue 3): 10 M records
in under two minutes with peak memory under 1 GiB on the 2-core reference machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pipelines.demo import generate_demo
start, cpu = time.perf_counter(), time.process_time()
truth = generate_demo(Path(sys.argv[1]), records=int(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - start,
                  "cpu_seconds": time.process_time() - cpu,
                  "rows": truth["rows_written"],
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(records: int) -> dict[str, float]:
    """Generate ``records`` in a child process; return seconds, CPU seconds, peak RSS (MiB)."""
    out = Path(tempfile.mkdtemp(prefix="routes-bench-demo-"))
    try:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(out), str(records)], cwd=REPO, check=True,
            capture_output=True, text=True, env={**os.environ, "ROUTES_QUIET": "1"},
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["process_seconds"] = time.perf_counter() - started
        result["bytes_written"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        result["records"] = records
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str]) -> int:
    sizes = [int(a.replace("_", "")) for a in argv] or [60_000, 10_000_000]
    for records in sizes:
        r = run(records)
        print(f"{records:>12,} records: {r['seconds']:6.1f} s wall "
              f"({r['cpu_seconds']:.1f} s CPU, {r['process_seconds']:.1f} s with start-up), "
              f"peak RSS {r['peak_rss_mib']:,.0f} MiB, {r['rows']:,} rows, "
              f"{r['bytes_written'] / 2**20:,.0f} MiB on disk")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
