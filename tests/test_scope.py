"""The aggregate scope (``query/scope.py``): "all agencies" reads the release; "my task force's records" only own records.

An analyst's or lead's own-records scope must depend on nothing another agency
contributed: a record from another task force, added anywhere, changes no
own-scope answer, while one more own record does change one (so the comparison
can fail).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from pipelines.build import build_warehouse
from query import cells, flows, release, trends
from query.filters import Filters
from query.viewer import ALL_AGENCIES, OWN_RECORDS, Viewer
from routes.errors import AccessDenied
from tests.support.warehouse_fixture import make_small_warehouse

OWN = Viewer("a", "analyst", "la", OWN_RECORDS)
YEAR = Filters(start=date(2025, 1, 1), end=date(2025, 12, 1))

#: Every aggregate reader an own-scope page or CLI call uses, with plain arguments.
READS: dict[str, Callable[[Viewer, duckdb.DuckDBPyConnection], Any]] = {
    "headline_figures": lambda v, c: trends.headline_figures(v, YEAR, con=c),
    "monthly_series": lambda v, c: trends.monthly_series(v, Filters(), con=c),
    "county_rates": lambda v, c: trends.county_rates(v, YEAR, con=c),
    "emerging_hot_spots": lambda v, c: trends.emerging_hot_spots(v, Filters(), con=c),
    "cell_counts": lambda v, c: cells.cell_counts(v, Filters(), res=6, con=c),
    "histogram_by_month": lambda v, c: cells.histogram_by_month(v, Filters(), con=c),
    "flow_edges": lambda v, c: flows.flow_edges(v, Filters(), level="county", con=c),
    "location_totals": lambda v, c: flows.location_totals(v, Filters(), level="county", con=c),
    "corridor_loads": lambda v, c: flows.corridor_loads(v, Filters(), con=c),
    "coordination_pairs": lambda v, c: flows.coordination_pairs(v, Filters(), level="county", con=c),
    "route_shifts": lambda v, c: flows.route_shifts(v, con=c),
}


def _add_record(src: Path, dst: Path, *, source_id: str, task_force: str) -> None:
    """A copy of warehouse ``src`` with one more record (a copy of an own record, from ``source_id``), rebuilt."""
    shutil.copy(src, dst)
    with duckdb.connect(str(dst)) as con:
        row = con.execute("SELECT * FROM records WHERE source_task_force = 'la' AND origin_county_fips IS NOT NULL "
                          "AND dest_res >= 6 ORDER BY record_id LIMIT 1").df()
        kind = con.execute("SELECT kind FROM sources WHERE source_id = ?", [source_id]).fetchall()[0][0]
        row = row.assign(source_id=source_id, record_id="extra-1", source_task_force=task_force, source_kind=kind)
        con.register("extra", row)
        con.execute("INSERT INTO records BY NAME SELECT * FROM extra")
    build_warehouse(warehouse_path=dst)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("scope")
    base = root / "base" / "routes.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTES_WAREHOUSE", str(base))
        mp.setenv("ROUTES_QUIET", "1")
        mp.setenv("ROUTES_K", "11")
        make_small_warehouse(base, n=3000)
        build_warehouse(warehouse_path=base)
        other, own = root / "other" / "routes.duckdb", root / "own" / "routes.duckdb"
        other.parent.mkdir(mode=0o700)
        own.parent.mkdir(mode=0o700)
        _add_record(base, other, source_id="sdsheriff", task_force="san_diego")
        _add_record(base, own, source_id="lapd", task_force="la")
        yield {"base": base, "other": other, "own": own}


def _answers(path: Path, viewer: Viewer) -> dict[str, Any]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: read(viewer, con) for name, read in READS.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)
        except AssertionError:
            return False
        return True
    return bool(a == b)


def test_another_task_forces_record_changes_no_own_scope_answer(warehouses: dict[str, Path]) -> None:
    base, other = _answers(warehouses["base"], OWN), _answers(warehouses["other"], OWN)
    changed = [name for name in READS if not _same(base[name], other[name])]
    assert not changed, f"a san_diego record changed the la analyst's own-scope answers: {changed}"
    assert all(isinstance(a, pd.DataFrame) and len(a) for a in base.values()), "an own-scope reader answered nothing"


def test_one_more_own_record_changes_an_own_scope_answer(warehouses: dict[str, Path]) -> None:
    """The comparison above can fail: the same record from an own source does show."""
    base, own = _answers(warehouses["base"], OWN), _answers(warehouses["own"], OWN)
    assert any(not _same(base[name], own[name]) for name in READS)


def test_own_scope_counts_exactly_the_own_records(warehouses: dict[str, Path]) -> None:
    with duckdb.connect(str(warehouses["base"]), read_only=True) as con:
        rates = trends.county_rates(OWN, YEAR, con=con).set_index("county_fips")["records"].dropna()
        truth = con.execute("SELECT dest_county_fips, count(*) FROM records WHERE source_task_force = 'la' "
                            "AND month BETWEEN '2025-01-01' AND '2025-12-01' GROUP BY ALL").fetchall()
    assert len(rates)
    expected = {str(c): int(n) for c, n in truth}
    assert {c: int(n) for c, n in rates.items()} == {c: expected.get(c, 0) for c in rates.index}
    assert sum(rates) > 0


def test_all_agencies_is_the_default_and_reads_the_release() -> None:
    analyst = Viewer("a", "analyst", "la")
    assert analyst.scope == ALL_AGENCIES and release.reads_release(analyst)
    assert not release.reads_release(analyst.with_scope(OWN_RECORDS))


@pytest.mark.parametrize("role", ["partner", "leadership", "admin"])
def test_the_own_scope_is_refused_without_record_access(role: str) -> None:
    with pytest.raises(AccessDenied, match="see_own_records"):
        Viewer("p", role, scope=OWN_RECORDS)
    with pytest.raises(AccessDenied, match="unknown scope"):
        Viewer("a", "analyst", "la", scope="mine")


def test_without_the_own_records_database_the_other_record_shows(
    warehouses: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Main's analysts (exact counts over every agency's records) fail the first test: it can fail."""
    from routes import warehouse

    def whole(viewer: Viewer, con: duckdb.DuckDBPyConnection | None = None) -> Any:
        del viewer
        return warehouse.reading(con)

    for module, name in ((cells, "_connection"), (flows, "_connection"), (trends, "_snapshot")):
        monkeypatch.setattr(module, name, whole)
    base, other = _answers(warehouses["base"], OWN), _answers(warehouses["other"], OWN)
    assert any(not _same(base[name], other[name]) for name in READS)


def test_the_own_database_is_built_once_per_snapshot_and_task_force(
    warehouses: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers nested in readers (a headline resolves its period) reuse it; a page's second read costs no build."""
    from query import scope

    built: list[str] = []
    real = scope.own_records_database

    def counting(con: duckdb.DuckDBPyConnection, task_force: str) -> duckdb.DuckDBPyConnection:
        built.append(task_force)
        return real(con, task_force)

    monkeypatch.setattr(scope, "own_records_database", counting)
    monkeypatch.setattr(scope, "_CACHE", type(scope._CACHE)())
    for _ in range(2):
        trends.headline_figures(OWN, Filters())  # the live snapshot, as the pages read it
        trends.region_profile(OWN, county="06037", filters=YEAR)
    assert built == ["la"]
