"""Tests of query/audit.py: the append-only, hash-chained audit log."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.cli import main
from query import audit
from query.filters import Filters
from query.viewer import Viewer
from routes import settings
from routes.contract.sql import compose, ident, idents, join, placeholders
from routes.errors import AccessDenied, AuditChainError, ConfigError

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


def test_an_edited_entry_with_a_recomputed_hash_is_named(tmp_env: Path) -> None:
    # Was "breaks the next link": with an unkeyed chain only entry 3 noticed; the MAC
    # chain names the edited entry itself (no one without the key can recompute it).
    _fill(5)
    con = _raw(settings.control_path())
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM audit_log WHERE seq = 2").fetchone())
    row["user"] = "someone else"
    con.execute("UPDATE audit_log SET user = ?, hash = ? WHERE seq = 2",
                [row["user"], audit.entry_hash(row["prev_hash"], row)])
    con.close()
    with pytest.raises(AuditChainError, match="entry 2 .*unkeyed hash"):
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
    names = audit.HASHED[1:] + ("prev_hash", "hash")
    select = compose("SELECT {cols} FROM audit_log WHERE seq = ?", cols=idents(names))
    two = con.execute(select, [2]).fetchone()
    four = con.execute(select, [4]).fetchone()
    update = compose("UPDATE audit_log SET {sets} WHERE seq = ?",
                     sets=join((compose("{c} = ?", c=ident(c)) for c in names), ", "))
    con.execute(update, [*four, 2])
    con.execute(update, [*two, 4])
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


def test_an_action_outside_the_vocabulary_is_refused_and_named(tmp_env: Path) -> None:
    with pytest.raises(ValueError, match="'view_recrods'.*AuditAction"):
        audit.record_event(ADMIN, action="view_recrods", what="a typo would hide this entry from every filter")
    assert audit.read_log(ADMIN).empty


def test_every_action_the_code_writes_is_in_the_vocabulary() -> None:
    """Each literal ``action=`` given to the audit writers (and ``*_ACTION`` constants) is an ``AuditAction``."""
    import ast

    from routes.contract.vocabularies import AUDIT_ACTIONS

    repo = Path(__file__).resolve().parent.parent
    found: dict[str, str] = {}
    for folder in ("routes", "query", "pipelines", "ui", "pages", "briefings"):
        for path in (repo / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                values: list[ast.expr] = []
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {
                        "record_event", "record_ingest", "count_events", "read_log", "_append"}:
                    values = [k.value for k in node.keywords if k.arg == "action"]
                elif isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id.endswith("_ACTION") for t in node.targets):
                    values = [node.value]
                for value in values:
                    for leaf in ast.walk(value):
                        if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                            found[leaf.value] = f"{path.relative_to(repo)}:{leaf.lineno}"
    assert len(found) >= 15, found  # the walk sees the writers
    unknown = {a: where for a, where in found.items() if a not in AUDIT_ACTIONS}
    assert not unknown, f"audit actions missing from routes.contract.vocabularies.AuditAction: {unknown}"


# -- issue 18: a writer of the file cannot forge the log unnoticed ------------------------


def _rechain(con: sqlite3.Connection, mac: Callable[[str, dict[str, object]], str]) -> None:
    """Renumber the entries 1, 2, … and recompute every link, as an intruder would."""
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()]
    con.execute("DELETE FROM audit_log")
    prev = audit.GENESIS
    for seq, row in enumerate(rows, start=1):
        row.update(seq=seq, prev_hash=prev)
        row["hash"] = prev = mac(prev, row)
        cols = [*audit.HASHED, "prev_hash", "hash"]
        con.execute(compose("INSERT INTO audit_log ({cols}) VALUES ({marks})", cols=idents(cols),
                            marks=placeholders(len(cols))), [row[c] for c in cols])


def _without_key(prev: str, row: dict[str, object]) -> str:
    return audit.entry_hash(prev, row)  # what anyone can compute: the old unkeyed chain


def _with_key(prev: str, row: dict[str, object]) -> str:
    return audit.entry_mac(audit.audit_key(), prev, row)  # an intruder who also stole the audit key


def _verify_cli(*argv: str) -> int:
    return main(["audit", "verify", *argv])


@pytest.mark.parametrize("mac", [_without_key, _with_key], ids=["rehashed", "re-MACed with the key"])
def test_an_edited_and_rechained_log_fails(tmp_env: Path, mac: Callable[[str, dict[str, object]], str]) -> None:
    _fill(5)
    con = _raw(settings.control_path())
    con.execute("UPDATE audit_log SET what = 'nothing to see' WHERE seq = 3")
    _rechain(con, mac)
    con.close()
    with pytest.raises(AuditChainError):
        audit.verify_chain()
    assert _verify_cli("--against", str(settings.audit_anchor_file())) == 2


@pytest.mark.parametrize("mac", [_without_key, _with_key], ids=["rehashed", "re-MACed with the key"])
def test_a_deleted_and_renumbered_entry_fails(tmp_env: Path, mac: Callable[[str, dict[str, object]], str]) -> None:
    _fill(5)
    con = _raw(settings.control_path())
    con.execute("DELETE FROM audit_log WHERE seq = 2")
    _rechain(con, mac)
    con.close()
    with pytest.raises(AuditChainError):
        audit.verify_chain()


@pytest.mark.parametrize("cut", ["DELETE FROM audit_log WHERE seq > 3", "DELETE FROM audit_log",
                                 "DROP TABLE audit_log"], ids=["truncated", "emptied", "dropped"])
def test_a_truncated_emptied_or_dropped_log_fails(tmp_env: Path, cut: str) -> None:
    _fill(5)
    con = _raw(settings.control_path())
    con.execute(cut)
    con.close()
    with pytest.raises(AuditChainError, match="anchor .* names audit entry"):
        audit.verify_chain()
    assert _verify_cli("--against", str(settings.audit_anchor_file())) == 2


def test_a_deleted_control_store_fails(tmp_env: Path) -> None:
    _fill(3)
    for suffix in ("", "-wal", "-shm"):
        Path(str(settings.control_path()) + suffix).unlink(missing_ok=True)
    with pytest.raises(AuditChainError, match="entry 3 "):
        audit.verify_chain()


def test_a_noted_head_catches_a_cut_even_without_the_anchor_file(tmp_env: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _fill(4)
    assert main(["audit", "head"]) == 0
    noted = capsys.readouterr().out.split()[-1]
    assert noted == audit.head() and noted.startswith("4:")
    _fill(2)  # the log grows: the old head still verifies
    assert _verify_cli("--against", noted) == 0
    assert "6 entries" in capsys.readouterr().out
    con = _raw(settings.control_path())
    con.execute("DELETE FROM audit_log WHERE seq > 2")
    con.close()
    settings.audit_anchor_file().unlink()  # the intruder also removed the anchor file
    with pytest.raises(AuditChainError, match="names audit entry 4"):
        audit.verify_chain(against=noted)
    with pytest.raises(AuditChainError, match="names none of them"):
        audit.verify_chain()  # without an anchor, a log with entries proves nothing


def test_files_of_the_chain_are_owner_only_and_apart_from_the_warehouse(tmp_env: Path) -> None:
    _fill(1)
    for path in (settings.audit_key_file(), settings.audit_anchor_file(), settings.control_path()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    lines = settings.audit_anchor_file().read_text().splitlines()
    assert lines[0].split("\t")[:2] == audit.head().split(":")
    assert settings.audit_key_file().parent != settings.warehouse_path().parent


def test_verify_against_something_that_is_not_an_anchor(tmp_env: Path) -> None:
    _fill(1)
    with pytest.raises(ConfigError, match="'nowhere.txt' is neither a head"):
        audit.verify_chain(against="nowhere.txt")


def test_the_audit_page_filters_by_every_action_the_log_holds(tmp_env: Path) -> None:
    """The admin's Action filter offers the whole vocabulary (it once lacked the deconfliction views)."""
    from routes.contract.vocabularies import AUDIT_ACTIONS
    from tests.support.apptest import VIEWERS, page_app, ran_ok

    audit.record_event(ADMIN, action="view_matches", what="subject_matches: m1")
    audit.record_event(ADMIN, action="export", what="briefing")
    app = ran_ok(page_app(str(settings.REPO_ROOT / "pages" / "audit_log.py"), VIEWERS["admin"]).run())
    box = app.selectbox(key="audit_action")
    assert list(box.options) == ["(any)", *AUDIT_ACTIONS]
    app = ran_ok(box.select("view_matches").run())
    shown = app.dataframe[0].value
    assert shown["action"].tolist() == ["view_matches"]
