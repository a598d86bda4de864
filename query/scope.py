"""The aggregate scope of a viewer: every agency (the protected release) or its own task force's records (exact).

An analyst or lead reads two kinds of aggregate, never mixed in one answer:

- :data:`~query.viewer.ALL_AGENCIES` (the default, and the only scope of a
  viewer without record access): the protected release
  (:mod:`query.release`). Its answers are noisy, so no two of them subtract to
  a hidden count, whatever filters, levels or periods are compared.
- :data:`~query.viewer.OWN_RECORDS`: exact counts, but only of the records
  whose source belongs to the viewer's task force (``records.source_task_force``),
  under the small-cell rules of :mod:`query.suppression` as before. Another
  agency's records are not in this scope's data at all, so no own-scope answer
  depends on them. An all-agencies answer minus an own-scope one is the other
  agencies' count plus the release's noise: no better than the release alone.

:func:`reading` gives the connection a reader uses. For the own-records scope it
is an in-memory database holding the own task force's ``records``, its
``sources`` and ``batches``, and the tables derived from them by the same build
steps as the warehouse's (``pipelines.build``, without matches and without the
release), plus ``meta``. It is made once per read-only snapshot and task force
and kept (a few entries), and the exact readers run on it unchanged: the first
own-scope read of a snapshot builds it (1.2 s for 15 000 own records of a
60 000-record warehouse), later reads take tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator

import duckdb

from query.viewer import Viewer
from routes import settings, warehouse
from routes.contract.sql import compose, ident
from routes.errors import AccessDenied

__all__: list[str] = []

#: The build steps that derive an own-records scope's tables (no matches, no release).
OWN_STEPS = (
    "pipelines.build.flows",
    "pipelines.build.corridors",
    "pipelines.build.aggregates",
    "pipelines.build.trend_aggregates",
    "pipelines.build.hotspots",
    "pipelines.build.moves",
)

#: The table that marks an own-records database (and names its task force).
MARK_TABLE = "_own_records_of"

_CACHE: OrderedDict[tuple[str, str], duckdb.DuckDBPyConnection] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_ENTRIES = 4


def _snapshot_file(con: duckdb.DuckDBPyConnection) -> str | None:
    """The file of a read-only connection (a snapshot never changes), else ``None`` (do not keep)."""
    rows = con.execute(
        "SELECT path, readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not rows or not rows[0][1] or not rows[0][0]:
        return None
    return str(rows[0][0])


#: The rows of a table that belong to the sources of one task force (the parameter).
_OWN_SOURCES_ROWS = "SELECT * FROM {table} WHERE source_id IN (SELECT source_id FROM sources WHERE task_force = ?)"


def _copy(source: duckdb.DuckDBPyConnection, target: duckdb.DuckDBPyConnection, table: str,
          sql: str, params: list[object]) -> None:
    """Insert the rows of ``sql`` (read from ``source``) into ``target``'s ``table`` of the same schema."""
    rows = source.sql(sql, params=params).to_arrow_table()
    target.register("_scope_rows", rows)
    try:
        target.execute(compose('INSERT INTO "{table}" BY NAME SELECT * FROM _scope_rows', table=ident(table)))
    finally:
        target.unregister("_scope_rows")


def own_records_database(con: duckdb.DuckDBPyConnection, task_force: str) -> duckdb.DuckDBPyConnection:
    """A new in-memory database of ``task_force``'s own records and what the build derives from them.

    Only rows whose source belongs to ``task_force`` are copied (into the
    warehouse's schema, :func:`routes.warehouse.ensure_schema`); the derived
    tables are then built from those rows alone, so nothing another agency
    contributed reaches an own-scope answer.
    """
    from pipelines import build  # the same steps as the warehouse's build (lazy: a writer module)

    own = duckdb.connect(":memory:")
    warehouse.ensure_schema(own)
    own.execute("DELETE FROM meta")
    _copy(con, own, "meta", "SELECT * FROM meta", [])
    _copy(con, own, "sources", "SELECT * FROM sources WHERE task_force = ?", [task_force])
    _copy(con, own, "batches", compose(_OWN_SOURCES_ROWS, table=ident("batches")), [task_force])
    _copy(con, own, "records", "SELECT * FROM records WHERE source_task_force = ?", [task_force])
    if warehouse.has_table(con, "record_identifiers"):  # the own records' identifiers: their moves and circuits
        _copy(con, own, "record_identifiers",
              compose(_OWN_SOURCES_ROWS, table=ident("record_identifiers")), [task_force])
    with contextlib.redirect_stderr(None) if settings.quiet() else contextlib.nullcontext():
        build.run_steps(own, steps=OWN_STEPS)
    own.execute(compose("CREATE TABLE {mark} AS SELECT ?::VARCHAR AS task_force", mark=ident(MARK_TABLE)), [task_force])
    return own


def _own_task_force(con: duckdb.DuckDBPyConnection) -> str | None:
    """The task force whose own-records database ``con`` reads (a reader nested in another), else ``None``."""
    if not warehouse.has_table(con, MARK_TABLE):
        return None
    return str(con.execute(compose("SELECT task_force FROM {mark}", mark=ident(MARK_TABLE))).fetchall()[0][0])


@contextlib.contextmanager
def reading(viewer: Viewer, con: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The connection ``viewer``'s aggregate readers read: the warehouse, or its own records' database.

    For the all-agencies scope this is :func:`routes.warehouse.reading` (the
    readers then read only the release for these viewers). For the own-records
    scope, :func:`own_records_database` of the snapshot, kept per snapshot file
    and task force.
    """
    with warehouse.reading(con) as c:
        if not viewer.counts_own_records:
            yield c
            return
        assert viewer.task_force is not None
        already = _own_task_force(c)
        if already is not None:  # a reader called by another with its connection (a region profile)
            if already != viewer.task_force:
                raise AccessDenied(
                    f"this connection reads the records of task force {already!r}, not {viewer.task_force!r}"
                )
            yield c
            return
        file = _snapshot_file(c)
        if file is None:  # a write connection: build afresh, keep nothing
            fresh = own_records_database(c, viewer.task_force)
            try:
                yield fresh
            finally:
                fresh.close()
            return
        key = (file, viewer.task_force)
        with _CACHE_LOCK:
            own: duckdb.DuckDBPyConnection | None = _CACHE.get(key)
            if own is not None:
                _CACHE.move_to_end(key)
        if own is None:
            own = own_records_database(c, viewer.task_force)
            with _CACHE_LOCK:
                _CACHE[key] = own
                while len(_CACHE) > _CACHE_ENTRIES:
                    _CACHE.popitem(last=False)[1].close()
        cursor = own.cursor()  # one per reader: safe across the app's threads
        try:
            yield cursor
        finally:
            cursor.close()
