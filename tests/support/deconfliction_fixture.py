"""Hand-made identifier rows for the deconfliction tests (build, query, CLI, page).

Tokens come from the real tokeniser (``pipelines.ingest.tokens``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.ingest import tokens
from routes import warehouse


def tokenise(kind: str, raw: str) -> str:
    """The token of identifier ``raw`` of ``kind``, as ingest makes it."""
    token = tokens.tokenise(kind, raw)
    assert token is not None, (kind, raw)
    return token


SOURCES = [
    ("lapd", "LA PD", "law_enforcement", "la", "Det. A"),
    ("sdso", "SD Sheriff", "law_enforcement", "san_diego", "Sgt. B"),
    ("hotline", "Hotline", "hotline", "sacramento", "desk"),
]

# (source, record, case_number, contact, kind, raw identifier, seen_at)
IDENTIFIERS = [
    ("lapd", "L1", "LA-100", "Det. A <a@la>", "phone", "(916) 555-0142", "2025-03-01"),
    ("sdso", "S1", "SD-7", "Sgt. B <b@sd>", "phone", "+1 916 555 0142", "2025-04-02"),
    ("lapd", "L1", "LA-100", "Det. A <a@la>", "vehicle_plate", "7ABC123", "2025-03-01"),
    ("sdso", "S2", "SD-7", "Sgt. C <c@sd>", "vehicle_plate", "7abc 123", "2025-05-09"),
    # within one source only: not a match
    ("hotline", "H1", None, None, "email", "x@example.org", "2025-01-01"),
    ("hotline", "H2", None, None, "email", "X@Example.org", "2025-01-02"),
    # hotline shares a handle with LAPD on another case
    ("hotline", "H3", None, None, "ad_handle", "@sunny_day", "2025-02-01"),
    ("lapd", "L9", "LA-200", None, "ad_handle", "Sunny_Day", "2025-02-03"),
    # unrelated
    ("lapd", "L5", "LA-300", None, "phone", "(415) 555-0199", "2025-01-01"),
]


def write_identifiers(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    con.executemany(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING", SOURCES
    )
    frame = pd.DataFrame(
        rows, columns=["source_id", "record_id", "case_number", "contact", "kind", "raw", "seen_at"]
    )
    frame["token"] = [tokenise(k, r) for k, r in zip(frame["kind"], frame["raw"], strict=True)]
    frame["seen_at"] = pd.to_datetime(frame["seen_at"])
    records = frame.drop_duplicates(["source_id", "record_id"]).assign(
        batch_id="b", dest_region="Region I", occurred_at=frame["seen_at"]
    )
    con.register("recs", records[["source_id", "record_id", "batch_id", "case_number",
                                  "contact", "dest_region", "occurred_at"]])
    con.execute("INSERT INTO records BY NAME SELECT * FROM recs")
    con.register("ids", frame[["source_id", "record_id", "kind", "token", "seen_at"]])
    con.execute("INSERT INTO record_identifiers BY NAME SELECT * FROM ids")
    con.unregister("recs")
    con.unregister("ids")


def build_warehouse(rows: list[tuple] | None = None) -> dict[str, int]:
    """Write ``rows`` (default :data:`IDENTIFIERS`) into the live warehouse and build matches."""
    from pipelines.build import matches as build_matches

    with warehouse.write_snapshot() as con:
        write_identifiers(con, IDENTIFIERS if rows is None else rows)
        return build_matches.build(con)
