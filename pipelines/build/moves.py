"""Observed moves and circuits: where the same identifier turns up next.

Builds two tables from ``record_identifiers`` joined to ``records``. No column of
either holds a token, an identifier or anything naming one subject: a circuit is
kept only when at least :func:`routes.settings.circuit_min_tokens` distinct
subjects (linked identifiers, below) follow it. They are read through ``query/moves.py`` and released by ``pipelines/build/release_moves.py`` (see
``docs/ACCESS.md``).

Sightings
---------
An *identifier* is ``(kind, token)``; a token held by more than
``max_cases_per_token`` cases is a placeholder and is skipped, with the same rule
and cap as ``pipelines.build.matches``. A *subject* is a group of identifiers
linked through records: two identifiers on one record (a phone and an ad handle
typed on the same tip) are one subject, and so, transitively, are identifiers
joined by a chain of records (connected components, :func:`_link_identifiers`).
Counting linked identifiers once keeps a subject who left three identifiers from
counting as three, in ``tokens`` and in a circuit's minimum. Its *sightings* are
the records that carry any of its identifiers, each at the record's destination
place and at ``seen_at`` (else the record's ``occurred_at``; the earliest when
its identifiers differ), ordered by time (ties by source and record id).

``moves``: one row per level × month × origin × destination
-----------------------------------------------------------
A *move* is two successive sightings of one subject (among its sightings that
have a place at that level) in different places, at most
:func:`routes.settings.moves_window_days` apart. ``level`` is ``county``
(FIPS), ``region``, ``task_force``, ``res4``/``res5``/``res6`` (the H3 parent of
the destination cell, as a decimal string; only records geocoded at least that
finely). ``month`` is the month of the later sighting. ``moves`` counts moves,
``tokens`` distinct subjects (linked identifiers), ``sources`` distinct sources of either sighting,
``corroborated_share`` the share of moves whose two sightings come from two
different sources (agencies).

``circuits``: the recurring county sequences
--------------------------------------------
Each subject's county sightings are cut into *chains* wherever two successive
sightings are more than the window apart; consecutive sightings in one county
are one *visit*. Every run of successive visits through three or more distinct
counties is an occurrence of a *path*; a run that returns to its first county
after three or more distinct counties is a *loop* (stored in its rotation that
starts at the smallest FIPS, so subjects that join the loop at different
counties count together). A sequence is kept when at least ``min_tokens``
distinct subjects follow it; a sequence whose every follower also follows a
longer kept sequence that contains it (a sub-path of a loop, say) is dropped, so
the table lists each circuit once. Columns: ``rank`` (below), ``circuit_id``
(stable hash of shape and places), ``shape`` (``loop``/``path``), ``places``
(county FIPS in order; a loop ends where it began), ``n_places`` (distinct
counties), ``tokens`` (subjects following it), ``cross_source_tokens`` (those
whose sightings along it come from two or more sources), ``sources`` (distinct
sources of all its followers' sightings along it), ``median_dwell_days`` (per distinct county in order: days
from arriving there to arriving at the next county; for a path's last county, its
first to last sighting there).

``rank`` orders by ``cross_source_tokens``, then ``tokens``, then ``sources``, then
longer, loops before paths. Cross-agency support comes first because a circuit
that one agency sees whole is already in that agency's files: what only Routes
can show is the route no single agency sees, the issue's case. Ranked by
``tokens`` alone, the 1 M demo's top circuits were paths inside one task force's
counties, seen by that agency alone (``bench/RESULTS.md``, issue 22).
"""

from __future__ import annotations

import hashlib
import logging
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from geo.grid import sql_cell_to_parent
from pipelines.build import table_timer
from pipelines.build.matches import MAX_CASES_PER_TOKEN
from routes import settings
from routes.contract.sql import SQL, compose, ident, join, vocabulary_literal

log = logging.getLogger(__name__)

#: Tables this step owns (dropped and recreated on every build).
TABLES = ("moves", "circuits")

#: The levels of ``moves`` and the ``_sightings`` column holding each level's place.
MOVE_LEVELS = ("county", "region", "task_force", "res4", "res5", "res6")

#: The longest circuit searched for, in distinct counties (bounds the work per subject).
MAX_CIRCUIT_PLACES = 8

#: The kept identifiers (``node``) and their sightings' places; the parameter is the cap.
IDENTIFIERS_SELECT = compose("""
WITH ids AS (
    SELECT
        i.kind, i.token, i.source_id, i.record_id,
        coalesce(nullif(trim(r.case_number), ''), i.record_id) AS case_key,
        coalesce(i.seen_at, r.occurred_at) AS seen_at,
        r.dest_county_fips AS county,
        r.dest_region AS region,
        r.dest_task_force AS task_force,
        CASE WHEN r.dest_res >= 4 THEN {parent4}::VARCHAR END AS res4,
        CASE WHEN r.dest_res >= 5 THEN {parent5}::VARCHAR END AS res5,
        CASE WHEN r.dest_res >= 6 THEN {parent6}::VARCHAR END AS res6,
        r.record_id IS NOT NULL AS has_record
    FROM record_identifiers AS i
    LEFT JOIN records AS r USING (source_id, record_id)
    WHERE i.token IS NOT NULL
),
kept AS (
    SELECT kind, token, dense_rank() OVER (ORDER BY kind, token) AS node
    FROM ids
    GROUP BY kind, token
    HAVING count(DISTINCT (source_id, case_key)) <= ?
)
SELECT kept.node, ids.* EXCLUDE (kind, token, case_key, has_record)
FROM ids
JOIN kept USING (kind, token)
WHERE ids.has_record AND ids.seen_at IS NOT NULL
""", parent4=sql_cell_to_parent("r.dest_cell", 4), parent5=sql_cell_to_parent("r.dest_cell", 5),
    parent6=sql_cell_to_parent("r.dest_cell", 6))
_IDENTIFIERS_SQL = compose("CREATE OR REPLACE TEMP TABLE _move_ids AS {select}", select=IDENTIFIERS_SELECT)

#: One label per identifier: the smallest identifier it is linked to through records.
_LINK_START_SQL = """
CREATE OR REPLACE TEMP TABLE _move_edges AS
SELECT DISTINCT node, dense_rank() OVER (ORDER BY source_id, record_id) AS rec FROM _move_ids;
CREATE OR REPLACE TEMP TABLE _move_labels AS SELECT DISTINCT node, node AS label FROM _move_edges;
"""

#: One round of label propagation: each identifier takes the smallest label of its records.
LINK_STEP_SELECT = """
WITH rec AS (
    SELECT e.rec, min(l.label) AS label
    FROM _move_edges AS e JOIN _move_labels AS l USING (node)
    GROUP BY e.rec
)
SELECT e.node, min(rec.label) AS label
FROM _move_edges AS e JOIN rec USING (rec)
GROUP BY e.node
"""
_LINK_STEP_SQL = f"CREATE OR REPLACE TEMP TABLE _move_labels_next AS {LINK_STEP_SELECT}"

#: Each subject's sightings: one per record, at its earliest time.
SIGHTINGS_SELECT = """
SELECT
    l.label AS subject, i.source_id, i.record_id,
    min(i.seen_at) AS seen_at,
    any_value(county) AS county, any_value(region) AS region,
    any_value(task_force) AS task_force,
    any_value(res4) AS res4, any_value(res5) AS res5, any_value(res6) AS res6
FROM _move_ids AS i
JOIN _move_labels AS l USING (node)
GROUP BY l.label, i.source_id, i.record_id
"""
_SIGHTINGS_SQL = f"CREATE OR REPLACE TEMP TABLE _sightings AS {SIGHTINGS_SELECT}"


def _link_identifiers(con: duckdb.DuckDBPyConnection) -> int:
    """Label every kept identifier with its linked group; return the rounds taken.

    Two identifiers on one record belong to one subject (a phone and an ad handle
    typed on the same tip), and so, transitively, do all identifiers joined by a
    chain of records: connected components of the identifier-record graph, by
    propagating the smallest label until nothing changes.
    """
    con.execute(_LINK_START_SQL)
    rounds = 0
    while True:
        rounds += 1
        con.execute(_LINK_STEP_SQL)
        row = con.execute(
            "SELECT count(*) FROM _move_labels_next AS n JOIN _move_labels AS l USING (node) "
            "WHERE n.label <> l.label"
        ).fetchone()
        con.execute("DROP TABLE _move_labels")
        con.execute("ALTER TABLE _move_labels_next RENAME TO _move_labels")
        if not row or row[0] == 0:
            return rounds


def _level_moves_sql(level: str) -> SQL:
    """The moves of one level; ``level`` is one of :data:`MOVE_LEVELS` (trusted)."""
    if level not in MOVE_LEVELS:
        raise ValueError(f"unknown moves level {level!r}; use one of {MOVE_LEVELS}")
    return compose("""
    SELECT
        {name} AS level,
        date_trunc('month', seen_at)::DATE AS month,
        prev_place AS origin,
        place AS destination,
        count(*) AS moves,
        count(DISTINCT subject) AS tokens,
        list_distinct(flatten(list([prev_source, source_id]))) AS _sources,
        avg((prev_source <> source_id)::INTEGER)::DOUBLE AS corroborated_share
    FROM (
        SELECT
            subject, source_id, seen_at, place,
            lag(place) OVER w AS prev_place,
            lag(seen_at) OVER w AS prev_at,
            lag(source_id) OVER w AS prev_source
        FROM (
            SELECT subject, source_id, record_id, seen_at, {level} AS place
            FROM _sightings WHERE {level} IS NOT NULL
        )
        WINDOW w AS (PARTITION BY subject ORDER BY seen_at, source_id, record_id)
    )
    WHERE prev_place IS NOT NULL AND prev_place <> place
      AND seen_at - prev_at <= to_days(?)
    GROUP BY ALL
    """, name=vocabulary_literal(level, MOVE_LEVELS), level=ident(level))


def moves_select() -> SQL:
    """``moves`` from ``_sightings``: every level of :data:`MOVE_LEVELS`; one parameter (the window, days) per level."""
    union = join((_level_moves_sql(level) for level in MOVE_LEVELS), "\nUNION ALL\n")
    return compose("""
    SELECT level, month, origin, destination, moves, tokens,
           len(_sources) AS sources, corroborated_share
    FROM ({union})
    ORDER BY level, month, origin, destination
    """, union=union)


def _moves_sql() -> SQL:
    return compose("CREATE OR REPLACE TABLE moves AS {select}", select=moves_select())


@dataclass
class _Visit:
    """Consecutive sightings of one subject in one county."""

    county: str
    arrived: float  # days since 1970
    last: float
    sources: set[str] = field(default_factory=set)


@dataclass
class _Support:
    """Who follows one candidate sequence, and how long they stay at each place."""

    tokens: set[int] = field(default_factory=set)
    cross_source: set[int] = field(default_factory=set)  # followers seen by 2+ sources on it
    sources: set[str] = field(default_factory=set)
    dwell: list[list[float]] = field(default_factory=list)


def _days(later: float, earlier: float) -> float:
    return later - earlier


def _chains(rows: pd.DataFrame, window_days: int) -> list[tuple[int, list[_Visit]]]:
    """Cut each subject's ordered county sightings into chains of visits (one pass over arrays)."""
    subjects = rows["subject"].to_numpy()
    days = pd.to_datetime(rows["seen_at"]).to_numpy("datetime64[ms]").astype("int64") / 86_400_000.0
    chains: list[tuple[int, list[_Visit]]] = []
    visits: list[_Visit] = []
    for i, (county, source) in enumerate(zip(rows["county"].to_numpy(), rows["source_id"].to_numpy(),
                                             strict=True)):
        seen = float(days[i])
        if i and (subjects[i] != subjects[i - 1] or seen - float(days[i - 1]) > window_days):
            chains.append((int(subjects[i - 1]), visits))
            visits = []
        if visits and visits[-1].county == county:
            visits[-1].last = seen
            visits[-1].sources.add(source)
        else:
            visits.append(_Visit(county, seen, seen, {source}))
    if visits:
        chains.append((int(subjects[-1]), visits))
    return [(s, v) for s, v in chains if len(v) >= 3]


def _occurrences(visits: list[_Visit]) -> list[tuple[tuple[str, tuple[str, ...]], list[float], set[str]]]:
    """Every path and loop in one chain: ``((shape, places), dwell days, sources)``."""
    found = []
    for i in range(len(visits)):
        seen: list[str] = []
        for j in range(i, min(len(visits), i + MAX_CIRCUIT_PLACES + 1)):
            county = visits[j].county
            if county in seen:
                if county == seen[0] and len(seen) >= 3:
                    dwell = [_days(visits[k + 1].arrived, visits[k].arrived) for k in range(i, j)]
                    start = seen.index(min(seen))
                    cycle = tuple(seen[start:] + seen[:start])
                    dwell = dwell[start:] + dwell[:start]
                    sources = set().union(*(v.sources for v in visits[i : j + 1]))
                    found.append((("loop", cycle), dwell, sources))
                break
            seen.append(county)
            if len(seen) >= 3:
                dwell = [_days(visits[k + 1].arrived, visits[k].arrived) for k in range(i, j)]
                dwell.append(_days(visits[j].last, visits[j].arrived))
                sources = set().union(*(v.sources for v in visits[i : j + 1]))
                found.append((("path", tuple(seen)), dwell, sources))
    return found


def _sub_paths(shape: str, places: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """The shorter sequences contained in one (a loop contains its arcs)."""
    n = len(places)
    if shape == "loop":
        return [("path", tuple(places[(s + t) % n] for t in range(length)))
                for s in range(n) for length in range(3, n + 1)]
    return [("path", places[s : s + length])
            for length in range(3, n) for s in range(n - length + 1)]


def find_circuits(rows: pd.DataFrame, *, window_days: int, min_tokens: int) -> pd.DataFrame:
    """Mine the circuits of ``rows`` (``subject``, ``source_id``, ``seen_at``, ``county``, ordered).

    Frequent contiguous-sequence mining over each subject's own visits, so a
    circuit is a route that ``min_tokens`` subjects each took, never a chain of
    moves made by different subjects. Returns the ``circuits`` columns.
    """
    if min_tokens < 2:
        raise ValueError(f"min_tokens must be at least 2 (one would show a single subject's path), not {min_tokens!r}")
    support: dict[tuple[str, tuple[str, ...]], _Support] = defaultdict(_Support)
    for subject, visits in _chains(rows, window_days):
        for key, dwell, sources in _occurrences(visits):
            entry = support[key]
            entry.tokens.add(subject)
            if len(sources) >= 2:
                entry.cross_source.add(subject)
            entry.sources |= sources
            entry.dwell.append(dwell)
    kept = {key: entry for key, entry in support.items() if len(entry.tokens) >= min_tokens}
    covered = {sub for key, entry in kept.items() for sub in _sub_paths(*key)
               if sub in kept and kept[sub].tokens <= entry.tokens}
    out = []
    for (shape, places), entry in kept.items():
        if (shape, places) in covered:
            continue
        medians = [float(statistics.median(d[k] for d in entry.dwell)) for k in range(len(places))]
        listed = [*places, places[0]] if shape == "loop" else list(places)
        out.append({
            "circuit_id": hashlib.sha256(f"{shape}|{'>'.join(places)}".encode()).hexdigest()[:16],
            "shape": shape,
            "places": listed,
            "n_places": len(places),
            "tokens": len(entry.tokens),
            "cross_source_tokens": len(entry.cross_source),
            "sources": len(entry.sources),
            "median_dwell_days": medians,
        })
    frame = pd.DataFrame(out, columns=["circuit_id", "shape", "places", "n_places", "tokens",
                                       "cross_source_tokens", "sources", "median_dwell_days"])
    frame = frame.sort_values(
        ["cross_source_tokens", "tokens", "sources", "n_places", "shape", "circuit_id"],
        ascending=[False, False, False, False, True, True],  # "loop" < "path"
    ).reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


#: The county sightings :func:`find_circuits` mines: subjects seen in three counties or more, in order.
CIRCUIT_SIGHTINGS_SELECT = """
    SELECT subject, source_id, seen_at, county FROM _sightings
    WHERE county IS NOT NULL AND subject IN (
        SELECT subject FROM _sightings WHERE county IS NOT NULL
        GROUP BY subject HAVING count(DISTINCT county) >= 3)
    ORDER BY subject, seen_at, source_id, record_id
"""


def _write_circuits(con: duckdb.DuckDBPyConnection, window_days: int, min_tokens: int) -> int:
    rows = con.execute(CIRCUIT_SIGHTINGS_SELECT).df()
    frame = find_circuits(rows, window_days=window_days, min_tokens=min_tokens)
    con.execute(
        "CREATE OR REPLACE TABLE circuits (rank INTEGER, circuit_id VARCHAR, shape VARCHAR, "
        "places VARCHAR[], n_places INTEGER, tokens INTEGER, cross_source_tokens INTEGER, sources INTEGER, "
        "median_dwell_days DOUBLE[])"
    )
    if len(frame):
        con.register("_circuits_frame", frame)
        con.execute("INSERT INTO circuits SELECT * FROM _circuits_frame ORDER BY rank")
        con.unregister("_circuits_frame")
    return len(frame)


def build(
    con: duckdb.DuckDBPyConnection,
    *,
    max_cases_per_token: int = MAX_CASES_PER_TOKEN,
    window_days: int | None = None,
    min_tokens: int | None = None,
) -> dict[str, int]:
    """Rebuild ``moves`` and ``circuits`` (idempotent).

    ``window_days`` and ``min_tokens`` default to :func:`routes.settings.moves_window_days`
    and :func:`routes.settings.circuit_min_tokens`; ``max_cases_per_token`` to the
    cap of ``pipelines.build.matches``.
    """
    window = settings.moves_window_days() if window_days is None else window_days
    k = settings.circuit_min_tokens() if min_tokens is None else min_tokens
    if window < 1:
        raise ValueError(f"window_days must be at least 1, not {window!r}")
    with table_timer("move_sightings"):  # temp: identifiers linked into subjects
        con.execute(_IDENTIFIERS_SQL, [max_cases_per_token])
        rounds = _link_identifiers(con)
        con.execute(_SIGHTINGS_SQL)
        for table in ("_move_ids", "_move_edges", "_move_labels"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    with table_timer("moves"):
        con.execute(_moves_sql(), [window] * len(MOVE_LEVELS))
    with table_timer("circuits"):
        circuits = _write_circuits(con, window, k)
    con.execute("DROP TABLE IF EXISTS _sightings")
    row = con.execute("SELECT count(*) FROM moves").fetchone()
    moves = int(row[0]) if row else 0
    log.info("Built moves (%d rows) and circuits (%d); identifiers linked in %d rounds",
             moves, circuits, rounds)
    return {"moves": moves, "circuits": circuits}
