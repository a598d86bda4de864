"""Tests for ``pipelines/cli/deconflict.py``, run in-process through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from query import operations
from tests.support.deconfliction_fixture import IDENTIFIERS, build_warehouse


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_operations_add_list_and_import(tmp_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "operations", "add", "--source", "lapd", "--task-force", "la",
                        "--lat", "34.0522", "--lng", "-118.2437", "--radius-m", "150",
                        "--start", "2026-12-03 05:00", "--end", "2026-12-03 09:00",
                        "--contact", "Det. A", "--kind", "raid")
    assert code == 0 and out.startswith("Recorded operation op-")
    csv = tmp_env / "ops.csv"
    csv.write_text("source_id,task_force,place,radius_m,start,end,contact,kind\n"
                   "sdso,san_diego,Lodi,100,2026-12-03 06:00,2026-12-03 07:00,Sgt. B,surveillance\n")
    code, out, _ = _run(capsys, "operations", "import", str(csv))
    assert (code, out.strip()) == (0, f"Imported 1 operations from {csv}.")
    code, out, _ = _run(capsys, "operations", "list", "--task-force", "la")
    assert code == 0 and "Operations (1)" in out and "Det. A" in out and "Sgt. B" not in out


def test_bad_operation_is_a_one_line_error(tmp_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "operations", "import", str(tmp_env / "missing.csv"))
    assert code == 2 and err.startswith("error: no operations file at")


def test_deconflict_lists_only_what_is_new(tmp_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_warehouse()
    operations.add_operation("lapd", lat=34.0522, lng=-118.2437, radius_m=150,
                             start="2026-12-03 05:00", end="2026-12-03 09:00",
                             contact="Det. A", kind="undercover", task_force="la")
    operations.add_operation("sdso", lat=34.0530, lng=-118.2437, radius_m=50,
                             start="2026-12-03 08:00", end="2026-12-03 10:00",
                             contact="Sgt. B 555-0200", kind="raid", task_force="san_diego")
    code, out, _ = _run(capsys, "deconflict", "--as", "analyst", "--task-force", "la",
                        "--user", "desk")
    assert code == 0
    assert "New subject matches for la (2)" in out and "SD-7" in out and "Sgt. C" in out
    assert "New operation conflicts for la (1)" in out and "Sgt. B 555-0200" in out
    raws = {row[5] for row in IDENTIFIERS}
    assert not any(raw in out for raw in raws) and "raid" not in out
    # a second run: nothing new; --all lists the open ones again
    code, out, _ = _run(capsys, "deconflict", "--as", "analyst", "--task-force", "la")
    assert "New subject matches for la (0)" in out and "New operation conflicts for la (0)" in out
    code, out, _ = _run(capsys, "deconflict", "--as", "analyst", "--task-force", "la", "--all")
    assert "Open subject matches for la (2)" in out
    # the other side has its own state
    code, out, _ = _run(capsys, "deconflict", "--as", "lead", "--task-force", "san_diego")
    assert "New subject matches for san_diego (1)" in out and "LA-100" in out
    # a new ingest raises only the new match
    build_warehouse([("lapd", "L77", "LA-777", None, "email", "n@example.org", "2025-08-01"),
                     ("sdso", "S77", "SD-77", None, "email", "N@example.org", "2025-08-02")])
    code, out, _ = _run(capsys, "deconflict", "--as", "analyst", "--task-force", "la")
    assert "New subject matches for la (1)" in out and "SD-77" in out


def test_deconflict_counts_for_leadership_and_nothing_for_partners(
    tmp_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_warehouse()
    code, out, _ = _run(capsys, "deconflict", "--as", "leadership")
    assert code == 0 and "Subject matches by region and month" in out
    assert "suppressed" in out and "SD-7" not in out
    code, _, err = _run(capsys, "deconflict", "--as", "partner")
    assert code == 2 and "partner" in err
    code, _, err = _run(capsys, "deconflict", "--as", "analyst")
    assert code == 2 and "task force" in err
