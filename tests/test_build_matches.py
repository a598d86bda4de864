"""Tests for ``pipelines/build/matches.py`` on hand-made identifier rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.build import matches as build_matches
from routes import warehouse
from tests.support.deconfliction_fixture import IDENTIFIERS, write_identifiers


@pytest.fixture
def con(tmp_env: Path):
    with warehouse.write_snapshot() as connection:
        write_identifiers(connection, IDENTIFIERS)
        yield connection


def _matches(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.sql("SELECT * FROM subject_matches ORDER BY source_a, source_b").df()


def test_matches_pairs_of_cases_across_sources_only(con: duckdb.DuckDBPyConnection) -> None:
    counts = build_matches.build(con)
    got = _matches(con)
    assert counts["subject_matches"] == len(got) == 2
    la_sd = got[(got.source_a == "lapd") & (got.source_b == "sdso")].iloc[0]
    assert la_sd.case_number_a == "LA-100" and la_sd.case_number_b == "SD-7"
    assert list(la_sd.identifier_kinds) == ["phone", "vehicle_plate"]
    assert la_sd.tokens_matched == 2
    assert la_sd.contact_b == "Sgt. C <c@sd>"  # the latest record of the case
    assert la_sd.task_force_a == "la" and la_sd.task_force_b == "san_diego"
    assert la_sd.last_seen_a == pd.Timestamp("2025-03-01")
    assert la_sd.last_seen_b == pd.Timestamp("2025-05-09")
    hot = got[got.source_a == "hotline"].iloc[0]
    assert (hot.source_b, hot.case_number_a, hot.case_number_b) == ("lapd", "H3", "LA-200")
    assert hot.contact_b == "Det. A"  # falls back to the source's contact


def test_differently_typed_phones_match(con: duckdb.DuckDBPyConnection) -> None:
    build_matches.build(con)
    kinds = con.execute(
        "SELECT identifier_kinds FROM subject_matches WHERE source_b = 'sdso'"
    ).fetchone()
    assert kinds is not None and "phone" in kinds[0]


def test_no_token_or_identifier_is_readable(con: duckdb.DuckDBPyConnection) -> None:
    build_matches.build(con)
    tokens = {t for (t,) in con.execute("SELECT token FROM record_identifiers").fetchall()}
    raws = {row[5] for row in IDENTIFIERS}
    for row in con.execute("SELECT * FROM subject_matches").fetchall():
        for value in row:
            text = str(value)
            assert not any(t in text for t in tokens)
            assert not any(r in text for r in raws)


def test_rebuild_keeps_ids_and_first_raised(con: duckdb.DuckDBPyConnection) -> None:
    first = build_matches.build(con, now=datetime(2026, 1, 1))
    before = _matches(con)
    again = build_matches.build(con, now=datetime(2026, 2, 1))
    after = _matches(con)
    assert first["new_matches"] == 2 and again["new_matches"] == 0
    pd.testing.assert_frame_equal(before, after)
    assert set(after.first_raised_at) == {pd.Timestamp("2026-01-01")}


def test_new_ingest_raises_only_new_matches(con: duckdb.DuckDBPyConnection) -> None:
    build_matches.build(con, now=datetime(2026, 1, 1))
    old_ids = set(_matches(con).match_id)
    write_identifiers(con, [("sdso", "S8", "SD-9", None, "email", "z@example.org", "2025-06-01"),
                 ("hotline", "H8", None, None, "email", "Z@example.org", "2025-06-02")])
    counts = build_matches.build(con, now=datetime(2026, 3, 1))
    after = _matches(con)
    assert counts["new_matches"] == 1
    assert old_ids < set(after.match_id)
    new = after[~after.match_id.isin(old_ids)].iloc[0]
    assert new.first_raised_at == pd.Timestamp("2026-03-01")


def test_placeholder_tokens_are_skipped(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(s, f"P{i}{s}", f"PC{i}", None, "phone", "(800) 555-0100", "2025-01-01")
            for i in range(3) for s in ("lapd", "sdso")]
    write_identifiers(con, rows)
    counts = build_matches.build(con, max_cases_per_token=4)
    assert counts["common_tokens_skipped"] == 1
    assert counts["subject_matches"] == 2
    with pytest.raises(ValueError, match="max_cases_per_token"):
        build_matches.build(con, max_cases_per_token=1)


def test_empty_warehouse_builds_an_empty_table(tmp_env: Path) -> None:
    with warehouse.write_snapshot() as connection:
        counts = build_matches.build(connection)
        assert counts["subject_matches"] == 0
        cols = [c[0] for c in connection.execute("SELECT * FROM subject_matches").description]
    assert "token" not in cols and "match_id" in cols

