"""The audit log: an append-only, tamper-evident record of who saw what.

Every view of record-level data, every export and every account, source or
retention change is written here (the dissemination record of 28 CFR 23.20(f)):
who, their role and task force, the action, what was read or changed, the
filters, the purpose and audience (for exports), and when (UTC).

The log lives in the control store (:mod:`routes.control`), table ``audit_log``.
SQLite triggers refuse ``UPDATE`` and ``DELETE``. Each entry also carries
``hash = SHA-256(prev_hash + canonical JSON of the entry)``, where ``prev_hash``
is the previous entry's hash (64 zeros for the first), so someone who edits the
file directly, deletes or reorders entries breaks the chain and
:func:`verify_chain` names the first entry that no longer verifies. (Cutting off
the newest entries leaves a shorter valid chain: compare the count
:func:`verify_chain` returns with the one last noted, as the admin page shows it.)

Actions in use: ``view_records``, ``export``, ``account_add``,
``account_disable``, ``account_enable``, ``account_reset``, ``source_change``,
``retention_review``, ``retention_purge``, ``sign_in``, ``sign_in_failed``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from query.filters import Filters
from query.policy import Capability
from query.viewer import Viewer
from routes import control
from routes.errors import AccessDenied, AuditChainError

__all__ = ["read_log"]

GENESIS = "0" * 64

_DDL = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    task_force TEXT,
    action TEXT NOT NULL,
    what TEXT NOT NULL,
    filters TEXT,
    purpose TEXT,
    audience TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"""

#: The columns that go into an entry's hash, in order.
HASHED = ("seq", "at", "user", "role", "task_force", "action", "what", "filters", "purpose", "audience")


def _connect() -> sqlite3.Connection:
    con = control.connect()
    control.ensure_table(con, _DDL)
    return con


def _filters_json(filters: Filters | Mapping[str, Any] | None) -> str | None:
    if filters is None:
        return None
    data = filters.to_query_params() if isinstance(filters, Filters) else dict(filters)
    return json.dumps(data, sort_keys=True, default=str)


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The SHA-256 hex digest chaining ``entry`` to the previous entry's hash.

    >>> entry_hash(GENESIS, {c: None for c in HASHED})[:12]
    '837f57f9655e'
    """
    body = json.dumps({c: entry.get(c) for c in HASHED}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def record_event(
    viewer: Viewer,
    *,
    action: str,
    what: str,
    filters: Filters | Mapping[str, Any] | None = None,
    purpose: str | None = None,
    audience: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry to the audit log; return its sequence number.

    Parameters
    ----------
    viewer
        Who acted.
    action
        What kind of act (see the module docstring), e.g. ``'view_records'``.
    what
        What was read or changed, e.g. ``"records in cell 617700169970876415 (res 9)"``.
    filters
        The filters in force (a :class:`Filters` or a plain mapping), stored as JSON.
    purpose, audience
        Why, and for whom (exports and briefings).
    at
        When; defaults to now (UTC).
    """
    if not action or not what:
        raise ValueError(f"an audit entry needs an action and a what; got {action!r}, {what!r}")
    when = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    con = _connect()
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            seq = 1 if last is None else int(last["seq"]) + 1
            prev = GENESIS if last is None else str(last["hash"])
            entry = {
                "seq": seq, "at": when, "user": viewer.user, "role": viewer.role,
                "task_force": viewer.task_force, "action": action, "what": what,
                "filters": _filters_json(filters), "purpose": purpose, "audience": audience,
            }
            con.execute(
                f"INSERT INTO audit_log ({', '.join(HASHED)}, prev_hash, hash) "  # noqa: S608 (fixed names)
                f"VALUES ({', '.join('?' * (len(HASHED) + 2))})",
                [*(entry[c] for c in HASHED), prev, entry_hash(prev, entry)],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    return seq


def verify_chain() -> int:
    """Check every entry's hash and link; return how many entries verified.

    Raises
    ------
    AuditChainError
        Naming the first entry (by sequence number) that was edited, removed,
        inserted or moved.
    """
    con = _connect()
    try:
        rows = con.execute("SELECT * FROM audit_log ORDER BY rowid").fetchall()
    finally:
        con.close()
    prev = GENESIS
    for position, row in enumerate(rows, start=1):
        entry = dict(row)
        if entry["seq"] != position:
            raise AuditChainError(
                f"audit entry {entry['seq']!r} stands at position {position}: an entry before it "
                "was removed or the entries were reordered; restore the control store from a backup "
                "and investigate"
            )
        if entry["prev_hash"] != prev or entry_hash(prev, entry) != entry["hash"]:
            raise AuditChainError(
                f"audit entry {entry['seq']!r} ({entry['action']!r} by {entry['user']!r}) does not "
                "match its hash chain: it or the entry before it was altered; restore the control "
                "store from a backup and investigate"
            )
        prev = entry["hash"]
    return len(rows)


def read_log(
    viewer: Viewer,
    *,
    user: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The newest audit entries first (admins only).

    Raises
    ------
    AccessDenied
        For every role without ``read_audit_log`` (:mod:`query.policy`).
    """
    if not viewer.can(Capability.READ_AUDIT_LOG):
        raise AccessDenied(f"role {viewer.role!r} may not read the audit log; ask an admin")
    clauses, params = ["TRUE"], []
    for column, value in (("user", user), ("action", action)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since:
        clauses.append("at >= ?")
        params.append(since.astimezone(UTC).isoformat(timespec="microseconds"))
    if until:
        clauses.append("at <= ?")
        params.append(until.astimezone(UTC).isoformat(timespec="microseconds"))
    con = _connect()
    try:
        rows = con.execute(
            f"SELECT {', '.join(HASHED)}, hash FROM audit_log WHERE {' AND '.join(clauses)} "  # noqa: S608
            "ORDER BY seq DESC LIMIT ?",
            [*params, int(limit)],
        ).fetchall()
    finally:
        con.close()
    return pd.DataFrame([dict(r) for r in rows], columns=[*HASHED, "hash"])
