"""The DuckDB build runs under ROUTES_BUILD_MEMORY and spills beside the warehouse."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import duckdb
import pytest

from pipelines import build
from routes.errors import RoutesError

SEEN: dict[str, str] = {}


def _probe_step(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    row = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert row is not None
    SEEN["memory_limit"], SEEN["temp_directory"] = row
    return {}


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> str:
    """A build step that records the build connection's settings."""
    module = types.ModuleType("tests._memory_probe_step")
    module.build = _probe_step  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    SEEN.clear()
    return module.__name__


def test_build_connection_has_the_memory_limit_and_spill_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe: str
) -> None:
    monkeypatch.setenv("ROUTES_BUILD_MEMORY", "512MiB")
    live = tmp_path / "routes.duckdb"
    build.build_warehouse(warehouse_path=live, steps=(probe,))
    assert SEEN["memory_limit"] == "512.0 MiB"
    assert SEEN["temp_directory"] == str(tmp_path / ".routes.duckdb.spill")


def test_default_limit_is_3gb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe: str) -> None:
    monkeypatch.delenv("ROUTES_BUILD_MEMORY", raising=False)
    build.build_warehouse(warehouse_path=tmp_path / "routes.duckdb", steps=(probe,))
    assert SEEN["memory_limit"] == "2.7 GiB"  # DuckDB shows 3 GB (10^9) in GiB


def test_a_bad_limit_is_named_and_the_warehouse_is_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_BUILD_MEMORY", "lots")
    live = tmp_path / "routes.duckdb"
    with pytest.raises(RoutesError, match="ROUTES_BUILD_MEMORY='lots'.*like 3GB"):
        build.build_warehouse(warehouse_path=live)
    assert not live.exists()


def _spilling_step(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Hold a temporary table several times the limit and note what lies in the spill folder meanwhile."""
    con.execute("CREATE TEMP TABLE _wide AS SELECT i, md5(i::VARCHAR) AS h FROM range(2000000) t(i)")
    folder = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])  # type: ignore[index]
    SEEN["spilled_bytes"] = str(sum(f.stat().st_size for f in folder.iterdir()))
    row = con.execute("SELECT count(*), count(DISTINCT h) FROM _wide").fetchone()
    assert row is not None
    con.execute("DROP TABLE _wide")
    return {"_wide": int(row[1])}


def test_a_build_past_its_limit_spills_beside_the_warehouse_and_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("tests._spilling_step")
    module.build = _spilling_step  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setenv("ROUTES_BUILD_MEMORY", "64MiB")
    SEEN.clear()
    live = tmp_path / "routes.duckdb"
    counts = build.build_warehouse(warehouse_path=live, steps=(module.__name__,))
    assert counts == {"_wide": 2_000_000}  # about 100 MB of rows held under a 64 MiB limit
    assert int(SEEN["spilled_bytes"]) > 16 * 1024 * 1024
    assert not list((tmp_path / ".routes.duckdb.spill").glob("*"))  # emptied when the build closed
