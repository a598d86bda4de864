"""Benchmarks of Routes: how fast, at what size, against what (issue 11).

``make bench`` runs ``python -m bench --sizes 100000 1000000``: for each size it
generates the demo, ingests it, builds it, times every page's queries, opens the
app in headless Chromium, runs an analyst-style baseline and a physical reference
on the same input, and writes ``bench/RESULTS.md`` and ``bench/scaling.png``. It
then runs ``python -m bench --engines`` at the same sizes (:mod:`bench.engines`:
the build on DuckDB against Spark ``local[2]``; ``bench/engines.png``).

Modules
-------
``__main__``   the command line and the run, size by size
``baseline``   the same work written the way a capable analyst would, and the
               physical reference (DuckDB scanning and copying Parquet)
``pages``      p50/p95 of each page's query-layer calls with varied filters
``browser``    time to first map in headless Chromium; app memory
``report``     ``RESULTS.md`` and the log-log charts
``engines``    the build on DuckDB against the build on Spark ``local[2]``
               (``python -m bench --engines --sizes …``; peak RSS of the process tree)
``bench_*``    per-step benchmarks other modules own (geocoder, matches, build)

This module holds what they share: the machine description, running a step as a
child process with its peak memory, and percentiles.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Working data (git-ignored): demos, warehouses, Parquet copies.
WORK_DIR = REPO / "data" / "bench"


@dataclass(frozen=True)
class StepRun:
    """One child process: wall and CPU seconds, peak RSS, and the JSON it printed last."""

    wall_s: float
    cpu_s: float
    max_rss_mib: float
    result: dict

    def as_dict(self) -> dict:
        return asdict(self)


def run_step(args: list[str], *, env: dict[str, str] | None = None, log_path: Path | None = None) -> StepRun:
    """Run ``python args…`` as a child; measure it with ``os.wait4``.

    ``wait4`` gives this child's own rusage (not the maximum over every child so
    far, as ``RUSAGE_CHILDREN`` would), so the peak RSS is the step's. The child's
    last stdout line, when it is JSON, is returned as ``result``.
    """
    run_env = {**os.environ, **(env or {})}
    run_env["PYTHONPATH"] = str(REPO) + os.pathsep + run_env.get("PYTHONPATH", "")
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *args], cwd=REPO, env=run_env, stdout=subprocess.PIPE, stderr=log, text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if log_path:
        log.close()  # type: ignore[union-attr]
    if process.returncode != 0:
        tail = log_path.read_text()[-3000:] if log_path else ""
        raise RuntimeError(f"step {args!r} failed with exit code {process.returncode}: {tail}")
    result: dict = {}
    for line in reversed(output.strip().splitlines()):
        try:
            result = json.loads(line)
            break
        except ValueError:
            continue
    return StepRun(
        wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024, result=result,
    )


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linear between ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def load_average() -> float:
    """The one-minute load average (how busy the shared machine was)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def machine() -> dict[str, object]:
    """Cores, memory, CPU model and OS of this machine."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024**2
                break
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"') + f" (kernel {platform.release()})"
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gib": round(mem_gib, 1), "cpu": model, "os": os_name}


def versions() -> dict[str, str]:
    """Versions of Python and the libraries whose speed the figures depend on."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("duckdb", "pandas", "pyarrow", "h3", "geopandas", "shapely", "streamlit", "playwright"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
