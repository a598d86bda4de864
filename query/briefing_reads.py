"""The few reads briefing exports need that no other query module offers.

No count leaves this module: it reads the snapshot's dates only (the data-as-of
date and the range of months), which are the same for every role.
"""

from __future__ import annotations

from datetime import date

import duckdb

from query import release, scope
from query.policy import Capability
from query.viewer import Viewer
from routes import warehouse

__all__ = ["snapshot_dates"]


def _as_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def snapshot_dates(
    viewer: Viewer, *, con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, date | None]:
    """The snapshot's dates: ``data_as_of``, ``first_month``, ``last_month``.

    ``data_as_of`` is the ``meta`` entry the build writes (latest ``occurred_at``);
    the months bound every record's ``month`` (for a viewer who reads the
    protected release: the release's months). Values are ``None`` when unknown.
    """
    viewer.require(Capability.SEE_AGGREGATES, "see the data's calendar")  # the same for every such role

    def read(c: duckdb.DuckDBPyConnection) -> dict[str, date | None]:
        as_of = warehouse.get_meta(c, "data_as_of")
        if release.reads_release(viewer):  # the release's month range: no read of records
            first, last = release.month_range(c) or (None, None)
        else:
            row = c.execute("SELECT min(month), max(month) FROM records").fetchone()
            first, last = (row or (None, None))
        return {"data_as_of": _as_date(as_of), "first_month": _as_date(first), "last_month": _as_date(last)}

    with scope.reading(viewer, con) as c:  # own scope: the months of its own records
        return read(c)
