"""Benchmark: build ``subject_matches`` from 1 M identifier tokens of 32 sources.

The budget (issue 9) is at most 10 s on the 2-core reference machine. Run with
``python -m bench.bench_matches [--tokens N] [--sources S]``.

The synthetic identifiers are drawn so that the work looks like a state's:
about 40 % of identifier rows carry a token some other source also holds (2 to
4 sources each), the rest are private to one source; records hold 1 to 3
identifiers and cases 1 to 4 records.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.build import matches as build_matches
from routes import warehouse

_SETUP_SQL = """
CREATE TABLE record_identifiers AS
WITH rows AS (
    SELECT i,
           hash(i, ?) AS h,
           (hash(i, ?, 'src') % ?::UBIGINT)::INTEGER AS src
    FROM range(?) AS t(i)
)
SELECT
    'src' || lpad(src::VARCHAR, 2, '0') AS source_id,
    'R' || (i // 2)::VARCHAR AS record_id,
    ['phone', 'email', 'vehicle_plate', 'ad_handle', 'subject'][1 + (h % 5)::INTEGER] AS kind,
    -- shared pool: few distinct values drawn by several sources; private: unique
    CASE WHEN h % 10 < 4 THEN sha256('shared' || (h // 10 % (? // 6))::VARCHAR)
         ELSE sha256('own' || i::VARCHAR) END AS token,
    TIMESTAMP '2024-01-01' + to_days((h % 700)::INTEGER) AS seen_at
FROM rows
"""


def _populate(con: duckdb.DuckDBPyConnection, *, tokens: int, sources: int, seed: int) -> None:
    con.execute(
        "INSERT INTO sources SELECT 'src' || lpad(i::VARCHAR, 2, '0'), 'Source ' || i, "
        "'law_enforcement', 'tf' || (i % 8), 'contact ' || i, NULL FROM range(?) t(i)",
        [sources],
    )
    con.execute("DROP TABLE record_identifiers")
    con.execute(_SETUP_SQL, [seed, seed, sources, tokens, tokens])
    con.execute(
        "INSERT INTO records (source_id, record_id, batch_id, case_number, contact, "
        "dest_region, occurred_at) "
        "SELECT DISTINCT source_id, record_id, 'bench', 'C-' || (hash(record_id) % 300000), "
        "NULL, 'Region ' || (hash(record_id) % 6), NULL FROM record_identifiers"
    )


def run(tokens: int = 1_000_000, sources: int = 32, *, seed: int = 7) -> float:
    """Seconds :func:`pipelines.build.matches.build` takes on synthetic identifiers.

    Parameters
    ----------
    tokens
        Identifier rows in ``record_identifiers``.
    sources
        Sources the rows are spread over.
    seed
        Seed of the synthetic data.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        con = duckdb.connect(str(path), config={"threads": 2})
        try:
            warehouse.ensure_schema(con)
            _populate(con, tokens=tokens, sources=sources, seed=seed)
            con.execute("CHECKPOINT")
            started = time.perf_counter()
            counts = build_matches.build(con)
            seconds = time.perf_counter() - started
        finally:
            con.close()
    print(
        f"subject_matches: {tokens:,} tokens from {sources} sources -> "
        f"{counts['subject_matches']:,} matches ({counts['shared_tokens']:,} shared tokens) "
        f"in {seconds:.2f} s"
    )
    return seconds


def main() -> None:
    """``python -m bench.bench_matches``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=32)
    args = parser.parse_args()
    run(args.tokens, args.sources)


if __name__ == "__main__":
    main()
