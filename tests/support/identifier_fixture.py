"""Identifiers planted on a small warehouse's records: matches across sources, moves, circuits, a placeholder."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from routes import warehouse

#: Subjects planted on one county loop and on one county path (the default circuit minimum is 5).
LOOP_SUBJECTS = 6
PATH_SUBJECTS = 5


def add_identifiers(path: Path, *, seed: int = 3, subjects: int = 120) -> pd.DataFrame:
    """Write ``record_identifiers`` for the records of the warehouse at ``path``; return them.

    - ``subjects`` wandering subjects, each sighted on 2-7 random records (any source)
      5-40 days apart, a third of them also leaving an email on two of those records
      (two identifiers linked through a record, matched as two kinds) and a few
      sightings without ``seen_at`` (the record's date stands in);
    - :data:`LOOP_SUBJECTS` following one loop of three counties and
      :data:`PATH_SUBJECTS` one path of three other counties, 10 days per county,
      on records the wandering subjects do not touch (a shared record would link
      them into one subject and break the circuit);
    - one source's records grouped into 150 cases of several records each, with
      differing contacts (some missing), so a case's latest contact and region matter;
    - a placeholder phone on 60 records (more cases than the cap of 50) and an
      identifier whose record is not in ``records``.
    """
    rng = np.random.default_rng(seed)
    with warehouse.write_snapshot(path=path) as con:  # cases of several records, contacts that differ within one
        con.execute("""
            UPDATE records SET case_number = 'K-' || (hash(record_id) % 150),
                contact = CASE WHEN hash(record_id) % 3 = 0 THEN NULL ELSE 'desk ' || (hash(record_id) % 7) END
            WHERE source_id = 'lapd'""")
    with warehouse.open_snapshot(path=path) as con:
        records = con.execute(
            "SELECT source_id, record_id, dest_county_fips FROM records ORDER BY source_id, record_id"
        ).df()
    rows: list[tuple[str, str, str, str, datetime | None]] = []
    start = datetime(2024, 1, 1)

    def sight(record: pd.Series, kind: str, token: str, at: datetime | None) -> None:
        rows.append((record["source_id"], record["record_id"], kind, token, at))

    order = rng.permutation(len(records))
    wander, planted = records.iloc[order[: len(records) * 2 // 3]], records.iloc[order[len(records) * 2 // 3 :]]
    for s in range(subjects):
        picked = wander.iloc[rng.choice(len(wander), size=int(rng.integers(2, 8)), replace=False)]
        at = start + timedelta(days=int(rng.integers(0, 600)))
        for i, (_, record) in enumerate(picked.iterrows()):
            sight(record, "phone", f"phone-{s}", None if rng.random() < 0.05 else at)
            if i in (1, 2) and s % 3 == 0:
                sight(record, "email", f"email-{s}", at)
            at += timedelta(days=int(rng.integers(5, 41)))
    by_county = planted.dropna(subset=["dest_county_fips"]).groupby("dest_county_fips")
    busiest = by_county.size().sort_values(ascending=False).index.tolist()
    for route, n, tag in ((busiest[0:3] + busiest[0:1], LOOP_SUBJECTS, "loop"), (busiest[3:6], PATH_SUBJECTS, "path")):
        for s in range(n):
            at = start + timedelta(days=30 * s)
            for county in route:
                group = by_county.get_group(county)
                sight(group.iloc[int(rng.integers(len(group)))], "ad_handle", f"{tag}-{s}", at)
                at += timedelta(days=10)
    for _, record in records.iloc[rng.choice(len(records), size=60, replace=False)].iterrows():
        sight(record, "phone", "switchboard", start)
    rows.append(("hotline", "NOT-A-RECORD", "phone", "phone-0", start))
    frame = pd.DataFrame(rows, columns=["source_id", "record_id", "kind", "token", "seen_at"])
    with warehouse.write_snapshot(path=path) as con:
        con.register("ids", frame)
        con.execute("INSERT INTO record_identifiers BY NAME SELECT * FROM ids")
        con.unregister("ids")
    return frame
