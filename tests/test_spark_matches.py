"""``subject_matches`` on Spark (``pipelines/build/spark_matches.py``) equals the DuckDB build's, row for row."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.support.frames import assert_parquet_equals_table


@pytest.mark.spark
def test_spark_subject_matches_equal_duckdb_table(spark_identifier_build: dict[str, Path]) -> None:
    """Every column but ``first_raised_at``: the build's own time on each engine (``release load`` keeps earlier ones)."""
    built = spark_identifier_build
    assert_parquet_equals_table(built["duck"], "subject_matches", built["out"] / "subject_matches", skip=("first_raised_at",))


@pytest.mark.spark
def test_spark_stamps_every_match_with_one_build_time(spark_identifier_build: dict[str, Path]) -> None:
    out = spark_identifier_build["out"] / "subject_matches"
    stamps = duckdb.connect().execute("SELECT count(DISTINCT first_raised_at), count(first_raised_at), count(*) FROM read_parquet(?)",
                                      [f"{out}/*.parquet"]).fetchall()[0]
    assert stamps is not None and stamps[0] == 1 and stamps[1] == stamps[2], stamps


@pytest.mark.spark
def test_the_compared_matches_cover_linked_kinds_placeholders_and_contacts(spark_identifier_build: dict[str, Path]) -> None:
    """What the comparison must exercise: several kinds in one match, several tokens, the placeholder skipped."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{spark_identifier_build['duck']}' AS d (READ_ONLY)")
    kinds, tokens, contacts, rows = con.execute(
        "SELECT max(len(identifier_kinds)), max(tokens_matched), count(DISTINCT contact_a), count(*) FROM d.subject_matches"
    ).fetchone() or (0, 0, 0, 0)
    assert rows > 50 and kinds >= 2 and tokens >= 2 and contacts >= 2, (rows, kinds, tokens, contacts)
