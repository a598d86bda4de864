"""Ingest agency exports: read → map → validate → tokenise → geocode → index → load.

``python -m pipelines ingest PATH [PATH …] --source ID [--profile FILE]``

One command (one :func:`ingest_files` call) takes one
:func:`routes.warehouse.write_snapshot` for all its files: each file is its own
batch, merged in its own transaction on the copy, and the copy is swapped in once
at the end. A kill at any moment leaves the warehouse exactly as before the command
or exactly as after it, and readers keep a consistent snapshot meanwhile. A file
that cannot be read is reported and the files that were read still land. Rows
stream through in chunks
(:data:`pipelines._readers.CHUNK_ROWS`) into a staging file beside the warehouse
copy, so memory stays flat however long the file is; the merge is SQL.

Accounting per file: ``rows_read = loaded + updated + duplicates + quarantined``.

- ``loaded``: a new ``(source, record_id)``;
- ``updated``: a later row for a known record whose content changed (the
  previous version goes to ``record_history``);
- ``duplicates``: content equal to what is stored, or to the row before it in the
  same file; every row of a file this source already sent (same SHA-256);
- ``quarantined``: failed validation (``quarantine`` keeps the mapped source
  columns, identifiers replaced by tokens, and every reason).

Identifiers become keyed tokens (:mod:`pipelines.tokens`) in
``record_identifiers``; columns a profile does not map (narratives included) are
never loaded. Text that is loaded (``case_number``, ``contact``) is kept as given
and is untrusted wherever it is shown.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from geo import grid, reference
from pipelines import _readers, _validate, tokens, upload_audit
from pipelines.profiles import (
    CONTRACT_FIELDS,
    ENUMS,
    IDENTIFIER_FIELDS,
    LOCATION_FIELDS,
    Profile,
    load_profile,
    parse_profile,
    profile_for_columns,
)
from pipelines.sources import Source, get_source, source_from
from query.viewer import Viewer
from routes import settings, warehouse
from routes.errors import IngestError, ProfileError, RoutesError

log = logging.getLogger(__name__)

#: Seconds spent per stage since the process started (read by ``bench/bench_ingest.py``).
STAGE_SECONDS: dict[str, float] = defaultdict(float)


@contextlib.contextmanager
def _timed(stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS[stage] += time.perf_counter() - started

#: Identifier kinds and the contract field that holds each (``subject`` also uses
#: ``subject_dob``).
IDENTIFIER_KINDS = {
    "phone": "phone", "email": "email", "vehicle_plate": "vehicle_plate",
    "ad_handle": "ad_handle", "subject": "subject_name",
}

_TOKEN_COLUMNS = [f"tok_{kind}" for kind in IDENTIFIER_KINDS]

#: Files up to this size are staged in memory; larger ones in a file beside the warehouse.
STAGE_IN_MEMORY_BYTES = 256 * 2**20

#: The staging table's columns (Arrow types), one row per row read.
STAGE_SCHEMA = pa.schema(
    [
        ("_row", pa.int64()),
        ("record_id", pa.string()),
        ("record_type", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("reported_at", pa.timestamp("us")),
        ("month", pa.date32()),
        ("trafficking_type", pa.string()),
        ("victim_count", pa.int32()),
        ("minor_involved", pa.bool_()),
        ("indicators", pa.list_(pa.string())),
        ("case_number", pa.string()),
        ("contact", pa.string()),
        *[
            (f"{side}_{name}", typ)
            for side in ("dest", "origin")
            for name, typ in (
                ("lat", pa.float64()), ("lng", pa.float64()), ("precision", pa.string()),
                ("confidence", pa.float64()), ("matched", pa.string()),
                ("county_fips", pa.string()), ("region", pa.string()),
                ("task_force", pa.string()), ("cell", pa.int64()), ("res", pa.int8()),
            )
        ],
        ("origin_state", pa.string()),
        ("origin_country", pa.string()),
        ("_loc_key", pa.string()),
        *[(c, pa.string()) for c in _TOKEN_COLUMNS],
        ("_reasons", pa.list_(pa.string())),
        ("_qrow", pa.string()),
    ]
)

_RECORD_COLUMNS = [
    "record_type", "occurred_at", "reported_at", "month", "trafficking_type", "victim_count",
    "minor_involved", "indicators", "case_number", "contact",
    *[f.name for f in STAGE_SCHEMA if f.name.startswith(("dest_", "origin_"))],
]

#: What a record's content hash covers: every contract value and identifier token.
_HASHED = [
    "record_type", "occurred_at", "reported_at", "trafficking_type", "victim_count",
    "minor_involved", "list_sort(indicators)", "case_number", "contact", "_loc_key",
    *_TOKEN_COLUMNS,
]
_CONTENT_HASH_SQL = "md5(concat_ws(chr(31), {}))".format(
    ", ".join(f"coalesce(CAST({c} AS VARCHAR), chr(0))" for c in _HASHED)
)


@dataclass(frozen=True)
class BatchSummary:
    """What one file's batch did. ``rows_read = loaded + updated + duplicates + quarantined``."""

    batch_id: str
    source_id: str
    file_name: str
    file_sha256: str
    rows_read: int
    loaded: int
    updated: int
    duplicates: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    resent: bool = False

    def format(self) -> str:
        """The summary printed at the end of an ingest.

        >>> print(BatchSummary("b1", "s", "f.csv", "0" * 64, 5, 2, 1, 1, 1, {"bad_date": 1}).format())
        f.csv → batch b1 (source s)
          rows read 5 · loaded 2 · updated 1 · duplicates 1 · quarantined 1
          quarantined by first reason: bad_date 1
        """
        lines = [
            f"{self.file_name} → batch {self.batch_id} (source {self.source_id})"
            + (" — this file was already ingested: every row is a duplicate" if self.resent else ""),
            f"  rows read {self.rows_read:,} · loaded {self.loaded:,} · updated {self.updated:,}"
            f" · duplicates {self.duplicates:,} · quarantined {self.quarantined:,}",
        ]
        if self.reasons:
            lines.append(
                "  quarantined by first reason: "
                + ", ".join(f"{k} {v:,}" for k, v in self.reasons.items())
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class IngestPreview:
    """What ingesting a file would do, before anything is written (the browser page).

    ``mapping`` has one row per contract field the file feeds (``field``,
    ``source_columns``, ``identifier``); ``quarantine_sample`` up to 200 rows that
    would be quarantined (``row_number``, ``reasons``, ``row`` with identifiers
    already tokenised); ``reasons`` counts rows by first reason.
    """

    file_name: str
    source_id: str
    format: str
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    not_loaded: list[str]
    mapping: pd.DataFrame
    rows_read: int
    will_load: int
    will_quarantine: int
    reasons: dict[str, int]
    quarantine_sample: pd.DataFrame
    already_ingested: bool


# -- public API -------------------------------------------------------------------------


def ingest_files(
    paths: Sequence[str | Path],
    *,
    source_id: str,
    profile_path: str | Path | None = None,
    warehouse_path: Path | None = None,
    on_error: Callable[[Path, RoutesError], None] | None = None,
    by: Viewer | None = None,
) -> list[BatchSummary]:
    """Ingest the files for ``source_id`` in one snapshot, each file its own batch.

    Every file is read, validated and merged in its own transaction on one copy of
    the warehouse, which is swapped in once at the end: a kill at any moment leaves
    the live warehouse as before the call or as after it, never in between. A file
    that cannot be read (:class:`IngestError`, or a :class:`ProfileError` for
    columns the profile does not find) adds nothing and does not stop the others.

    Parameters
    ----------
    paths
        The exports, in order (a later file's rows update earlier ones; a file
        that appears twice counts as already sent the second time).
    source_id
        A registered source (:mod:`pipelines.sources`).
    profile_path
        A TOML mapping profile; without one the columns must carry contract names.
    warehouse_path
        The live warehouse; defaults to :func:`routes.settings.warehouse_path`.
    on_error
        Called with ``(path, error)`` for each file that cannot be read. Without
        it the first such error is raised once the files that were read have
        landed.
    by
        Who ingests, for the audit log (an ``ingest`` entry per file, with its
        SHA-256); defaults to the command line's user.

    Returns
    -------
    list[BatchSummary]
        One per file that was read, in the order given.

    Raises
    ------
    UnknownSourceError, ProfileError, IngestError
        The source is not registered, the profile is invalid, or (without
        ``on_error``) a file cannot be read.
    """
    source = get_source(source_id, warehouse_path=warehouse_path)
    profile = load_profile(profile_path) if profile_path else None
    _check_profile_source(profile, source)
    live = warehouse_path or settings.warehouse_path()
    summaries: list[BatchSummary] = []
    failures: list[tuple[Path, RoutesError]] = []
    with (contextlib.suppress(_NothingRead), _snapshot(live) as con,
          ThreadPoolExecutor(max_workers=1) as pool):
        files = [Path(p) for p in paths]
        ahead: dict[int, Future[PreparedFile]] = {}

        def read_ahead(i: int) -> None:
            """Read and validate file ``i`` in the thread (small files only)."""
            if i < len(files) and i not in ahead and _prefetchable(files[i]):
                ahead[i] = pool.submit(_prepare_file, files[i], profile)

        read_ahead(0)
        for i, path in enumerate(files):
            try:
                if i in ahead:
                    with _timed("wait"):  # for the thread to finish reading it
                        prepared = ahead.pop(i).result()  # raises what reading it raised
                    read_ahead(i + 1)  # while this one merges
                    reader, file_profile, tables = prepared.reader, prepared.profile, prepared.tables
                    del prepared
                else:  # streamed here, chunk by chunk; the next file waits (one reader at a time)
                    reader, file_profile = _open(path, path.name, profile)
                    tables = None
                summary = _ingest_batch(con, path, reader=reader, file_name=path.name,
                                        source=source, profile=file_profile,
                                        stage_dir=live.parent, transaction=True, tables=tables)
                del tables
            except (IngestError, ProfileError) as exc:  # this file only: nothing of it was merged
                log.warning("Could not ingest %s: %s", path, exc)
                failures.append((path, exc))
                if on_error is not None:
                    on_error(path, exc)
                continue
            finally:
                read_ahead(i + 1)
            log.info("Ingested %s as batch %s in %.1f s", path.name, summary.batch_id,
                     summary.seconds)
            summaries.append(summary)
        if not summaries:
            raise _NothingRead  # leave the live warehouse untouched
    for done in summaries:
        upload_audit.record_ingest(by or upload_audit.cli_actor(), done)
    if failures and on_error is None:
        raise failures[0][1]
    return summaries


def ingest_upload(
    data: bytes,
    *,
    file_name: str,
    source_id: str,
    profile_text: str | None = None,
    warehouse_path: Path | None = None,
    by: Viewer | None = None,
) -> BatchSummary:
    """Ingest the bytes of an uploaded file (the browser page's commit); audited and rate-limited.

    ``by`` (the signed-in user; defaults to the command line's) is refused once
    they made ``ROUTES_UPLOAD_MATCH_LIMIT`` uploads matching other agencies'
    identifiers within 24 hours; each upload is logged with the file's SHA-256 and
    how many identifiers and cases of other agencies it matched
    (:mod:`pipelines.upload_audit`).
    """
    actor = by or upload_audit.cli_actor()
    source = get_source(source_id, warehouse_path=warehouse_path)
    upload_audit.check_upload_quota(actor, file_name=file_name, source_id=source.source_id)
    profile = parse_profile(profile_text, name="uploaded profile") if profile_text else None
    _check_profile_source(profile, source)
    summary = _ingest_one(data, file_name=file_name, source=source, profile=profile,
                          warehouse_path=warehouse_path)
    found = upload_audit.batch_matches(summary.batch_id, source_id=source.source_id,
                                       warehouse_path=warehouse_path)
    upload_audit.record_ingest(actor, summary, action="upload", matches=found)
    return summary


def preview_file(
    path_or_bytes: str | Path | bytes,
    *,
    source_id: str,
    file_name: str,
    profile_path: str | Path | None = None,
    profile_text: str | None = None,
    warehouse_path: Path | None = None,
) -> IngestPreview:
    """Read, map and validate a file without writing anything.

    Parameters
    ----------
    path_or_bytes
        A path or the bytes of an upload.
    source_id
        A registered source.
    file_name
        The name the file was sent under (decides the format by its ending).
    profile_path, profile_text
        A profile file, or the text of an uploaded one.
    """
    source = get_source(source_id, warehouse_path=warehouse_path)
    if profile_text:
        profile: Profile | None = parse_profile(profile_text, name="uploaded profile")
    else:
        profile = load_profile(profile_path) if profile_path else None
    _check_profile_source(profile, source)
    data = Path(path_or_bytes) if isinstance(path_or_bytes, (str, Path)) else path_or_bytes
    reader, profile = _open(data, file_name, profile)
    digest = _sha256(data)
    already = _already_ingested(source.source_id, digest, warehouse_path)
    rows = quarantined = 0
    reasons: dict[str, int] = {}
    samples: list[pd.DataFrame] = []
    for chunk in _prepare(reader.chunks, profile=profile, start_row=1):
        rows += len(chunk)
        bad = chunk[chunk["_reasons"].map(len) > 0]
        quarantined += len(bad)
        for first, n in bad["_reasons"].map(lambda r: r[0]).value_counts().items():
            reasons[str(first)] = reasons.get(str(first), 0) + int(n)
        if sum(len(s) for s in samples) < 200:
            samples.append(bad[["_row", "_reasons", "_qrow"]].head(200))
    sample = (
        pd.concat(samples, ignore_index=True).head(200)
        if samples else pd.DataFrame(columns=["_row", "_reasons", "_qrow"])
    )
    sample = sample.rename(columns={"_row": "row_number", "_reasons": "reasons", "_qrow": "row"})
    sample["reasons"] = sample["reasons"].map(", ".join)
    mapping = pd.DataFrame(
        [
            {"field": f, "source_columns": ", ".join(cols), "identifier": f in IDENTIFIER_FIELDS}
            for f, cols in profile.columns.items()
        ]
    )
    used = set(profile.source_columns)
    return IngestPreview(
        file_name=file_name, source_id=source.source_id, format=reader.format,
        encoding=reader.encoding, delimiter=reader.delimiter, columns=list(reader.columns),
        not_loaded=[c for c in reader.columns if c not in used], mapping=mapping,
        rows_read=rows, will_load=rows - quarantined, will_quarantine=quarantined,
        reasons=_ordered(reasons), quarantine_sample=sample, already_ingested=already,
    )


# -- one batch --------------------------------------------------------------------------


def _check_profile_source(profile: Profile | None, source: Source) -> None:
    if profile is not None and profile.source and profile.source != source.source_id:
        raise ProfileError(
            f"profile {profile.name!r} is for source {profile.source!r}, not {source.source_id!r}; "
            "pass the profile made for this source"
        )


def _size(data: Path | bytes) -> int:
    return data.stat().st_size if isinstance(data, Path) else len(data)


def _sha256(data: Path | bytes) -> str:
    digest = hashlib.sha256()
    if isinstance(data, Path):
        with open(data, "rb") as handle:
            while block := handle.read(1 << 24):
                digest.update(block)
    else:
        digest.update(data)
    return digest.hexdigest()


def _open(data: Path | bytes, file_name: str, profile: Profile | None) -> tuple[_readers.TableReader, Profile]:
    reader = _readers.open_table(
        data,
        file_name=file_name,
        fmt=profile.format if profile else None,
        encoding=profile.encoding if profile else "auto",
        sheet=profile.sheet if profile else None,
    )
    if profile is None:
        profile = profile_for_columns(reader.columns)
    profile.check_columns(reader.columns, file_name=file_name)
    return reader, profile


def _already_ingested(source_id: str, digest: str, warehouse_path: Path | None) -> bool:
    live = warehouse_path or settings.warehouse_path()
    if not live.exists():
        return False
    with warehouse.open_snapshot(path=live) as con:
        return _seen(con, source_id, digest)


def _seen(con: duckdb.DuckDBPyConnection, source_id: str, digest: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM batches WHERE source_id = ? AND file_sha256 = ?", [source_id, digest]
    ).fetchone()
    return bool(row and row[0])


def _new_batch_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


class _NothingRead(Exception):
    """No file of the call could be read: discard the copy instead of swapping it in."""


@contextlib.contextmanager
def _snapshot(live: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`routes.warehouse.write_snapshot`, its copy and swap timed as ``snapshot``."""
    started = time.perf_counter()
    with warehouse.write_snapshot(path=live) as con:
        STAGE_SECONDS["snapshot"] += time.perf_counter() - started
        yield con
        started = time.perf_counter()
    STAGE_SECONDS["snapshot"] += time.perf_counter() - started


def _ingest_one(
    data: Path | bytes,
    *,
    file_name: str,
    source: Source,
    profile: Profile | None,
    warehouse_path: Path | None,
) -> BatchSummary:
    live = warehouse_path or settings.warehouse_path()
    reader, profile = _open(data, file_name, profile)  # a file that can't be read fails here
    with _snapshot(live) as con:
        summary = _ingest_batch(con, data, reader=reader, file_name=file_name, source=source,
                                profile=profile, stage_dir=live.parent)
    log.info("Ingested %s as batch %s in %.1f s", file_name, summary.batch_id, summary.seconds)
    return summary


@dataclass
class PreparedFile:
    """A file read, validated and ready to stage (see :func:`prepare_file`)."""

    path: Path
    reader: _readers.TableReader
    profile: Profile
    tables: list[pa.Table]


def prepare_file(path: Path, *, profile_path: Path | None = None) -> PreparedFile:
    """Read, map, validate, tokenise, geocode and index a whole file, writing nothing.

    ``setup-demo`` and :func:`ingest_files` prepare the next file in a thread while
    the current one merges (DuckDB works outside the GIL); keep such files small,
    they sit in memory.
    """
    return _prepare_file(path, load_profile(profile_path) if profile_path else None)


#: :func:`ingest_files` reads a file ahead, whole in memory, up to this size.
READ_AHEAD_BYTES = 64 * 2**20


def _prefetchable(path: Path) -> bool:
    return path.is_file() and path.stat().st_size <= READ_AHEAD_BYTES


def _prepare_file(path: Path, profile: Profile | None) -> PreparedFile:
    reader, profile = _open(path, path.name, profile)
    tables = [_to_arrow(chunk) for chunk in _prepare(_progress(reader.chunks, path.name),
                                                      profile=profile, start_row=1)]
    return PreparedFile(path, reader, profile, tables)


def ingest_file_into(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source_id: str,
    profile_path: Path | None = None,
    prepared: PreparedFile | None = None,
) -> BatchSummary:
    """Ingest one file as one batch into an open write connection, in one transaction.

    For building a warehouse file nobody reads yet (``setup-demo`` builds the demo
    aside and swaps it in once); everything else uses :func:`ingest_files`,
    which takes one snapshot of the live warehouse per call. ``prepared``
    is this file already through :func:`prepare_file`.
    """
    source = source_from(con, source_id)
    profile = load_profile(profile_path) if profile_path else None
    _check_profile_source(profile, source)
    if prepared is None:
        reader, profile = _open(path, path.name, profile)
        tables = None
    else:
        reader, profile, tables = prepared.reader, prepared.profile, prepared.tables
    return _ingest_batch(con, path, reader=reader, file_name=path.name, source=source,
                         profile=profile, stage_dir=path.parent, transaction=True,
                         tables=tables)


def _ingest_batch(
    con: duckdb.DuckDBPyConnection,
    data: Path | bytes,
    *,
    reader: _readers.TableReader,
    file_name: str,
    source: Source,
    profile: Profile,
    stage_dir: Path,
    transaction: bool = False,
    tables: Iterable[pa.Table] | None = None,
) -> BatchSummary:
    """Read, validate and merge one file on ``con``.

    Rows are staged in a separate file first; the writes to the warehouse happen
    together at the end, in one transaction when ``transaction`` is set (else the
    caller's snapshot makes the batch atomic).
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    digest = _sha256(data)
    batch_id = _new_batch_id(started_at)
    big = _size(data) > STAGE_IN_MEMORY_BYTES
    con.execute("SET preserve_insertion_order = false")
    if big:  # stream: DuckDB spills to disk rather than grow
        con.execute("SET memory_limit = '512MB'")
    else:
        con.execute("SET memory_limit = '1GB'")
        con.execute("SET checkpoint_threshold = '16GB'")  # one checkpoint, when the snapshot closes
    with contextlib.ExitStack() as stack:
        if _seen(con, source.source_id, digest):
            if tables is not None:
                rows = sum(t.num_rows for t in tables)
            else:
                rows = sum(len(chunk) for chunk in _progress(reader.chunks, file_name))
            counts = {"loaded": 0, "updated": 0, "duplicates": rows, "quarantined": 0}
            reasons: dict[str, int] = {}
            resent = True
            if transaction:
                stack.enter_context(_transaction(con))
        else:
            if _size(data) > STAGE_IN_MEMORY_BYTES:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(dir=stage_dir, prefix=".stage-"))
                con.execute("ATTACH ? AS stage", [str(Path(tmp) / "stage.duckdb")])
            else:
                con.execute("ATTACH ':memory:' AS stage")
            stack.callback(con.execute, "DETACH stage")
            if tables is None:
                tables = (_to_arrow(chunk) for chunk in _prepare(
                    _progress(reader.chunks, file_name), profile=profile, start_row=1))
            rows = _stage(con, tables)
            if transaction:
                stack.enter_context(_transaction(con))
            with _timed("merge"):
                counts, reasons = _merge(con, source=source, batch_id=batch_id, now=started_at)
            resent = False
        con.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [batch_id, source.source_id, file_name, digest, profile.name, started_at,
             datetime.now(UTC).replace(tzinfo=None), rows, counts["loaded"], counts["updated"],
             counts["duplicates"], counts["quarantined"]],
        )
        _set_data_as_of(con)
        warehouse.end_demo(con)  # any file loaded after setup-demo is not the demo's
    summary = BatchSummary(
        batch_id=batch_id, source_id=source.source_id, file_name=file_name, file_sha256=digest,
        rows_read=rows, reasons=_ordered(reasons), seconds=time.perf_counter() - started,
        resent=resent, **counts,
    )
    if summary.rows_read != summary.loaded + summary.updated + summary.duplicates + summary.quarantined:
        raise AssertionError(f"row accounting does not add up for {file_name!r}: {summary}")
    return summary


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _set_data_as_of(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT max(occurred_at) FROM records").fetchone()
    if row and row[0] is not None:
        warehouse.set_meta(con, "data_as_of", row[0].date().isoformat())


def _progress(chunks: Iterator[pd.DataFrame], file_name: str) -> Iterator[pd.DataFrame]:
    bar = tqdm(desc=file_name, unit=" rows", disable=settings.quiet(), file=sys.stderr)
    try:
        while True:
            with _timed("read"):
                chunk = next(chunks, None)
            if chunk is None:
                break
            yield chunk
            bar.update(len(chunk))
    finally:
        bar.close()


def _ordered(reasons: dict[str, int]) -> dict[str, int]:
    return {r: reasons[r] for r in _validate.REASONS if reasons.get(r)}


def _to_arrow(chunk: pd.DataFrame) -> pa.Table:
    with _timed("stage"):
        return pa.Table.from_pandas(chunk, schema=STAGE_SCHEMA, preserve_index=False)


def _scalar(row: tuple[Any, ...] | None) -> Any:
    """The single value of a one-row, one-column result."""
    assert row is not None  # an aggregate always returns one row
    return row[0]


def _stage(con: duckdb.DuckDBPyConnection, tables: Iterable[pa.Table]) -> int:
    con.execute(_stage_ddl())
    rows = 0
    for table in tables:
        with _timed("stage"):
            con.register("_chunk", table)
            con.execute("INSERT INTO stage.rows SELECT * FROM _chunk")
            con.unregister("_chunk")
        rows += table.num_rows
    return rows


def _stage_ddl() -> str:
    types = {
        pa.int64(): "BIGINT", pa.string(): "VARCHAR", pa.timestamp("us"): "TIMESTAMP",
        pa.date32(): "DATE", pa.int32(): "INTEGER", pa.bool_(): "BOOLEAN",
        pa.list_(pa.string()): "VARCHAR[]", pa.float64(): "DOUBLE", pa.int8(): "TINYINT",
    }
    cols = ", ".join(f'"{f.name}" {types[f.type]}' for f in STAGE_SCHEMA)
    return f"CREATE TABLE stage.rows ({cols})"


# -- the merge (SQL) --------------------------------------------------------------------

_IDENTIFIERS_SQL = "[t FOR t IN [{}] IF t.token IS NOT NULL]".format(
    ", ".join(f"{{'kind': '{k}', 'token': tok_{k}}}" for k in IDENTIFIER_KINDS)
)

#: One row per valid staged row: its status against what is stored and the rows
#: before it (narrow: the values stay in ``stage.rows``, joined on ``_row``).
_MERGE_VERSIONS = f"""
CREATE TEMP TABLE _versions AS
WITH valid AS (
    SELECT _row, record_id, {_CONTENT_HASH_SQL} AS content_hash
    FROM stage.rows WHERE len(_reasons) = 0
), ordered AS (
    SELECT v.*,
           lag(content_hash) OVER w AS prev_in_batch,
           lag(_row) OVER w AS prev_row,
           row_number() OVER (PARTITION BY record_id ORDER BY _row DESC) = 1 AS is_last
    FROM valid v
    WINDOW w AS (PARTITION BY record_id ORDER BY _row)
), unique_ids AS (  -- the usual case, without the windows: each record id once
    SELECT v.*, NULL::VARCHAR AS prev_in_batch, NULL::BIGINT AS prev_row, TRUE AS is_last
    FROM valid v
)
SELECT o.*,
       r.content_hash AS stored_hash,
       CASE WHEN coalesce(o.prev_in_batch, r.content_hash) IS NULL THEN 'loaded'
            WHEN coalesce(o.prev_in_batch, r.content_hash) = o.content_hash THEN 'duplicate'
            ELSE 'updated' END AS status
FROM {{rows}} o
LEFT JOIN records r ON r.source_id = ? AND r.record_id = o.record_id
"""  # noqa: S608 (built from constants only)

_RECORD_SELECT = """
SELECT ? AS source_id, v.record_id, ? AS batch_id, ? AS source_kind, ? AS source_task_force,
       {columns}, v.content_hash, ? AS validated_at, ? AS updated_at
FROM _versions v JOIN stage.rows s ON s._row = v._row
"""

_HISTORY_FROM_STORED = """
INSERT INTO record_history
SELECT r.source_id, r.record_id, ?, ?,
       CAST(to_json(struct_pack(record := r, identifiers := i.identifiers)) AS VARCHAR)
FROM _versions v
JOIN records r ON r.source_id = ? AND r.record_id = v.record_id
LEFT JOIN (
    SELECT record_id, list(struct_pack(kind := kind, token := token) ORDER BY kind, token) AS identifiers
    FROM record_identifiers
    WHERE source_id = ? AND record_id IN (
        SELECT record_id FROM _versions WHERE status = 'updated' AND prev_in_batch IS NULL)
    GROUP BY record_id
) i ON i.record_id = v.record_id
WHERE v.status = 'updated' AND v.prev_in_batch IS NULL
"""

_HISTORY_IN_BATCH = """
INSERT INTO record_history
SELECT ?, v.record_id, ?, ?,
       CAST(to_json(struct_pack(
           record := p, identifiers := list_sort(p.identifiers)
       )) AS VARCHAR)
FROM _versions v
JOIN (SELECT s.* EXCLUDE (_reasons, _loc_key, _qrow, tok_phone, tok_email, tok_vehicle_plate,
                          tok_ad_handle, tok_subject),
             v.content_hash, {identifiers} AS identifiers
      FROM _versions v JOIN stage.rows s ON s._row = v._row) p
  ON p.record_id = v.record_id AND p._row = v.prev_row
WHERE v.status = 'updated' AND v.prev_in_batch IS NOT NULL
""".replace("{identifiers}", _IDENTIFIERS_SQL)


_IDENTIFIER_SELECT = "SELECT ?, record_id, '{kind}', tok_{kind}, seen_at FROM c WHERE tok_{kind} IS NOT NULL"
_CHANGED_TOKENS = (  # noqa: S608 (built from constants only)
    "SELECT v.record_id, " + ", ".join(f"s.{c}" for c in _TOKEN_COLUMNS)
    + ", coalesce(s.occurred_at, s.reported_at, ?) AS seen_at "
    "FROM _versions v JOIN stage.rows s ON s._row = v._row WHERE {changed}"
)
_IDENTIFIERS_INSERT = f"INSERT INTO record_identifiers WITH c AS ({_CHANGED_TOKENS}) " + " UNION ALL ".join(
    _IDENTIFIER_SELECT.format(kind=kind) for kind in IDENTIFIER_KINDS
)

_STATUS_COUNTS = """
SELECT count(*) FILTER (WHERE status = 'loaded'),
       count(*) FILTER (WHERE status = 'updated'),
       count(*) FILTER (WHERE status = 'duplicate'),
       count(*) FILTER (WHERE status = 'updated' AND prev_in_batch IS NULL),
       count(*) FILTER (WHERE status = 'updated' AND prev_in_batch IS NOT NULL),
       count(*) FILTER (WHERE is_last AND stored_hash IS NOT NULL AND stored_hash <> content_hash)
FROM _versions
"""


def _merge(
    con: duckdb.DuckDBPyConnection, *, source: Source, batch_id: str, now: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    sid = source.source_id
    con.execute(
        "INSERT INTO quarantine SELECT ?, ?, _row, _reasons, _qrow, ? FROM stage.rows "
        "WHERE len(_reasons) > 0",
        [sid, batch_id, now],
    )
    repeated = _scalar(con.execute(
        "SELECT count(*) - count(DISTINCT record_id) FROM stage.rows WHERE len(_reasons) = 0"
    ).fetchone())
    con.execute(_MERGE_VERSIONS.format(rows="ordered" if repeated else "unique_ids"), [sid])
    changed = "is_last AND (stored_hash IS NULL OR stored_hash <> content_hash)"
    status = con.execute(_STATUS_COUNTS).fetchone()
    assert status is not None  # an aggregate always returns one row
    loaded, updated, duplicates, from_stored, in_batch, replaced = status
    if from_stored:
        con.execute(_HISTORY_FROM_STORED, [batch_id, now, sid, sid])
    if in_batch:
        con.execute(_HISTORY_IN_BATCH, [sid, batch_id, now])
    if replaced:
        for table in ("records", "record_identifiers"):
            con.execute(
                f"DELETE FROM {table} WHERE source_id = ? AND record_id IN "  # noqa: S608
                f"(SELECT record_id FROM _versions WHERE {changed} AND stored_hash IS NOT NULL)",
                [sid],
            )
    select = _RECORD_SELECT.format(columns=", ".join(f"s.{c}" for c in _RECORD_COLUMNS))
    con.execute(
        f"INSERT INTO records BY NAME {select} WHERE {changed}",
        [sid, batch_id, source.kind, source.task_force, now, now],
    )
    con.execute(_IDENTIFIERS_INSERT.format(changed=changed), [now] + [sid] * len(IDENTIFIER_KINDS))
    reasons = dict(
        con.execute(
            "SELECT _reasons[1], count(*) FROM stage.rows WHERE len(_reasons) > 0 GROUP BY 1"
        ).fetchall()
    )
    con.execute("DROP TABLE _versions")
    counts = {
        "loaded": int(loaded), "updated": int(updated), "duplicates": int(duplicates),
        "quarantined": int(sum(reasons.values())),
    }
    return counts, {str(k): int(v) for k, v in reasons.items()}


# -- a chunk: map, validate, tokenise, geocode, index ---------------------------------


def _prepare(
    chunks: Iterator[pd.DataFrame],
    *,
    profile: Profile,
    start_row: int,
) -> Iterator[pd.DataFrame]:
    """Each read chunk as staging rows (:data:`STAGE_SCHEMA` columns)."""
    row = start_row
    now = datetime.now(UTC).replace(tzinfo=None)
    key = tokens.load_key()
    for raw in chunks:
        raw = raw.reset_index(drop=True)
        with _timed("prepare"):
            prepared = _prepare_chunk(raw, profile=profile, first_row=row, now=now, key=key)
        yield prepared
        row += len(raw)


def map_columns(raw: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """The contract fields of a raw chunk (text; several source columns joined by a space)."""
    out = {}
    for fld, cols in profile.columns.items():
        if len(cols) == 1:
            out[fld] = raw[cols[0]]
        else:
            parts = [_validate.text(raw[c]).fillna("") for c in cols]
            joined = parts[0].str.cat(parts[1:], sep=" ").str.strip()
            joined = joined.str.replace(r"\s+", " ", regex=True)
            out[fld] = joined.where(joined != "")
    frame = pd.DataFrame(out, index=raw.index)
    for fld in CONTRACT_FIELDS:
        if fld not in frame.columns:
            frame[fld] = pd.Series(None, index=raw.index, dtype="str")
    return frame


def _prepare_chunk(
    raw: pd.DataFrame, *, profile: Profile, first_row: int, now: datetime, key: bytes
) -> pd.DataFrame:
    m = map_columns(raw, profile)
    reasons = _validate.Reasons(m.index, {})
    out = pd.DataFrame(index=m.index)
    out["_row"] = np.arange(first_row, first_row + len(m), dtype=np.int64)

    record_id = _validate.text(m["record_id"])
    out["record_id"] = record_id
    reasons.add("missing_record_id", record_id.isna())
    # the location fields as text, computed once (lat/lon again after they are parsed)
    loc = {c: _validate.text(m[c]) for c in _LOCATION_COLUMNS}
    dest_given = _given(loc, prefix="")
    origin_given = _given(loc, prefix="origin_")
    reasons.add("missing_location", ~dest_given & ~origin_given)

    for fld in ("occurred_at", "reported_at"):
        with _timed("dates"):
            parsed, bad = _validate.parse_dates(m[fld], formats=profile.date_formats)
        future, too_old = _validate.date_reasons(parsed, now=now)
        reasons.add("bad_date", bad)
        reasons.add("future_date", future)
        reasons.add("too_old_date", too_old)
        out[fld] = parsed
    when = out["occurred_at"].fillna(out["reported_at"])
    out["month"] = when.to_numpy(dtype="datetime64[us]").astype("datetime64[M]").astype("datetime64[D]")

    for fld in ("record_type", "trafficking_type"):
        value, bad = _by_text(m[fld], lambda v, fld=fld: _validate.parse_enum(
            v, ENUMS[fld], table=profile.values.get(fld)))
        reasons.add("bad_enum", bad)
        out[fld] = value
    out["trafficking_type"] = out["trafficking_type"].fillna("unknown")
    minor, bad = _by_text(m["minor_involved"], lambda v: _validate.parse_bools(
        v, table=profile.values.get("minor_involved")))
    reasons.add("bad_enum", bad)
    out["minor_involved"] = minor
    count, bad = _validate.parse_counts(m["victim_count"])
    reasons.add("bad_count", bad)
    out["victim_count"] = count.astype(object).where(count.notna(), None)
    out["indicators"] = _validate.parse_indicators(
        m["indicators"], separator=profile.list_separator, table=profile.values.get("indicators")
    )
    for fld in ("case_number", "contact"):
        out[fld] = m[fld].astype(object).where(m[fld].notna(), None)

    for prefix in ("", "origin_"):
        lat, lon, bad, _swapped = _validate.parse_coordinates(m[prefix + "lat"], m[prefix + "lon"])
        reasons.add("bad_coordinates", bad)
        m[prefix + "lat"] = lat.map(repr, na_action="ignore").astype("str")
        m[prefix + "lon"] = lon.map(repr, na_action="ignore").astype("str")
        loc[prefix + "lat"] = _validate.text(m[prefix + "lat"])
        loc[prefix + "lon"] = _validate.text(m[prefix + "lon"])

    with _timed("geocode"):
        dest, dest_codes, dest_key = _geocode_side(m, loc, prefix="", role="destination")
    dest_err = _per_row(dest["error"], dest_codes, m.index).where(dest_given)
    reasons.add("outside_california", dest_err.str.startswith("outside California").fillna(False))
    reasons.add(
        "unresolvable_location",
        (dest_err.notna() & ~dest_err.str.startswith("outside California")).fillna(False),
    )
    with _timed("geocode"):
        origin, origin_codes, origin_key = _geocode_side(m, loc, prefix="origin_", role="origin")
    origin_err = _per_row(origin["error"], origin_codes, m.index).where(origin_given)
    reasons.add("unresolvable_location", origin_err.notna())
    _index_distinct(out, dest, dest_codes, dest_given, side="dest")
    _index_distinct(out, origin, origin_codes, origin_given, side="origin")
    out["origin_state"] = out.pop("_state")
    out["origin_country"] = out.pop("_country")
    # the same text as all location fields of both sides joined by \x1f
    out["_loc_key"] = _join_text([dest_key, origin_key], sep="\x1f").astype(object)

    with _timed("tokenise"):
        for kind, fld in IDENTIFIER_KINDS.items():
            dobs = m["subject_dob"] if kind == "subject" else None
            out[f"tok_{kind}"] = tokens.tokenise_column(kind, m[fld], dobs=dobs, key=key)

    out["_reasons"] = reasons.arrow_lists()
    flagged = reasons.any
    out["_qrow"] = None
    if flagged.any():
        out.loc[flagged, "_qrow"] = _quarantine_rows(raw[flagged], out[flagged], profile)
    return out


def _join_text(parts: list[pd.Series], *, sep: str) -> pd.Series:
    """Row-wise ``sep.join`` of text columns without missing values (as ``Series.str.cat``)."""
    joined = pc.binary_join_element_wise(
        *[pa.array(part, type=pa.large_string()) for part in parts], pa.scalar(sep, pa.large_string())
    )
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=parts[0].index, dtype="str")


def _by_text(values: pd.Series, parse) -> tuple[pd.Series, pd.Series]:  # type: ignore[no-untyped-def]
    """``parse`` (→ ``(value, bad)``, per value) run once per distinct text of ``values``.

    Values are read as text first, as the parsers do, so equal texts parse
    alike. Returns ``value`` as objects (``None`` where missing) and ``bad``.
    """
    codes, texts = pd.factorize(values.astype("str").where(values.notna()))
    value, bad = parse(pd.Series(texts, dtype=object))
    value = value.astype(object).where(value.notna(), None).to_numpy(dtype=object)
    picked = np.append(value, np.array([None], dtype=object))[codes]  # code -1 (missing) → None, not bad
    flagged = np.append(bad.to_numpy(dtype=bool), False)[codes]
    return (pd.Series(picked, index=values.index, dtype=object),
            pd.Series(flagged, index=values.index, dtype=bool))


_LOCATION_COLUMNS = [p + f for p in ("", "origin_") for f in LOCATION_FIELDS]


def _given(loc: dict[str, pd.Series], *, prefix: str) -> pd.Series:
    """:func:`pipelines._validate.has_location` from the location fields' text."""
    present = np.zeros(len(next(iter(loc.values()))), dtype=bool)
    index = None
    for name in LOCATION_FIELDS:
        col = loc[prefix + name]
        index = col.index
        present |= col.notna().to_numpy()
    return pd.Series(present, index=index)


#: Geocodes of distinct location keys already seen by this process, per
#: ``(role, prefix, column dtypes)``: the same places recur in every file of a source.
_GEOCODED: dict[tuple[tuple[str, ...], str], tuple[Any, ...]] = {}
_GEOCODED_LIMIT = 200_000  # ~80 MB at most
_GEOCODE_FLOATS = ("lat", "lng", "confidence")


def _geocode_side(
    m: pd.DataFrame, loc: dict[str, pd.Series], *, prefix: str, role: str
) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Geocode one side's location fields, each distinct combination once.

    Returns ``(found, codes, key)``: one result per distinct combination, each
    row's position in ``found``, and the key (the side's location fields as
    text, joined by \x1f). A combination is geocoded from its first row; one this
    process geocoded before (from a column of the same dtype) is taken from
    :data:`_GEOCODED`.
    """
    from geo.geocode import GEOCODE_COLUMNS, geocode_fields

    cols = [prefix + f for f in LOCATION_FIELDS]
    key = _join_text([loc[c].fillna("") for c in cols], sep="\x1f")
    codes, uniques = pd.factorize(key)
    if len(uniques) == 0:
        return pd.DataFrame(
            {c: pd.Series(None, index=m.index, dtype=object) for c in GEOCODE_COLUMNS}
        ).reset_index(drop=True), codes, key
    scope = (role, prefix, *(str(m[c].dtype) for c in cols))
    keys = uniques.tolist()
    rows: list[tuple[Any, ...] | None] = [_GEOCODED.get((scope, k)) for k in keys]
    missing = np.array([i for i, r in enumerate(rows) if r is None], dtype=np.int64)
    if len(missing):
        first = np.unique(codes, return_index=True)[1]
        distinct = m.loc[m.index[first[missing]], cols].reset_index(drop=True)
        distinct = distinct.astype(object).where(distinct.notna(), None)
        found = geocode_fields(distinct, prefix=prefix, role=role)  # type: ignore[arg-type]
        if len(_GEOCODED) > _GEOCODED_LIMIT:
            _GEOCODED.clear()
        for i, row in zip(missing, found[GEOCODE_COLUMNS].itertuples(index=False, name=None), strict=True):
            rows[i] = row
            _GEOCODED[(scope, keys[i])] = row
    values = list(zip(*rows, strict=True))
    found = pd.DataFrame({
        c: pd.Series(v, dtype="float64" if c in _GEOCODE_FLOATS else "str")
        for c, v in zip(GEOCODE_COLUMNS, values, strict=True)
    })
    return found, codes, key


def _per_row(values: pd.Series | pd.DataFrame, codes: np.ndarray, index: pd.Index):  # type: ignore[no-untyped-def]
    """Per-distinct ``values`` spread to the rows (``codes``: each row's position)."""
    taken = values.take(codes)
    taken.index = index
    return taken


def _index_distinct(
    out: pd.DataFrame, found: pd.DataFrame, codes: np.ndarray, given: pd.Series, *, side: str
) -> None:
    """:func:`_index_side` of the rows, worked out once per distinct location.

    A row is indexed when its side is given and geocoded without error; when
    that holds alike for every row of a location (it does: a side with no
    location text geocodes to an error), each column is computed on the
    distinct locations and spread to the rows, else row by row.
    """
    ok = given.to_numpy(dtype=bool) & found["error"].isna().to_numpy()[codes]
    ok_distinct = np.zeros(len(found), dtype=bool)
    ok_distinct[codes[ok]] = True
    if not np.array_equal(ok_distinct[codes], ok):
        rows = _per_row(found, codes, out.index)
        _index_side(out, rows.where(pd.Series(ok, index=out.index)), side=side)
        return
    distinct = pd.DataFrame(index=found.index)
    _index_side(distinct, found.where(pd.Series(ok_distinct, index=found.index)), side=side)
    for col in distinct.columns:
        out[col] = _per_row(distinct[col], codes, out.index)


def _index_side(out: pd.DataFrame, geo: pd.DataFrame, *, side: str) -> None:
    dims = reference.county_dimensions().set_index("county_fips")
    fips = geo["county_fips"].astype(object).where(geo["county_fips"].notna(), None)
    out[f"{side}_lat"] = pd.to_numeric(geo["lat"], errors="coerce")
    out[f"{side}_lng"] = pd.to_numeric(geo["lng"], errors="coerce")
    out[f"{side}_precision"] = geo["precision"].astype(object).where(geo["precision"].notna(), None)
    out[f"{side}_confidence"] = pd.to_numeric(geo["confidence"], errors="coerce")
    out[f"{side}_matched"] = geo["matched"].astype(object).where(geo["matched"].notna(), None)
    out[f"{side}_county_fips"] = fips
    out[f"{side}_region"] = fips.map(dims["region"]).astype(object)
    out[f"{side}_task_force"] = fips.map(dims["task_force"]).astype(object)
    cells = np.zeros(len(geo), dtype=np.int64)
    res = np.full(len(geo), -1, dtype=np.int16)
    precision = out[f"{side}_precision"]
    lat = out[f"{side}_lat"].to_numpy(dtype=np.float64)
    lng = out[f"{side}_lng"].to_numpy(dtype=np.float64)
    for name, max_res in grid.PRECISION_MAX_RES.items():
        if max_res is None:
            continue
        mask = (precision == name).to_numpy()
        if mask.any():
            cells[mask] = grid.latlngs_to_cells(lat[mask], lng[mask], max_res)
            res[mask] = max_res
    has = cells != 0
    out[f"{side}_cell"] = pd.Series(cells, index=out.index, dtype="Int64").where(has)
    out[f"{side}_res"] = pd.Series(res, index=out.index, dtype="Int8").where(has)
    if side == "origin":
        out["_state"] = geo["state"].astype(object).where(geo["state"].notna(), None)
        out["_country"] = geo["country"].astype(object).where(geo["country"].notna(), None)


def _quarantine_rows(raw: pd.DataFrame, staged: pd.DataFrame, profile: Profile) -> list[str]:
    """JSON of each quarantined row: mapped source columns, identifiers as tokens."""
    token_of: dict[str, str] = {}
    for fld in IDENTIFIER_FIELDS:
        kind = "subject" if fld in ("subject_name", "subject_dob") else fld
        for col in profile.columns.get(fld, ()):
            token_of[col] = f"tok_{kind}"
    columns = [c for c in profile.source_columns if c not in profile.ignore]
    if not columns:
        return ["{}"] * len(raw)
    arrays = []
    for col in columns:
        values = (staged[token_of[col]] if col in token_of else raw[col]).to_numpy(dtype=object)
        arrays.append(np.where(pd.isna(values), None, values))
    encode = _QROW_JSON.encode  # as json.dumps(row, ensure_ascii=False, default=str)
    return [encode(dict(zip(columns, row, strict=True))) for row in zip(*arrays, strict=True)]


_QROW_JSON = json.JSONEncoder(ensure_ascii=False, default=str)
