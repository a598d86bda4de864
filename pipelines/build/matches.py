"""Subject deconfliction: which cases of different sources share an identifier.

Builds one table, ``subject_matches``, from ``record_identifiers`` in a single
vectorised DuckDB statement (a self-join on ``token`` grouped by case pair).

Grain and rules
---------------
A *case* is ``(source_id, case_number)``; a record without a case number is its
own case (its ``record_id`` stands in). One row is one pair of cases from two
**different** sources that share at least one identifier token (same ``kind`` and
``token``). Identifiers repeated within one source never raise a match. Because
tokens are keyed HMACs of *normalised* identifiers, the same phone typed
``(916) 555-0142`` and ``+1 916 555 0142`` gives the same token and matches.

A token held by more than ``max_cases_per_token`` cases (all sources together) is
treated as a placeholder (a switchboard number, ``unknown@example.org``) and
skipped; the count skipped is returned so the build report shows it.

Columns of ``subject_matches``
------------------------------
``match_id``
    First 20 hex digits of SHA-256 over both case keys and the sorted set of
    matched tokens: a rebuild on the same data keeps the id; a pair that gains a
    new shared identifier gets a new id (it is raised again, as new evidence).
``source_a``, ``source_b``
    The two sources, ``source_a < source_b``.
``case_number_a``, ``case_number_b``
    Each side's case number (the record id where the source gave none).
``contact_a``, ``contact_b``
    Each side's point of contact: the latest matching record's ``contact``,
    else the source's.
``task_force_a``, ``task_force_b``, ``region_a``, ``region_b``
    Each side's task force (from ``sources``) and the Cal OES region of its
    latest matching record (for counts by region).
``identifier_kinds``
    Sorted list of the identifier kinds that matched (``phone``, ``subject`` …).
``tokens_matched``
    How many distinct identifiers the two cases share.
``last_seen_a``, ``last_seen_b``
    When each side last saw a shared identifier (``seen_at``, else the record's
    ``occurred_at``).
``first_raised_at``
    When a build first raised this ``match_id`` (kept across rebuilds).

No column holds a token or an identifier; readers go through
``query/matches.py``, which applies the role rules.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import duckdb

log = logging.getLogger(__name__)

#: Tables this step owns (dropped and recreated on every build).
TABLES = ("subject_matches",)

#: A token shared by more cases than this is a placeholder, not a subject.
MAX_CASES_PER_TOKEN = 50

_CASES_SQL = """
CREATE OR REPLACE TEMP TABLE _match_cases AS
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
           count(DISTINCT (source_id, case_key)) AS n_cases
    FROM ids
    GROUP BY kind, token
    HAVING count(DISTINCT source_id) > 1
)
SELECT
    ids.source_id, ids.case_key, ids.kind, ids.token,
    max(ids.seen_at) AS seen_at,
    first(ids.contact ORDER BY ids.seen_at DESC, ids.contact) AS contact,
    first(ids.region ORDER BY ids.seen_at DESC, ids.region) AS region,
    any_value(ids.task_force) AS task_force,
    any_value(t.n_cases) > ? AS too_common
FROM ids
JOIN token_spread AS t USING (kind, token)
GROUP BY ids.source_id, ids.case_key, ids.kind, ids.token
"""

#: Pairs of cases of two sources sharing an identifier that is not a placeholder.
PAIRS_SELECT = """
SELECT
    a.source_id AS source_a, a.case_key AS case_a,
    b.source_id AS source_b, b.case_key AS case_b,
    a.kind, a.token,
    a.seen_at AS seen_a, b.seen_at AS seen_b,
    a.contact AS contact_a, b.contact AS contact_b,
    a.region AS region_a, b.region AS region_b,
    a.task_force AS task_force_a, b.task_force AS task_force_b
FROM _match_cases AS a
JOIN _match_cases AS b
  ON a.token = b.token AND a.kind = b.kind AND a.source_id < b.source_id
WHERE NOT a.too_common
"""
_PAIRS_SQL = f"CREATE OR REPLACE TEMP TABLE _match_pairs AS {PAIRS_SELECT}"

_MATCHES_SQL = """
CREATE OR REPLACE TABLE subject_matches_next AS
WITH grouped AS (
    SELECT
        substr(sha256(concat_ws('|', source_a, case_a, source_b, case_b,
               string_agg(kind || ':' || token, ',' ORDER BY kind, token))), 1, 20) AS match_id,
        source_a, source_b,
        case_a AS case_number_a, case_b AS case_number_b,
        first(contact_a ORDER BY seen_a DESC, contact_a) AS contact_a,
        first(contact_b ORDER BY seen_b DESC, contact_b) AS contact_b,
        any_value(task_force_a) AS task_force_a,
        any_value(task_force_b) AS task_force_b,
        first(region_a ORDER BY seen_a DESC, region_a) AS region_a,
        first(region_b ORDER BY seen_b DESC, region_b) AS region_b,
        list_sort(list(DISTINCT kind)) AS identifier_kinds,
        count(*)::INTEGER AS tokens_matched,
        max(seen_a) AS last_seen_a,
        max(seen_b) AS last_seen_b
    FROM _match_pairs
    GROUP BY source_a, case_a, source_b, case_b
)
SELECT g.*, coalesce(p.first_raised_at, ?::TIMESTAMP) AS first_raised_at
FROM grouped AS g
LEFT JOIN _previous_raised AS p USING (match_id)
ORDER BY g.source_a, g.source_b, g.case_number_a, g.case_number_b
"""


def _previous_raised(con: duckdb.DuckDBPyConnection) -> None:
    """Keep ``first_raised_at`` of the last build's matches in a temp table."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'subject_matches' "
        "AND NOT temporary"
    ).fetchone()
    if exists and exists[0]:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _previous_raised AS "
            "SELECT match_id, min(first_raised_at) AS first_raised_at "
            "FROM subject_matches GROUP BY match_id"
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _previous_raised "
            "(match_id VARCHAR, first_raised_at TIMESTAMP)"
        )


def build(
    con: duckdb.DuckDBPyConnection,
    *,
    max_cases_per_token: int = MAX_CASES_PER_TOKEN,
    now: datetime | None = None,
) -> dict[str, int]:
    """Rebuild ``subject_matches`` from ``record_identifiers`` (idempotent).

    Parameters
    ----------
    con
        A read-write connection (inside :func:`routes.warehouse.write_snapshot`).
    max_cases_per_token
        Tokens held by more cases than this are skipped as placeholders.
    now
        The time stamped on newly raised matches (UTC); defaults to now.

    Returns
    -------
    dict
        ``subject_matches`` (rows), ``new_matches`` (raised by this build),
        ``shared_tokens`` and ``common_tokens_skipped``.
    """
    if max_cases_per_token < 2:
        raise ValueError(
            f"max_cases_per_token must be at least 2, not {max_cases_per_token!r}"
        )
    raised_at = (now or datetime.now(UTC)).replace(tzinfo=None)
    _previous_raised(con)
    con.execute(_CASES_SQL, [max_cases_per_token])
    con.execute(_PAIRS_SQL)
    con.execute(_MATCHES_SQL, [raised_at])
    con.execute("DROP TABLE IF EXISTS subject_matches")
    con.execute("ALTER TABLE subject_matches_next RENAME TO subject_matches")
    rows, new = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE first_raised_at = ?) FROM subject_matches",
        [raised_at],
    ).fetchone() or (0, 0)
    shared, skipped = con.execute(
        "SELECT count(DISTINCT (kind, token)), "
        "count(DISTINCT (kind, token)) FILTER (WHERE too_common) FROM _match_cases"
    ).fetchone() or (0, 0)
    for temp in ("_match_pairs", "_match_cases", "_previous_raised"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    if skipped:
        log.warning(
            "Skipped %d identifiers shared by more than %d cases (placeholders?)",
            skipped, max_cases_per_token,
        )
    log.info("Built subject_matches: %d matches, %d new", rows, new)
    return {
        "subject_matches": int(rows),
        "new_matches": int(new),
        "shared_tokens": int(shared),
        "common_tokens_skipped": int(skipped),
    }
