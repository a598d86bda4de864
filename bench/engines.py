"""The build on DuckDB against the build on Spark ``local[2]``: time and peak memory by size (issue 21).

``python -m bench --engines --sizes 100000 1000000 [10000000 ...]``. For each size,
in a working folder of its own (``data/bench/engines/<size>``), each step a child
process:

1. the demo generator (``python -m pipelines demo``, the same seed as the other sections);
2. ingest, as :mod:`bench.__main__` does (one ``ingest`` per source);
3. ``python -m pipelines lake export`` (the warehouse's base tables as Parquet);
4. DuckDB: ``build_warehouse`` with the steps the Spark engine runs
   (:data:`DUCKDB_STEPS`: flows, corridors, aggregates, trend aggregates, hot
   spots, matches, moves);
5. Spark: ``python -m pipelines build --engine spark --lake ... --master local[2]``,
   the very command a cluster runs, JVM start-up included;
6. ``release compare``: each Spark table against the DuckDB one, row for row
   (``spark_equals_duckdb``: rows, rows only in DuckDB's, rows only in Spark's).

Peak memory is the **process tree's** resident set: every 0.1 s the RSS of the
child and of all its descendants is read from ``/proc/<pid>/status`` (``VmRSS``)
and summed; the figure is the largest sum seen. For Spark that tree is the
Python driver plus the JVM that PySpark starts (executors run inside it in local
mode); the RSS of each process at the peak is kept too. CPU seconds are those of every process of the tree, each read from
``/proc/<pid>/stat`` at the last sample it was alive (the JVM is not always reaped
by the Python child, so ``wait4``'s figure, also kept, can leave it out). The one-minute
load average is sampled with the memory (lowest and highest during the step): the
machine is shared, and a step's wall time means little without it. Results go to ``data/bench/engines.json``; the section
of ``bench/RESULTS.md`` and ``bench/engines.png`` are rewritten from it
(:func:`bench.report.write_engine_section`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import REPO, load_average, machine, run_step

#: The DuckDB build steps whose tables the Spark engine writes (all but circuits'
#: release and the protected release, whose noise ``release load`` draws).
DUCKDB_STEPS = (
    "pipelines.build.flows",
    "pipelines.build.corridors",
    "pipelines.build.aggregates",
    "pipelines.build.trend_aggregates",
    "pipelines.build.hotspots",
    "pipelines.build.matches",
    "pipelines.build.moves",
)
SEED = 7
SAMPLE_S = 0.1
SPARK_MASTER = "local[2]"


# ------------------------------------------------------------------ process-tree memory


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (``/proc/<pid>/task/*/children``)."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return out


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _name(pid: int) -> str:
    """The process's command name (``/proc/<pid>/comm``: ``python``, ``java``), or ``?`` once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def tree_pids(pid: int) -> list[int]:
    """``pid`` and every live descendant."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in out:
            out.append(p)
            todo += _children(p)
    return out


def tree_rss_mib(pid: int) -> float:
    """The summed RSS of ``pid`` and every descendant, in MiB."""
    return sum(_rss_kib(p) for p in tree_pids(pid)) / 1024


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float | None:
    """User + system seconds of ``pid`` itself (``/proc/<pid>/stat``), None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15)


def run_tree(args: list[str], *, env: dict[str, str], log_path: Path) -> dict:
    """Run ``python args…`` as a child; wall and CPU seconds and the peak RSS of its process tree."""
    run_env = {**os.environ, **env, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(log_path, "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, *args], cwd=REPO, env=run_env, stdout=log, stderr=log)
        peak = [0.0]
        peak_parts: dict[str, float] = {}  # at the peak: MiB per process, keyed "pid name"
        cpu: dict[int, float] = {}  # last CPU seconds seen per process of the tree
        loads: list[float] = []  # the one-minute load average at each sample
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                pids = tree_pids(process.pid)
                parts = {p: _rss_kib(p) / 1024 for p in pids}
                if sum(parts.values()) > peak[0]:
                    peak[0] = sum(parts.values())
                    peak_parts.clear()
                    peak_parts.update({f"{p} {_name(p)}": mib for p, mib in parts.items() if mib})
                loads.append(os.getloadavg()[0])
                for p in pids:
                    seconds = cpu_s(p)
                    if seconds is not None:
                        cpu[p] = max(cpu.get(p, 0.0), seconds)
                done.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    code = process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    if code != 0:
        raise RuntimeError(f"step {args!r} failed with exit code {code}: {log_path.read_text()[-3000:]}")
    own = usage.ru_utime + usage.ru_stime  # the child and the descendants it reaped
    others = sum(v for p, v in cpu.items() if p != process.pid)
    return {"wall_s": wall, "cpu_s": max(own, cpu.get(process.pid, 0.0) + others), "cpu_wait4_s": own,
            "peak_tree_rss_mib": peak[0], "peak_tree_parts_mib": peak_parts,
            "max_rss_one_process_mib": usage.ru_maxrss / 1024,
            "load_min": min(loads, default=None), "load_max": max(loads, default=None)}


# ------------------------------------------------------------------ one size


def _say(message: str) -> None:
    print(f"[bench engines {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _seconds_in(log_text: str, pattern: str) -> float | None:
    found = re.findall(pattern, log_text)
    return float(found[-1]) if found else None


def measure_engines_at(size: int, *, work: Path) -> dict:
    """Demo, ingest, lake export, the DuckDB build and the Spark build at ``size`` records."""
    folder = work / "engines" / str(size)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    demo, wh = folder / "demo", folder / "warehouse" / "routes.duckdb"
    lake, built = folder / "lake", folder / "spark_build"
    wh.parent.mkdir()
    env = {
        "ROUTES_WAREHOUSE": str(wh), "ROUTES_DEMO_DIR": str(demo),
        "ROUTES_KEY_FILE": str(folder / "secrets" / "routes.key"),
        "ROUTES_CONTROL": str(wh.parent / "control.sqlite"), "ROUTES_QUIET": "1",
    }
    out: dict = {"size": size, "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "load_average_start": load_average()}
    _say(f"{size:,}: demo generation and ingest")
    run_step(["-m", "pipelines", "demo", "--records", str(size), "--seed", str(SEED), "--out", str(demo)],
             env=env, log_path=folder / "demo.log")
    ingest = run_step(["-m", "bench", "--step", "ingest", "--demo", str(demo), "--warehouse", str(wh)],
                      env=env, log_path=folder / "ingest.log")
    out["records"] = int(ingest.result["loaded"])

    _say(f"{size:,}: lake export")
    out["lake_export"] = run_tree(["-m", "pipelines", "lake", "export", "--out", str(lake), "--warehouse", str(wh)],
                                  env=env, log_path=folder / "lake.log")
    out["lake_mib"] = sum(p.stat().st_size for p in lake.rglob("*") if p.is_file()) / 2**20

    _say(f"{size:,}: DuckDB build ({len(DUCKDB_STEPS)} steps)")
    out["duckdb"] = run_tree(["-m", "bench", "--step", "build-engine-steps", "--warehouse", str(wh)],
                             env=env, log_path=folder / "duckdb.log")
    duck_log = (folder / "duckdb.log").read_text()
    out["duckdb"]["build_s"] = _seconds_in(duck_log, r"engine steps built in ([\d.]+) s")
    out["duckdb"]["table_seconds"] = json.loads(duck_log.strip().splitlines()[-1])

    _say(f"{size:,}: Spark build ({SPARK_MASTER})")
    out["spark"] = run_tree(
        ["-m", "pipelines", "build", "--engine", "spark", "--lake", str(lake), "--out", str(built),
         "--master", SPARK_MASTER], env={**env, "ROUTES_QUIET": "0"}, log_path=folder / "spark.log",
    )
    spark_log = (folder / "spark.log").read_text()
    out["spark"]["build_s"] = _seconds_in(spark_log, r"spark build finished in ([\d.]+) s")
    out["spark"]["table_seconds"] = {
        m.group(1): float(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+[\d,]+ rows\s+([\d.]+) s", spark_log, re.M)
    }
    out["load_average_end"] = load_average()
    from pipelines.build.release_load import compare_release

    _say(f"{size:,}: comparing the Spark tables with DuckDB's")
    out["spark_equals_duckdb"] = {t: list(v) for t, v in compare_release(built, warehouse_path=wh).items()}
    for folder_name in (lake, built, demo):
        shutil.rmtree(folder_name, ignore_errors=True)
    return out


def build_engine_steps(warehouse_path: Path) -> int:
    """The child step: :data:`DUCKDB_STEPS` on the warehouse; prints the seconds per table as JSON."""
    from pipelines import build

    started = time.perf_counter()
    table_seconds = build.TableSeconds()
    build.build_warehouse(warehouse_path=warehouse_path, steps=DUCKDB_STEPS, table_seconds=table_seconds)
    print(f"engine steps built in {time.perf_counter() - started:.3f} s")
    print(json.dumps(table_seconds.wall))
    return 0


def run(sizes: list[int], *, work: Path, out_path: Path) -> dict:
    """Measure every size; merge into ``work/engines.json``; rewrite the RESULTS.md section and the chart."""
    from bench import report

    work.mkdir(parents=True, exist_ok=True)
    path = work / "engines.json"
    results = json.loads(path.read_text()) if path.exists() else {"sizes": {}}
    results.update({"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
                    "master": SPARK_MASTER, "command": "python -m bench " + " ".join(sys.argv[1:])})
    results.setdefault("sizes", {})
    try:
        from importlib import metadata

        results["versions"] = {"duckdb": metadata.version("duckdb"), "pyspark": metadata.version("pyspark")}
    except Exception:  # noqa: BLE001 - versions are a note, not a measurement
        pass
    for size in sorted(sizes):
        results["sizes"][str(size)] = measure_engines_at(size, work=work)
        path.write_text(json.dumps(results, indent=1))
    report.write_engine_section(results, out_path=out_path, chart_path=out_path.with_name("engines.png"))
    _say(f"wrote the engine section of {out_path} and {out_path.with_name('engines.png')}")
    return results
