"""``python -m pipelines build``: derive every table the app reads from ``records``.

One build opens ONE :func:`routes.warehouse.write_snapshot` and runs each module
of :data:`BUILD_STEPS` in order on that connection. Each module exposes
``build(con) -> dict[str, int]`` (rows per table it wrote), drops and recreates
only its own tables, and is idempotent. Because all steps share one snapshot, the
build is atomic: an exception in any step (or a kill) leaves the live warehouse
exactly as it was; on success every derived table changes at once.

A step whose module has not been written yet is skipped with a logged note, so
the build works while the project grows.

Derived tables, by the module that owns (and documents) them:

==============================  ====================================================
module                          tables
==============================  ====================================================
``pipelines.build.flows``       ``flows``, ``flow_facts``, ``location_totals``,
                                ``coordination_pairs``, ``route_shifts``
``pipelines.build.corridors``   ``corridor_segments``, ``corridor_paths`` (and the
                                ``segment`` rows of ``route_shifts``)
``pipelines.build.aggregates``  ``cell_counts``, ``county_month_counts``
``pipelines.build.trend_aggregates``  ``trend_counts``, ``trend_indicator_counts``,
                                ``trend_indicator_bits``, ``source_precision_counts``,
                                ``trend_build_state``
``pipelines.build.hotspots``    ``hotspot_classes``
``pipelines.build.matches``     ``subject_matches``
``pipelines.build.moves``       ``moves``, ``circuits`` (read by ``query/moves.py``)
``pipelines.build.release``     ``release_counts``, ``release_count_parts``, ``release_cells``,
                                ``release_flows``, ``release_meta`` (the protected
                                release), ``release_noise``, ``release_ledger``
==============================  ====================================================

The build also sets two ``meta`` entries: ``built_at`` (UTC, ISO 8601) and
``data_as_of`` (the latest ``occurred_at`` date among the records).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.build.memory import limit_build_memory
from routes import settings, warehouse

log = logging.getLogger(__name__)

#: The builder modules, in the order they run (later steps may read earlier tables).
BUILD_STEPS = (
    "pipelines.build.flows",
    "pipelines.build.corridors",
    "pipelines.build.aggregates",
    "pipelines.build.trend_aggregates",
    "pipelines.build.hotspots",
    "pipelines.build.matches",
    "pipelines.build.moves",
    "pipelines.build.release",
)


#: Seconds spent per table in the latest build (filled by :func:`table_timer`).
TABLE_SECONDS: dict[str, float] = {}
#: CPU seconds (all threads of this process) per table in the latest build.
TABLE_CPU_SECONDS: dict[str, float] = {}


@contextlib.contextmanager
def table_timer(table: str) -> Iterator[None]:
    """Time the block that writes ``table``; print and record the seconds.

    Builder modules wrap each table's SQL in it so the build reports time per table.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    yield
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    TABLE_SECONDS[table] = TABLE_SECONDS.get(table, 0.0) + elapsed
    TABLE_CPU_SECONDS[table] = TABLE_CPU_SECONDS.get(table, 0.0) + cpu
    _say(f"      {table:<24} {elapsed:>8.2f} s  (cpu {cpu:.2f} s)")


def _say(message: str) -> None:
    if not settings.quiet():
        print(message, file=sys.stderr, flush=True)


def _set_build_meta(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT max(occurred_at)::DATE FROM records").fetchone()
    if row is not None and row[0] is not None:
        warehouse.set_meta(con, "data_as_of", row[0].isoformat())
    warehouse.set_meta(con, "built_at", datetime.now(UTC).replace(microsecond=0).isoformat())


def build_warehouse(
    *, warehouse_path: Path | None = None, steps: tuple[str, ...] | None = None
) -> dict[str, int]:
    """Rebuild every derived table in one atomic snapshot.

    Parameters
    ----------
    warehouse_path
        The live warehouse; defaults to :func:`routes.settings.warehouse_path`.
    steps
        Builder modules to run, in order; defaults to :data:`BUILD_STEPS`.

    Returns
    -------
    dict
        Rows written per table. Seconds per table (for steps that time their
        tables with :func:`table_timer`) are left in :data:`TABLE_SECONDS`;
        both are printed unless :func:`routes.settings.quiet`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "w.duckdb"
    >>> counts = build_warehouse(warehouse_path=path)
    >>> counts["flows"]
    0
    """
    started = time.perf_counter()
    with warehouse.write_snapshot(path=warehouse_path) as con:
        limit_build_memory(con, warehouse_path or settings.warehouse_path())  # ROUTES_BUILD_MEMORY
        counts = run_steps(con, steps=steps)
    _say(f"build finished in {time.perf_counter() - started:.2f} s")
    return counts


def run_steps(con: duckdb.DuckDBPyConnection, *, steps: tuple[str, ...] | None = None) -> dict[str, int]:
    """Run the builder modules on ``con`` (an open write snapshot) and set the build's ``meta``.

    :func:`build_warehouse` opens the snapshot itself; a retention purge runs the
    same steps inside its own snapshot, so the derived tables forget with it.
    """
    steps = BUILD_STEPS if steps is None else steps
    counts: dict[str, int] = {}
    TABLE_SECONDS.clear()
    TABLE_CPU_SECONDS.clear()
    for number, name in enumerate(steps, start=1):
        module = importlib.import_module(name)
        _say(f"[{number}/{len(steps)}] {name} …")
        step_started = time.perf_counter()
        written = module.build(con)
        elapsed = time.perf_counter() - step_started
        for table, rows in written.items():
            counts[table] = int(rows)
            _say(f"      {table:<24} {int(rows):>10,} rows")
        _say(f"      {name} took {elapsed:.2f} s")
        log.info("Built %s in %.2f s: %s", name, elapsed, written)
    _set_build_meta(con)
    return counts
