"""Tests for pipelines/build/__init__.py: one atomic snapshot, idempotent, every step must exist."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import build
from pipelines.cli import main
from routes import warehouse
from routes.contract.sql import compose, ident
from tests.support.warehouse_fixture import make_small_warehouse

DERIVED = (
    "flows", "location_totals", "coordination_pairs", "route_shifts",
    "corridor_paths", "corridor_segments",
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table(path: Path, name: str) -> pd.DataFrame:
    with warehouse.open_snapshot(path=path) as con:
        frame = con.sql(compose("SELECT * FROM {name}", name=ident(name))).df()
    lists = [c for c in frame.columns if frame[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()]
    for column in lists:
        frame[column] = frame[column].map(lambda v: None if v is None else list(v))
    keys = [c for c in frame.columns if c not in lists]
    return frame.sort_values(keys, ignore_index=True, na_position="first")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("build") / "w.duckdb"
    make_small_warehouse(path, n=1500, seed=2)
    build.build_warehouse(warehouse_path=path)
    return path


def test_build_writes_every_table_and_meta(built: Path) -> None:
    with warehouse.open_snapshot(path=built) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        as_of = warehouse.get_meta(con, "data_as_of")
        built_at = warehouse.get_meta(con, "built_at")
        latest = con.execute("SELECT max(occurred_at)::DATE FROM records").fetchall()[0][0]
    assert set(DERIVED) <= tables
    assert as_of == latest.isoformat()
    assert built_at and built_at.endswith("+00:00")


def test_build_twice_gives_the_same_tables(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    again.write_bytes(built.read_bytes())
    build.build_warehouse(warehouse_path=again)
    for name in DERIVED:
        pd.testing.assert_frame_equal(_table(built, name), _table(again, name), check_dtype=True)


def test_a_failing_step_leaves_the_warehouse_unchanged(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(built.read_bytes())
    before = _sha(path)
    failing = types.ModuleType("routes_test_failing_step")

    def explode(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        con.execute("DROP TABLE flows")
        raise RuntimeError("half-way")

    failing.build = explode  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "routes_test_failing_step", failing)
    with pytest.raises(RuntimeError, match="half-way"):
        build.build_warehouse(
            warehouse_path=path, steps=("pipelines.build.flows", "routes_test_failing_step")
        )
    assert _sha(path) == before
    assert not list(path.parent.glob(".w.duckdb.*.tmp*"))


def test_a_step_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    """No step is skipped: a missing one fails the build, which leaves the warehouse as it was."""
    path = tmp_path / "w.duckdb"
    make_small_warehouse(path, n=300, seed=3)
    before = path.read_bytes()
    with pytest.raises(ModuleNotFoundError, match="pipelines.build_not_written_yet"):
        build.build_warehouse(warehouse_path=path, steps=("pipelines.build.flows", "pipelines.build_not_written_yet"))
    assert path.read_bytes() == before


def test_a_missing_dependency_inside_a_step_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "routes_test_broken_step.py").write_text("import routes_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="routes_no_such_dependency"):
        build.build_warehouse(warehouse_path=tmp_path / "w.duckdb", steps=("routes_test_broken_step",))


def test_an_empty_warehouse_builds_empty_tables(tmp_path: Path) -> None:
    counts = build.build_warehouse(warehouse_path=tmp_path / "empty.duckdb")
    assert counts["flows"] == 0 and counts["corridor_segments"] == 0 and counts["route_shifts"] == 0


def test_times_are_recorded_per_table(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(built.read_bytes())
    seconds = build.TableSeconds()
    build.build_warehouse(warehouse_path=path, steps=("pipelines.build.flows", "pipelines.build.corridors"),
                          table_seconds=seconds)
    assert {"flows", "location_totals", "corridor_segments"} <= set(seconds.wall) == set(seconds.cpu)


def test_cli_build(tmp_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_small_warehouse(warehouse_path := tmp_env / "warehouse" / "routes.duckdb", n=300, seed=4)
    assert main(["build"]) == 0
    with warehouse.open_snapshot(path=warehouse_path) as con:
        assert con.execute("SELECT count(*) FROM flows").fetchall()[0][0] > 0
