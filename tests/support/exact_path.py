"""The exact aggregate path over a whole test warehouse, for tests of its arithmetic and suppression.

In the product the exact path serves only an analyst's or lead's "my task
force's records" scope, on an in-memory database of that task force's records
(``query/scope.py``; ``tests/test_scope.py`` checks that nothing else reaches
it). Tests that check the exact readers themselves (pre-aggregates equal to
``records``, the small-cell rules, roll-ups) still want them over every record
of their fixture and over the connection they pass: :func:`exact_viewer` makes
an own-scope viewer and :func:`read_the_whole_warehouse` points the readers'
scope at the connection given, as before the scopes existed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import duckdb
import pytest

from query import cells, flows, scope, trends
from query.viewer import OWN_RECORDS, Viewer
from routes import warehouse


def exact_viewer(user: str, role: str, task_force: str) -> Viewer:
    """A viewer of ``role`` in the own-records scope: the readers take their exact path."""
    return Viewer(user, role, task_force, OWN_RECORDS)


def _whole(viewer: Viewer, con: duckdb.DuckDBPyConnection | None = None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    del viewer
    return warehouse.reading(con)


def read_the_whole_warehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every aggregate reader's scope the warehouse itself (every record), for this test."""
    for module, name in ((cells, "_connection"), (flows, "_connection"), (trends, "_snapshot"), (scope, "reading")):
        monkeypatch.setattr(module, name, _whole)
