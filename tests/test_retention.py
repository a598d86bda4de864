"""Tests for ``pipelines/retention.py``: a purge that forgets, down to the file's bytes."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines import retention
from pipelines.build import build_warehouse
from pipelines.cli import main
from query.viewer import Viewer
from routes import settings, warehouse
from routes.errors import AccessDenied
from tests.support.warehouse_fixture import make_small_warehouse

CASE = "PURGE-ME-CASE-0001"
QUARANTINED = "QUARANTINE-SECRET-0077"
KEPT = "KEEP-ME-CASE-0002"


def _all_bytes(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture()
def due_warehouse(tmp_env: Path) -> Path:
    path = settings.warehouse_path()
    make_small_warehouse(path, n=400)
    with warehouse.write_snapshot(path=path) as con:
        con.execute("UPDATE records SET validated_at = ? WHERE record_id < 'R000010'", [datetime(2020, 6, 1)])
        con.execute("UPDATE records SET case_number = ? WHERE record_id = 'R000003'", [CASE])
        con.execute("UPDATE records SET case_number = ? WHERE record_id = 'R000300'", [KEPT])
        con.execute("INSERT INTO record_history SELECT source_id, record_id, batch_id, ?, ? FROM records "
                    "WHERE record_id = 'R000003'", [datetime(2020, 5, 1), json.dumps({"record": {"case_number": CASE}})])
        con.execute("INSERT INTO record_identifiers SELECT source_id, record_id, 'phone', 'tok-old', NULL "
                    "FROM records WHERE record_id = 'R000003'")
        for when, text in ((datetime(2020, 1, 2), QUARANTINED), (datetime(2025, 6, 1), "RECENT-QUARANTINE")):
            con.execute("INSERT INTO quarantine VALUES ('lapd', 'b-old', 1, ['bad_date'], ?, ?)",
                        [json.dumps({"CaseID": text, "lat": 34.05, "lon": -118.24}), when])
    build_warehouse(warehouse_path=path)
    with warehouse.open_snapshot(path=path) as con:  # a reader's snapshot link, as the app makes
        con.execute("SELECT count(*) FROM records").fetchall()
    return path


def test_purge_leaves_no_byte_of_what_it_removed(due_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = due_warehouse.parent
    before = b"".join(_all_bytes(folder).values())
    assert CASE.encode() in before and QUARANTINED.encode() in before, "the test proves nothing"
    assert any((folder / ".readers").iterdir())
    code = main(["retention", "purge", "--as-of", "2026-01-01", "--yes"])
    out = capsys.readouterr().out
    assert code == 0 and "removed 10 records" in out and "1 quarantined rows" in out
    for file, data in _all_bytes(folder).items():
        assert CASE.encode() not in data, f"{file.relative_to(folder)} still holds the purged case number"
        assert QUARANTINED.encode() not in data, f"{file.relative_to(folder)} still holds the purged quarantine row"
    with duckdb.connect(str(due_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 390
        assert con.execute("SELECT count(*) FROM records WHERE case_number = ?", [KEPT]).fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM record_identifiers WHERE token = 'tok-old'").fetchone()[0] == 0
        assert warehouse.has_table(con, "cell_counts")  # the derived tables were rebuilt, not lost
        assert con.execute("SELECT sum(records) FROM county_month_counts").fetchone()[0] == 390
        primary = con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'sources' "
                              "AND constraint_type = 'PRIMARY KEY'").fetchone()[0]
        assert primary == 1  # the fresh file keeps the schema's keys
    assert not list(folder.glob(".*.tmp*"))


def test_purge_needs_the_retention_capability(due_warehouse: Path) -> None:
    with pytest.raises(AccessDenied, match="manage_retention"):
        retention.purge(by=Viewer("cal", "leadership"), as_of=date(2026, 1, 1))


def test_a_purge_with_nothing_due_changes_nothing(due_warehouse: Path) -> None:
    result = retention.purge(by=Viewer("root", "admin"), as_of=date(2020, 1, 1))
    assert (result.records, result.quarantine) == (0, 0)
    with duckdb.connect(str(due_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 400
