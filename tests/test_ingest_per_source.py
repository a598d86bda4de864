"""The demo ingested the way an agency runs the CLI (one ``ingest`` per source, as
``bench/__main__.py`` does): ground truth met exactly, and the same warehouse as
``setup-demo``'s one-transaction-per-file build."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from routes import files
from tests.support.demo_truth import assert_ground_truth_met

pytest.importorskip("pipelines.demo")
pytestmark = pytest.mark.slow

RECORDS = 3000
SEED = 7

#: Columns that differ between two runs of the same ingest (ids and clocks).
_RUN_COLUMNS = {"batch_id", "validated_at", "updated_at", "started_at", "finished_at",
                "changed_at", "quarantined_at", "added_at"}


def tables(path: Path) -> dict[str, list[str]]:
    """Every table's rows, sorted, without the per-run columns."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall() if c not in _RUN_COLUMNS]
            if table != "record_history":
                rows = con.table(table).project(*(duckdb.ColumnExpression(c) for c in cols)).fetchall()
            else:  # the previous version's JSON holds its batch id and clocks
                rows = con.execute("SELECT source_id, record_id, json_extract_string(previous, '$.record.content_hash'), "
                                   "json_extract(previous, '$.identifiers')::VARCHAR FROM record_history").fetchall()
            out[table] = sorted(map(repr, rows))
        return out
    finally:
        con.close()


def test_per_source_ingest_meets_ground_truth_and_matches_setup_demo(tmp_env, monkeypatch):
    from bench.__main__ import _step_ingest
    from pipelines.demo import generate_demo
    from pipelines.demo import setup as setup_demo

    files._token_keys.clear()
    demo = tmp_env / "demo"
    generate_demo(demo, records=RECORDS, seed=SEED)
    live = tmp_env / "warehouse" / "routes.duckdb"
    totals = _step_ingest(demo, live)
    truth = json.loads((demo / "ground_truth.json").read_text())
    assert totals["files"] == len(truth["files"]) and totals["rows_read"] == truth["rows_written"]

    con = duckdb.connect(str(live), read_only=True)
    try:
        assert_ground_truth_met(con, truth)
    finally:
        con.close()

    built = tmp_env / "warehouse" / "setup.duckdb"
    setup_demo._ingest_demo(demo, built)
    files._token_keys.clear()
    assert tables(live) == tables(built)
