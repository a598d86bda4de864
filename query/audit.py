"""The audit log: an append-only record of who saw what, that its file's writer cannot forge unnoticed.

Every view of record-level data, every export and every account, source,
operation, ingest, upload or retention change, and every sign-in, is written here
(the dissemination record of 28 CFR 23.20(f)): who, their role and task force,
the action, what was read or changed, the filters, the purpose and audience (for
exports), and when (UTC).

The log lives in the control store (:mod:`routes.control`), table ``audit_log``.
SQLite triggers refuse ``UPDATE`` and ``DELETE``. Each entry also carries
``hash = HMAC-SHA256(audit key, prev_hash + canonical JSON of the entry)``, where
``prev_hash`` is the previous entry's MAC (64 zeros for the first). The audit key
(:func:`routes.settings.audit_key_file`, 32 random bytes, mode 0600) lives beside
the token key, never in the warehouse folder. After each entry, its head
(``seq``, MAC, time, control store) is appended to the anchor file
(:func:`routes.settings.audit_anchor_file`), outside the control store.

:func:`verify_chain` recomputes every MAC, then checks the log against an anchor
(the anchor file, another copy of it, or a head ``SEQ:MAC`` an admin noted from
``python -m pipelines audit head``): every anchored entry must still be in the
log with the same MAC. So an entry edited (even with its chain recomputed, which
needs the key), removed, inserted or moved, the newest entries cut off, the log
emptied or the control store dropped all fail verification. What this does not
prove is in ``docs/ACCESS.md`` ("The audit log").

Actions: :class:`routes.contract.vocabularies.AuditAction` (an entry with any
other action is refused, so the list there is every action the log can hold).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from query.filters import Filters
from query.policy import Capability
from query.viewer import Viewer
from routes import control, files, settings
from routes.contract.sql import SQL, compose, ident, idents, join, placeholders
from routes.contract.tables import AUDIT_HASHED
from routes.contract.vocabularies import AUDIT_ACTIONS
from routes.errors import AccessDenied, AuditChainError, ConfigError

__all__ = ["head", "read_log", "verify_chain"]  # readers; record_event is the writer every module calls

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
HASHED = AUDIT_HASHED


def _connect() -> sqlite3.Connection:
    con = control.connect()
    control.ensure_table(con, _DDL)
    return con


def _filters_json(filters: Filters | Mapping[str, Any] | None) -> str | None:
    if filters is None:
        return None
    data = filters.to_query_params() if isinstance(filters, Filters) else dict(filters)
    return json.dumps(data, sort_keys=True, default=str)


def _body(entry: Mapping[str, Any]) -> str:
    return json.dumps({c: entry.get(c) for c in HASHED}, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 chain of older versions (anyone can recompute it; never accepted).

    >>> entry_hash(GENESIS, {c: None for c in HASHED})[:12]
    '837f57f9655e'
    """
    return hashlib.sha256((prev_hash + _body(entry)).encode("utf-8")).hexdigest()


def entry_mac(key: bytes, prev_mac: str, entry: Mapping[str, Any]) -> str:
    """The HMAC-SHA256 hex digest chaining ``entry`` to the previous entry's MAC.

    >>> entry_mac(b"k" * 32, GENESIS, {c: None for c in HASHED})[:12]
    '6adc492068c1'
    """
    return hmac.new(key, (prev_mac + _body(entry)).encode("utf-8"), hashlib.sha256).hexdigest()


_audit_keys: dict[Path, bytes] = {}


def audit_key() -> bytes:
    """The audit chain's key (:func:`routes.settings.audit_key_file`), created on first use."""
    path = settings.audit_key_file().resolve()
    if path not in _audit_keys:
        _audit_keys[path] = files.load_key_file(
            path, what="the audit key", setting="ROUTES_AUDIT_KEY_FILE",
            warehouse_dir=settings.warehouse_path().parent,
        )
    return _audit_keys[path]


def _anchor_path() -> Path:
    path = settings.audit_anchor_file().resolve()
    warehouse_dir = settings.warehouse_path().resolve().parent
    if path.parent == warehouse_dir or warehouse_dir in path.parents:
        raise ConfigError(
            f"the audit anchor {str(path)!r} sits inside the warehouse folder; point "
            "ROUTES_AUDIT_ANCHOR somewhere else (an anchor beside the log proves nothing)"
        )
    return path


def _store_name() -> str:
    return str(settings.control_path().resolve())


def _append_anchor(seq: int, mac: str, at: str) -> None:
    """Append one head line ``seq<TAB>mac<TAB>at<TAB>control store`` to the anchor file."""
    path = _anchor_path()
    files.create_private(path)
    files.check_owner_only(path, what="the audit anchor")
    line = f"{seq}\t{mac}\t{at}\t{_store_name()}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line)  # one write of a short line: atomic with O_APPEND
    finally:
        os.close(fd)


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
    return _append(viewer.user, viewer.role, viewer.task_force, action=action, what=what,
                   filters=filters, purpose=purpose, audience=audience, at=at)


def record_sign_in_failure(user: str, *, reason: str, at: datetime | None = None) -> int:
    """Log a failed sign-in (action ``sign_in_failed``) for the name typed, with the reason.

    There is no viewer yet, so the entry's role reads ``none``; the reason
    (unknown user, wrong password, locked, disabled) is for admins only: the
    person signing in is told the same thing whatever it was.
    """
    typed = "".join(c if c.isprintable() else "?" for c in str(user))[:64]
    return _append(typed or "(empty)", "none", None, action="sign_in_failed",
                   what=f"local sign-in as {typed!r}: {reason}", at=at)


def _append(
    user: str,
    role: str,
    task_force: str | None,
    *,
    action: str,
    what: str,
    filters: Filters | Mapping[str, Any] | None = None,
    purpose: str | None = None,
    audience: str | None = None,
    at: datetime | None = None,
) -> int:
    if not action or not what:
        raise ValueError(f"an audit entry needs an action and a what; got {action!r}, {what!r}")
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to routes.contract.vocabularies.AuditAction "
                         "(the log's vocabulary) before writing it")
    when = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    key = audit_key()
    con = _connect()
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            seq = 1 if last is None else int(last["seq"]) + 1
            prev = GENESIS if last is None else str(last["hash"])
            entry = {
                "seq": seq, "at": when, "user": user, "role": role,
                "task_force": task_force, "action": action, "what": what,
                "filters": _filters_json(filters), "purpose": purpose, "audience": audience,
            }
            mac = entry_mac(key, prev, entry)
            con.execute(
                compose("INSERT INTO audit_log ({columns}, prev_hash, hash) VALUES ({values})",
                        columns=idents(HASHED), values=placeholders(len(HASHED) + 2)),
                [*(entry[c] for c in HASHED), prev, mac],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    _append_anchor(seq, mac, when)
    return seq


def head() -> str:
    """The log's head as ``SEQ:MAC`` (``0:`` and 64 zeros when empty), for the admin to keep.

    ``python -m pipelines audit verify --against SEQ:MAC`` later proves that the
    first ``SEQ`` entries are still there, unchanged.
    """
    con = _connect()
    try:
        last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return f"0:{GENESIS}" if last is None else f"{int(last['seq'])}:{last['hash']}"


_HEAD = re.compile(r"^\s*(\d+):([0-9a-f]{64})\s*$")


def _anchors(against: str | Path | None) -> tuple[str, list[tuple[int, str]]]:
    """Where the anchors come from, and the ``(seq, mac)`` pairs they hold for this store."""
    if against is not None and (match := _HEAD.match(str(against))):
        seq, mac = int(match[1]), match[2]
        return f"head {seq}:{mac[:12]}…", [] if seq == 0 else [(seq, mac)]
    path = Path(against) if against is not None else _anchor_path()
    if not path.exists():
        if against is not None:
            raise ConfigError(
                f"{str(against)!r} is neither a head SEQ:MAC (from `audit head`) nor an anchor file"
            )
        return str(path), []
    store, pairs = _store_name(), []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0].isdigit():
            raise AuditChainError(
                f"line {number} of the anchor {str(path)!r} is not `seq<TAB>mac<TAB>at<TAB>store`: "
                f"{line[:80]!r}; the anchor was edited: restore it from a copy and investigate"
            )
        if parts[3] == store:
            pairs.append((int(parts[0]), parts[1]))
    return str(path), pairs


def verify_chain(*, against: str | Path | None = None) -> int:
    """Check every entry's MAC and link, and the log against an anchor; return the entries verified.

    Parameters
    ----------
    against
        A head ``SEQ:MAC`` noted from :func:`head`, or an anchor file (a copy of
        the anchor file kept elsewhere). Defaults to the anchor file
        (:func:`routes.settings.audit_anchor_file`).

    Raises
    ------
    AuditChainError
        Naming the first entry (by sequence number) that was edited, removed,
        inserted or moved, or the anchored entry the log no longer holds
        (entries cut off, the log emptied or dropped); also when the log holds
        entries but no anchor names any of them.
    ConfigError
        ``against`` is neither a head nor an existing file.
    """
    key = audit_key()
    con = _connect()
    try:
        rows = con.execute("SELECT * FROM audit_log ORDER BY rowid").fetchall()
    finally:
        con.close()
    prev = GENESIS
    macs: dict[int, str] = {}
    for position, row in enumerate(rows, start=1):
        entry = dict(row)
        if entry["seq"] != position:
            raise AuditChainError(
                f"audit entry {entry['seq']!r} stands at position {position}: an entry before it "
                "was removed or the entries were reordered; restore the control store from a backup "
                "and investigate"
            )
        if entry["prev_hash"] != prev or entry_mac(key, prev, entry) != entry["hash"]:
            unkeyed = entry["prev_hash"] == prev and entry_hash(prev, entry) == entry["hash"]
            raise AuditChainError(
                f"audit entry {entry['seq']!r} ({entry['action']!r} by {entry['user']!r}) does not "
                "match its MAC chain: "
                + ("it carries an unkeyed hash, as an older version wrote or as anyone without "
                   "the audit key can forge; " if unkeyed else "it or the entry before it was altered; ")
                + "restore the control store from a backup and investigate"
            )
        prev = entry["hash"]
        macs[position] = entry["hash"]
    source, anchored = _anchors(against)
    newest_first = sorted(anchored, reverse=True)[:1]  # a cut shows at the newest anchor
    for seq, mac in [*newest_first, *sorted(anchored)]:
        if macs.get(seq) != mac:
            state = "no longer holds it" if seq not in macs else "holds a different entry there"
            raise AuditChainError(
                f"the anchor {source} names audit entry {seq} (MAC {mac[:12]}…) but the log "
                f"{state} (it has {len(rows)} entries): entries were cut off, or the log was "
                "emptied, dropped or rewritten; restore the control store from a backup and investigate"
            )
    if rows and not anchored:
        raise AuditChainError(
            f"the log holds {len(rows)} entries but the anchor {source} names none of them, so "
            "cutting entries off could not be seen; verify against a head noted with "
            "`python -m pipelines audit head` or a copy of the anchor file (--against)"
        )
    return len(rows)


def count_events(*, user: str, action: str, since: datetime, matching: str | None = None) -> int:
    """How many ``action`` entries ``user`` has in the log since ``since`` (rate limits, probes).

    Parameters
    ----------
    matching
        Only entries whose ``filters`` JSON has this key with a value above 0
        (e.g. ``"matched_cases"`` for uploads that matched other agencies).
    """
    clauses = [SQL("user = ?"), SQL("action = ?"), SQL("at >= ?")]
    params: list[object] = [user, action, since.astimezone(UTC).isoformat(timespec="microseconds")]
    if matching:
        clauses.append(SQL("coalesce(json_extract(filters, ?), 0) > 0"))
        params.append(f"$.{matching}")
    con = _connect()
    try:
        row = con.execute(
            compose("SELECT count(*) FROM audit_log WHERE {where}", where=join(clauses, " AND ")), params
        ).fetchone()
    finally:
        con.close()
    return int(row[0])


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
    clauses, params = [SQL("TRUE")], []
    for column, value in (("user", user), ("action", action)):
        if value:
            clauses.append(compose("{column} = ?", column=ident(column)))
            params.append(value)
    if since:
        clauses.append(SQL("at >= ?"))
        params.append(since.astimezone(UTC).isoformat(timespec="microseconds"))
    if until:
        clauses.append(SQL("at <= ?"))
        params.append(until.astimezone(UTC).isoformat(timespec="microseconds"))
    con = _connect()
    try:
        rows = con.execute(
            compose("SELECT {columns}, hash FROM audit_log WHERE {where} ORDER BY seq DESC LIMIT ?",
                    columns=idents(HASHED), where=join(clauses, " AND ")),
            [*params, int(limit)],
        ).fetchall()
    finally:
        con.close()
    return pd.DataFrame([dict(r) for r in rows], columns=[*HASHED, "hash"])
