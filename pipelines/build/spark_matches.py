"""``pipelines.build.matches`` on Spark: ``subject_matches`` from the lake's identifiers.

The pairs of cases are the DuckDB step's own text
(:data:`~pipelines.build.matches.PAIRS_SELECT`). The two other queries have Spark's
own text here, because three DuckDB spellings have no Spark equal:

- ``first(x ORDER BY t DESC, x)`` (the latest sighting's contact or region, ties by
  the smaller value; DuckDB sorts NULLs last both ways) is ``min_by(x, struct(t IS
  NULL, -t, x IS NULL, x))``;
- ``count(DISTINCT (a, b))`` counts a row tuple; Spark's ``count(DISTINCT a, b)``
  would skip a tuple with a NULL, so ``count(DISTINCT struct(a, b))``;
- ``string_agg(kind || ':' || token, ',' ORDER BY kind, token)`` inside the
  ``match_id`` hash is ``array_join`` over ``array_sort`` of ``(kind, token)``
  structs (sorting the joined strings would order ``a-b:`` before ``a:``
  differently), and DuckDB's ``sha256`` is Spark's ``sha2(…, 256)``.

``first_raised_at`` is the build's time for every match: the first time a match was
raised lives in the warehouse, so ``release load`` keeps the earlier time of a match
the warehouse already holds (:func:`keep_first_raised`), as the DuckDB step keeps its
own. Held equal to the DuckDB step's table, row for row, by
``tests/test_spark_matches.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from pipelines.build.matches import MAX_CASES_PER_TOKEN, PAIRS_SELECT, _previous_raised

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


def _latest(value: str, at: str) -> str:
    """DuckDB's ``first(value ORDER BY at DESC, value)`` (NULLs last) in Spark."""
    micros = f"unix_micros({at}::TIMESTAMP)"
    return f"min_by({value}, struct({at} IS NULL, -{micros}, {value} IS NULL, {value}))"


#: ``_match_cases`` (the DuckDB step's ``_CASES_SQL`` in Spark's spelling); the parameter is the cap.
CASES_SELECT = f"""
WITH ids AS (
    SELECT
        i.source_id,
        coalesce(nullif(trim(r.case_number), ''), i.record_id) AS case_key,
        i.kind,
        i.token,
        coalesce(i.seen_at, r.occurred_at) AS seen_at,
        coalesce(nullif(trim(r.contact), ''), s.contact) AS contact,
        r.dest_region AS region,
        s.task_force
    FROM record_identifiers AS i
    LEFT JOIN records AS r USING (source_id, record_id)
    LEFT JOIN sources AS s USING (source_id)
    WHERE i.token IS NOT NULL
),
token_spread AS (
    SELECT kind, token,
           count(DISTINCT source_id) AS n_sources,
           count(DISTINCT struct(source_id, case_key)) AS n_cases
    FROM ids
    GROUP BY kind, token
    HAVING count(DISTINCT source_id) > 1
)
SELECT
    ids.source_id, ids.case_key, ids.kind, ids.token,
    max(ids.seen_at) AS seen_at,
    {_latest("ids.contact", "ids.seen_at")} AS contact,
    {_latest("ids.region", "ids.seen_at")} AS region,
    any_value(ids.task_force) AS task_force,
    any_value(t.n_cases) > ? AS too_common
FROM ids
JOIN token_spread AS t USING (kind, token)
GROUP BY ids.source_id, ids.case_key, ids.kind, ids.token
"""  # noqa: S608 (fixed text)

#: ``subject_matches`` from ``_match_pairs`` (the DuckDB step's ``_MATCHES_SQL`` in Spark's
#: spelling); the parameter is the build's time, stamped on every match.
MATCHES_SELECT = f"""
SELECT
    substr(sha2(concat_ws('|', source_a, case_a, source_b, case_b,
           array_join(transform(array_sort(collect_list(struct(kind, token))), x -> x.kind || ':' || x.token), ',')),
           256), 1, 20) AS match_id,
    source_a, source_b,
    case_a AS case_number_a, case_b AS case_number_b,
    {_latest("contact_a", "seen_a")} AS contact_a,
    {_latest("contact_b", "seen_b")} AS contact_b,
    any_value(task_force_a) AS task_force_a,
    any_value(task_force_b) AS task_force_b,
    {_latest("region_a", "seen_a")} AS region_a,
    {_latest("region_b", "seen_b")} AS region_b,
    array_sort(collect_set(kind)) AS identifier_kinds,
    count(*)::INTEGER AS tokens_matched,
    max(seen_a) AS last_seen_a,
    max(seen_b) AS last_seen_b,
    ?::TIMESTAMP_NTZ AS first_raised_at
FROM _match_pairs
GROUP BY source_a, case_a, source_b, case_b
"""  # noqa: S608 (fixed text)


def subject_matches(
    spark: SparkSession, *, max_cases_per_token: int = MAX_CASES_PER_TOKEN, now: datetime | None = None
) -> DataFrame:
    """``subject_matches`` over the registered lake (``spark_build.register_lake``).

    Registers ``_match_cases`` and ``_match_pairs``. ``now`` (UTC; default now) is
    every row's ``first_raised_at`` until ``release load`` keeps the earlier ones.
    """
    if max_cases_per_token < 2:
        raise ValueError(f"max_cases_per_token must be at least 2, not {max_cases_per_token!r}")
    raised_at = (now or datetime.now(UTC)).replace(tzinfo=None)
    spark.sql(CASES_SELECT, args=[max_cases_per_token]).createOrReplaceTempView("_match_cases")
    spark.sql(PAIRS_SELECT).createOrReplaceTempView("_match_pairs")
    return spark.sql(MATCHES_SELECT, args=[raised_at])


def remember_first_raised(con: duckdb.DuckDBPyConnection) -> None:
    """Before ``release load`` replaces ``subject_matches``: keep its ``first_raised_at`` (``_previous_raised``)."""
    _previous_raised(con)


def keep_first_raised(con: duckdb.DuckDBPyConnection) -> None:
    """After the load: a match the warehouse held before keeps the time it was first raised."""
    con.execute(
        "UPDATE subject_matches SET first_raised_at = p.first_raised_at FROM _previous_raised AS p "
        "WHERE p.match_id = subject_matches.match_id AND p.first_raised_at < subject_matches.first_raised_at"
    )
    con.execute("DROP TABLE IF EXISTS _previous_raised")
