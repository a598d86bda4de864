"""The merge, in SQL: staged rows into ``records``, ``record_identifiers``, ``record_history`` and ``quarantine``.

A batch's rows are staged (``stage.rows``, :data:`pipelines.ingest.prepare.STAGE_SCHEMA`)
and merged against what is stored: each valid row is ``loaded``, ``updated`` (the
previous version goes to ``record_history``) or a ``duplicate``; each invalid row is
quarantined with its reasons. :func:`tune_for_batch` sets the connection's DuckDB
settings for one batch.
"""


from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

#: Seconds spent per stage since the process started (read by ``bench/bench_ingest.py``).
from pipelines.ingest.prepare import _TOKEN_COLUMNS, IDENTIFIER_KINDS, STAGE_SCHEMA
from pipelines.ingest.sources import Source
from pipelines.ingest.timing import StageSeconds
from routes import warehouse

_RECORD_COLUMNS = [
    "record_type", "occurred_at", "reported_at", "month", "trafficking_type", "victim_count",
    "minor_involved", "indicators", "case_number", "contact",
    *[f.name for f in STAGE_SCHEMA if f.name.startswith(("dest_", "origin_"))],
]



#: What a record's content hash covers: every contract value and identifier token.
_HASHED = [
    "record_type", "occurred_at", "reported_at", "trafficking_type", "victim_count",
    "minor_involved", "list_sort(indicators)", "case_number", "contact", "_loc_key",
    *_TOKEN_COLUMNS,
]


_CONTENT_HASH_SQL = "md5(concat_ws(chr(31), {}))".format(
    ", ".join(f"coalesce(CAST({c} AS VARCHAR), chr(0))" for c in _HASHED)
)




def _seen(con: duckdb.DuckDBPyConnection, source_id: str, digest: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM batches WHERE source_id = ? AND file_sha256 = ?", [source_id, digest]
    ).fetchone()
    return bool(row and row[0])




@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")




def _set_data_as_of(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT max(occurred_at) FROM records").fetchone()
    if row and row[0] is not None:
        warehouse.set_meta(con, "data_as_of", row[0].date().isoformat())




def _scalar(row: tuple[Any, ...] | None) -> Any:
    """The single value of a one-row, one-column result."""
    assert row is not None  # an aggregate always returns one row
    return row[0]




def tune_for_batch(con: duckdb.DuckDBPyConnection, *, big: bool) -> None:
    """DuckDB's settings for one batch: a big file streams and spills to disk rather than grow."""
    con.execute("SET preserve_insertion_order = false")
    if big:  # stream: DuckDB spills to disk rather than grow
        con.execute("SET memory_limit = '512MB'")
    else:
        con.execute("SET memory_limit = '1GB'")
        con.execute("SET checkpoint_threshold = '16GB'")  # one checkpoint, when the snapshot closes


def _stage(con: duckdb.DuckDBPyConnection, tables: Iterable[pa.Table], seconds: StageSeconds) -> int:
    con.execute(_stage_ddl())
    rows = 0
    for table in tables:
        with seconds.timed("stage"):
            con.register("_chunk", table)
            con.execute("INSERT INTO stage.rows SELECT * FROM _chunk")
            con.unregister("_chunk")
        rows += table.num_rows
    return rows




def _stage_ddl() -> str:
    types = {
        pa.int64(): "BIGINT", pa.string(): "VARCHAR", pa.timestamp("us"): "TIMESTAMP",
        pa.date32(): "DATE", pa.int32(): "INTEGER", pa.bool_(): "BOOLEAN",
        pa.list_(pa.string()): "VARCHAR[]", pa.float64(): "DOUBLE", pa.int8(): "TINYINT",
    }
    cols = ", ".join(f'"{f.name}" {types[f.type]}' for f in STAGE_SCHEMA)
    return f"CREATE TABLE stage.rows ({cols})"




# -- the merge (SQL) --------------------------------------------------------------------

_IDENTIFIERS_SQL = "[t FOR t IN [{}] IF t.token IS NOT NULL]".format(
    ", ".join(f"{{'kind': '{k}', 'token': tok_{k}}}" for k in IDENTIFIER_KINDS)
)



#: One row per valid staged row: its status against what is stored and the rows
#: before it (narrow: the values stay in ``stage.rows``, joined on ``_row``).
_MERGE_VERSIONS = f"""
CREATE TEMP TABLE _versions AS
WITH valid AS (
    SELECT _row, record_id, {_CONTENT_HASH_SQL} AS content_hash
    FROM stage.rows WHERE len(_reasons) = 0
), ordered AS (
    SELECT v.*,
           lag(content_hash) OVER w AS prev_in_batch,
           lag(_row) OVER w AS prev_row,
           row_number() OVER (PARTITION BY record_id ORDER BY _row DESC) = 1 AS is_last
    FROM valid v
    WINDOW w AS (PARTITION BY record_id ORDER BY _row)
), unique_ids AS (  -- the usual case, without the windows: each record id once
    SELECT v.*, NULL::VARCHAR AS prev_in_batch, NULL::BIGINT AS prev_row, TRUE AS is_last
    FROM valid v
)
SELECT o.*,
       r.content_hash AS stored_hash,
       CASE WHEN coalesce(o.prev_in_batch, r.content_hash) IS NULL THEN 'loaded'
            WHEN coalesce(o.prev_in_batch, r.content_hash) = o.content_hash THEN 'duplicate'
            ELSE 'updated' END AS status
FROM {{rows}} o
LEFT JOIN records r ON r.source_id = ? AND r.record_id = o.record_id
"""  # noqa: S608 (built from constants only)



_RECORD_SELECT = """
SELECT ? AS source_id, v.record_id, ? AS batch_id, ? AS source_kind, ? AS source_task_force,
       {columns}, v.content_hash, ? AS validated_at, ? AS updated_at
FROM _versions v JOIN stage.rows s ON s._row = v._row
"""



_HISTORY_FROM_STORED = """
INSERT INTO record_history
SELECT r.source_id, r.record_id, ?, ?,
       CAST(to_json(struct_pack(record := r, identifiers := i.identifiers)) AS VARCHAR)
FROM _versions v
JOIN records r ON r.source_id = ? AND r.record_id = v.record_id
LEFT JOIN (
    SELECT record_id, list(struct_pack(kind := kind, token := token) ORDER BY kind, token) AS identifiers
    FROM record_identifiers
    WHERE source_id = ? AND record_id IN (
        SELECT record_id FROM _versions WHERE status = 'updated' AND prev_in_batch IS NULL)
    GROUP BY record_id
) i ON i.record_id = v.record_id
WHERE v.status = 'updated' AND v.prev_in_batch IS NULL
"""



_HISTORY_IN_BATCH = """
INSERT INTO record_history
SELECT ?, v.record_id, ?, ?,
       CAST(to_json(struct_pack(
           record := p, identifiers := list_sort(p.identifiers)
       )) AS VARCHAR)
FROM _versions v
JOIN (SELECT s.* EXCLUDE (_reasons, _loc_key, _qrow, tok_phone, tok_email, tok_vehicle_plate,
                          tok_ad_handle, tok_subject),
             v.content_hash, {identifiers} AS identifiers
      FROM _versions v JOIN stage.rows s ON s._row = v._row) p
  ON p.record_id = v.record_id AND p._row = v.prev_row
WHERE v.status = 'updated' AND v.prev_in_batch IS NOT NULL
""".replace("{identifiers}", _IDENTIFIERS_SQL)




_IDENTIFIER_SELECT = "SELECT ?, record_id, '{kind}', tok_{kind}, seen_at FROM c WHERE tok_{kind} IS NOT NULL"


_CHANGED_TOKENS = (  # noqa: S608 (built from constants only)
    "SELECT v.record_id, " + ", ".join(f"s.{c}" for c in _TOKEN_COLUMNS)
    + ", coalesce(s.occurred_at, s.reported_at, ?) AS seen_at "
    "FROM _versions v JOIN stage.rows s ON s._row = v._row WHERE {changed}"
)


_IDENTIFIERS_INSERT = f"INSERT INTO record_identifiers WITH c AS ({_CHANGED_TOKENS}) " + " UNION ALL ".join(
    _IDENTIFIER_SELECT.format(kind=kind) for kind in IDENTIFIER_KINDS
)



_STATUS_COUNTS = """
SELECT count(*) FILTER (WHERE status = 'loaded'),
       count(*) FILTER (WHERE status = 'updated'),
       count(*) FILTER (WHERE status = 'duplicate'),
       count(*) FILTER (WHERE status = 'updated' AND prev_in_batch IS NULL),
       count(*) FILTER (WHERE status = 'updated' AND prev_in_batch IS NOT NULL),
       count(*) FILTER (WHERE is_last AND stored_hash IS NOT NULL AND stored_hash <> content_hash)
FROM _versions
"""




def _merge(
    con: duckdb.DuckDBPyConnection, *, source: Source, batch_id: str, now: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    sid = source.source_id
    con.execute(
        "INSERT INTO quarantine SELECT ?, ?, _row, _reasons, _qrow, ? FROM stage.rows "
        "WHERE len(_reasons) > 0",
        [sid, batch_id, now],
    )
    repeated = _scalar(con.execute(
        "SELECT count(*) - count(DISTINCT record_id) FROM stage.rows WHERE len(_reasons) = 0"
    ).fetchone())
    con.execute(_MERGE_VERSIONS.format(rows="ordered" if repeated else "unique_ids"), [sid])
    changed = "is_last AND (stored_hash IS NULL OR stored_hash <> content_hash)"
    status = con.execute(_STATUS_COUNTS).fetchone()
    assert status is not None  # an aggregate always returns one row
    loaded, updated, duplicates, from_stored, in_batch, replaced = status
    if from_stored:
        con.execute(_HISTORY_FROM_STORED, [batch_id, now, sid, sid])
    if in_batch:
        con.execute(_HISTORY_IN_BATCH, [sid, batch_id, now])
    if replaced:
        for table in ("records", "record_identifiers"):
            con.execute(
                f"DELETE FROM {table} WHERE source_id = ? AND record_id IN "  # noqa: S608
                f"(SELECT record_id FROM _versions WHERE {changed} AND stored_hash IS NOT NULL)",
                [sid],
            )
    select = _RECORD_SELECT.format(columns=", ".join(f"s.{c}" for c in _RECORD_COLUMNS))
    con.execute(
        f"INSERT INTO records BY NAME {select} WHERE {changed}",
        [sid, batch_id, source.kind, source.task_force, now, now],
    )
    con.execute(_IDENTIFIERS_INSERT.format(changed=changed), [now] + [sid] * len(IDENTIFIER_KINDS))
    reasons = dict(
        con.execute(
            "SELECT _reasons[1], count(*) FROM stage.rows WHERE len(_reasons) > 0 GROUP BY 1"
        ).fetchall()
    )
    con.execute("DROP TABLE _versions")
    counts = {
        "loaded": int(loaded), "updated": int(updated), "duplicates": int(duplicates),
        "quarantined": int(sum(reasons.values())),
    }
    return counts, {str(k): int(v) for k, v in reasons.items()}
