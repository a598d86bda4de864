"""Benchmark: build ``moves`` and ``circuits`` from 1 M synthetic identifier sightings.

The issue's aim (22) is moves over 1 M tokens in a few seconds on the 2-core
reference machine. Run with ``python -m bench.bench_moves [--sightings N]``.

The synthetic sightings are drawn so that the work looks like a state's: records
at ZIP centroids (H3 res 8, so every level from county to res 6 has a place),
spread over 32 sources; each subject has about 5 records within four months of
each other (so most successive sightings are moves), each record its subject's
phone and, half the time, its e-mail too (so linking joins two identifiers per
subject); 1 % of subjects follow a planted four-county loop, so ``circuits``
has something to find.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from geo import grid, reference
from pipelines.build import moves as build_moves
from routes import warehouse

#: Sacramento, San Joaquin, Fresno, Kern: the planted loop.
LOOP = ("06067", "06077", "06019", "06029")

_RECORDS_SQL = """
INSERT INTO records (source_id, record_id, batch_id, occurred_at, dest_county_fips, dest_region,
                     dest_task_force, dest_cell, dest_res)
WITH draws AS (
    SELECT i, i // 5 AS subject, hash(i, ?) AS h, hash(i // 5, ?) AS hs FROM range(?) AS t(i)
),
placed AS (
    SELECT *,
        CASE WHEN hs % 100 = 0 THEN NULL ELSE (h % ?::UBIGINT)::INTEGER END AS zip_ix,
        list_extract(?, 1 + ((hs // 100 + i % 5) % 4)::INTEGER) AS loop_county
    FROM draws
)
SELECT 'src' || lpad((h // 7 % 32)::VARCHAR, 2, '0'), 'R' || i::VARCHAR, 'bench',
       TIMESTAMP '2016-01-01' + to_days((hs % 3700)::INTEGER)
           + CASE WHEN zip_ix IS NULL THEN to_days((i % 5 * 12)::INTEGER)
                  ELSE to_days((h // 11 % 120)::INTEGER) END
           + to_seconds((h // 13 % 86400)::BIGINT),
       coalesce(z.county_fips, c.county_fips), coalesce(z.region, c.region),
       coalesce(z.task_force, c.task_force), coalesce(z.cell, c.cell), 8
FROM placed
LEFT JOIN _zips AS z ON z.ix = placed.zip_ix
LEFT JOIN (SELECT DISTINCT ON (county_fips) * FROM _zips ORDER BY county_fips, ix) AS c
       ON c.county_fips = placed.loop_county
"""

_IDENTIFIERS_SQL = """
INSERT INTO record_identifiers
SELECT source_id, record_id, 'phone', sha256('phone' || (record_id[2:]::BIGINT // 5)::VARCHAR), NULL
FROM records
UNION ALL
SELECT source_id, record_id, 'email', sha256('email' || (record_id[2:]::BIGINT // 5)::VARCHAR), NULL
FROM records WHERE hash(record_id) % 2 = 0
"""


def _zip_cells() -> pd.DataFrame:
    zips = reference.load_zips().dropna(subset=["county_fips", "lat", "lng"]).reset_index(drop=True)
    dims = reference.county_dimensions().set_index("county_fips")
    return pd.DataFrame({
        "ix": range(len(zips)),
        "county_fips": zips["county_fips"],
        "region": zips["county_fips"].map(dims["region"]),
        "task_force": zips["county_fips"].map(dims["task_force"]),
        "cell": grid.latlngs_to_cells(zips["lat"].to_numpy(), zips["lng"].to_numpy(), 8),
    })


def _populate(con: duckdb.DuckDBPyConnection, *, sightings: int, seed: int) -> None:
    zips = _zip_cells()
    con.register("_zips_frame", zips)
    con.execute("CREATE TABLE _zips AS SELECT * FROM _zips_frame")
    con.unregister("_zips_frame")
    records = round(sightings / 1.5)  # 1.5 identifiers per record
    con.execute(_RECORDS_SQL, [seed, seed, records, len(zips), list(LOOP)])
    con.execute(_IDENTIFIERS_SQL)
    con.execute("DROP TABLE _zips")


def run(sightings: int = 1_000_000, *, seed: int = 7) -> dict:
    """Seconds :func:`pipelines.build.moves.build` takes on synthetic sightings, and what it built."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        con = duckdb.connect(str(path), config={"threads": 2})
        try:
            warehouse.ensure_schema(con)
            _populate(con, sightings=sightings, seed=seed)
            con.execute("CHECKPOINT")
            rows = con.execute("SELECT count(*) FROM record_identifiers").fetchone()
            started, cpu = time.perf_counter(), time.process_time()
            counts = build_moves.build(con)
            seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
            top = con.execute("SELECT shape, places, tokens FROM circuits ORDER BY rank LIMIT 1").fetchone()
        finally:
            con.close()
    result = {"sightings": int(rows[0]) if rows else 0, "seconds": seconds, "cpu_seconds": cpu_s,
              **counts, "top_circuit": top}
    print(
        f"moves + circuits: {result['sightings']:,} identifier sightings -> {counts['moves']:,} "
        f"moves rows, {counts['circuits']:,} circuits in {seconds:.2f} s (process CPU {cpu_s:.2f} s); "
        f"top circuit {top}"
    )
    return result


def main() -> None:
    """``python -m bench.bench_moves``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sightings", type=int, default=1_000_000)
    args = parser.parse_args()
    run(args.sightings)


if __name__ == "__main__":
    main()
