"""Deconfliction reads: subject matches and operation conflicts, by role.

What each role gets (by its capabilities in :mod:`query.policy`)
---------------------------------------------------------------
``see_deconfliction_detail`` (``analyst``, ``lead``)
    :func:`open_matches` and :func:`operation_conflicts`: only those that involve
    their own task force, seen from their side. Of the other side they see the
    agency, its task force, its case number and point of contact, which
    identifier kinds matched and how many, and when each side last saw them (a
    date); for an operation, the other's contact and time window and "within
    500 m" (the conflict radius, ``ROUTES_DECONFLICT_DISTANCE_M``), never a finer
    distance: a distance per conflict let nine probe operations place a secret
    operation to about 10 m. Never an identifier, a token, the other side's
    record, or the other operation's kind or place.
``see_deconfliction_counts`` (``analyst``, ``lead``, ``leadership``, ``admin``)
    :func:`match_counts` and :func:`conflict_counts`: counts by region
    and/or month, with every count under k suppressed.
neither (``partner``, any role without the capability)
    Nothing (:class:`routes.errors.AccessDenied`).

Every record-level view and every acknowledgement is written to the audit log
(``query/audit.py``; actions ``view_matches``, ``view_conflicts``,
``acknowledge_match``, ``acknowledge_conflict``, each naming the ids shown or
acknowledged). Acknowledgements and the "already listed" state live in
the control store, keyed on ``match_id`` / ``conflict_id`` and the task force,
so they survive warehouse rebuilds: an acknowledged match stays acknowledged,
and a rebuild raises only matches whose id is new.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from query import audit
from query.policy import Capability
from query.suppression import suppress_small_counts
from query.viewer import Viewer
from routes import control, settings, warehouse
from routes.errors import AccessDenied

__all__ = [
    "CONFLICT_COLUMNS",
    "MATCH_COLUMNS",
    "acknowledge",
    "acknowledge_conflict",
    "conflict_counts",
    "mark_seen",
    "match_counts",
    "open_matches",
    "operation_conflicts",
    "own_agencies",
]

log = logging.getLogger(__name__)

#: The columns :func:`open_matches` returns.
MATCH_COLUMNS = [
    "match_id", "own_source", "own_case_number", "other_source", "other_task_force",
    "other_case_number", "other_contact", "identifier_kinds", "tokens_matched",
    "own_last_seen", "other_last_seen", "first_raised_at", "acknowledged",
    "acknowledged_by", "note",
]

#: The columns :func:`operation_conflicts` returns.
CONFLICT_COLUMNS = [
    "conflict_id", "own_operation", "own_start", "own_end", "other_source",
    "other_task_force", "other_contact", "other_start", "other_end", "within",
    "first_raised_at", "acknowledged", "acknowledged_by", "note",
]

_COUNT_BY = ("region", "month")

_DDL = """
CREATE TABLE IF NOT EXISTS deconfliction_acks (
    item_kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    task_force TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL,
    acknowledged_at TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (item_kind, item_id, task_force)
);
CREATE TABLE IF NOT EXISTS deconfliction_seen (
    item_kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    channel TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (item_kind, item_id, scope, channel)
);
"""

_MATCHES_SQL = """
SELECT
    match_id,
    CASE WHEN task_force_a = $tf THEN source_a ELSE source_b END AS own_source,
    CASE WHEN task_force_a = $tf THEN case_number_a ELSE case_number_b END AS own_case_number,
    CASE WHEN task_force_a = $tf THEN source_b ELSE source_a END AS other_source,
    CASE WHEN task_force_a = $tf THEN task_force_b ELSE task_force_a END AS other_task_force,
    CASE WHEN task_force_a = $tf THEN case_number_b ELSE case_number_a END AS other_case_number,
    CASE WHEN task_force_a = $tf THEN contact_b ELSE contact_a END AS other_contact,
    array_to_string(identifier_kinds, ', ') AS identifier_kinds,
    tokens_matched,
    CAST(CASE WHEN task_force_a = $tf THEN last_seen_a ELSE last_seen_b END AS DATE)
        AS own_last_seen,
    CAST(CASE WHEN task_force_a = $tf THEN last_seen_b ELSE last_seen_a END AS DATE)
        AS other_last_seen,
    first_raised_at
FROM subject_matches
WHERE task_force_a = $tf OR task_force_b = $tf
ORDER BY first_raised_at DESC, other_last_seen DESC NULLS LAST, match_id
"""


def _control(path: Path | None = None) -> sqlite3.Connection:
    con = control.connect(path=path)
    control.ensure_table(con, _DDL)
    return con


def _require_record_role(viewer: Viewer, what: str) -> str:
    if viewer.can(Capability.SEE_DECONFLICTION_DETAIL) and viewer.task_force:
        return viewer.task_force
    if viewer.can(Capability.SEE_DECONFLICTION_COUNTS):
        raise AccessDenied(
            f"role {viewer.role!r} sees deconfliction counts only; "
            "use match_counts() / conflict_counts()"
        )
    raise AccessDenied(f"role {viewer.role!r} may not see {what}")


def _require_counts_role(viewer: Viewer) -> None:
    viewer.require(Capability.SEE_DECONFLICTION_COUNTS, "see deconfliction data")


def _scope(viewer: Viewer) -> str:
    return f"task_force:{viewer.task_force}" if viewer.has_record_access else f"role:{viewer.role}"


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")


def _read_matches(sql: str, params: dict[str, object] | list[object]) -> pd.DataFrame | None:
    with warehouse.open_snapshot() as con:
        if not warehouse.has_table(con, "subject_matches"):
            return None
        return con.execute(sql, params).df()


def _acks(kind: str, task_force: str, *, control_path: Path | None = None) -> pd.DataFrame:
    con = _control(control_path)
    try:
        rows = con.execute(
            "SELECT item_id, acknowledged_by, note FROM deconfliction_acks "
            "WHERE item_kind = ? AND task_force = ?",
            [kind, task_force],
        ).fetchall()
    finally:
        con.close()
    return pd.DataFrame([tuple(r) for r in rows], columns=["item_id", "acknowledged_by", "note"])


def _seen(kind: str, scope: str, channel: str, *, control_path: Path | None = None) -> set[str]:
    con = _control(control_path)
    try:
        rows = con.execute(
            "SELECT item_id FROM deconfliction_seen WHERE item_kind = ? AND scope = ? "
            "AND channel = ?",
            [kind, scope, channel],
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def _with_acks(
    frame: pd.DataFrame, id_column: str, acks: pd.DataFrame, *, include_acknowledged: bool
) -> pd.DataFrame:
    out = frame.merge(acks, how="left", left_on=id_column, right_on="item_id").drop(
        columns="item_id"
    )
    out["acknowledged"] = out["acknowledged_by"].notna()
    if not include_acknowledged:
        out = out[~out["acknowledged"]]
    return out.reset_index(drop=True)


def open_matches(
    viewer: Viewer,
    *,
    include_acknowledged: bool = False,
    unseen_on: str | None = None,
    control_path: Path | None = None,
) -> pd.DataFrame:
    """The subject matches that involve the viewer's task force, seen from its side.

    Parameters
    ----------
    viewer
        An ``analyst`` or ``lead`` (others: :class:`routes.errors.AccessDenied`).
    include_acknowledged
        Also list matches the task force has acknowledged.
    unseen_on
        Only matches not yet listed on this channel (see :func:`mark_seen`), e.g.
        ``"deconflict"`` for the CLI's "new since the last run".
    control_path
        The control store; defaults to :func:`routes.settings.control_path`.

    Returns
    -------
    pandas.DataFrame
        :data:`MATCH_COLUMNS`, newest first. The view is audited.
    """
    task_force = _require_record_role(viewer, "subject matches")
    frame = _read_matches(_MATCHES_SQL, {"tf": task_force})
    if frame is None:
        frame = pd.DataFrame(columns=MATCH_COLUMNS[:12])
    for column in ("own_last_seen", "other_last_seen"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    acks = _acks("match", task_force, control_path=control_path)
    out = _with_acks(frame, "match_id", acks, include_acknowledged=include_acknowledged)
    if unseen_on is not None:
        seen = _seen("match", _scope(viewer), unseen_on, control_path=control_path)
        out = out[~out["match_id"].isin(seen)].reset_index(drop=True)
    out = out[MATCH_COLUMNS]
    audit.record_event(viewer, action="view_matches", what=_listing("subject_matches", out["match_id"]))
    return out


def _listing(table: str, ids: Iterable[object]) -> str:
    names = [str(i) for i in ids]
    return f"{table} ({len(names)}): {', '.join(names)}" if names else f"{table} (0)"


def acknowledge(
    viewer: Viewer, match_id: str, *, note: str, control_path: Path | None = None
) -> None:
    """Acknowledge a match for the viewer's task force, with a note (audited).

    Acknowledging again replaces the note. The acknowledgement is kept in the
    control store, so it survives rebuilds (the ``match_id`` is stable).
    """
    task_force = _require_record_role(viewer, "subject matches")
    row = _read_matches(
        "SELECT count(*) AS n FROM subject_matches WHERE match_id = ? "
        "AND (task_force_a = ? OR task_force_b = ?)",
        [match_id, task_force, task_force],
    )
    if row is None or int(row["n"].iloc[0]) == 0:
        raise AccessDenied(
            f"no match {match_id!r} involves task force {task_force!r}; "
            "list yours with open_matches()"
        )
    _store_ack(viewer, "match", match_id, task_force, note, control_path=control_path)
    audit.record_event(viewer, action="acknowledge_match", what=f"subject_matches: {match_id}")


def _store_ack(
    viewer: Viewer, kind: str, item_id: str, task_force: str, note: str,
    *, control_path: Path | None,
) -> None:
    con = _control(control_path)
    try:
        con.execute(
            "INSERT INTO deconfliction_acks VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (item_kind, item_id, task_force) DO UPDATE SET "
            "acknowledged_by = excluded.acknowledged_by, "
            "acknowledged_at = excluded.acknowledged_at, note = excluded.note",
            [kind, item_id, task_force, viewer.user, _now(), (note or "").strip() or None],
        )
    finally:
        con.close()


def mark_seen(
    viewer: Viewer,
    *,
    channel: str,
    match_ids: Sequence[str] = (),
    conflict_ids: Sequence[str] = (),
    control_path: Path | None = None,
) -> None:
    """Remember that these items were listed to the viewer's scope on ``channel``."""
    scope, stamp = _scope(viewer), _now()
    rows = [("match", i, scope, channel, stamp) for i in match_ids]
    rows += [("conflict", i, scope, channel, stamp) for i in conflict_ids]
    con = _control(control_path)
    try:
        con.executemany(
            "INSERT INTO deconfliction_seen VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows
        )
    finally:
        con.close()


def _count_frame(sides: pd.DataFrame, *, by: Sequence[str], k: int, name: str) -> pd.DataFrame:
    keys = _check_by(by)
    if sides.empty:
        return pd.DataFrame(columns=[*keys, name, "suppressed"])
    counted = (
        sides.groupby(keys, dropna=False)["item_id"].nunique().rename(name).reset_index()
    )
    counted = counted.sort_values(keys).reset_index(drop=True)
    return suppress_small_counts(counted, k=k, count_columns=[name])


def _check_by(by: Sequence[str] | str) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by)
    bad = [key for key in keys if key not in _COUNT_BY]
    if bad or not keys:
        raise ValueError(f"by must name 'region' and/or 'month', not {by!r}")
    return keys


def match_counts(viewer: Viewer, *, by: Sequence[str] | str = ("region", "month")) -> pd.DataFrame:
    """How many subject matches there are, by region and/or month (k-suppressed).

    A match counts once in each region it touches (each side's latest record's
    region); its month is that of the later of the two last-seen dates.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``matches`` (``<NA>`` under k) and ``suppressed``.
    """
    _require_counts_role(viewer)
    sides = _read_matches(
        "SELECT DISTINCT match_id AS item_id, coalesce(region, 'unknown') AS region, month "
        "FROM (SELECT match_id, unnest([region_a, region_b]) AS region, "
        "CAST(date_trunc('month', greatest(last_seen_a, last_seen_b)) AS DATE) AS month "
        "FROM subject_matches)",
        [],
    )
    return _count_frame(
        sides if sides is not None else pd.DataFrame(columns=["item_id", "region", "month"]),
        by=by, k=viewer.k, name="matches",
    )


def _read_conflicts(*, control_path: Path | None) -> pd.DataFrame:
    con = control.connect(path=control_path)
    try:
        exists = con.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
            "AND name = 'operation_conflicts'"
        ).fetchone()[0]
        if not exists:
            return pd.DataFrame()
        cursor = con.execute("SELECT * FROM operation_conflicts")
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame([tuple(r) for r in cursor.fetchall()], columns=columns)
    finally:
        con.close()


def conflict_radius_text() -> str:
    """What every conflict says of how close the two areas come: the conflict radius.

    >>> conflict_radius_text()
    'within 500 m'
    """
    return f"within {settings.deconflict_distance_m():,.0f} m"


def operation_conflicts(
    viewer: Viewer,
    *,
    include_acknowledged: bool = False,
    unseen_on: str | None = None,
    control_path: Path | None = None,
) -> pd.DataFrame:
    """The operation conflicts that involve the viewer's task force, from its side.

    Of the other operation only its agency, task force, contact and time window
    are shown, and ``within``: the same "within 500 m" (the conflict radius) for
    every conflict, never the distance itself. Parameters as for :func:`open_matches`.

    Returns
    -------
    pandas.DataFrame
        :data:`CONFLICT_COLUMNS`, soonest first. The view is audited.
    """
    task_force = _require_record_role(viewer, "operation conflicts")
    raw = _read_conflicts(control_path=control_path)
    within = conflict_radius_text()
    rows = []
    for c in raw.to_dict("records"):
        for own, other in (("a", "b"), ("b", "a")):
            if c[f"task_force_{own}"] == task_force:
                rows.append({
                    "conflict_id": c["conflict_id"],
                    "own_operation": c[f"operation_{own}"],
                    "own_start": c[f"start_{own}"], "own_end": c[f"end_{own}"],
                    "other_source": c[f"source_{other}"],
                    "other_task_force": c[f"task_force_{other}"],
                    "other_contact": c[f"contact_{other}"],
                    "other_start": c[f"start_{other}"], "other_end": c[f"end_{other}"],
                    "within": within,
                    "first_raised_at": c["first_raised_at"],
                })
                break
    frame = pd.DataFrame(rows, columns=CONFLICT_COLUMNS[:11])
    for column in ("own_start", "own_end", "other_start", "other_end", "first_raised_at"):
        frame[column] = pd.to_datetime(frame[column])
    acks = _acks("conflict", task_force, control_path=control_path)
    out = _with_acks(frame, "conflict_id", acks, include_acknowledged=include_acknowledged)
    if unseen_on is not None:
        seen = _seen("conflict", _scope(viewer), unseen_on, control_path=control_path)
        out = out[~out["conflict_id"].isin(seen)].reset_index(drop=True)
    out = out[CONFLICT_COLUMNS].sort_values(["own_start", "conflict_id"]).reset_index(drop=True)
    audit.record_event(viewer, action="view_conflicts", what=_listing("operation_conflicts", out["conflict_id"]))
    return out


def acknowledge_conflict(
    viewer: Viewer, conflict_id: str, *, note: str, control_path: Path | None = None
) -> None:
    """Acknowledge an operation conflict for the viewer's task force (audited)."""
    task_force = _require_record_role(viewer, "operation conflicts")
    raw = _read_conflicts(control_path=control_path)
    mine = raw.empty or raw[
        (raw["conflict_id"] == conflict_id)
        & ((raw["task_force_a"] == task_force) | (raw["task_force_b"] == task_force))
    ].empty
    if mine:
        raise AccessDenied(
            f"no conflict {conflict_id!r} involves task force {task_force!r}; "
            "list yours with operation_conflicts()"
        )
    _store_ack(viewer, "conflict", conflict_id, task_force, note, control_path=control_path)
    audit.record_event(viewer, action="acknowledge_conflict", what=f"operation_conflicts: {conflict_id}")


def conflict_counts(
    viewer: Viewer, *, by: Sequence[str] | str = ("region", "month"),
    control_path: Path | None = None,
) -> pd.DataFrame:
    """How many operation conflicts there are, by region and/or month (k-suppressed).

    A conflict counts once in each region it touches; its month is the month
    the later of the two operations starts.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``conflicts`` (``<NA>`` under k) and ``suppressed``.
    """
    _require_counts_role(viewer)
    raw = _read_conflicts(control_path=control_path)
    if raw.empty:
        sides = pd.DataFrame(columns=["item_id", "region", "month"])
    else:
        month = pd.to_datetime(raw[["start_a", "start_b"]].max(axis=1)).dt.to_period("M")
        sides = pd.concat(
            [
                pd.DataFrame({"item_id": raw["conflict_id"], "region": raw[f"region_{s}"],
                              "month": month.dt.to_timestamp().dt.date})
                for s in ("a", "b")
            ],
            ignore_index=True,
        ).drop_duplicates()
        sides["region"] = sides["region"].fillna("unknown")
    return _count_frame(sides, by=by, k=viewer.k, name="conflicts")


def own_agencies(viewer: Viewer) -> pd.DataFrame:
    """The sources (agencies) of the viewer's task force: ``source_id``, ``name``.

    For the form that records a planned operation.
    """
    task_force = _require_record_role(viewer, "operations")
    with warehouse.open_snapshot() as con:
        return con.execute(
            "SELECT source_id, name FROM sources WHERE task_force = ? ORDER BY name",
            [task_force],
        ).df()
