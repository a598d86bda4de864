"""What the Data intake page reads: batches, quarantine and geocoding precision per source.

Every function takes the :class:`~query.viewer.Viewer` first.

- Everyone may see operational counts per source: batches, rows read, loaded,
  updated, duplicates, quarantined by reason (these count rows of files, not
  victims). Partners and leadership see the geocoding-precision mix (which counts
  records) with values under k shown as suppressed.
- Quarantined rows (the row as read, identifiers already tokenised) are
  record-level: admins may browse any source's, analysts and leads only their
  own task force's sources'; partners and leadership never. Each browse is written
  to the audit log.
- Upload: admins to any source, analysts, leads and partners to the sources of
  their own task force; leadership to none.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from query.aggregates import is_fresh
from query.viewer import Viewer
from routes import warehouse
from routes.errors import AccessDenied

#: Roles whose record-count figures are small-cell protected on this page.
COUNT_ONLY_ROLES = frozenset({"partner", "leadership"})

PRECISIONS = ("point", "zip", "place", "county")

_SOURCES_SQL = """
SELECT s.source_id, s.name, s.kind, s.task_force,
       count(b.batch_id) AS batches,
       coalesce(sum(b.rows_read), 0) AS rows_read,
       coalesce(sum(b.loaded), 0) AS loaded,
       coalesce(sum(b.updated), 0) AS updated,
       coalesce(sum(b.duplicates), 0) AS duplicates,
       coalesce(sum(b.quarantined), 0) AS quarantined,
       max(b.finished_at) AS last_update
FROM sources s LEFT JOIN batches b USING (source_id)
GROUP BY ALL ORDER BY s.source_id
"""

_PRECISION_SQL = """
SELECT source_id, coalesce(dest_precision, 'origin only') AS precision, count(*) AS records
FROM records GROUP BY ALL
"""

_PRECISION_AGGREGATE_SQL = """
SELECT source_id, precision, records FROM source_precision_counts
"""

_REASONS_SQL = """
SELECT source_id, reasons[1] AS reason, count(*) AS rows
FROM quarantine GROUP BY ALL ORDER BY source_id, rows DESC
"""

_BATCHES_SQL = """
SELECT batch_id, source_id, file_name, profile, started_at, finished_at, rows_read, loaded,
       updated, duplicates, quarantined
FROM batches WHERE source_id = ? ORDER BY started_at DESC LIMIT ?
"""

_QUARANTINE_SQL = """
SELECT q.batch_id, b.file_name, q.row_number, array_to_string(q.reasons, ', ') AS reasons,
       q."row", q.quarantined_at
FROM quarantine q LEFT JOIN batches b USING (batch_id)
WHERE q.source_id = ? AND (? IS NULL OR q.batch_id = ?)
ORDER BY q.quarantined_at DESC, q.row_number
LIMIT ? OFFSET ?
"""


_connection = warehouse.reading  # an optional connection, else a fresh snapshot


def _source_task_force(con: duckdb.DuckDBPyConnection, source_id: str) -> str | None:
    row = con.execute("SELECT task_force FROM sources WHERE source_id = ?", [source_id]).fetchone()
    if row is None:
        raise AccessDenied(f"no source {source_id!r}; choose one of the registered sources")
    return row[0]


def may_browse_quarantine(viewer: Viewer, source_task_force: str | None) -> bool:
    """Whether ``viewer`` may read quarantined rows of a source of ``source_task_force``.

    >>> may_browse_quarantine(Viewer("a", "analyst", "la"), "la")
    True
    >>> may_browse_quarantine(Viewer("p", "partner"), "la")
    False
    """
    if viewer.role == "admin":
        return True
    return viewer.may_see_records_of(source_task_force)


def source_summary(viewer: Viewer, *, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """One row per source: batches, row counts, last update, and the precision mix.

    Precision columns (``point``, ``zip``, ``place``, ``county``, ``origin only``)
    count loaded records by destination precision; for partners and leadership a
    value under k is ``None`` (shown as suppressed). ``may_browse`` says whether
    this viewer may open the source's quarantine.
    """
    with _connection(con) as c:
        summary = c.sql(_SOURCES_SQL).df()
        # the build's per-source precision counts, while they match the records
        mix = c.sql(_PRECISION_AGGREGATE_SQL if is_fresh(c) else _PRECISION_SQL).df()
    columns = [*PRECISIONS, "origin only"]
    if mix.empty:
        wide = pd.DataFrame(columns=["source_id", *columns])
    else:
        wide = mix.pivot_table(index="source_id", columns="precision", values="records",
                               aggfunc="sum", fill_value=0).reset_index()
    for col in columns:
        if col not in wide.columns:
            wide[col] = 0
    out = summary.merge(wide[["source_id", *columns]], on="source_id", how="left")
    out[columns] = out[columns].fillna(0).astype("Int64")
    if viewer.role in COUNT_ONLY_ROLES:
        for col in columns:
            out[col] = out[col].where((out[col] >= viewer.k) | (out[col] == 0))
    out["may_browse"] = [may_browse_quarantine(viewer, tf) for tf in out["task_force"]]
    return out


def quarantine_reasons(
    viewer: Viewer, *, source_id: str | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """Quarantined rows by source and first reason (``source_id``, ``reason``, ``rows``).

    Operational counts of file rows, so every role may see them; no row content.
    """
    with _connection(con) as c:
        out = c.sql(_REASONS_SQL).df()
    if source_id is not None:
        out = out[out["source_id"] == source_id].reset_index(drop=True)
    return out


def source_batches(
    viewer: Viewer, source_id: str, *, limit: int = 100, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """The latest batches of one source (file names and counts; no row content)."""
    with _connection(con) as c:
        _source_task_force(c, source_id)
        return c.execute(_BATCHES_SQL, [source_id, int(limit)]).df()


def quarantine_rows(
    viewer: Viewer,
    source_id: str,
    *,
    batch_id: str | None = None,
    limit: int = 200,
    offset: int = 0,
    con: duckdb.DuckDBPyConnection | None = None,
    audit: bool = True,
) -> pd.DataFrame:
    """Quarantined rows of one source, newest first (identifiers already tokenised).

    Raises
    ------
    AccessDenied
        The viewer is a partner or leadership, or an analyst or lead of another
        task force than the source's.
    """
    if viewer.role in COUNT_ONLY_ROLES:
        raise AccessDenied(
            f"role {viewer.role!r} sees quarantine counts only, never quarantined rows"
        )
    with _connection(con) as c:
        task_force = _source_task_force(c, source_id)
        if not may_browse_quarantine(viewer, task_force):
            raise AccessDenied(
                f"{viewer.user!r} ({viewer.role}, task force {viewer.task_force!r}) may not read "
                f"quarantined rows of source {source_id!r} (task force {task_force!r}); "
                "ask that task force or an admin"
            )
        rows = c.execute(
            _QUARANTINE_SQL, [source_id, batch_id, batch_id, int(limit), int(offset)]
        ).df()
    if audit:
        from query import audit as audit_log

        audit_log.record_event(
            viewer, action="view_records",
            what=f"{len(rows)} quarantined rows of source {source_id}"
            + (f", batch {batch_id}" if batch_id else ""),
        )
    return rows


def upload_sources(
    viewer: Viewer, *, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """The sources ``viewer`` may upload files for (``source_id``, ``name``, ``task_force``)."""
    with _connection(con) as c:
        sources = c.sql("SELECT source_id, name, kind, task_force FROM sources ORDER BY source_id").df()
    if viewer.role == "admin":
        return sources
    if viewer.role == "leadership" or not viewer.task_force:
        return sources.iloc[0:0]
    return sources[sources["task_force"] == viewer.task_force].reset_index(drop=True)
