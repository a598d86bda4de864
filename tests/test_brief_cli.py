"""Tests for ``pipelines/cli/brief.py``, run in-process through the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.cli import main
from query import audit
from query.viewer import Viewer
from tests.support.warehouse_fixture import make_built_warehouse


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("brief-cli")
    with pytest.MonkeyPatch.context() as mp:
        make_built_warehouse(root, mp)
        yield root


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_lead_exports_own_region(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = built / "out"
    code, out, err = _run(
        capsys, "brief", "--region", "Region IV", "--from", "2025-01", "--to", "2025-12",
        "--audience", "partner", "--purpose", "partner meeting", "--out", str(out_dir),
        "--as", "lead", "--task-force", "sacramento", "--user", "sam", "--no-html",
    )
    assert (code, err) == (0, "")
    assert out.startswith("Wrote 10 files in ")
    assert "briefing_region-iv_2025-01_2025-12_partner.pdf" in out
    assert sorted(p.suffix for p in out_dir.iterdir()) == [".csv"] * 7 + [".geojson", ".pdf", ".png"]
    stem = "briefing_region-iv_2025-01_2025-12_partner"
    assert sorted(p.name.removeprefix(f"{stem}_") for p in out_dir.glob("*.csv")) == [
        f"{name}.csv" for name in
        ("cells", "circuits", "coordination_pairs", "corridors", "counties", "flows", "headline")
    ]
    entry = audit.read_log(Viewer("root", "admin"), action="export").iloc[0]
    assert (entry["user"], entry["role"], entry["task_force"], entry["audience"], entry["purpose"]) == (
        "sam", "lead", "sacramento", "partner", "partner meeting"
    )


def test_county_export_with_html(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "brief", "--county", "06037", "--from", "2025-07", "--to", "2025-12",
        "--audience", "caloes", "--purpose", "state review", "--out", str(built / "la"), "--as", "leadership",
    )
    assert code == 0 and "briefing_06037_2025-07_2025-12_caloes.html" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--region", "Region IV", "--as", "lead", "--task-force", "la"], "'la' may not export"),
        (["--region", "Region IV", "--as", "analyst", "--task-force", "sacramento"], "role 'analyst' may not export"),
        (["--region", "Region IV", "--as", "partner"], "role 'partner' may not export"),
        (["--region", "Region 4", "--as", "admin"], "unknown region 'Region 4'"),
    ],
)
def test_refusals_are_one_line_errors(
    built: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = len(audit.read_log(Viewer("root", "admin"), action="export"))
    code, out, err = _run(
        capsys, "brief", *argv, "--from", "2025-01", "--to", "2025-12", "--audience", "partner",
        "--purpose", "p", "--out", str(built / "refused"),
    )
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert len(audit.read_log(Viewer("root", "admin"), action="export")) == before


def test_bad_month_and_unknown_audience(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, "brief", "--region", "Region I", "--from", "2025-1", "--to", "2025-12", "--audience", "partner",
        "--purpose", "p", "--out", str(built / "bad"), "--as", "admin",
    )
    assert code == 2 and "'2025-1'" in err and "YYYY-MM" in err
    with pytest.raises(SystemExit):
        main(["brief", "--region", "Region I", "--from", "2025-01", "--to", "2025-12", "--audience", "press",
              "--purpose", "p", "--out", str(built / "bad")])
    assert "invalid choice: 'press'" in capsys.readouterr().err
