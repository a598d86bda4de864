"""A derived table the build never made is one error, ``TablesNotBuilt``, naming it and the command (issue 20)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from query import moves, release
from routes import warehouse
from routes.errors import RoutesError, TablesNotBuilt


@pytest.fixture(scope="module")
def small_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipelines.build import build_warehouse
    from tests.support.warehouse_fixture import make_small_warehouse

    path = tmp_path_factory.mktemp("tables_not_built") / "built" / "routes.duckdb"
    make_small_warehouse(path, n=1500, seed=2, is_demo=False)
    build_warehouse(warehouse_path=path)
    return path


def _without(small_built: Path, tmp_env: Path, table: str) -> Path:
    """A copy of the built warehouse at the settings' path, ``table`` dropped."""
    live = tmp_env / "warehouse" / "routes.duckdb"
    live.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(small_built, live)
    live.chmod(0o600)
    with duckdb.connect(str(live)) as con:
        con.execute(f"DROP TABLE {table}")
    return live


def test_a_missing_table_in_any_read_is_tables_not_built_with_the_command(small_built: Path, tmp_env: Path) -> None:
    _without(small_built, tmp_env, "location_totals")
    with pytest.raises(TablesNotBuilt, match=r"no table 'location_totals'.*python -m pipelines build"), \
            warehouse.reading() as con:
        con.execute("SELECT * FROM location_totals").fetchall()
    # any other catalog error stays DuckDB's own (it is not a build problem)
    with pytest.raises(duckdb.CatalogException), warehouse.reading() as con:
        con.execute("SELECT no_such_function(1)").fetchall()


def test_the_release_and_moves_errors_are_tables_not_built() -> None:
    """Pages and the CLI catch one class for every table a build did not make."""
    assert issubclass(release.ReleaseNotBuiltError, TablesNotBuilt)
    assert issubclass(moves.MovesNotBuiltError, TablesNotBuilt)
    assert issubclass(TablesNotBuilt, RoutesError) and issubclass(TablesNotBuilt, LookupError)
