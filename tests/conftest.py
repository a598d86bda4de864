"""Shared fixtures. Every test runs quiet, offline, and against temporary paths.

What test files share beyond fixtures (builders, the browser driver, scoring) is in
``tests/support/``; a test file never imports another test file (``tests/test_layers.py``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import briefings

os.environ.setdefault("ROUTES_QUIET", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a browser or a JVM (marked ``browser`` or ``spark``) is ``slow`` too."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tell the browser harness whether this test is marked ``browser``, before its fixtures start."""
    from tests.support import browser

    browser.MARKED = item.get_closest_marker("browser") is not None


@pytest.fixture
def tmp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the warehouse, control store, key file and demo folder at ``tmp_path``."""
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(tmp_path / "warehouse" / "routes.duckdb"))
    monkeypatch.setenv("ROUTES_CONTROL", str(tmp_path / "warehouse" / "control.sqlite"))
    monkeypatch.setenv("ROUTES_KEY_FILE", str(tmp_path / "secrets" / "routes.key"))
    monkeypatch.setenv("ROUTES_DEMO_DIR", str(tmp_path / "demo"))
    return tmp_path


@pytest.fixture(scope="module")
def pages_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The page tests' warehouse (4,000 records, not demo data, built), one per test module; settings point at it."""
    from pipelines.build import build_warehouse
    from routes import settings
    from tests.support.warehouse_fixture import make_small_warehouse

    root = tmp_path_factory.mktemp("pages")
    patch = pytest.MonkeyPatch()
    patch.setenv("ROUTES_WAREHOUSE", str(root / "warehouse" / "routes.duckdb"))
    patch.setenv("ROUTES_CONTROL", str(root / "warehouse" / "control.sqlite"))
    patch.setenv("ROUTES_KEY_FILE", str(root / "secrets" / "routes.key"))
    patch.setenv("ROUTES_DEMO_DIR", str(root / "demo"))
    path = settings.warehouse_path()
    make_small_warehouse(path, n=4000, seed=2, is_demo=False)
    build_warehouse(warehouse_path=path)
    yield path
    patch.undo()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the tests marked ``spark``: one JVM, ``local[2]``, 1 GB, stopped at the end.

    Without Java or pyspark the tests are skipped with a message, except under CI
    (``.ci/run`` installs both), where that is a failure.
    """
    missing = [
        what
        for what, ok in (
            ("Java (apt-get install openjdk-17-jre-headless)", shutil.which("java") or os.environ.get("JAVA_HOME")),
            ("pyspark (pip install -r requirements-dev.txt)", importlib.util.find_spec("pyspark")),
        )
        if not ok
    ]
    if missing:
        message = "the Spark tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from pipelines.build.spark_build import spark_session

    session = spark_session("local[2]", driver_memory="1g")
    yield session
    session.stop()


def _spark_steps_build(tmp: Path, spark: Any, *, steps: tuple[str, ...], identifiers: bool) -> dict[str, Path]:
    """A small warehouse (with planted identifiers if asked), its lake, DuckDB's ``steps`` on a copy
    (``duck``) and the same Spark steps' tables as Parquet (``out``)."""
    from pipelines import build
    from pipelines.build import lake, spark_build
    from tests.support.identifier_fixture import add_identifiers
    from tests.support.warehouse_fixture import make_small_warehouse

    live = tmp / "routes.duckdb"
    make_small_warehouse(live, n=1500)
    if identifiers:
        add_identifiers(live)
    else:  # a surge into the busiest county in the last month, so route_shifts finds shifts
        from routes import warehouse

        with warehouse.write_snapshot(path=live) as con:
            con.execute("""
                UPDATE records SET occurred_at = TIMESTAMP '2025-12-15 12:00:00', month = DATE '2025-12-01'
                WHERE dest_county_fips = (SELECT dest_county_fips FROM records GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1)
                  AND hash(record_id) % 3 = 0""")
    lake.export_lake(tmp / "lake", warehouse_path=live)
    duck = tmp / "duckdb.duckdb"
    shutil.copyfile(live, duck)
    build.build_warehouse(warehouse_path=duck, steps=steps)
    spark_build.register_lake(spark, tmp / "lake")
    for module in steps:
        spark_build.run_step(spark, spark_build.STEPS_BY_MODULE[module], lake=tmp / "lake", out=tmp / "out")
    return {"live": live, "duck": duck, "out": tmp / "out"}


@pytest.fixture(scope="session")
def spark_flow_build(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Path]:
    """The flow and corridor steps on both engines (1,500 records): test_spark_flows, test_spark_corridors."""
    return _spark_steps_build(tmp_path_factory.mktemp("spark_flows"), spark,
                              steps=("pipelines.build.flows", "pipelines.build.corridors"), identifiers=False)


@pytest.fixture(scope="session")
def spark_identifier_build(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Path]:
    """Matches and moves on both engines (1,500 records, planted identifiers): test_spark_matches, test_spark_moves."""
    return _spark_steps_build(tmp_path_factory.mktemp("spark_identifiers"), spark,
                              steps=("pipelines.build.matches", "pipelines.build.moves"), identifiers=True)


# ------------------------------------------------------------- the 60 k demo (test_moves, test_moves_release, test_release_utility)

DEMO_RECORDS = 60_000


@pytest.fixture(scope="session")
def _demo_60k_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The 60 k demo, generated, ingested and built as ``make run`` does, once per session (read only after)."""
    from pipelines.demo.setup import setup_demo

    root = tmp_path_factory.mktemp("demo_60k")
    env = {
        "ROUTES_WAREHOUSE": str(root / "warehouse" / "routes.duckdb"),
        "ROUTES_CONTROL": str(root / "warehouse" / "control.sqlite"),
        "ROUTES_KEY_FILE": str(root / "secrets" / "routes.key"),
        "ROUTES_DEMO_DIR": str(root / "demo"),
        "ROUTES_QUIET": "1",
    }
    with pytest.MonkeyPatch.context() as mp:
        _apply(mp, env)
        setup_demo(records=DEMO_RECORDS)
    return root, env


def _apply(mp: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        mp.setenv(name, value)
    for name in ("ROUTES_MOVES_WINDOW_DAYS", "ROUTES_CIRCUIT_MIN_TOKENS"):  # the build's defaults
        mp.delenv(name, raising=False)


@pytest.fixture(scope="module")
def demo(_demo_60k_build: tuple[Path, dict[str, str]]) -> Iterator[tuple[Path, dict]]:
    """The shared 60 k demo's warehouse and ground truth, with the module pointed at it (its env set)."""
    import json

    root, env = _demo_60k_build
    with pytest.MonkeyPatch.context() as mp:
        _apply(mp, env)
        yield Path(env["ROUTES_WAREHOUSE"]), json.loads((root / "demo" / "ground_truth.json").read_text())


# ------------------------------------------------------------- briefings (test_briefings, test_briefing_pdf_tags)

@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The small fixture's warehouse, built, for the briefing tests."""
    from tests.support.warehouse_fixture import make_built_warehouse

    root = tmp_path_factory.mktemp("briefings")
    with pytest.MonkeyPatch.context() as mp:
        make_built_warehouse(root, mp)
        yield root


@pytest.fixture(scope="module")
def partner_files(built: Path) -> briefings.BriefingFiles:
    """A partner briefing of Region IV, which holds the sparse county (3 records)."""
    import briefings
    from query.viewer import Viewer
    from tests.support.warehouse_fixture import BRIEFING_PERIOD

    return briefings.export_briefing(
        Viewer("ana", "admin"), region="Region IV", start=BRIEFING_PERIOD[0], end=BRIEFING_PERIOD[1],
        audience="partner", purpose="Partner services meeting", out_dir=built / "out-partner",
    )


@pytest.fixture(scope="module")
def le_files(built: Path) -> briefings.BriefingFiles:
    """A law-enforcement briefing of Region I (full flow and pair tables)."""
    import briefings
    from query.viewer import Viewer
    from tests.support.warehouse_fixture import BRIEFING_PERIOD

    return briefings.export_briefing(
        Viewer("lee", "lead", "la"), region="Region I", start=BRIEFING_PERIOD[0], end=BRIEFING_PERIOD[1],
        audience="law_enforcement", purpose="Task force <b>meeting</b> & =cmd", out_dir=built / "out-le",
    )

