"""The source registry: who sends data, what kind of agency, which task force.

``python -m pipelines sources add ID --name … --kind …`` and ``sources list``.
Ingest refuses a source id that is not registered here. Sources live in the
warehouse's ``sources`` table; adding one is an atomic snapshot write, and adding
the same id again with the same details changes nothing.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from query import audit
from query.viewer import Viewer
from routes import warehouse
from routes.contract.vocabularies import SOURCE_KINDS
from routes.errors import ConfigError, UnknownSourceError, WarehouseMissingError

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Source:
    """One registered source."""

    source_id: str
    name: str
    kind: str
    task_force: str | None = None
    contact: str | None = None


def check_source_id(source_id: str) -> str:
    """Return ``source_id`` if it is a valid id (lower case, digits, ``_``, ``-``).

    >>> check_source_id("sd_sheriff")
    'sd_sheriff'
    """
    if not isinstance(source_id, str) or not _ID.match(source_id):
        raise ConfigError(
            f"source id {source_id!r} is not valid; use 1-64 lower-case letters, digits, "
            "'_' or '-', starting with a letter or digit (e.g. 'sd_sheriff')"
        )
    return source_id


def add_source(
    source_id: str,
    *,
    name: str,
    kind: str,
    task_force: str | None = None,
    contact: str | None = None,
    warehouse_path: Path | None = None,
    by: Viewer | None = None,
) -> Source:
    """Register a source, or update its details if the id exists.

    A new source is logged as ``source_add``, changed details as
    ``source_change`` (old and new values), by ``by`` or the command line's
    user (``cli:<os user>``, acting as admin).

    Raises
    ------
    ConfigError
        The id, kind or task force is not valid.
    """
    source = make_source(source_id, name=name, kind=kind, task_force=task_force, contact=contact)
    with warehouse.write_snapshot(path=warehouse_path) as con:
        try:
            before: Source | None = source_from(con, source_id)
        except UnknownSourceError:
            before = None
        upsert_source(con, source)
    _audit_source(before, source, by=by)
    return source


def _audit_source(before: Source | None, after: Source, *, by: Viewer | None) -> None:
    actor = by or Viewer(user=f"cli:{getpass.getuser()}", role="admin")
    if before is None:
        audit.record_event(actor, action="source_add", what=f"source {after.source_id!r}: {after}")
        return
    changes = [f"{f.name} {getattr(before, f.name)!r} -> {getattr(after, f.name)!r}"
               for f in fields(Source) if getattr(before, f.name) != getattr(after, f.name)]
    if changes:
        audit.record_event(actor, action="source_change",
                           what=f"source {after.source_id!r}: " + "; ".join(changes))


def make_source(
    source_id: str,
    *,
    name: str,
    kind: str,
    task_force: str | None = None,
    contact: str | None = None,
) -> Source:
    """A validated :class:`Source` (raises :class:`ConfigError` naming the bad value)."""
    check_source_id(source_id)
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"source kind {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    if not name or not name.strip():
        raise ConfigError(f"source {source_id!r} needs a --name (what people call the agency)")
    if task_force:
        _check_task_force(task_force)
    return Source(source_id, name.strip(), kind, task_force or None, contact or None)


def upsert_source(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Insert or update ``source`` on an open write connection (validated by the caller).

    A source written here is not the demo's: it ends demo mode for good
    (``setup-demo`` marks its own file as demo data after its sources are in).
    """
    warehouse.end_demo(con)
    con.execute(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
        "name = excluded.name, kind = excluded.kind, task_force = excluded.task_force, "
        "contact = excluded.contact",
        [source.source_id, source.name, source.kind, source.task_force, source.contact,
         datetime.now(UTC).replace(tzinfo=None)],
    )


def _check_task_force(task_force: str) -> None:
    from geo import reference

    known = sorted(set(reference.load_task_forces()["task_force"]))
    if task_force not in known:
        raise ConfigError(
            f"task force {task_force!r} is not configured; known task forces are {', '.join(known)}"
        )


def list_sources(*, warehouse_path: Path | None = None) -> list[Source]:
    """Every registered source, by id (empty if there is no warehouse yet)."""
    try:
        with warehouse.open_snapshot(path=warehouse_path) as con:
            rows = con.execute(
                "SELECT source_id, name, kind, task_force, contact FROM sources ORDER BY source_id"
            ).fetchall()
    except WarehouseMissingError:
        return []
    return [Source(*row) for row in rows]


def source_from(con: duckdb.DuckDBPyConnection, source_id: str) -> Source:
    """The registered source ``source_id`` as seen by an open connection."""
    row = con.execute(
        "SELECT source_id, name, kind, task_force, contact FROM sources WHERE source_id = ?",
        [source_id],
    ).fetchone()
    if row is None:
        raise _unknown(source_id)
    return Source(*row)


def _unknown(source_id: str) -> UnknownSourceError:
    return UnknownSourceError(
        f"unknown source {source_id!r}; register it first with `python -m pipelines sources add "
        f"{source_id} --name \"…\" --kind {'|'.join(SOURCE_KINDS)} [--task-force …]`"
    )


def get_source(source_id: str, *, warehouse_path: Path | None = None) -> Source:
    """The registered source ``source_id``.

    Raises
    ------
    UnknownSourceError
        It is not registered; the message says how to add it.
    """
    for source in list_sources(warehouse_path=warehouse_path):
        if source.source_id == source_id:
            return source
    raise _unknown(source_id)
