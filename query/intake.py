"""What the Data intake page reads: batches, quarantine and geocoding precision per source.

Every function takes the :class:`~query.viewer.Viewer` first; what it may see
comes from :mod:`query.policy`:

- **Which sources.** A viewer with ``see_all_sources_intake`` sees every source;
  one with ``see_own_sources_intake`` only the sources of its own task force (a
  partner bound to no task force sees none): never another source's name, file
  names or volumes. Neither: :class:`AccessDenied`.
- **Small counts.** Per-source counts (rows read, loaded, updated, duplicates,
  quarantined, quarantined by reason, the geocoding-precision mix, each batch's
  counts) from 1 to k-1 are shown only to a viewer who may see that source's
  records (``see_own_sources_small_counts`` for its own task force's sources,
  ``see_any_source_detail`` for any). For everyone else they are ``<NA>``
  (shown as suppressed), with complementary suppression within a source so no
  hidden count is "the total minus the visible parts". The number of files is
  not a count of rows and is always shown.
- **Quarantined rows** (the row as read, identifiers already tokenised) are
  record-level: ``see_any_source_detail`` for any source, ``see_own_records``
  for its own task force's sources. Each browse is written to the audit log.
- **Upload**: ``upload_any_source`` to any source, ``upload_own_sources`` to the
  sources of its own task force.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from query.aggregates import is_fresh
from query.policy import Capability
from query.viewer import Viewer
from routes import warehouse
from routes.contract.vocabularies import IN_STATE_PRECISIONS
from routes.errors import AccessDenied

__all__ = ["quarantine_reasons", "quarantine_rows", "source_batches", "source_summary", "upload_sources"]

PRECISIONS = IN_STATE_PRECISIONS

#: Per-source row counts whose values under k are hidden from viewers without record access.
#: ``rows_read`` is the total of the four parts after it.
VOLUME_COLUMNS = ("rows_read", "loaded", "updated", "duplicates", "quarantined")

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


def _visible_task_force(viewer: Viewer, con: duckdb.DuckDBPyConnection, source_id: str) -> str | None:
    """The task force of ``source_id``, if ``viewer`` may see that source; else AccessDenied."""
    task_force = _source_task_force(con, source_id)
    if visible_sources(viewer, pd.DataFrame({"task_force": [task_force]})).empty:
        raise AccessDenied(
            f"{viewer.user!r} (role {viewer.role!r}) sees the intake of its own task force's sources only, "
            f"not of {source_id!r}"
        )
    return task_force


def may_browse_quarantine(viewer: Viewer, source_task_force: str | None) -> bool:
    """Whether ``viewer`` may read quarantined rows of a source of ``source_task_force``.

    >>> may_browse_quarantine(Viewer("a", "analyst", "la"), "la")
    True
    >>> may_browse_quarantine(Viewer("p", "partner"), "la")
    False
    """
    if viewer.can(Capability.SEE_ANY_SOURCE_DETAIL):
        return True
    return viewer.may_see_records_of(source_task_force)


def may_see_small_counts(viewer: Viewer, source_task_force: str | None) -> bool:
    """Whether ``viewer`` sees the exact intake counts (under k too) of a source of ``source_task_force``.

    >>> may_see_small_counts(Viewer("a", "analyst", "la"), "la"), may_see_small_counts(Viewer("a", "analyst", "la"), "sd")
    (True, False)
    >>> may_see_small_counts(Viewer("p", "partner", "la"), "la")
    False
    """
    if viewer.can(Capability.SEE_ANY_SOURCE_DETAIL):
        return True
    return (viewer.can(Capability.SEE_OWN_SOURCES_SMALL_COUNTS) and source_task_force is not None
            and source_task_force == viewer.task_force)


def visible_sources(viewer: Viewer, sources: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``sources`` (with a ``task_force`` column) whose intake ``viewer`` may see.

    Raises
    ------
    AccessDenied
        The viewer's role may see no source's intake at all.
    """
    if viewer.can(Capability.SEE_ALL_SOURCES_INTAKE):
        return sources
    viewer.require(Capability.SEE_OWN_SOURCES_INTAKE, "see data intake")
    if not viewer.task_force:
        return sources.iloc[0:0]
    return sources[sources["task_force"] == viewer.task_force]


def hide_small_counts(values: Sequence[int | None], *, k: int) -> list[int | None]:
    """Hide each count from 1 to k-1, then enough others that the hidden ones add up to 0 or k at least.

    For parts of one total that is shown elsewhere (a source's volumes, its
    reasons, its precision mix): the smallest visible non-zero part is hidden
    too while the hidden parts add up to less than k.

    >>> hide_small_counts([3, 40, 12, 0], k=11)
    [None, 40, None, 0]
    >>> hide_small_counts([0, 25, 30], k=11)
    [0, 25, 30]
    """
    out: list[int | None] = [None if v is not None and 0 < v < k else v for v in values]
    hidden = sum(int(v) for v, o in zip(values, out, strict=True) if o is None and v is not None)
    while 0 < hidden < k:
        visible = [(v, i) for i, v in enumerate(out) if v]
        if not visible:
            break
        smallest, at = min(visible)
        out[at] = None
        hidden += int(smallest)
    return out


def _protect_rows(frame: pd.DataFrame, columns: list[str], exact: pd.Series, *, k: int) -> pd.DataFrame:
    """Row by row, :func:`hide_small_counts` over ``columns`` where ``exact`` is false."""
    out = frame.copy()
    for column in columns:
        out[column] = out[column].astype("Int64")
    for index in out.index[~exact.to_numpy(dtype=bool)]:
        values = [None if pd.isna(v) else int(v) for v in out.loc[index, columns]]
        out.loc[index, columns] = pd.array(hide_small_counts(values, k=k), dtype="Int64")
    return out


def _protect_volumes(frame: pd.DataFrame, exact: pd.Series, *, k: int) -> pd.DataFrame:
    """Hide small volumes; the total ``rows_read`` goes whenever a part is hidden and the parts are visible."""
    parts = [c for c in VOLUME_COLUMNS[1:] if c in frame.columns]
    out = _protect_rows(frame, parts, exact, k=k)
    total = out["rows_read"].astype("Int64")
    hidden_any = out[parts].isna().any(axis=1)
    out["rows_read"] = total.mask((~exact.to_numpy(dtype=bool)) & (hidden_any | ((total > 0) & (total < k))))
    return out


def source_summary(viewer: Viewer, *, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """One row per source: batches, row counts, last update, and the precision mix.

    Precision columns (``point``, ``zip``, ``place``, ``county``, ``origin only``)
    count loaded records by destination precision. Only the sources the viewer
    may see (:func:`visible_sources`); counts under k are ``<NA>`` (shown as
    suppressed) unless :func:`may_see_small_counts`. ``may_browse`` says whether
    this viewer may open the source's quarantine.
    """
    with _connection(con) as c:
        summary = visible_sources(viewer, c.sql(_SOURCES_SQL).df()).reset_index(drop=True)
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
    exact = pd.Series([may_see_small_counts(viewer, tf) for tf in out["task_force"]], index=out.index, dtype=bool)
    out = _protect_rows(_protect_volumes(out, exact, k=viewer.k), columns, exact, k=viewer.k)
    out["may_browse"] = [may_browse_quarantine(viewer, tf) for tf in out["task_force"]]
    return out


def quarantine_reasons(
    viewer: Viewer, *, source_id: str | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """Quarantined rows by source and first reason (``source_id``, ``reason``, ``rows``).

    Of the sources the viewer may see; no row content. ``rows`` under k is
    ``<NA>`` (with complementary suppression within a source) unless
    :func:`may_see_small_counts`.
    """
    with _connection(con) as c:
        out = c.sql(_REASONS_SQL).df()
        shown = visible_sources(viewer, c.sql("SELECT source_id, task_force FROM sources").df())
    task_forces = dict(zip(shown["source_id"], shown["task_force"], strict=True))
    out = out[out["source_id"].isin(list(task_forces))]
    if source_id is not None:
        out = out[out["source_id"] == source_id]
    out = out.reset_index(drop=True)
    out["rows"] = out["rows"].astype("Int64")
    for sid, group in out.groupby("source_id"):
        if not may_see_small_counts(viewer, task_forces[sid]):
            values = [int(v) for v in group["rows"]]
            out.loc[group.index, "rows"] = pd.array(hide_small_counts(values, k=viewer.k), dtype="Int64")
    return out


def source_batches(
    viewer: Viewer, source_id: str, *, limit: int = 100, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """The latest batches of one source (file names and counts; no row content).

    Raises
    ------
    AccessDenied
        No such source, or one the viewer may not see (:func:`visible_sources`).
    """
    with _connection(con) as c:
        task_force = _visible_task_force(viewer, c, source_id)
        batches = c.execute(_BATCHES_SQL, [source_id, int(limit)]).df()
    exact = pd.Series(may_see_small_counts(viewer, task_force), index=batches.index, dtype=bool)
    return _protect_volumes(batches, exact, k=viewer.k)


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
        The viewer may see no records (quarantine counts only), or only another
        task force's than the source's.
    """
    if not (viewer.can(Capability.SEE_ANY_SOURCE_DETAIL) or viewer.can(Capability.SEE_OWN_RECORDS)):
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
    if viewer.can(Capability.UPLOAD_ANY_SOURCE):
        return sources
    if not viewer.can(Capability.UPLOAD_OWN_SOURCES) or not viewer.task_force:
        return sources.iloc[0:0]
    return sources[sources["task_force"] == viewer.task_force].reset_index(drop=True)
