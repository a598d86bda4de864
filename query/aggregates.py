"""Where a filtered count reads from: the trend pre-aggregates, or ``records``.

``pipelines/build/trend_aggregates.py`` builds ``trend_counts`` (every record,
grouped by every filter dimension but indicators) and ``trend_indicator_counts``
(the same with an ``indicator_mask``). Reading them gives exactly the counts a
``count(*)`` over ``records`` gives under the same :class:`~query.filters.Filters`
(destination side), at a fraction of the cost. :func:`count_source` picks the
table and says how to count:

- ``records`` when the tables are missing, when they are older than ``records``
  (an ingest or a retention delete after the last build: the fingerprint of
  ``trend_build_state`` no longer matches), for origin-side filters, and for an
  indicator the mask has no bit for;
- else ``trend_indicator_counts`` when a filter names indicators, else
  ``trend_counts``.

So a stale or partial build never changes a result: it only makes it slower.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import duckdb

from query.filters import Filters
from routes.contract.sql import SQL, compose, ident
from routes.contract.tables import FINGERPRINT_SQL

#: The pre-aggregate without indicators and the one with the indicator mask.
TREND_TABLE = "trend_counts"
MASKED_TABLE = "trend_indicator_counts"
BITS_TABLE = "trend_indicator_bits"
STATE_TABLE = "trend_build_state"
PRECISION_TABLE = "source_precision_counts"
_ALL_TABLES = (TREND_TABLE, MASKED_TABLE, BITS_TABLE, STATE_TABLE, PRECISION_TABLE)

@dataclass(frozen=True)
class CountSource:
    """A table to count from, and the SQL aggregates that count there.

    ``records``, ``victims`` and ``minors`` are aggregate expressions that give,
    per group, what ``count(*)``, ``sum(victim_count)`` and
    ``count(*) FILTER (WHERE minor_involved)`` give over ``records``: the code's
    own text (never a user's), held as :class:`~routes.contract.sql.SQL`; ``table``
    must be a table the contract declares.
    """

    table: str
    records: str = "count(*)"
    victims: str = "sum(victim_count)"
    minors: str = "count(*) FILTER (WHERE minor_involved)"
    bits: dict[str, int] = field(default_factory=dict)
    #: The record type per row (``NULL::VARCHAR`` where the table has no breakdown by it).
    record_type: str = "record_type"

    def __post_init__(self) -> None:
        ident(self.table)
        for name in ("records", "victims", "minors", "record_type"):
            object.__setattr__(self, name, SQL(getattr(self, name)))

    @property
    def aggregated(self) -> bool:
        return self.table != "records"

    def where(self, filters: Filters, *, side: str = "dest") -> tuple[str, list[object]]:
        """``filters`` as a WHERE body over :attr:`table` (as :meth:`Filters.where` over ``records``)."""
        if not self.aggregated:
            return filters.where(side=side)
        sql, params = replace(filters, indicators=()).where(side=side)
        if filters.indicators:
            mask = 0
            for name in set(filters.indicators):
                mask |= 1 << self.bits[name] if name in self.bits else 0
            sql = compose("{sql} AND (indicator_mask & ?::BIGINT) <> 0", sql=sql)
            params = [*params, mask]
        return sql, params

    def count_filtered(self, where: str) -> SQL:
        """The records count restricted to ``where`` (0, not NULL, when nothing matches)."""
        if not self.aggregated:
            return compose("count(*) FILTER (WHERE {where})", where=where)
        return compose("coalesce(sum(records) FILTER (WHERE {where}), 0)::BIGINT", where=where)


RECORDS = CountSource("records")


#: Verdicts per read-only connection (a snapshot cannot change under it).
_FRESH: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str | None] = weakref.WeakKeyDictionary()
_FRESH_LOCK = threading.Lock()

_STATE_COLUMNS = (
    "s.records_rows, s.records_updated, s.batches_rows, s.batches_finished, s.build_id, "
    "f.records_rows, f.records_updated, f.batches_rows, f.batches_finished, "
    "(SELECT readonly FROM duckdb_databases() WHERE database_name = current_database())"
)
_STATE_SQL = compose("SELECT {columns} FROM {state} s CROSS JOIN ({fingerprint}) f",
                     columns=SQL(_STATE_COLUMNS), state=ident(STATE_TABLE), fingerprint=FINGERPRINT_SQL)


def fresh_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """The id of the trend build ``con`` may read, or ``None`` (missing, or older than ``records``).

    A build is current while its fingerprint (``trend_build_state``) equals the
    fingerprint of ``records`` and ``batches`` now. The answer is remembered for
    the life of a read-only connection only.
    """
    with _FRESH_LOCK, contextlib.suppress(KeyError, TypeError):
        return _FRESH[con]
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not set(_ALL_TABLES) <= tables:
        return None
    try:
        rows = con.execute(_STATE_SQL).fetchall()
    except duckdb.CatalogException:  # the tables belong to another attached database
        return None
    if len(rows) != 1:
        return None
    row = rows[0]
    build_id = str(row[4]) if tuple(row[:4]) == tuple(row[5:9]) and row[4] is not None else None
    if row[9]:
        with _FRESH_LOCK, contextlib.suppress(TypeError):
            _FRESH[con] = build_id
    return build_id


def is_fresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the trend pre-aggregates exist and were built from the current ``records``."""
    return fresh_build(con) is not None


_COUNTS = ("coalesce(sum(records), 0)::BIGINT", "sum(victims)", "coalesce(sum(minors), 0)::BIGINT")


def count_source(
    con: duckdb.DuckDBPyConnection, filters: Iterable[Filters], *, side: str = "dest"
) -> CountSource:
    """The cheapest table that counts every one of ``filters`` exactly as ``records`` would."""
    filters = list(filters)
    if side != "dest" or not is_fresh(con):
        return RECORDS
    wanted = {name for f in filters for name in f.indicators}
    if not wanted:
        return CountSource(TREND_TABLE, *_COUNTS)
    rows = con.execute(compose("SELECT indicator, bit, complete FROM {bits}", bits=ident(BITS_TABLE))).fetchall()
    bits = {str(name): int(bit) for name, bit, _ in rows}
    complete = all(bool(c) for _, _, c in rows)
    if not complete and not wanted <= set(bits):
        return RECORDS
    return CountSource(MASKED_TABLE, *_COUNTS, bits)
