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
import contextvars
import importlib
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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


@dataclass
class TableSeconds:
    """Seconds per table of one build: ``wall`` and ``cpu`` (all threads of this process).

    The caller that wants them (``bench/``) passes one to :func:`build_warehouse`
    or :func:`run_steps`; the steps' :func:`table_timer` blocks add to it.
    """

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


#: The running build's :class:`TableSeconds`, set by :func:`run_steps` for its duration only,
#: so a step times its tables without taking them as an argument.
_RUNNING: contextvars.ContextVar[TableSeconds | None] = contextvars.ContextVar("table_seconds", default=None)


@contextlib.contextmanager
def table_timer(table: str) -> Iterator[None]:
    """Time the block that writes ``table``; print the seconds and add them to the running build's.

    Builder modules wrap each table's SQL in it so the build reports time per table.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    yield
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    seconds = _RUNNING.get()
    if seconds is not None:
        seconds.wall[table] = seconds.wall.get(table, 0.0) + elapsed
        seconds.cpu[table] = seconds.cpu.get(table, 0.0) + cpu
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
    *,
    warehouse_path: Path | None = None,
    steps: tuple[str, ...] | None = None,
    table_seconds: TableSeconds | None = None,
) -> dict[str, int]:
    """Rebuild every derived table in one atomic snapshot.

    Parameters
    ----------
    warehouse_path
        The live warehouse; defaults to :func:`routes.settings.warehouse_path`.
    steps
        Builder modules to run, in order; defaults to :data:`BUILD_STEPS`.
    table_seconds
        Seconds per table (for steps that time their tables with
        :func:`table_timer`) are added to it.

    Returns
    -------
    dict
        Rows written per table. Rows and seconds per table are printed
        unless :func:`routes.settings.quiet`.

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
        counts = run_steps(con, steps=steps, table_seconds=table_seconds)
    _say(f"build finished in {time.perf_counter() - started:.2f} s")
    return counts


def run_steps(
    con: duckdb.DuckDBPyConnection,
    *,
    steps: tuple[str, ...] | None = None,
    table_seconds: TableSeconds | None = None,
) -> dict[str, int]:
    """Run the builder modules on ``con`` (an open write snapshot) and set the build's ``meta``.

    :func:`build_warehouse` opens the snapshot itself; a retention purge runs the
    same steps inside its own snapshot, so the derived tables forget with it.
    Seconds per table are added to ``table_seconds`` when given.
    """
    steps = BUILD_STEPS if steps is None else steps
    running = _RUNNING.set(TableSeconds() if table_seconds is None else table_seconds)
    try:
        return _run_steps(con, steps)
    finally:
        _RUNNING.reset(running)


def _run_steps(con: duckdb.DuckDBPyConnection, steps: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
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
