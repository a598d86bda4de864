"""Retention (28 CFR 23.20(h)): records due for review, and a purge that forgets them.

Records come up for review :data:`RETENTION_YEARS` years after they were last
validated (``validated_at``); quarantined rows (exact coordinates, dates, tokens)
the same number of years after they were quarantined (``quarantined_at``).

:func:`purge` removes the due records with their identifiers (tokens) and
history, and the due quarantine rows, then rebuilds every derived table in the
same snapshot (subject matches hold case numbers), and swaps in a **fresh**
warehouse file that holds only the kept rows (:func:`routes.warehouse.write_snapshot`
with ``fresh=True``): a DuckDB delete leaves the deleted bytes in the file's free
blocks, a fresh file has none. The readers' snapshot links of the old file are
removed with it. What it does not reach: copies of the warehouse made outside
Routes (backups), and a reader process that still has the old snapshot open keeps
its view until it reopens.

Both the review and the purge are written to the audit log (the CLI does that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from query.policy import Capability
from query.viewer import Viewer
from routes import warehouse

__all__ = ["RETENTION_YEARS", "PurgeResult", "cutoff", "purge", "quarantine_due", "records_due"]

#: Records (and quarantined rows) come up for review this many years after validation (quarantine).
RETENTION_YEARS = 5

#: Tables keyed on ``(source_id, record_id)`` that go with a purged record.
_RECORD_TABLES = ("record_identifiers", "record_history")


@dataclass(frozen=True)
class PurgeResult:
    """What one :func:`purge` removed."""

    cutoff: datetime
    records: int
    identifiers: int
    history: int
    quarantine: int

    def format(self) -> str:
        """One line for the terminal and the audit log."""
        return (f"removed {self.records} records validated before {self.cutoff.date()} "
                f"(with {self.identifiers} identifier tokens and {self.history} history rows) "
                f"and {self.quarantine} quarantined rows quarantined before then")


def cutoff(as_of: date | None = None) -> datetime:
    """The first moment that is not due: ``as_of`` (default today, UTC) minus :data:`RETENTION_YEARS`.

    >>> cutoff(date(2026, 3, 1))
    datetime.datetime(2021, 3, 1, 0, 0)
    >>> cutoff(date(2028, 2, 29))
    datetime.datetime(2023, 2, 28, 0, 0)
    """
    day = as_of or datetime.now(UTC).date()
    try:
        day = day.replace(year=day.year - RETENTION_YEARS)
    except ValueError:  # 29 February
        day = day.replace(year=day.year - RETENTION_YEARS, day=28)
    return datetime(day.year, day.month, day.day)


def records_due(*, as_of: date | None = None, path: Path | None = None) -> pd.DataFrame:
    """Records last validated before :func:`cutoff`: ``source_id``, ``record_id``, ``source_task_force``, ``validated_at``."""
    with warehouse.open_snapshot(path=path) as con:
        return con.execute(
            "SELECT source_id, record_id, source_task_force, validated_at FROM records "
            "WHERE validated_at < ? ORDER BY validated_at, source_id, record_id",
            [cutoff(as_of)],
        ).df()


def quarantine_due(*, as_of: date | None = None, path: Path | None = None) -> int:
    """How many quarantined rows were quarantined before :func:`cutoff`."""
    with warehouse.open_snapshot(path=path) as con:
        row = con.execute("SELECT count(*) FROM quarantine WHERE quarantined_at < ?", [cutoff(as_of)]).fetchone()
    return int(row[0]) if row else 0


def purge(*, by: Viewer, as_of: date | None = None, path: Path | None = None, rebuild: bool = True) -> PurgeResult:
    """Remove what is due and swap in a fresh warehouse file that no longer holds its bytes.

    Parameters
    ----------
    by
        Who purges; needs :attr:`~query.policy.Capability.MANAGE_RETENTION`.
    as_of
        The day to count from (default today).
    path
        The live warehouse; defaults to :func:`routes.settings.warehouse_path`.
    rebuild
        Rebuild the derived tables in the same snapshot (default), so no derived
        table keeps a purged record's case number or counts.
    """
    by.require(Capability.MANAGE_RETENTION, "purge records")
    limit = cutoff(as_of)
    with warehouse.write_snapshot(path=path, fresh=True) as con:
        con.execute("CREATE TEMP TABLE due AS SELECT source_id, record_id FROM records WHERE validated_at < ?",
                    [limit])
        removed = {}
        for table in _RECORD_TABLES:
            removed[table] = _count(con.execute(
                f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM due "  # noqa: S608 (fixed names)
                "WHERE due.source_id = t.source_id AND due.record_id = t.record_id)"
            ).fetchall())
        records = _count(con.execute("DELETE FROM records WHERE validated_at < ?", [limit]).fetchall())
        quarantine = _count(con.execute("DELETE FROM quarantine WHERE quarantined_at < ?", [limit]).fetchall())
        con.execute("DROP TABLE due")
        if rebuild:
            from pipelines.build import run_steps

            run_steps(con)
    return PurgeResult(limit, records, removed["record_identifiers"], removed["record_history"], quarantine)


def _count(rows: list[tuple[object, ...]]) -> int:
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0  # type: ignore[call-overload]
