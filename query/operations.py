"""Planned operations and event deconfliction, kept in the control store.

Operations (raids, surveillance, undercover meetings …) are written by the app,
the CLI (``python -m pipelines operations add``) or a file
(``operations import FILE``), so they live in the SQLite control store
(:mod:`routes.control`), never in the warehouse that builds replace.

The conflict rule
-----------------
Two operations **conflict** when

- they belong to different agencies (``source_id``);
- their areas come within ``distance_m`` of each other: the haversine distance
  between the centres minus both radii is at most ``distance_m``
  (:func:`deconflict_distance_m`, ``ROUTES_DECONFLICT_DISTANCE_M``, default 500 m);
- their time windows overlap: ``start_a < end_b`` and ``start_b < end_a``.

Times are California local wall-clock times (naive ``datetime``); an aware time is
converted to ``America/Los_Angeles`` first.

Every operation added is written to the audit log (``operation_add``; a file
import once, ``operations_import``). A user who adds more than
:func:`routes.settings.probe_operations` (``ROUTES_PROBE_OPERATIONS``, default 5)
operations within an hour gets an ``operation_probe`` entry for each further
one: a run of operations is how someone would map where another agency's
secret operation lies from which probes conflict with it (admins see these on
the **Audit log** page).

Conflicts are kept in the control store's ``operation_conflicts`` table, which
:func:`refresh_conflicts` rewrites after every change to the operations (a
conflict keeps its ``conflict_id`` and ``first_raised_at``); the query layer
(``query/matches.py``) reads that table. What the other side may see of an operation (its contact and time window, not
its kind or place) is decided in ``query/matches.py``, not here.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from geo import reference
from geo.geocode import geocode
from query import audit
from query.viewer import Viewer
from routes import control, settings, warehouse
from routes.errors import (
    IngestError,
    OperationError,
    UnknownSourceError,
    WarehouseMissingError,
)

log = logging.getLogger(__name__)

#: Kinds of planned operation.
OPERATION_KINDS = ("raid", "surveillance", "undercover", "arrest", "rescue", "other")

#: Default for :func:`deconflict_distance_m`.
DEFAULT_DISTANCE_M = settings.DEFAULT_DECONFLICT_DISTANCE_M

#: The window in which more than ``ROUTES_PROBE_OPERATIONS`` additions by one user are flagged.
PROBE_WINDOW = timedelta(hours=1)

#: The largest radius accepted (a county-sized operation is not a plan to deconflict).
MAX_RADIUS_M = 50_000.0

EARTH_RADIUS_M = 6_371_008.8



_PACIFIC = ZoneInfo("America/Los_Angeles")

OPERATION_COLUMNS = [
    "operation_id", "source_id", "task_force", "contact", "kind", "place", "lat", "lng",
    "county_fips", "region", "radius_m", "start_at", "end_at", "created_at", "created_by",
]

_DDL = """
CREATE TABLE IF NOT EXISTS operations (
    operation_id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    task_force TEXT,
    contact TEXT NOT NULL,
    kind TEXT NOT NULL,
    place TEXT,
    lat REAL NOT NULL,
    lng REAL NOT NULL,
    county_fips TEXT,
    region TEXT,
    radius_m REAL NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT
);
CREATE INDEX IF NOT EXISTS operations_time ON operations (start_at, end_at);
CREATE TABLE IF NOT EXISTS operation_conflicts (
    conflict_id TEXT PRIMARY KEY,
    operation_a TEXT NOT NULL,
    operation_b TEXT NOT NULL,
    source_a TEXT NOT NULL,
    source_b TEXT NOT NULL,
    task_force_a TEXT,
    task_force_b TEXT,
    contact_a TEXT,
    contact_b TEXT,
    region_a TEXT,
    region_b TEXT,
    start_a TEXT NOT NULL,
    end_a TEXT NOT NULL,
    start_b TEXT NOT NULL,
    end_b TEXT NOT NULL,
    gap_m REAL NOT NULL,
    first_raised_at TEXT NOT NULL
);
"""


def deconflict_distance_m() -> float:
    """The distance under which two operations' areas conflict (see :mod:`routes.settings`)."""
    return settings.deconflict_distance_m()


def connect(*, path: Path | None = None) -> sqlite3.Connection:
    """The control store with the ``operations`` table in place."""
    con = control.connect(path=path)
    control.ensure_table(con, _DDL)
    return con


def haversine_m(lat1: Any, lng1: Any, lat2: Any, lng2: Any) -> Any:
    """Great-circle distance in metres (scalars or NumPy arrays).

    >>> round(float(haversine_m(38.58, -121.49, 37.77, -122.42)))
    121329
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lng2) - np.asarray(lng1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _as_local(value: object, name: str) -> datetime:
    if isinstance(value, str):
        try:
            stamp = pd.Timestamp(value.strip())
        except ValueError:
            stamp = pd.NaT
    else:
        stamp = pd.Timestamp(value) if value is not None else pd.NaT
    if pd.isna(stamp):
        raise OperationError(
            f"{name} {value!r} is not a date and time; give it as 'YYYY-MM-DD HH:MM'"
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(_PACIFIC).tz_localize(None)
    return stamp.to_pydatetime().replace(microsecond=0)


def _task_force_of(source_id: str) -> str | None:
    try:
        with warehouse.open_snapshot() as con:
            row = con.execute(
                "SELECT task_force FROM sources WHERE source_id = ?", [source_id]
            ).fetchone()
    except WarehouseMissingError:
        row = None
    if row is None:
        raise UnknownSourceError(
            f"unknown agency source {source_id!r}; add it with `python -m pipelines sources add` "
            "or give its task force"
        )
    return None if row[0] is None else str(row[0])


def _locate(
    *, lat: float | None, lng: float | None, place: str | None
) -> tuple[float, float, str | None]:
    if lat is not None and lng is not None:
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise OperationError(f"({lat!r}, {lng!r}) is not a latitude and longitude")
        found = geocode(f"{lat}, {lng}")
        return float(lat), float(lng), found.get("county_fips")
    if not place or not place.strip():
        raise OperationError("an operation needs a place: give lat and lng, or a place text")
    found = geocode(place)
    if found.get("error") or found.get("lat") is None:
        reason = found.get("error") or "not found"
        raise OperationError(
            f"could not place {place!r} ({reason}); give lat and lng instead, or a fuller place"
        )
    return float(found["lat"]), float(found["lng"]), found.get("county_fips")


def _region_of(county_fips: str | None) -> str | None:
    if not county_fips:
        return None
    regions = reference.county_dimensions().set_index("county_fips")["region"]
    value = regions.get(county_fips)
    return None if value is None else str(value)


def _operation_id(source_id: str, start: datetime, end: datetime, lat: float, lng: float,
                  radius_m: float) -> str:
    text = f"{source_id}|{start.isoformat()}|{end.isoformat()}|{lat:.6f}|{lng:.6f}|{radius_m:.1f}"
    return "op-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def add_operation(
    source_id: str,
    *,
    start: datetime | str,
    end: datetime | str,
    contact: str,
    kind: str = "other",
    lat: float | None = None,
    lng: float | None = None,
    place: str | None = None,
    radius_m: float = 200.0,
    task_force: str | None = None,
    operation_id: str | None = None,
    created_by: str | None = None,
    path: Path | None = None,
    refresh: bool = True,
    by: Viewer | None = None,
) -> str:
    """Record a planned operation; return its id (re-adding the same one updates it). Audited.

    Parameters
    ----------
    source_id
        The agency planning it (a source id of the registry).
    start, end
        Its time window (California local time; ``end`` after ``start``).
    contact
        Who the other agency should call.
    kind
        One of :data:`OPERATION_KINDS` (never shown to other agencies).
    lat, lng, place
        Its centre: ``lat`` and ``lng``, else ``place`` geocoded offline.
    radius_m
        Its area's radius in metres (0 to :data:`MAX_RADIUS_M`).
    task_force
        The agency's task force; looked up in the warehouse's sources when omitted.
    operation_id
        A stable id (a file's own id); derived from the plan when omitted.
    created_by
        The user who entered it.
    path
        The control store; defaults to :func:`routes.settings.control_path`.
    refresh
        Whether to :func:`refresh_conflicts` afterwards.
    by
        Who adds it, for the audit log; without it the command line's user
        (``cli:<os user>``, acting as admin: whoever runs it has the machine).
    """
    op_id = _store_operation(
        source_id, start=start, end=end, contact=contact, kind=kind, lat=lat, lng=lng,
        place=place, radius_m=radius_m, task_force=task_force, operation_id=operation_id,
        created_by=created_by, path=path,
    )
    actor = by or _cli_actor(created_by)
    audit.record_event(actor, action="operation_add", what=f"operation {op_id} of {source_id!r}")
    _flag_probe(actor, op_id)
    if refresh:
        refresh_conflicts(path=path)
    return op_id


def _cli_actor(created_by: str | None) -> Viewer:
    return Viewer(user=created_by or f"cli:{getpass.getuser()}", role="admin")


def _flag_probe(actor: Viewer, op_id: str) -> None:
    """Log ``operation_probe`` when ``actor`` added more than the allowed operations within the hour."""
    limit = settings.probe_operations()
    added = audit.count_events(user=actor.user, action="operation_add",
                               since=datetime.now(UTC) - PROBE_WINDOW)
    if added > limit:
        audit.record_event(
            actor, action="operation_probe",
            what=f"{actor.user!r} added {added} operations within {PROBE_WINDOW} (more than "
                 f"ROUTES_PROBE_OPERATIONS={limit}), the latest {op_id}: possibly probing where "
                 "other agencies' planned operations are",
        )
        log.warning("%s added %d operations within an hour (limit %d)", actor.user, added, limit)


def _store_operation(
    source_id: str,
    *,
    start: datetime | str,
    end: datetime | str,
    contact: str,
    kind: str,
    lat: float | None,
    lng: float | None,
    place: str | None,
    radius_m: float,
    task_force: str | None,
    operation_id: str | None,
    created_by: str | None,
    path: Path | None,
) -> str:
    """Validate and store one operation (no audit, no conflict refresh); return its id."""
    source_id = (source_id or "").strip()
    if not source_id:
        raise OperationError("an operation needs the agency's source id")
    if not contact or not str(contact).strip():
        raise OperationError(f"operation of {source_id!r} needs a contact for the other agency")
    if kind not in OPERATION_KINDS:
        raise OperationError(f"unknown operation kind {kind!r}; kinds are {', '.join(OPERATION_KINDS)}")
    radius = float(radius_m)
    if not (0 <= radius <= MAX_RADIUS_M) or math.isnan(radius):
        raise OperationError(f"radius_m {radius_m!r} must be between 0 and {MAX_RADIUS_M:.0f} metres")
    start_at, end_at = _as_local(start, "start"), _as_local(end, "end")
    if end_at <= start_at:
        raise OperationError(f"end {end_at.isoformat()!r} must come after start {start_at.isoformat()!r}")
    lat_c, lng_c, county = _locate(lat=lat, lng=lng, place=place)
    tf = task_force if task_force else _task_force_of(source_id)
    op_id = operation_id or _operation_id(source_id, start_at, end_at, lat_c, lng_c, radius)
    row = {
        "operation_id": op_id, "source_id": source_id, "task_force": tf,
        "contact": str(contact).strip(), "kind": kind, "place": place,
        "lat": lat_c, "lng": lng_c, "county_fips": county, "region": _region_of(county),
        "radius_m": radius, "start_at": start_at.isoformat(sep=" "),
        "end_at": end_at.isoformat(sep=" "),
        "created_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat(sep=" "),
        "created_by": created_by,
    }
    con = connect(path=path)
    try:
        con.execute(
            f"INSERT OR REPLACE INTO operations ({', '.join(OPERATION_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(OPERATION_COLUMNS))})",
            [row[c] for c in OPERATION_COLUMNS],
        )
    finally:
        con.close()
    log.info("Recorded operation %s of %s (%s to %s)", op_id, source_id, start_at, end_at)
    return op_id


#: Column names a file may use, mapped onto :func:`add_operation`'s arguments.
_FILE_ALIASES = {
    "operation_id": ("operation_id", "id", "op_id"),
    "source_id": ("source_id", "agency", "source", "agency_source_id"),
    "task_force": ("task_force",),
    "contact": ("contact", "point_of_contact"),
    "kind": ("kind", "type", "operation_kind"),
    "lat": ("lat", "latitude"),
    "lng": ("lng", "lon", "long", "longitude"),
    "place": ("place", "location", "address"),
    "radius_m": ("radius_m", "radius"),
    "start": ("start", "start_at", "starts_at", "start_time"),
    "end": ("end", "end_at", "ends_at", "end_time"),
}


def load_operations_file(
    path: Path | str, *, created_by: str | None = None, control_path: Path | None = None,
    by: Viewer | None = None,
) -> int:
    """Import planned operations from a CSV (the demo's ``operations.csv``).

    Columns: ``source_id``, ``start``, ``end``, ``contact``, ``kind``,
    ``radius_m`` and either ``lat`` + ``lng`` or ``place``; optional
    ``operation_id`` and ``task_force``. Re-importing the same file changes nothing.
    The import is one audit entry (``operations_import``: the file's name,
    SHA-256 and how many operations), by ``by`` or the command line's user.

    Returns
    -------
    int
        The number of operations imported.
    """
    file = Path(path)
    if not file.exists():
        raise IngestError(f"no operations file at {str(file)!r}")
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"could not read {str(file)!r} as CSV: {exc}") from None
    columns = {c.strip().lower(): c for c in frame.columns}
    picked: dict[str, str] = {}
    for arg, aliases in _FILE_ALIASES.items():
        for alias in aliases:
            if alias in columns:
                picked[arg] = columns[alias]
                break
    missing = [a for a in ("source_id", "start", "end", "contact") if a not in picked]
    if missing:
        raise IngestError(
            f"{str(file)!r} lacks the column(s) {', '.join(missing)}; "
            f"it has {', '.join(frame.columns)}"
        )
    count = 0
    for number, row in enumerate(frame.to_dict("records"), start=2):
        values: dict[str, str | None] = {
            arg: (str(row[col]).strip() or None) for arg, col in picked.items()
        }
        lat, lng = values.get("lat"), values.get("lng")
        try:
            _store_operation(
                str(values["source_id"] or ""),
                start=str(values["start"]),
                end=str(values["end"]),
                contact=str(values["contact"] or ""),
                kind=(values.get("kind") or "other").lower(),
                lat=float(lat) if lat else None,
                lng=float(lng) if lng else None,
                place=values.get("place"),
                radius_m=float(values.get("radius_m") or 200.0),
                task_force=values.get("task_force"),
                operation_id=values.get("operation_id"),
                created_by=created_by,
                path=control_path,
            )
        except (ValueError, UnknownSourceError) as exc:  # OperationError too
            raise IngestError(f"{str(file)!r} line {number}: {exc}") from None
        count += 1
    log.info("Imported %d operations from %s", count, file)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    audit.record_event(by or _cli_actor(created_by), action="operations_import",
                       what=f"{count} operations from {file.name!r} (SHA-256 {digest})")
    refresh_conflicts(path=control_path)
    return count


def list_operations(*, path: Path | None = None) -> pd.DataFrame:
    """Every stored operation (all columns of :data:`OPERATION_COLUMNS`), by start."""
    con = connect(path=path)
    try:
        rows = con.execute(
            f"SELECT {', '.join(OPERATION_COLUMNS)} FROM operations "  # noqa: S608
            "ORDER BY start_at, operation_id"
        ).fetchall()
    finally:
        con.close()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=OPERATION_COLUMNS)
    for column in ("start_at", "end_at", "created_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


CONFLICT_COLUMNS = [
    "conflict_id", "operation_a", "operation_b", "source_a", "source_b",
    "task_force_a", "task_force_b", "contact_a", "contact_b", "region_a", "region_b",
    "start_a", "end_a", "start_b", "end_b", "gap_m",
]


def find_conflicts(
    *,
    distance_m: float | None = None,
    active_at: datetime | None = None,
    path: Path | None = None,
) -> pd.DataFrame:
    """Every pair of operations of different agencies that conflict (see the module).

    Parameters
    ----------
    distance_m
        How close two areas may come; defaults to :func:`deconflict_distance_m`.
    active_at
        When given, only operations that have not ended by then.
    path
        The control store.

    Returns
    -------
    pandas.DataFrame
        :data:`CONFLICT_COLUMNS`; ``operation_a < operation_b``; ``gap_m`` is the
        distance between the two areas' edges (0 when they overlap);
        ``conflict_id`` is stable for the pair.
    """
    limit = deconflict_distance_m() if distance_m is None else float(distance_m)
    if limit < 0:
        raise OperationError(f"distance_m must not be negative, not {distance_m!r}")
    ops = list_operations(path=path)
    if active_at is not None:
        ops = ops[ops["end_at"] >= pd.Timestamp(_as_local(active_at, "active_at"))]
    if len(ops) < 2:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    pairs = ops.merge(ops, how="cross", suffixes=("_a", "_b"))
    pairs = pairs[
        (pairs["operation_id_a"] < pairs["operation_id_b"])
        & (pairs["source_id_a"] != pairs["source_id_b"])
        & (pairs["start_at_a"] < pairs["end_at_b"])
        & (pairs["start_at_b"] < pairs["end_at_a"])
    ]
    centres = haversine_m(pairs["lat_a"].to_numpy(), pairs["lng_a"].to_numpy(),
                          pairs["lat_b"].to_numpy(), pairs["lng_b"].to_numpy())
    gap = np.maximum(centres - pairs["radius_m_a"].to_numpy() - pairs["radius_m_b"].to_numpy(), 0.0)
    pairs = pairs.assign(gap_m=gap)[gap <= limit]
    ids = [
        "cf-" + hashlib.sha256(f"{a}|{b}".encode()).hexdigest()[:16]
        for a, b in zip(pairs["operation_id_a"], pairs["operation_id_b"], strict=True)
    ]
    out = pd.DataFrame(
        {
            "conflict_id": ids,
            "operation_a": pairs["operation_id_a"], "operation_b": pairs["operation_id_b"],
            "source_a": pairs["source_id_a"], "source_b": pairs["source_id_b"],
            "task_force_a": pairs["task_force_a"], "task_force_b": pairs["task_force_b"],
            "contact_a": pairs["contact_a"], "contact_b": pairs["contact_b"],
            "region_a": pairs["region_a"], "region_b": pairs["region_b"],
            "start_a": pairs["start_at_a"], "end_a": pairs["end_at_a"],
            "start_b": pairs["start_at_b"], "end_b": pairs["end_at_b"],
            "gap_m": pairs["gap_m"],
        },
        columns=CONFLICT_COLUMNS,
    )
    return out.sort_values(["start_a", "conflict_id"]).reset_index(drop=True)


def refresh_conflicts(
    *, distance_m: float | None = None, now: datetime | None = None, path: Path | None = None
) -> dict[str, int]:
    """Rewrite ``operation_conflicts`` from :func:`find_conflicts` in one transaction.

    A conflict found before keeps its ``first_raised_at``; one no longer found
    (an operation moved or the distance setting changed) is removed.

    Returns
    -------
    dict
        ``operation_conflicts`` (rows) and ``new_conflicts``.
    """
    found = find_conflicts(distance_m=distance_m, path=path)
    stamp = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")
    columns = CONFLICT_COLUMNS + ["first_raised_at"]
    con = connect(path=path)
    try:
        con.execute("BEGIN IMMEDIATE")
        previous = dict(con.execute(
            "SELECT conflict_id, first_raised_at FROM operation_conflicts"
        ).fetchall())
        rows = []
        for record in found.to_dict("records"):
            for key in ("start_a", "end_a", "start_b", "end_b"):
                record[key] = pd.Timestamp(record[key]).isoformat(sep=" ")
            record["gap_m"] = float(record["gap_m"])
            record["first_raised_at"] = previous.get(record["conflict_id"], stamp)
            rows.append([record[c] for c in columns])
        con.execute("DELETE FROM operation_conflicts")
        con.executemany(
            f"INSERT INTO operation_conflicts ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(columns))})",
            rows,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    new = sum(1 for cid in found["conflict_id"] if cid not in previous)
    log.info("Operation conflicts: %d, %d new", len(found), new)
    return {"operation_conflicts": len(found), "new_conflicts": new}
