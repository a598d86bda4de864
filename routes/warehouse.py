"""The warehouse file: its schema, atomic snapshot writes and read-only snapshots.

DuckDB lets one process write a file and no other process read it meanwhile. So a
writer never writes the live file: :func:`write_snapshot` copies it aside, yields a
read-write connection on the copy, checkpoints, and swaps the copy in with
:func:`os.replace`. A failure or a kill at any moment leaves the live file exactly
as it was; the app keeps reading the snapshot it opened (the old inode) until it
reopens. One writer at a time is ensured with an advisory lock file. Snapshots
are written mode 0600 in a folder created 0700 (so a write also replaces a live
file others could read with an owner-only one), and readers refuse a live file the
group or others may read, with the ``chmod`` that fixes it (:mod:`routes.files`).

Tables (every column documented here is the contract the query layer reads):

``meta``
    ``key``, ``value``: ``schema_version``, ``is_demo`` (``'true'`` while the
    warehouse holds only what ``setup-demo`` loaded; see :func:`is_demo`),
    ``demo_fingerprint`` (the sources and batches ``setup-demo`` loaded),
    ``data_as_of`` (latest ``occurred_at``), ``built_at``.
``sources``
    The source registry: ``source_id``, ``name``, ``kind`` (``law_enforcement``,
    ``ngo``, ``hotline``, ``fusion``), ``task_force``, ``contact``, ``added_at``.
``batches``
    One row per ingested file: ``batch_id``, ``source_id``, ``file_name``,
    ``file_sha256``, ``profile``, ``started_at``, ``finished_at``, ``rows_read``,
    ``loaded``, ``updated``, ``duplicates``, ``quarantined``.
``records``
    One row per ``(source_id, record_id)``: the contract's fields, identifiers
    removed; ``source_kind`` and ``source_task_force`` copied from ``sources``;
    ``month`` the first day of ``occurred_at``'s month; destination (``dest_*``) and origin (``origin_*``) geocodes with
    precision, county FIPS, region, task force and H3 cell (``*_cell`` at
    ``*_res``, the finest resolution the precision allows, NULL for county-only).
``record_identifiers``
    ``source_id``, ``record_id``, ``kind`` (``phone``, ``email``,
    ``vehicle_plate``, ``ad_handle``, ``subject``), ``token`` (keyed HMAC-SHA256
    of the normalised value; the raw value is never stored), ``seen_at``.
``record_history``
    The previous version of a record each time a later row changed it:
    ``source_id``, ``record_id``, ``batch_id``, ``changed_at``, ``previous`` (JSON).
    ``previous`` is ``{"record": {…the records columns…}, "identifiers": [{"kind", "token"}, …]}``;
    ``batch_id`` is the batch that made the change.
``quarantine``
    Rows that failed validation: ``source_id``, ``batch_id``, ``row_number``,
    ``reasons`` (list of codes), ``row`` (JSON of the row as read, identifier
    fields already replaced by tokens), ``quarantined_at``. ``row`` holds the
    source's own column names (those its profile maps; unmapped and ignored
    columns, narratives included, are never stored); ``row_number`` counts data
    rows from 1 (the header is not a row). ``reasons[1]`` is the first reason, the
    one batch summaries count.

How a row is counted (``pipelines/ingest/__init__.py``): ``batches.rows_read = loaded +
updated + duplicates + quarantined``. Text columns loaded as given
(``case_number``, ``contact``, ``quarantine.row``) are untrusted input: escape
them wherever they are shown or exported.

Derived tables (``flows``, ``location_totals``, ``corridor_segments``,
``coordination_pairs``, ``route_shifts``, ``cell_counts``, ``trend_counts``,
``subject_matches``, …) are created by ``pipelines/build/__init__.py`` and documented there.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from routes import files, settings
from routes.errors import TablesNotBuilt, WarehouseBusyError, WarehouseMissingError

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
CREATE TABLE IF NOT EXISTS sources (
    source_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    task_force VARCHAR,
    contact VARCHAR,
    added_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id VARCHAR PRIMARY KEY,
    source_id VARCHAR NOT NULL,
    file_name VARCHAR,
    file_sha256 VARCHAR,
    profile VARCHAR,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    rows_read BIGINT,
    loaded BIGINT,
    updated BIGINT,
    duplicates BIGINT,
    quarantined BIGINT
);
CREATE TABLE IF NOT EXISTS records (
    source_id VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    source_kind VARCHAR,
    source_task_force VARCHAR,
    record_type VARCHAR,
    occurred_at TIMESTAMP,
    reported_at TIMESTAMP,
    month DATE,
    trafficking_type VARCHAR,
    victim_count INTEGER,
    minor_involved BOOLEAN,
    indicators VARCHAR[],
    case_number VARCHAR,
    contact VARCHAR,
    dest_lat DOUBLE,
    dest_lng DOUBLE,
    dest_precision VARCHAR,
    dest_confidence DOUBLE,
    dest_matched VARCHAR,
    dest_county_fips VARCHAR,
    dest_region VARCHAR,
    dest_task_force VARCHAR,
    dest_cell BIGINT,
    dest_res TINYINT,
    origin_lat DOUBLE,
    origin_lng DOUBLE,
    origin_precision VARCHAR,
    origin_confidence DOUBLE,
    origin_matched VARCHAR,
    origin_county_fips VARCHAR,
    origin_region VARCHAR,
    origin_task_force VARCHAR,
    origin_cell BIGINT,
    origin_res TINYINT,
    origin_state VARCHAR,
    origin_country VARCHAR,
    content_hash VARCHAR,
    validated_at TIMESTAMP,
    updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS record_identifiers (
    source_id VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    seen_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS record_history (
    source_id VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    changed_at TIMESTAMP,
    previous VARCHAR
);
CREATE TABLE IF NOT EXISTS quarantine (
    source_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    row_number BIGINT,
    reasons VARCHAR[],
    "row" VARCHAR,
    quarantined_at TIMESTAMP
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the base tables if they are missing (idempotent)."""
    con.execute(SCHEMA)
    con.execute(
        "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
        [SCHEMA_VERSION],
    )


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Set one ``meta`` entry."""
    con.execute(
        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """Read one ``meta`` entry, or ``None``."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


#: The sources and batches a warehouse holds, as one hash: demo mode lasts only
#: while it equals the one ``setup-demo`` recorded (:func:`mark_demo`).
_DEMO_FINGERPRINT_SQL = """
SELECT md5(
    coalesce((SELECT string_agg(concat_ws(chr(31), source_id, name, kind,
                                          coalesce(task_force, ''), coalesce(contact, '')),
                                chr(30) ORDER BY source_id) FROM sources), '')
    || chr(29) ||
    coalesce((SELECT string_agg(concat_ws(chr(31), batch_id, source_id,
                                          coalesce(file_sha256, '')),
                                chr(30) ORDER BY batch_id) FROM batches), ''))
"""


def _demo_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(_DEMO_FINGERPRINT_SQL).fetchone()
    return "" if row is None else str(row[0])


def mark_demo(con: duckdb.DuckDBPyConnection) -> None:
    """Mark a warehouse that holds only the demo generator's data as demo data.

    Only ``setup-demo`` (and test and bench fixtures of synthetic data) call it,
    on a file nobody reads yet. It records the sources and batches loaded so far:
    any later source or batch ends demo mode (:func:`is_demo`).
    """
    set_meta(con, "is_demo", "true")
    set_meta(con, "demo_fingerprint", _demo_fingerprint(con))


def end_demo(con: duckdb.DuckDBPyConnection) -> None:
    """End demo mode for good: called by every write of a source or a batch.

    The app then asks for sign-in. Nothing turns demo mode back on but a new
    ``setup-demo`` into a fresh file.
    """
    if get_meta(con, "is_demo") not in (None, "false"):
        log.warning("This warehouse held demo data only; it now holds other data too, so "
                    "the app will ask everyone to sign in")
    set_meta(con, "is_demo", "false")


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse still holds only what the demo generator made.

    True only while ``meta.is_demo`` is ``'true'`` *and* the sources and batches
    are exactly those :func:`mark_demo` recorded: a source added or a file
    ingested by any path (even one that forgot to call :func:`end_demo`) ends it.
    """
    if get_meta(con, "is_demo") != "true":
        return False
    recorded = get_meta(con, "demo_fingerprint")
    return recorded is not None and recorded == _demo_fingerprint(con)


@contextlib.contextmanager
def _writer_lock(live: Path, *, wait_s: float) -> Iterator[None]:
    files.private_folder(live.parent)
    lock_path = live.with_name(live.name + ".lock")
    files.create_private(lock_path)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"another pipeline is writing {str(live)!r}; wait for it to finish"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_copies(live: Path) -> None:
    for stale in live.parent.glob(f".{live.name}.*.tmp*"):
        stale.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def write_snapshot(
    *, path: Path | None = None, wait_s: float = 600.0, fresh: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection on a copy of the warehouse; swap it in on success.

    Parameters
    ----------
    path
        The live warehouse file; defaults to :func:`routes.settings.warehouse_path`.
    wait_s
        How long to wait for another writer before :class:`WarehouseBusyError`.
    fresh
        Swap in a fresh file holding only the rows the copy still has, not the copy
        itself: DuckDB leaves deleted rows' bytes in a file's free blocks, so a
        delete that must forget (a retention purge) writes the kept rows anew
        (``COPY FROM DATABASE``) and the copy with the old bytes is removed. The
        readers' snapshot links of older versions are removed too
        (:func:`clear_reader_links`).

    Examples
    --------
    >>> import tempfile
    >>> live = Path(tempfile.mkdtemp()) / "w.duckdb"
    >>> with write_snapshot(path=live) as con:
    ...     _ = con.execute("INSERT INTO sources VALUES ('s1', 'S', 'ngo', NULL, NULL, NULL)")
    >>> with open_snapshot(path=live) as con:
    ...     con.execute("SELECT count(*) FROM sources").fetchone()[0]
    1
    """
    live = path or settings.warehouse_path()
    with _writer_lock(live, wait_s=wait_s):
        _remove_stale_copies(live)
        work = live.with_name(f".{live.name}.{os.getpid()}.tmp")
        if live.exists():
            files.create_private(work)
            shutil.copyfile(live, work)  # keeps the 0600 of the file it writes into
        con = duckdb.connect(str(work))
        files.make_private(work)
        try:
            ensure_schema(con)
            yield con
            con.execute("CHECKPOINT")
            if fresh:
                _copy_to_fresh(con, work)
            con.close()
            swapped = work.with_name(work.name + ".fresh") if fresh else work
            _fsync(swapped)
            os.replace(swapped, live)
            _fsync(live.parent)
            log.info("Swapped in a new warehouse snapshot at %s", live)
            if fresh:
                work.unlink(missing_ok=True)
                clear_reader_links(live)
        except BaseException:
            con.close()
            for left in (work, work.with_name(work.name + ".fresh")):
                left.unlink(missing_ok=True)
                Path(str(left) + ".wal").unlink(missing_ok=True)
            raise


def _copy_to_fresh(con: duckdb.DuckDBPyConnection, work: Path) -> None:
    """Write every table of ``con`` (open on ``work``) into the new file ``work.fresh``, same mode."""
    target = work.with_name(work.name + ".fresh")
    target.unlink(missing_ok=True)
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute("ATTACH ? AS routes_fresh", [str(target)])
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO routes_fresh')
    finally:
        con.execute("DETACH routes_fresh")
    os.chmod(target, work.stat().st_mode & 0o777)


@contextlib.contextmanager
def open_snapshot(
    *, path: Path | None = None, memory_limit: str = "1GB", threads: int = 2
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only cursor on the live warehouse; its snapshot stays fixed while open.

    The process keeps one read-only database per snapshot (see
    :func:`_shared_database`), so opening is a cheap cursor rather than a new
    database (tens of milliseconds each); a swapped-in snapshot gets a new one.
    """
    database = _shared_database(path or settings.warehouse_path(), memory_limit, threads)
    with _SHARED_LOCK:
        cursor = database.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database ``con`` reads has a table called ``name`` (e.g. one a build writes)."""
    # the inner projection spares duckdb_tables() its per-table sizes: 6 ms -> 1.5 ms at 10 M records
    rows = con.execute("SELECT count(*) FROM (SELECT table_name FROM duckdb_tables()) WHERE table_name = ?", [name]).fetchall()
    return bool(rows and rows[0][0])


@contextlib.contextmanager
def reading(con: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """``con`` when a caller passes one (tests, one page's several reads), else a snapshot.

    Query-layer readers take an optional ``con`` and read through this, so the
    same code serves a shared connection and a fresh snapshot alike.
    """
    try:
        if con is not None:
            yield con
            return
        with open_snapshot() as opened:
            yield opened
    except duckdb.CatalogException as exc:
        missing = tables_not_built(exc)
        if missing is None:
            raise
        raise missing from exc


def require_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Raise :class:`routes.errors.TablesNotBuilt` when ``con``'s database has no table ``name``.

    For a reader that would otherwise answer "nothing" (an empty frame) when the build never made its table.
    """
    if not has_table(con, name):
        raise TablesNotBuilt(_not_built_text(name))


_MISSING_TABLE = re.compile(r"Table with name (\w+) does not exist")


def tables_not_built(exc: duckdb.CatalogException) -> TablesNotBuilt | None:
    """A missing table as :class:`routes.errors.TablesNotBuilt` with advice; ``None`` for other catalog errors."""
    found = _MISSING_TABLE.search(str(exc))
    if not found:
        return None
    return TablesNotBuilt(_not_built_text(found.group(1)))


def _not_built_text(name: str) -> str:
    return (f"the warehouse has no table {name!r} (built by an older Routes, or its build stopped "
            "before it); run `python -m pipelines build` (the demo: `python -m pipelines setup-demo --force`)")


_SHARED_LOCK = threading.Lock()
_SHARED: dict[Path, tuple[tuple[int, int], duckdb.DuckDBPyConnection]] = {}


def _shared_database(live: Path, memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    """The process's read-only database for the current snapshot of ``live``.

    DuckDB caches open databases by path, so reopening ``live`` after a swap would
    return the old file. Each snapshot is therefore opened through a hard link
    named after its inode (in ``.readers/`` beside the warehouse); links of old
    snapshots are removed (readers still using them keep their open file). Where
    the folder is not writable, each call opens the live file directly.
    """
    version = snapshot_version(live)
    if version is None:
        connect_readonly(path=live)  # raises WarehouseMissingError with advice
    assert version is not None
    files.check_owner_only(live, what="the warehouse")
    with _SHARED_LOCK:
        cached = _SHARED.get(live)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            link = _reader_link(live, version)
        except OSError:
            return connect_readonly(path=live, memory_limit=memory_limit, threads=threads)
        database = connect_readonly(path=link, memory_limit=memory_limit, threads=threads)
        _SHARED[live] = (version, database)
        return database


def clear_reader_links(live: Path) -> int:
    """Remove every reader link of ``live`` but the current file's; return how many went.

    A link keeps an old snapshot's bytes on disk after a swap (until the next read
    replaces it): after a purge none may stay. Readers that still have an old
    snapshot open keep reading it until they close it.
    """
    readers = live.parent / ".readers"
    current = snapshot_version(live)
    removed = 0
    for old in readers.glob(f"{live.stem}-*{live.suffix}"):
        if current is None or old.stat().st_ino != current[0]:
            old.unlink(missing_ok=True)
            removed += 1
    for partial in readers.glob(f".{live.stem}-*{live.suffix}.*"):
        partial.unlink(missing_ok=True)
    with _SHARED_LOCK:
        cached = _SHARED.get(live)
        if cached is not None and cached[0] != current:
            del _SHARED[live]
    return removed


def _reader_link(live: Path, version: tuple[int, int]) -> Path:
    readers = files.private_folder(live.parent / ".readers")
    name = f"{live.stem}-{version[0]}-{version[1]}{live.suffix}"
    link = readers / name
    for old in readers.glob(f"{live.stem}-*{live.suffix}"):
        if old.name != name:
            old.unlink(missing_ok=True)
    if not link.exists():
        tmp = readers / f".{name}.{os.getpid()}.{threading.get_ident()}"
        os.link(live, tmp)
        os.replace(tmp, link)
    if link.stat().st_ino != version[0]:  # swapped between stat and link: retry next call
        raise OSError("the warehouse changed while linking it")
    return link


def connect_readonly(
    *, path: Path | None = None, memory_limit: str = "1GB", threads: int = 2
) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the live warehouse (the caller closes it)."""
    live = path or settings.warehouse_path()
    if not live.exists():
        raise WarehouseMissingError(
            f"no warehouse at {str(live)!r}; build the demo with `make demo` "
            "or ingest files with `python -m pipelines ingest`"
        )
    files.check_owner_only(live, what="the warehouse")
    return duckdb.connect(
        str(live),
        read_only=True,
        config={"memory_limit": memory_limit, "threads": threads},
    )


def snapshot_version(path: Path | None = None) -> tuple[int, int] | None:
    """``(inode, mtime_ns)`` of the live file: changes whenever a new snapshot is swapped in."""
    live = path or settings.warehouse_path()
    try:
        st = live.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)
