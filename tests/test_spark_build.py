"""The Spark engine: each table it builds equals the DuckDB build's; ``release load`` swaps them in."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import build
from pipelines.build import aggregates as build_aggregates
from pipelines.build import corridors as build_corridors
from pipelines.build import flows as build_flows
from pipelines.build import hotspots as build_hotspots
from pipelines.build import lake, spark_build
from pipelines.build import matches as build_matches
from pipelines.build import moves as build_moves
from pipelines.build import release as build_release
from pipelines.build import trend_aggregates as build_trend_aggregates
from pipelines.build.release_load import load_release
from pipelines.cli import main
from query import aggregates, cells
from routes import warehouse
from routes.errors import ConfigError, RoutesError
from tests.support.frames import (
    assert_parquet_equals_table,
    assert_same_relations,
    assert_same_rows,
)
from tests.support.identifier_fixture import add_identifiers
from tests.support.warehouse_fixture import make_small_warehouse

#: The module's fixture runs every build step on both engines (the first test waits for it):
#: past the 300 s default on two cores shared with other work (341 s at load 13-15).
pytestmark = pytest.mark.timeout(900)

#: Every table the Spark build must write, from the DuckDB steps' own lists (not from
#: SPARK_STEPS, so a table dropped from the Spark side fails the test below).
#: The steps' state tables are written by ``release load``, not by Spark.
SPARK_TABLES = [
    table
    for table in (
        *build_flows.TABLES, *build_aggregates.TABLES, *build_trend_aggregates.TABLES, *build_corridors.TABLES,
        *build_hotspots.TABLES, *build_matches.TABLES, *build_moves.TABLES,
    )
    if not table.endswith("_build_state")
]
#: Columns compared as ``release load`` reads them: ``source_bits`` is Spark's text of DuckDB's BIT.
CAST = ("source_bits",)
#: Stamped with each build's own time (``release load`` keeps a match's earlier time; tested below).
STAMPED = {"subject_matches": ("first_raised_at",)}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Path]:
    """One small warehouse built by DuckDB (``duckdb.duckdb``), its lake, and the Spark build of it."""
    tmp = tmp_path_factory.mktemp("spark_build")
    live = tmp / "w" / "routes.duckdb"
    make_small_warehouse(live, n=3000)
    with warehouse.write_snapshot(path=live) as con:
        # Edge cases the indicator tables must treat alike: a NULL list, a NULL element, repeats.
        con.execute("UPDATE records SET indicators = NULL WHERE record_id = 'R000010'")
        con.execute("UPDATE records SET indicators = ['motel', NULL, 'motel'] WHERE record_id = 'R000011'")
        con.execute("UPDATE records SET indicators = ['zz', 'motel'] WHERE record_id = 'R000012'")
    add_identifiers(live)  # matches, moves and circuits
    lake.export_lake(tmp / "lake", warehouse_path=live)
    duck = tmp / "duckdb.duckdb"
    shutil.copyfile(live, duck)
    build.build_warehouse(warehouse_path=duck, steps=(*spark_build.STEPS_BY_MODULE, "pipelines.build.release"))
    spark_build.build_on_spark(tmp / "lake", tmp / "spark_out", spark=spark)
    return {"live": live, "lake": tmp / "lake", "duck": duck, "out": tmp / "spark_out"}


@pytest.mark.spark
@pytest.mark.parametrize("table", SPARK_TABLES)
def test_spark_table_equals_duckdb_table(built: dict[str, Path], table: str) -> None:
    with duckdb.connect(str(built["duck"]), read_only=True) as con:
        columns = set(con.table(table).columns)
    assert_parquet_equals_table(
        built["duck"], table, built["out"] / table, cast=tuple(c for c in CAST if c in columns), skip=STAMPED.get(table, ())
    )


@pytest.mark.spark
def test_the_spark_build_writes_every_table_and_says_so(built: dict[str, Path]) -> None:
    manifest = spark_build.read_build_manifest(built["out"])
    in_manifest = sorted(t for step in manifest["steps"].values() for t in step["tables"])
    assert in_manifest == sorted(SPARK_TABLES)
    assert sorted(p.name for p in built["out"].iterdir() if p.is_dir()) == sorted([*SPARK_TABLES, spark_build.RELEASE_COUNTS])
    # The release's pre-noise counts, one folder per read of records.
    assert manifest["release_true_counts"] == sorted(build_release.TRUE_COUNT_SELECTS)
    counted = built["out"] / spark_build.RELEASE_COUNTS
    assert sorted(p.name for p in counted.iterdir()) == sorted(build_release.TRUE_COUNT_SELECTS)


@pytest.mark.spark
def test_h3_parents_on_spark_are_the_h3_library_parents(built: dict[str, Path]) -> None:
    """The 64-bit parent arithmetic gives what h3 gives, on Spark too (not only 'equal to DuckDB')."""
    import h3

    con = duckdb.connect()
    got = con.execute(
        "SELECT DISTINCT res, cell FROM read_parquet(?) WHERE res = 5", [f"{built['out'] / 'cell_counts'}/*.parquet"]
    ).fetchall()
    leaves = duckdb.connect().execute(
        "SELECT DISTINCT dest_cell FROM read_parquet(?) WHERE dest_cell IS NOT NULL AND dest_res >= 5",
        [f"{built['lake'] / 'records'}/**/*.parquet"],
    ).fetchall()
    want = {h3.str_to_int(h3.cell_to_parent(h3.int_to_str(c), 5)) for (c,) in leaves}
    assert {cell for _, cell in got} == want


@pytest.mark.spark
def test_release_load_swaps_in_the_duckdb_tables_types_and_order(built: dict[str, Path], tmp_path: Path) -> None:
    live = tmp_path / "routes.duckdb"
    shutil.copyfile(built["live"], live)
    assert main(["release", "load", str(built["out"]), "--warehouse", str(live)]) == 0
    con = duckdb.connect()
    con.execute(f"ATTACH '{built['duck']}' AS d (READ_ONLY)")
    con.execute(f"ATTACH '{live}' AS w (READ_ONLY)")
    for table in SPARK_TABLES:
        assert con.execute(f"DESCRIBE w.{table}").fetchall() == con.execute(f"DESCRIBE d.{table}").fetchall()
        kept = [duckdb.ColumnExpression(c) for c in con.table(f"d.{table}").columns if c not in STAMPED.get(table, ())]
        assert_same_relations(con.table(f"d.{table}").project(*kept), con.table(f"w.{table}").project(*kept),
                              names=(f"d.{table}", f"w.{table}"))
    # Stored in the DuckDB step's order (the query layer's range reads rely on it).
    cells_in_order = [r[0] for r in con.execute("SELECT dest_cell FROM w.cell_indicator_sets").fetchall()]
    assert cells_in_order == sorted(cells_in_order)
    # The DuckDB step's indexes too.
    assert con.execute("SELECT count(*) FROM duckdb_indexes() WHERE database_name = 'w' AND index_name = 'hotspot_classes_res_step'").fetchone() == (1,)
    # The state table vouches for the loaded tables: the query layer reads them, not records.
    with warehouse.open_snapshot(path=live) as cursor:
        assert cells._aggregates_fresh(cursor)
        assert aggregates.is_fresh(cursor)
        build_id = cursor.execute("SELECT build_id FROM trend_build_state").fetchone()
    assert build_id is not None and len(build_id[0]) == 36  # a new id, so per-build caches start afresh


@pytest.mark.spark
def test_release_load_keeps_when_a_match_was_first_raised(built: dict[str, Path], tmp_path: Path) -> None:
    """A match the warehouse already holds keeps its first time, as the DuckDB step keeps it; a new one gets the build's."""
    live = tmp_path / "routes.duckdb"
    shutil.copyfile(built["live"], live)
    load_release(built["out"], warehouse_path=live)
    with warehouse.write_snapshot(path=live) as con:
        stamps = con.execute("SELECT DISTINCT first_raised_at FROM subject_matches").fetchall()
        first = con.execute("SELECT match_id FROM subject_matches ORDER BY match_id LIMIT 2").fetchall()
        con.execute("UPDATE subject_matches SET first_raised_at = TIMESTAMP '2020-01-01' WHERE match_id = ?", [first[0][0]])
        con.execute("DELETE FROM subject_matches WHERE match_id = ?", [first[1][0]])
    assert len(stamps) == 1  # the Spark build's time
    load_release(built["out"], warehouse_path=live)
    with warehouse.open_snapshot(path=live) as con:
        kept = dict(con.execute("SELECT match_id, first_raised_at FROM subject_matches WHERE match_id IN (?, ?)",
                                [first[0][0], first[1][0]]).fetchall())
    assert kept == {first[0][0]: datetime(2020, 1, 1), first[1][0]: stamps[0][0]}


@pytest.mark.spark
def test_release_load_refuses_a_build_missing_a_table(built: dict[str, Path], tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(built["out"], partial)
    manifest = spark_build.read_build_manifest(partial)
    del manifest["steps"]["pipelines.build.aggregates"]["tables"]["indicator_sets"]
    (partial / spark_build.BUILD_MANIFEST).write_text(json.dumps(manifest))
    live = tmp_path / "routes.duckdb"
    shutil.copyfile(built["live"], live)
    before = live.read_bytes()
    with pytest.raises(RoutesError, match="does not build on Spark as"):
        load_release(partial, warehouse_path=live)
    assert live.read_bytes() == before


@pytest.mark.spark
def test_release_load_refuses_a_build_of_other_records(built: dict[str, Path], tmp_path: Path) -> None:
    live = tmp_path / "routes.duckdb"
    shutil.copyfile(built["live"], live)
    with warehouse.write_snapshot(path=live) as con:  # an ingest after the lake was exported
        con.execute("INSERT INTO batches VALUES ('later', 'hotline', 'f.csv', 'y', NULL, ?, ?, 0, 0, 0, 0, 0)",
                    [datetime(2026, 2, 1), datetime(2026, 2, 1)])
    before = live.read_bytes()
    with pytest.raises(RoutesError, match="changed since the lake"):
        load_release(built["out"], warehouse_path=live)
    assert live.read_bytes() == before


def test_release_load_refuses_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    with pytest.raises(RoutesError, match="not a Routes Spark build"):
        load_release(tmp_path, warehouse_path=tmp_path / "w.duckdb")


def test_build_engine_spark_needs_lake_and_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--engine", "spark", "--lake", "somewhere"]) == 2
    assert "--engine spark needs --lake DIR" in capsys.readouterr().err


@pytest.fixture
def spark_build_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """``build --engine spark``'s call of ``build_on_spark``, recorded instead of run."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(spark_build, "build_on_spark", lambda lake, out, **kw: calls.append({"lake": lake, **kw}))
    monkeypatch.delenv("ROUTES_SPARK_DRIVER_MEMORY", raising=False)
    return calls


@pytest.mark.parametrize("option", ["--lake", "--out"])
def test_build_engine_spark_passes_a_uri_through_as_given(
    option: str, spark_build_call: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``s3a://bucket/lake`` reaches Spark as it is: ``Path`` would fold it into ``s3a:/bucket/lake`` under the current folder."""
    monkeypatch.chdir(tmp_path)
    seen: list[tuple[Any, Any]] = []
    monkeypatch.setattr(spark_build, "build_on_spark", lambda lake, out, **kw: seen.append((lake, out)))
    folders = {"--lake": "lake", "--out": "out", option: "s3a://bucket/routes/"}
    assert main(["build", "--engine", "spark", *(x for kv in folders.items() for x in kv)]) == 0
    lake, out = seen[0]
    assert (lake if option == "--lake" else out) == "s3a://bucket/routes/"
    assert (out if option == "--lake" else lake) == tmp_path / folders["--out" if option == "--lake" else "--lake"]
    assert not (tmp_path / "s3a:").exists()


def test_join_keeps_a_uris_double_slash() -> None:
    assert spark_build.join("s3a://bucket/lake/", "records") == "s3a://bucket/lake/records"
    assert spark_build.join("gs://b/x", "release_true_counts", "a") == "gs://b/x/release_true_counts/a"
    assert spark_build.join(Path("/data/lake"), "records") == "/data/lake/records"


@pytest.mark.spark
@pytest.mark.parametrize(("option", "scheme", "hint"), [("--lake", "fakefs", "connector for fakefs://"), ("--out", "s3a", "hadoop-aws")])
def test_a_uri_without_a_connector_is_refused_by_name(
    option: str, scheme: str, hint: str, spark: Any, tmp_path: Path
) -> None:
    """Spark has no file system for the scheme here (no hadoop-aws, no fake one): a clear error, nothing written."""
    live = tmp_path / "w" / "routes.duckdb"
    make_small_warehouse(live, n=200)
    lake.export_lake(tmp_path / "lake", warehouse_path=live)
    uri = f"{scheme}://bucket/routes"
    lake_at, out = (uri, tmp_path / "out") if option == "--lake" else (tmp_path / "lake", uri)
    with pytest.raises(ConfigError, match=f"{option} '{uri}': Spark has no file system for {scheme}://") as raised:
        spark_build.build_on_spark(lake_at, out, spark=spark)
    assert hint in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake", "w"]  # no build, no half-written folder


@pytest.mark.parametrize(
    ("env", "option", "expected"),
    [(None, None, "1g"), ("4g", None, "4g"), ("4g", "6G", "6g"), (None, "512m", "512m")],
)
def test_build_engine_spark_driver_memory_from_option_or_setting(
    env: str | None, option: str | None, expected: str, spark_build_call: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    if env:
        monkeypatch.setenv("ROUTES_SPARK_DRIVER_MEMORY", env)
    extra = ["--driver-memory", option] if option else []
    assert main(["build", "--engine", "spark", "--lake", str(tmp_path), "--out", str(tmp_path / "o"), *extra]) == 0
    assert spark_build_call == [{"lake": tmp_path, "master": "local[2]", "driver_memory": expected}]


@pytest.mark.parametrize(("env", "option", "named"), [("lots", None, "ROUTES_SPARK_DRIVER_MEMORY"), (None, "4", "--driver-memory")])
def test_build_engine_spark_refuses_a_bad_driver_memory(
    env: str | None, option: str | None, named: str, spark_build_call: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    if env:
        monkeypatch.setenv("ROUTES_SPARK_DRIVER_MEMORY", env)
    extra = ["--driver-memory", option] if option else []
    assert main(["build", "--engine", "spark", "--lake", str(tmp_path), "--out", str(tmp_path / "o"), *extra]) == 2
    assert f"{named} must be a JVM memory size such as 512m, 1g or 4g, not {(env or option)!r}" in capsys.readouterr().err
    assert spark_build_call == []


def test_spark_session_asks_for_the_configured_driver_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setting reaches ``spark.driver.memory`` (recorded on a stand-in builder; no JVM starts)."""
    sql = pytest.importorskip("pyspark.sql")
    seen: dict[str, str] = {}

    class Builder:
        def master(self, _: str) -> Builder:
            return self

        appName = master  # noqa: N815 (pyspark's name)

        def config(self, key: str, value: str) -> Builder:
            seen[key] = value
            return self

        def getOrCreate(self) -> Any:  # noqa: N802 (pyspark's name)
            return type("Session", (), {"sparkContext": type("Context", (), {"setLogLevel": lambda self, _: None})()})()

    monkeypatch.setattr(sql.SparkSession, "builder", Builder())
    monkeypatch.setenv("ROUTES_SPARK_DRIVER_MEMORY", "3g")
    spark_build.spark_session("local[2]")
    assert seen["spark.driver.memory"] == "3g"
    spark_build.spark_session("local[2]", driver_memory="2g")
    assert seen["spark.driver.memory"] == "2g"


def test_shared_queries_are_the_duckdb_steps_own_text() -> None:
    """The Spark step runs the DuckDB step's query text itself: one definition, nothing to drift."""
    for table in (*spark_build.AGGREGATES.tables, *spark_build.TRENDS.tables):
        if not isinstance(table.select, str) or table.name == "trend_indicator_bits":
            continue  # Spark's own text (explode) or a query made at run time: held equal by the tests above
        creator = {
            "cell_counts": build_aggregates._cell_counts_sql(),
            "county_month_counts": build_aggregates._COUNTY_SQL,
            "cell_indicator_counts": build_aggregates._cell_indicator_sql(),
            "county_indicator_month_counts": build_aggregates._COUNTY_INDICATOR_SQL,
            "indicator_sets": build_aggregates._INDICATOR_SETS_SQL,
            "cell_indicator_sets": build_aggregates._CELL_INDICATOR_SETS_SQL,
            "trend_counts": build_trend_aggregates._trend_sql("trend_counts", None),
            "source_precision_counts": build_trend_aggregates._PRECISION_SQL,
        }[table.name]
        assert table.select in creator


@pytest.mark.spark
def test_release_compare_says_equal_and_finds_a_changed_row(
    built: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "compare", str(built["out"]), "--warehouse", str(built["duck"])]) == 0
    assert capsys.readouterr().out.count(" equal") == len(SPARK_TABLES)
    tampered = tmp_path / "tampered"
    shutil.copytree(built["out"], tampered)
    shutil.rmtree(tampered / "trend_counts")
    (tampered / "trend_counts").mkdir()
    duckdb.connect().sql(
        "SELECT * REPLACE (records + (row_number() OVER () = 1)::INT AS records) FROM read_parquet(?)",
        params=[f"{built['out'] / 'trend_counts'}/*.parquet"],
    ).write_parquet(str(tampered / "trend_counts" / "x.parquet"))
    assert main(["release", "compare", str(tampered), "--warehouse", str(built["duck"])]) == 1
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines() if line.endswith("DIFFERENT")] == ["trend_counts"]


@pytest.mark.spark
def test_release_load_releases_spark_counts_with_duckdb_accounting(built: dict[str, Path], tmp_path: Path) -> None:
    """The release from Spark's pre-noise counts: same true values per key, same ρ, noise within its bound.

    OpenDP noise cannot be seeded, so the noisy values are held to rules, not compared.
    """
    live = tmp_path / "routes.duckdb"
    shutil.copyfile(built["live"], live)
    counts = load_release(built["out"], warehouse_path=live)
    assert counts["release_counts"] > 0 and counts["release_cells"] > 0
    con = duckdb.connect()
    con.execute(f"ATTACH '{built['duck']}' AS d (READ_ONLY)")
    con.execute(f"ATTACH '{live}' AS w (READ_ONLY)")
    # The pre-noise measurement, every key of every measurement: exactly DuckDB's. A sparse
    # measurement (the cell breakdowns) is measured only under released parents above 0,
    # which depend on each build's own noise: there the keys both measured hold the same
    # true value, and the two builds' domains overlap.
    sparse = ", ".join(f"'{m.name}'" for m in build_release.MEASUREMENTS if m.sparse) or "''"
    truth = "SELECT measurement, key, true_value FROM {}.release_noise WHERE measurement {} ({})"
    con.execute(f"CREATE VIEW dt AS {truth.format('d', 'NOT IN', sparse)}")
    con.execute(f"CREATE VIEW wt AS {truth.format('w', 'NOT IN', sparse)}")
    assert con.execute("SELECT count(*) FROM dt").fetchall()[0][0] > 0  # fetched whole: the relations below share con
    assert_same_rows(con, "dt", "wt")
    both, differ = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE a.true_value <> b.true_value) FROM d.release_noise a "
        "JOIN w.release_noise b USING (measurement, key) WHERE list_contains(?::VARCHAR[], measurement)",
        [[m.name for m in build_release.MEASUREMENTS if m.sparse]],
    ).fetchone()  # type: ignore[misc]
    assert both > 0 and differ == 0, (both, differ)
    # The accounting: ρ and σ per measurement, cells measured and redrawn (not for sparse ones), the total.
    ledger = ("SELECT measurement, CASE WHEN measurement IN ({s}) THEN NULL ELSE cells END AS cells, "
              "CASE WHEN measurement IN ({s}) THEN NULL ELSE redrawn END AS redrawn, scale, rho FROM {w}.release_ledger")
    con.execute(f"CREATE VIEW dl AS {ledger.format(s=sparse, w='d')}")
    con.execute(f"CREATE VIEW wl AS {ledger.format(s=sparse, w='w')}")
    assert_same_rows(con, "dl", "wl")
    spent = "SELECT sum(rho) FROM {}.release_ledger"
    assert con.execute(spent.format("w")).fetchone() == con.execute(spent.format("d")).fetchone()
    for table in build_release.RELEASE_TABLES:
        assert con.execute(f"DESCRIBE w.{table}").fetchall() == con.execute(f"DESCRIBE d.{table}").fetchall()
    meta = "SELECT key FROM {}.release_meta WHERE key NOT IN ('build_id', 'built_at')"
    assert sorted(con.execute(meta.format("w")).fetchall()) == sorted(con.execute(meta.format("d")).fetchall())
    # The noise within its error bound: no draw past 8 σ of its measurement (about 1e-15 a cell).
    far = con.execute(
        "SELECT count(*) FROM w.release_noise n JOIN w.release_ledger l USING (measurement) WHERE abs(n.noise) > 8 * l.scale"
    ).fetchone()
    assert far == (0,)
    # A second load of the same counts redraws nothing and spends nothing (the DuckDB build's reuse).
    con.close()
    load_release(built["out"], warehouse_path=live)
    with warehouse.open_snapshot(path=live) as cursor:
        last = cursor.execute(
            "SELECT sum(redrawn), sum(rho) FROM release_ledger WHERE build_id = "
            "(SELECT build_id FROM release_ledger ORDER BY built_at DESC LIMIT 1)"
        ).fetchone()
    assert last == (0, 0.0)
