"""Ingest benchmark: demo files → warehouse, and peak memory on one very long file.

``python bench/bench_ingest.py [--records 1000000] [--big-rows 10000000]``

- :func:`run`: generate the demo (not timed), then register the sources and ingest
  every file into a fresh warehouse exactly as ``setup-demo`` does; reports the
  wall and CPU seconds, records per second, and seconds per stage
  (:class:`pipelines.ingest.timing.StageSeconds`, passed down). Target: 1 M records ≤ 30 s.
- :func:`run_big`: write one CSV of ``rows`` rows in contract column names and
  ingest it in a child process; reports its peak RSS. Target: 10 M rows < 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from routes.contract.vocabularies import RECORD_TYPES, TRAFFICKING_TYPES  # noqa: E402  (after the path)


def _env(tmp: Path) -> None:
    os.environ["ROUTES_WAREHOUSE"] = str(tmp / "warehouse" / "routes.duckdb")
    os.environ["ROUTES_KEY_FILE"] = str(tmp / "secrets" / "routes.key")
    os.environ["ROUTES_QUIET"] = "1"


def run(records: int = 1_000_000, *, seed: int = 7, workdir: Path | None = None) -> dict:
    """Time demo files → warehouse for ``records`` demo records; returns the figures."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix="bench-ingest-"))
    _env(tmp)
    from pipelines.demo import generate_demo
    from pipelines.demo import setup as setup_demo
    from pipelines.ingest.timing import StageSeconds

    demo_dir = tmp / "demo"
    if not (demo_dir / "ground_truth.json").exists():
        generate_demo(demo_dir, records=records, seed=seed)
    work = tmp / "warehouse" / "bench.duckdb"
    work.parent.mkdir(parents=True, exist_ok=True)
    work.unlink(missing_ok=True)
    stage_seconds = StageSeconds()
    wall, cpu = time.perf_counter(), time.process_time()
    batches = setup_demo._ingest_demo(demo_dir, work, stage_seconds=stage_seconds)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = sum(b.rows_read for b in batches)
    return {
        "records_requested": records,
        "files": len(batches),
        "rows_read": rows,
        "seconds_wall": round(wall, 2),
        "seconds_cpu": round(cpu, 2),
        "rows_per_second": round(rows / wall),
        "warehouse_mb": round(work.stat().st_size / 2**20, 1),
        "stages_seconds": {k: round(v, 2) for k, v in sorted(stage_seconds.items(), key=lambda kv: -kv[1])},
        "stages_rows_per_second": {k: round(rows / v) for k, v in stage_seconds.items() if v},
        "load_average": os.getloadavg(),
    }


_PLACES = ["Fresno", "Oakland, CA", "93721", "San Diego", "Sacramento", "Los Angeles",
           "Bakersfield", "Kern County", "Stockton", "Modesto", "Redding", "Reno, NV",
           "Riverside", "San Jose", "Santa Rosa", "Chico", "Eureka", "Visalia"]


def write_big_csv(path: Path, rows: int, *, seed: int = 1, block: int = 1_000_000) -> Path:
    """A ``rows``-row CSV in contract column names (written in blocks)."""
    rng = np.random.default_rng(seed)
    places = np.array(_PLACES, dtype=object)
    with pacsv.CSVWriter(path, pa.schema([(c, pa.string()) for c in (
        "record_id", "record_type", "occurred_at", "trafficking_type", "location",
        "victim_count", "phone", "email", "indicators",
    )])) as writer:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            ids = np.arange(start, start + n)
            days = rng.integers(0, 3650, n)
            dates = (np.datetime64("2016-01-01") + days.astype("timedelta64[D]")).astype(str)
            writer.write_table(pa.table({
                "record_id": pa.array([f"R{i:09d}" for i in ids]),
                "record_type": pa.array(np.array(RECORD_TYPES, dtype=object)[ids % 4]),
                "occurred_at": pa.array(dates.astype(object)),
                "trafficking_type": pa.array(np.array(TRAFFICKING_TYPES, dtype=object)[ids % 4]),
                "location": pa.array(places[rng.integers(0, len(places), n)]),
                "victim_count": pa.array((1 + ids % 4).astype(str).astype(object)),
                "phone": pa.array([f"(415) 555-{i % 10000:04d}" for i in ids]),
                "email": pa.array([f"p{i % 50000}@example.org" for i in ids]),
                "indicators": pa.array(np.array(["motel;online_ads", "", "agriculture"], dtype=object)[ids % 3]),
            }))
    return path


_CHILD = """
import json, resource, sys, time
from pipelines.ingest import ingest_files
from pipelines.ingest.sources import add_source
add_source("big", name="Big", kind="hotline")
t = time.perf_counter()
[s] = ingest_files([sys.argv[1]], source_id="big")
print(json.dumps({"rows_read": s.rows_read, "loaded": s.loaded, "quarantined": s.quarantined,
                  "seconds": round(time.perf_counter() - t, 1),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def run_big(rows: int = 10_000_000, *, workdir: Path | None = None) -> dict:
    """Ingest one ``rows``-row file in a child process; report its peak RSS."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix="bench-big-"))
    _env(tmp)
    path = tmp / f"big_{rows}.csv"
    if not path.exists():
        write_big_csv(path, rows)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    (tmp / "warehouse" / "routes.duckdb").unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["file_mib"] = round(path.stat().st_size / 2**20)
    result["children_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="0 skips the memory run")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    print(json.dumps({"demo": run(args.records, workdir=args.workdir)}, indent=2), flush=True)
    if args.big_rows:
        print(json.dumps({"big_file": run_big(args.big_rows)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
