"""Checking a warehouse's batches against the demo's ``ground_truth.json``."""

from __future__ import annotations

from pathlib import Path

import duckdb


def assert_ground_truth_met(con: duckdb.DuckDBPyConnection, truth: dict) -> None:
    """Every demo file is one batch whose counts and quarantine reasons are exactly the truth's."""
    got = {}
    for batch_id, sid, name, *counts in con.execute(
        "SELECT batch_id, source_id, file_name, rows_read, loaded, updated, duplicates, "
        "quarantined FROM batches"
    ).fetchall():
        reasons = dict(con.execute(
            "SELECT reasons[1], count(*) FROM quarantine WHERE batch_id = ? GROUP BY 1", [batch_id]
        ).fetchall())
        got[(sid, name)] = (*counts, reasons)
    assert len(got) == len(truth["files"])
    for rel, t in truth["files"].items():
        expected = (t["rows"], t["loaded"], t["updated"], t["duplicates"], t["quarantined"],
                    {k: v for k, v in t["quarantine_reasons"].items() if v})
        assert got[(t["source_id"], Path(rel).name)] == expected, rel
