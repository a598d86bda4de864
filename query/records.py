"""Record-level reads: a task force's own records, and nothing else, always audited.

Only an ``analyst`` or ``lead`` sees records, and only those its own task force
contributed (``records.source_task_force == viewer.task_force``); partners,
leadership and admins never do (28 CFR 23.20(e)). Every call, including one that
finds nothing, is written to the audit log. Identifiers never reach the
warehouse (only keyed tokens do), so no column here can hold one.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from geo import grid
from query import audit
from query.filters import Filters
from query.viewer import Viewer
from routes import warehouse
from routes.contract.sql import SQL, compose, idents
from routes.errors import AccessDenied

__all__ = ["RECORD_COLUMNS", "records_for_source", "records_in_cell"]

#: The columns a record-level read returns (no tokens, no free text).
RECORD_COLUMNS = (
    "source_id", "record_id", "source_task_force", "record_type", "occurred_at", "month",
    "trafficking_type", "victim_count", "minor_involved", "indicators", "case_number", "contact",
    "dest_county_fips", "dest_precision", "dest_cell", "dest_res",
    "origin_county_fips", "origin_state", "origin_country",
)

#: The most rows one call returns.
MAX_LIMIT = 5000


def _require_record_access(viewer: Viewer) -> str:
    if not viewer.has_record_access or not viewer.task_force:
        raise AccessDenied(
            f"role {viewer.role!r} may not see record-level data; aggregates are on the map and trends pages"
        )
    return viewer.task_force


def _read(
    viewer: Viewer,
    filters: Filters,
    *,
    extra: SQL,
    extra_params: list[object],
    limit: int,
    what: str,
    con: duckdb.DuckDBPyConnection | None,
) -> pd.DataFrame:
    task_force = _require_record_access(viewer)
    limit = max(1, min(int(limit), MAX_LIMIT))
    where, params = filters.where(side="dest")
    sql = compose(
        "SELECT {columns} FROM records "
        "WHERE source_task_force = ? AND ({where}) AND ({extra}) "
        "ORDER BY occurred_at DESC, source_id, record_id LIMIT ?",
        columns=idents(RECORD_COLUMNS), where=where, extra=extra,
    )
    args = [task_force, *params, *extra_params, limit]
    if con is None:
        with warehouse.open_snapshot() as snapshot:
            frame = snapshot.execute(sql, args).df()
    else:
        frame = con.execute(sql, args).df()
    audit.record_event(viewer, action="view_records", what=f"{what}: {len(frame)} records", filters=filters)
    return frame


def records_in_cell(
    viewer: Viewer,
    filters: Filters,
    *,
    cell: int,
    res: int,
    limit: int = 500,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The viewer's own task force's records inside one H3 cell (audited).

    Parameters
    ----------
    viewer
        An ``analyst`` or ``lead``; anyone else gets :class:`AccessDenied`.
    filters
        The filters in force.
    cell, res
        The cell (BIGINT H3 id) and its resolution; a record counts when it was
        located at ``res`` or finer and its parent at ``res`` is ``cell``.
    limit
        At most this many rows (newest first; capped at :data:`MAX_LIMIT`).
    """
    res = int(res)
    if grid.cell_resolution(int(cell)) != res:
        raise ValueError(f"cell {cell!r} is at resolution {grid.cell_resolution(int(cell))}, not {res!r}")
    extra = compose("dest_res >= ? AND {parent} = ?", parent=grid.sql_cell_to_parent("dest_cell", res))
    return _read(viewer, filters, extra=extra, extra_params=[res, int(cell)], limit=limit,
                 what=f"records in cell {int(cell)} (res {res})", con=con)


def records_for_source(
    viewer: Viewer,
    filters: Filters,
    *,
    source_id: str,
    limit: int = 500,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The records of one source of the viewer's own task force (audited).

    Raises
    ------
    AccessDenied
        For roles without record access; an empty frame for a source of another
        task force (its records are not the viewer's).
    """
    return _read(viewer, filters, extra=compose("source_id = ?"), extra_params=[source_id], limit=limit,
                 what=f"records of source {source_id!r}", con=con)
