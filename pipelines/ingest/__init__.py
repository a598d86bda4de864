"""Ingest agency exports: read → map → validate → tokenise → geocode → index → load.

``python -m pipelines ingest PATH [PATH …] --source ID [--profile FILE]``

One command (one :func:`ingest_files` call) takes one
:func:`routes.warehouse.write_snapshot` for all its files: each file is its own
batch, merged in its own transaction on the copy, and the copy is swapped in once
at the end. A kill at any moment leaves the warehouse exactly as before the command
or exactly as after it, and readers keep a consistent snapshot meanwhile. A file
that cannot be read is reported and the files that were read still land. Rows
stream through in chunks
(:data:`pipelines.ingest._readers.CHUNK_ROWS`) into a staging file beside the warehouse
copy, so memory stays flat however long the file is; the merge is SQL.

Accounting per file: ``rows_read = loaded + updated + duplicates + quarantined``.

- ``loaded``: a new ``(source, record_id)``;
- ``updated``: a later row for a known record whose content changed (the
  previous version goes to ``record_history``);
- ``duplicates``: content equal to what is stored, or to the row before it in the
  same file; every row of a file this source already sent (same SHA-256);
- ``quarantined``: failed validation (``quarantine`` keeps the mapped source
  columns, identifiers replaced by tokens, and every reason).

Identifiers become keyed tokens (:mod:`pipelines.ingest.tokens`) in
``record_identifiers``; columns a profile does not map (narratives included) are
never loaded. Text that is loaded (``case_number``, ``contact``) is kept as given
and is untrusted wherever it is shown.
"""


from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from pipelines.ingest import _readers, _validate, upload_audit
from pipelines.ingest.merge import (
    _merge,
    _seen,
    _set_data_as_of,
    _stage,
    _transaction,
    tune_for_batch,
)
from pipelines.ingest.prepare import _prepare, _to_arrow
from pipelines.ingest.profiles import (
    Profile,
    load_profile,
    parse_profile,
    profile_for_columns,
)
from pipelines.ingest.sources import Source, get_source, source_from
from pipelines.ingest.timing import StageSeconds
from query.viewer import Viewer
from routes import settings, warehouse
from routes.errors import IngestError, ProfileError, RoutesError

log = logging.getLogger(__name__)

#: Files up to this size are staged in memory; larger ones in a file beside the warehouse.
STAGE_IN_MEMORY_BYTES = 256 * 2**20




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




# -- public API -------------------------------------------------------------------------


def ingest_files(
    paths: Sequence[str | Path],
    *,
    source_id: str,
    profile_path: str | Path | None = None,
    warehouse_path: Path | None = None,
    on_error: Callable[[Path, RoutesError], None] | None = None,
    by: Viewer | None = None,
    stage_seconds: StageSeconds | None = None,
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
        A registered source (:mod:`pipelines.ingest.sources`).
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
    stage_seconds
        Seconds per stage are added to it (``bench/bench_ingest.py`` passes one).

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
    seconds = StageSeconds() if stage_seconds is None else stage_seconds
    summaries: list[BatchSummary] = []
    failures: list[tuple[Path, RoutesError]] = []
    with (contextlib.suppress(_NothingRead), _snapshot(live, seconds) as con,
          ThreadPoolExecutor(max_workers=1) as pool):
        files = [Path(p) for p in paths]
        ahead: dict[int, Future[PreparedFile]] = {}

        def read_ahead(i: int) -> None:
            """Read and validate file ``i`` in the thread (small files only)."""
            if i < len(files) and i not in ahead and _prefetchable(files[i]):
                ahead[i] = pool.submit(_prepare_file, files[i], profile, seconds)

        read_ahead(0)
        for i, path in enumerate(files):
            try:
                if i in ahead:
                    with seconds.timed("wait"):  # for the thread to finish reading it
                        prepared = ahead.pop(i).result()  # raises what reading it raised
                    read_ahead(i + 1)  # while this one merges
                    reader, file_profile, tables = prepared.reader, prepared.profile, prepared.tables
                    del prepared
                else:  # streamed here, chunk by chunk; the next file waits (one reader at a time)
                    reader, file_profile = _open(path, path.name, profile)
                    tables = None
                summary = _ingest_batch(con, path, reader=reader, file_name=path.name,
                                        source=source, profile=file_profile,
                                        stage_dir=live.parent, transaction=True, tables=tables,
                                        seconds=seconds)
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
    (:mod:`pipelines.ingest.upload_audit`).
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




def _new_batch_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"




class _NothingRead(Exception):
    """No file of the call could be read: discard the copy instead of swapping it in."""




@contextlib.contextmanager
def _snapshot(live: Path, seconds: StageSeconds) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`routes.warehouse.write_snapshot`, its copy and swap timed as ``snapshot``."""
    started = time.perf_counter()
    with warehouse.write_snapshot(path=live) as con:
        seconds["snapshot"] += time.perf_counter() - started
        yield con
        started = time.perf_counter()
    seconds["snapshot"] += time.perf_counter() - started




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
    seconds = StageSeconds()
    with _snapshot(live, seconds) as con:
        summary = _ingest_batch(con, data, reader=reader, file_name=file_name, source=source,
                                profile=profile, stage_dir=live.parent, seconds=seconds)
    log.info("Ingested %s as batch %s in %.1f s", file_name, summary.batch_id, summary.seconds)
    return summary




@dataclass
class PreparedFile:
    """A file read, validated and ready to stage (see :func:`prepare_file`)."""

    path: Path
    reader: _readers.TableReader
    profile: Profile
    tables: list[pa.Table]




def prepare_file(
    path: Path, *, profile_path: Path | None = None, stage_seconds: StageSeconds | None = None
) -> PreparedFile:
    """Read, map, validate, tokenise, geocode and index a whole file, writing nothing.

    ``setup-demo`` and :func:`ingest_files` prepare the next file in a thread while
    the current one merges (DuckDB works outside the GIL); keep such files small,
    they sit in memory.
    """
    seconds = StageSeconds() if stage_seconds is None else stage_seconds
    return _prepare_file(path, load_profile(profile_path) if profile_path else None, seconds)




#: :func:`ingest_files` reads a file ahead, whole in memory, up to this size.
READ_AHEAD_BYTES = 64 * 2**20




def _prefetchable(path: Path) -> bool:
    return path.is_file() and path.stat().st_size <= READ_AHEAD_BYTES




def _prepare_file(path: Path, profile: Profile | None, seconds: StageSeconds) -> PreparedFile:
    reader, profile = _open(path, path.name, profile)
    tables = [_to_arrow(chunk, seconds) for chunk in _prepare(_progress(reader.chunks, path.name, seconds),
                                                               profile=profile, start_row=1, seconds=seconds)]
    return PreparedFile(path, reader, profile, tables)




def ingest_file_into(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source_id: str,
    profile_path: Path | None = None,
    prepared: PreparedFile | None = None,
    stage_seconds: StageSeconds | None = None,
) -> BatchSummary:
    """Ingest one file as one batch into an open write connection, in one transaction.

    For building a warehouse file nobody reads yet (``setup-demo`` builds the demo
    aside and swaps it in once); everything else uses :func:`ingest_files`,
    which takes one snapshot of the live warehouse per call. ``prepared``
    is this file already through :func:`prepare_file`; seconds per stage are
    added to ``stage_seconds`` when given.
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
                         tables=tables, seconds=StageSeconds() if stage_seconds is None else stage_seconds)




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
    seconds: StageSeconds,
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
    tune_for_batch(con, big=big)
    with contextlib.ExitStack() as stack:
        if _seen(con, source.source_id, digest):
            if tables is not None:
                rows = sum(t.num_rows for t in tables)
            else:
                rows = sum(len(chunk) for chunk in _progress(reader.chunks, file_name, seconds))
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
                tables = (_to_arrow(chunk, seconds) for chunk in _prepare(
                    _progress(reader.chunks, file_name, seconds), profile=profile, start_row=1, seconds=seconds))
            rows = _stage(con, tables, seconds)
            if transaction:
                stack.enter_context(_transaction(con))
            with seconds.timed("merge"):
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




def _progress(chunks: Iterator[pd.DataFrame], file_name: str, seconds: StageSeconds) -> Iterator[pd.DataFrame]:
    bar = tqdm(desc=file_name, unit=" rows", disable=settings.quiet(), file=sys.stderr)
    try:
        while True:
            with seconds.timed("read"):
                chunk = next(chunks, None)
            if chunk is None:
                break
            yield chunk
            bar.update(len(chunk))
    finally:
        bar.close()




def _ordered(reasons: dict[str, int]) -> dict[str, int]:
    return {r: reasons[r] for r in _validate.REASONS if reasons.get(r)}
