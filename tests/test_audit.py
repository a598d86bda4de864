"""Tests of query/audit.py: the append-only, hash-chained audit log."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from query import audit
from query.filters import Filters
from query.viewer import Viewer
from routes import settings
from routes.errors import AccessDenied, AuditChainError

ADMIN = Viewer("root", "admin")
ANALYST = Viewer("ana", "analyst", "la")


def _fill(n: int = 5) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        audit.record_event(
            ANALYST, action="view_records", what=f"records in cell {i}",
            filters=Filters(counties=("06037",)), purpose="case review", at=start + timedelta(minutes=i),
        )


def _raw(path: Path) -> sqlite3.Connection:
    """The file as an intruder sees it: triggers dropped, free to edit."""
    con = sqlite3.connect(str(path), isolation_level=None)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("DROP TRIGGER audit_log_no_delete")
    return con


def test_entries_chain_and_verify(tmp_env: Path) -> None:
    assert audit.verify_chain() == 0
    _fill(5)
    assert audit.verify_chain() == 5
    log = audit.read_log(ADMIN)
    assert log["seq"].tolist() == [5, 4, 3, 2, 1]
    first = log.iloc[-1]
    assert (first["user"], first["role"], first["task_force"]) == ("ana", "analyst", "la")
    assert first["filters"] == '{"counties": "06037"}' and first["purpose"] == "case review"
    assert first["at"].startswith("2026-01-01T00:00:00")


def test_the_log_refuses_update_and_delete(tmp_env: Path) -> None:
    _fill(2)
    con = sqlite3.connect(str(settings.control_path()))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit_log SET user = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_log")
    con.close()
    assert audit.verify_chain() == 2


def test_an_edited_entry_is_named(tmp_env: Path) -> None:
    _fill(5)
    con = _raw(settings.control_path())
    con.execute("UPDATE audit_log SET what = 'nothing to see' WHERE seq = 3")
    con.close()
    with pytest.raises(AuditChainError, match="entry 3 "):
        audit.verify_chain()


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(tmp_env: Path) -> None:
    _fill(5)
    con = _raw(settings.control_path())
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM audit_log WHERE seq = 2").fetchone())
    row["user"] = "someone else"
    con.execute("UPDATE audit_log SET user = ?, hash = ? WHERE seq = 2",
                [row["user"], audit.entry_hash(row["prev_hash"], row)])
    con.close()
    with pytest.raises(AuditChainError, match="entry 3 "):
        audit.verify_chain()


def test_a_deleted_entry_is_detected(tmp_env: Path) -> None:
    _fill(5)
    con = _raw(settings.control_path())
    con.execute("DELETE FROM audit_log WHERE seq = 2")
    con.close()
    with pytest.raises(AuditChainError, match="entry 3 .*removed"):
        audit.verify_chain()


def test_reordered_entries_are_detected(tmp_env: Path) -> None:
    _fill(5)
    con = _raw(settings.control_path())
    # swap the content of entries 2 and 4 (keeping the rows' places)
    cols = ", ".join(audit.HASHED[1:] + ("prev_hash", "hash"))
    two = con.execute(f"SELECT {cols} FROM audit_log WHERE seq = 2").fetchone()  # noqa: S608 (fixed names)
    four = con.execute(f"SELECT {cols} FROM audit_log WHERE seq = 4").fetchone()  # noqa: S608 (fixed names)
    sets = ", ".join(f"{c} = ?" for c in cols.split(", "))
    con.execute(f"UPDATE audit_log SET {sets} WHERE seq = 2", list(four))  # noqa: S608 (fixed names)
    con.execute(f"UPDATE audit_log SET {sets} WHERE seq = 4", list(two))  # noqa: S608 (fixed names)
    con.close()
    with pytest.raises(AuditChainError, match="entry 2 "):
        audit.verify_chain()


def test_only_admins_read_the_log(tmp_env: Path) -> None:
    _fill(1)
    for viewer in (ANALYST, Viewer("p", "partner"), Viewer("l", "leadership"), Viewer("x", "lead", "la")):
        with pytest.raises(AccessDenied, match=repr(viewer.role)):
            audit.read_log(viewer)


def test_read_log_filters(tmp_env: Path) -> None:
    _fill(3)
    audit.record_event(ADMIN, action="account_add", what="account 'bob'")
    assert audit.read_log(ADMIN, action="account_add")["user"].tolist() == ["root"]
    assert len(audit.read_log(ADMIN, user="ana")) == 3
    assert len(audit.read_log(ADMIN, since=datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
                              until=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))) == 1


def test_record_event_names_missing_fields(tmp_env: Path) -> None:
    with pytest.raises(ValueError, match="''"):
        audit.record_event(ADMIN, action="", what="x")
