"""Tests of pipelines/cli/admin.py and pipelines/cli/reading.py, in-process."""

from __future__ import annotations

import io
import sqlite3
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.cli import main
from query import audit
from query.viewer import Viewer
from routes import accounts, settings
from tests.support.warehouse_fixture import make_small_warehouse

ADMIN = Viewer("root", "admin")
PASSWORD = "a long enough passphrase"


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
         stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_list_disable_reset(tmp_env: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = _run(capsys, monkeypatch, "users", "add", "maria", "--role", "analyst",
                        "--task-force", "la", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "added 'maria' as analyst of la" in out
    assert accounts.authenticate("maria", PASSWORD).task_force == "la"
    code, out, _ = _run(capsys, monkeypatch, "users", "list")
    listed = pd.read_csv(io.StringIO(out))
    assert listed["user"].tolist() == ["maria"] and "password_hash" not in listed.columns
    assert _run(capsys, monkeypatch, "users", "disable", "maria")[0] == 0
    code, out, _ = _run(capsys, monkeypatch, "users", "reset", "maria", "--password-stdin",
                        stdin="another long passphrase\n")
    assert code == 0
    assert _run(capsys, monkeypatch, "users", "disable", "maria", "--enable")[0] == 0
    assert accounts.authenticate("maria", "another long passphrase").user == "maria"
    log = audit.read_log(ADMIN)
    assert log["action"].tolist() == ["sign_in", "account_enable", "account_reset", "account_disable",
                                      "sign_in", "account_add"]
    changes = log[log["action"] != "sign_in"]
    assert changes["user"].str.startswith("cli:").all()
    assert (log[log["action"] == "sign_in"]["user"] == "maria").all()


def test_user_errors_are_one_line_messages(tmp_env: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _run(capsys, monkeypatch, "users", "add", "x1", "--role", "lead", "--password-stdin",
                        stdin=PASSWORD + "\n")
    assert code == 2 and err.startswith("error: role 'lead' needs --task-force")
    code, _, err = _run(capsys, monkeypatch, "users", "disable", "ghost")
    assert code == 2 and "no account 'ghost'" in err


def test_audit_verify_ok_and_tampered(tmp_env: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        audit.record_event(ADMIN, action="export", what=f"briefing {i}", purpose="meeting", audience="task force")
    code, out, _ = _run(capsys, monkeypatch, "audit", "verify")
    assert code == 0 and "3 entries" in out
    con = sqlite3.connect(str(settings.control_path()), isolation_level=None)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("UPDATE audit_log SET audience = 'the press' WHERE seq = 2")
    con.close()
    code, _, err = _run(capsys, monkeypatch, "audit", "verify")
    assert code == 2 and "audit entry 2 " in err


def test_retention_review_and_purge(tmp_env: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = settings.warehouse_path()
    make_small_warehouse(path, n=400)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE records SET validated_at = ? WHERE record_id < 'R000010'", [datetime(2020, 6, 1)])
        con.execute(
            "INSERT INTO record_identifiers SELECT source_id, record_id, 'phone', 'tok', NULL "
            "FROM records WHERE record_id IN ('R000001', 'R000200')"
        )
    code, out, err = _run(capsys, monkeypatch, "retention", "review", "--as-of", "2026-01-01")
    due = pd.read_csv(io.StringIO(out))
    assert code == 0 and sorted(due["record_id"]) == [f"R{i:06d}" for i in range(10)]
    assert "10 records are due" in err
    code, _, err = _run(capsys, monkeypatch, "retention", "purge", "--as-of", "2026-01-01")
    assert code == 1 and "--yes" in err
    code, out, _ = _run(capsys, monkeypatch, "retention", "purge", "--as-of", "2026-01-01", "--yes")
    assert code == 0 and "removed 10 records" in out
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 390
        assert con.execute("SELECT list(record_id) FROM record_identifiers").fetchone()[0] == ["R000200"]
    assert audit.read_log(ADMIN)["action"].tolist() == ["retention_purge", "retention_review"]
    assert audit.verify_chain() == 2
