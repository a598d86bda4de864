"""``python -m pipelines build --engine spark --lake DIR --out DIR2``: build steps on Apache Spark.

For records that outgrow one machine: the same derived tables as the DuckDB build
(``pipelines/build/__init__.py``), computed by PySpark (Spark SQL) from the Parquet lake of
``python -m pipelines lake export`` and written as Parquet under ``DIR2``, one
directory per table plus ``_routes_build.json`` (the lake's fingerprint, the rows
per table, the order each table is stored in). ``python -m pipelines release load
DIR2`` then swaps them into the DuckDB warehouse the app serves. ``--master`` takes
what ``spark-submit`` takes: ``local[2]`` (the default), ``spark://host:7077``,
``yarn``.

Every derived step runs on Spark (:data:`SPARK_STEPS`): ``pipelines.build.flows``
(:mod:`pipelines.build.spark_flows`: the flow tables and cubes, ``source_bits`` as the
text of DuckDB's ``BIT``), ``pipelines.build.aggregates``,
``pipelines.build.trend_aggregates``, ``pipelines.build.corridors``
(:mod:`pipelines.build.spark_corridors`: the corridors and ``route_shifts`` whole, routing
and the shift tests on the driver), ``pipelines.build.hotspots``
(:mod:`pipelines.build.spark_hotspots`, the statistics on the driver),
``pipelines.build.matches`` (:mod:`pipelines.build.spark_matches`) and
``pipelines.build.moves`` (:mod:`pipelines.build.spark_moves`, circuits mined on the driver).

The protected release: this command writes its pre-noise counts
(``build_release.TRUE_COUNT_SELECTS``, the step's own SQL) under
``release_true_counts/``; ``release load`` then runs ``build_release.build`` on
them in the driver, so the release tables, ``release_noise`` and
``release_ledger`` are the DuckDB step's, noise reuse and ρ accounting included.

One definition per step: each table's query is the very text the DuckDB step
runs (``build_aggregates.cell_counts_select()``, ``COUNTY_MONTH_SELECT``,
``build_trend_aggregates.trend_select()`` and the others). DuckDB and Spark SQL
agree on ``GROUP BY ALL``, ``::`` casts, 64-bit ``&``/``|`` (so H3 parents are the
same arithmetic, ``geo.grid.sql_cell_to_parent``), ``count(*) FILTER (WHERE ...)``,
``row_number()`` and ``JOIN ... USING``. Only where the dialects part is there a
second text here: the three queries that unnest indicator lists (two intermediate
views of the aggregates, and ``trend_indicator_bits``), because DuckDB's
``unnest``/``list_distinct``/``len``/``list_sort`` are Spark's
``explode``/``array_distinct``/``size``/``array_sort`` (and DuckDB's
``list_distinct`` drops NULL elements where Spark's ``array_distinct`` keeps one,
hence ``array_compact``: the equality test found that); and the trend mask's
membership test is one argument (``list_contains`` / ``array_contains``). Shared
text cannot drift; the dialect-specific queries, and every table end to end, are
held equal by ``tests/test_spark_build.py`` (marker ``spark``), which builds a
small warehouse with both engines and compares each table row for row.

PySpark is a development requirement (``requirements-dev.txt``), not a runtime one:
the app never imports it; only this module does, and only when called.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo import flow_places
from pipelines.build import aggregates as build_aggregates
from pipelines.build import corridors as build_corridors
from pipelines.build import flows as build_flows
from pipelines.build import release as build_release
from pipelines.build import trend_aggregates as build_trend_aggregates
from pipelines.build.lake import MANIFEST as LAKE_MANIFEST
from pipelines.build.lake import read_folder_manifest, read_manifest, swap_in_folder
from pipelines.build.trend_aggregates import FINGERPRINT_SQL
from routes import settings
from routes.errors import ConfigError, RoutesError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

#: The manifest a Spark build writes beside its tables.
BUILD_MANIFEST = "_routes_build.json"
#: The folder of the release's pre-noise counts (one subfolder per measurement read).
RELEASE_COUNTS = "release_true_counts"
DEFAULT_MASTER = "local[2]"

#: The aggregates' dimensions: the DuckDB step's own list, so the two cannot differ.
_DIMENSIONS = build_aggregates._DIMENSIONS

# Spark's text for the two intermediate views of build_aggregates whose DuckDB text
# uses list functions Spark names differently (see the module docstring).
_SPARK_CELL_INDICATOR_BASE = f"""
SELECT indicator, dest_cell, dest_res, {_DIMENSIONS},
       count(*)::BIGINT AS records, sum(victim_count)::BIGINT AS victims
FROM (
    SELECT explode(array_compact(array_distinct(indicators))) AS indicator, dest_cell, dest_res, {_DIMENSIONS}, victim_count
    FROM records
    WHERE (dest_cell IS NOT NULL OR dest_county_fips IS NOT NULL) AND size(indicators) > 0
)
WHERE indicator IS NOT NULL
GROUP BY ALL
"""  # noqa: S608 (fixed text)

_SPARK_INDICATOR_SET_BASE = f"""
SELECT dest_res, dest_cell, {_DIMENSIONS}, array_sort(array_compact(array_distinct(indicators))) AS indicators,
       count(*)::BIGINT AS records, coalesce(sum(victim_count), 0)::BIGINT AS victims
FROM records
WHERE dest_cell IS NOT NULL AND size(array_compact(array_distinct(indicators))) > 0
GROUP BY ALL
"""  # noqa: S608 (fixed text)


@dataclass(frozen=True)
class SparkTable:
    """One derived table as Spark computes it.

    ``views`` are intermediate views (name, Spark SQL) made first and kept for the
    tables after; ``order`` is the sort the DuckDB step stores the table in, which
    ``release load`` restores (the query layer's reads rely on it).
    """

    name: str
    #: The query, or a function of the session and the lake giving the query or the
    #: frame itself (when it depends on an earlier table, or on Python on the driver).
    select: str | Callable[[SparkSession, Path | str], str | DataFrame]
    order: str
    views: tuple[tuple[str, str], ...] = ()
    #: Columns stamped with the build's time (``first_raised_at``): no two builds share
    #: them, so ``release compare`` leaves them out.
    stamped: tuple[str, ...] = ()


@dataclass(frozen=True)
class SparkStep:
    """A DuckDB build step (``module``) that also runs on Spark, table by table."""

    module: str
    tables: tuple[SparkTable, ...]
    #: A table of the step holding the records fingerprint it was built from, or None,
    #: and the DuckDB query ``release load`` writes it with (on the warehouse it loads into).
    state_table: str | None = None
    state_sql: str = FINGERPRINT_SQL
    #: DuckDB steps that must run before this one when ``release load`` learns its
    #: column types on an empty warehouse (the corridor step reads ``flows``).
    requires: tuple[str, ...] = ()
    #: Statements ``release load`` runs after loading the tables (the DuckDB step's indexes).
    indexes: tuple[str, ...] = ()
    #: Called by ``release load`` on the warehouse before and after it replaces the step's
    #: tables (``subject_matches`` keeps the time a match was first raised).
    before_load: Callable[[Any], None] | None = None
    after_load: Callable[[Any], None] | None = None


def _flow_sources(spark: SparkSession, lake: Path | str) -> DataFrame:
    from pipelines.build import spark_flows

    return spark_flows.flow_sources(spark)


def _flows_frame(spark: SparkSession, lake: Path | str) -> DataFrame:
    from pipelines.build import spark_flows

    return spark_flows.flows_frame(spark)


def _area_cube(spark: SparkSession, lake: Path | str) -> str:
    from pipelines.build import spark_flows

    return spark_flows.area_cube_select(spark)


def _cell_cube(spark: SparkSession, lake: Path | str) -> str:
    from pipelines.build import spark_flows

    return spark_flows.cell_cube_select(spark)


def _all_time(table: str) -> Callable[[SparkSession, Path | str], str]:
    def select(spark: SparkSession, lake: Path | str) -> str:
        from pipelines.build import spark_flows

        return spark_flows.all_time_select(table)

    return select


def _coordination_pairs(spark: SparkSession, lake: Path | str) -> DataFrame:
    from pipelines.build import spark_flows

    return spark_flows.coordination_pairs_frame(spark)


#: The flow step but ``route_shifts`` (made with the corridors, which write its segment rows).
#: Each table reads the ones before it as written (``flow_area_facts`` reads ``flow_facts``).
FLOWS = SparkStep(
    module="pipelines.build.flows",
    tables=(
        SparkTable("flow_sources", _flow_sources, "bit"),
        SparkTable("flow_facts", flow_places.sql_flow_facts(), "record_type, month, trafficking_type"),
        SparkTable("flow_area_facts", flow_places.sql_flow_area_facts(), "month, trafficking_type"),
        SparkTable("flow_area_cube", _area_cube, "indicator NULLS FIRST, month, trafficking_type"),
        SparkTable("flow_res4_cube", _cell_cube, "indicator NULLS FIRST, month, trafficking_type"),
        SparkTable("flow_facts_all_time", _all_time("flow_facts"), "record_type, trafficking_type"),
        SparkTable("flow_area_cube_all_time", _all_time("flow_area_cube"), "indicator NULLS FIRST, record_type, trafficking_type"),
        SparkTable("flow_res4_cube_all_time", _all_time("flow_res4_cube"), "indicator NULLS FIRST, record_type, trafficking_type"),
        SparkTable("flows", _flows_frame, "level, month, trafficking_type, origin_id, dest_id"),
        SparkTable("flows_all_time", _all_time("flows"), "level, trafficking_type"),
        SparkTable("location_totals", build_flows.LOCATION_TOTALS_SELECT, "level, month, trafficking_type, location_id"),
        SparkTable("coordination_pairs", _coordination_pairs, "level, month, trafficking_type, origin_id, dest_id"),
    ),
)

AGGREGATES = SparkStep(
    module="pipelines.build.aggregates",
    state_table="cell_build_state",
    tables=(
        SparkTable("cell_counts", build_aggregates.cell_counts_select(), "res, month, cell"),
        SparkTable("county_month_counts", build_aggregates.COUNTY_MONTH_SELECT, "month, dest_county_fips"),
        SparkTable(
            "cell_indicator_counts", build_aggregates.cell_indicator_counts_select(),
            "indicator, res, month, cell", views=(("_cell_indicator_base", _SPARK_CELL_INDICATOR_BASE),),
        ),
        SparkTable(
            "county_indicator_month_counts", build_aggregates.COUNTY_INDICATOR_SELECT,
            "indicator, month, dest_county_fips",
        ),
        SparkTable(
            "indicator_sets", build_aggregates.INDICATOR_SETS_SELECT, "set_id",
            views=(("_indicator_set_base", _SPARK_INDICATOR_SET_BASE),),
        ),
        SparkTable("cell_indicator_sets", build_aggregates.CELL_INDICATOR_SETS_SELECT, "dest_cell"),
    ),
)

_SPARK_TREND_BITS = f"""
WITH found AS (
    SELECT indicator, count(*) AS n
    FROM (SELECT explode(indicators) AS indicator FROM records)
    WHERE indicator IS NOT NULL
    GROUP BY indicator
), ranked AS (
    SELECT indicator, (row_number() OVER (ORDER BY n DESC, indicator) - 1)::INTEGER AS bit FROM found
)
SELECT indicator, bit, (SELECT count(*) FROM found) <= {build_trend_aggregates.MAX_BITS} AS complete
FROM ranked WHERE bit < {build_trend_aggregates.MAX_BITS}
"""  # noqa: S608 (fixed text); DuckDB's _BITS_SQL with explode for unnest


def _trend_indicator_select(spark: SparkSession, lake: Path | str) -> str:
    """``trend_indicator_counts``'s query with the mask of the bits Spark just wrote."""
    rows = spark.sql("SELECT indicator, bit FROM trend_indicator_bits ORDER BY bit").collect()
    bits = [(str(r["indicator"]), int(r["bit"])) for r in rows]
    return build_trend_aggregates.trend_select(
        build_trend_aggregates.mask_expression(bits, contains="array_contains")
    )


TRENDS = SparkStep(
    module="pipelines.build.trend_aggregates",
    state_table="trend_build_state",
    state_sql=f"SELECT *, uuid()::VARCHAR AS build_id FROM ({FINGERPRINT_SQL})",  # noqa: S608 (as the DuckDB step)
    tables=(
        SparkTable("trend_indicator_bits", _SPARK_TREND_BITS, "bit"),
        SparkTable("trend_counts", build_trend_aggregates.trend_select(None), "month, dest_county_fips"),
        SparkTable("trend_indicator_counts", _trend_indicator_select, "month, dest_county_fips"),
        SparkTable("source_precision_counts", build_trend_aggregates.PRECISION_SELECT, "source_id"),
    ),
)



def _corridor_paths(spark: SparkSession, lake: Path | str) -> DataFrame:
    """``corridor_paths`` (routed on the driver); registers the views ``corridor_segments`` reads."""
    from pipelines.build import spark_corridors

    return spark_corridors.corridor_tables(spark)["corridor_paths"]


def _corridor_segments(spark: SparkSession, lake: Path | str) -> str:
    from pipelines.build.spark_flows import duckdb_to_spark

    return duckdb_to_spark(build_corridors.SEGMENTS_SELECT)


def _route_shifts(spark: SparkSession, lake: Path | str) -> DataFrame:
    from pipelines.build import spark_corridors

    return spark_corridors.route_shifts(spark)


#: The corridors, and ``route_shifts`` whole: the flow step writes its edge rows, this
#: step its segment rows, so on Spark it waits for both.
CORRIDORS = SparkStep(
    module="pipelines.build.corridors",
    requires=("pipelines.build.flows",),
    tables=(
        SparkTable("corridor_paths", _corridor_paths, "origin_id, dest_id, seq"),
        SparkTable("corridor_segments", _corridor_segments, "segment_id"),
        SparkTable("route_shifts", _route_shifts, "kind, level, trafficking_type, origin_id, dest_id, segment_id"),
    ),
)


def _hotspot_classes(spark: SparkSession, lake: Path | str) -> DataFrame:
    """``hotspot_classes``: the cube on Spark, the statistics on the driver."""
    from pipelines.build import spark_hotspots

    return spark_hotspots.hotspot_classes(spark, data_as_of=spark_hotspots.data_as_of_in(lake_manifest_of(spark, lake)))


HOTSPOTS = SparkStep(
    module="pipelines.build.hotspots",
    tables=(SparkTable("hotspot_classes", _hotspot_classes, "res, step, cell"),),
    indexes=("CREATE INDEX IF NOT EXISTS hotspot_classes_res_step ON hotspot_classes (res, step)",),
)

def _subject_matches(spark: SparkSession, lake: Path | str) -> DataFrame:
    from pipelines.build import spark_matches

    return spark_matches.subject_matches(spark)


def _remember_first_raised(con: Any) -> None:
    from pipelines.build import spark_matches

    spark_matches.remember_first_raised(con)


def _keep_first_raised(con: Any) -> None:
    from pipelines.build import spark_matches

    spark_matches.keep_first_raised(con)


MATCHES = SparkStep(
    module="pipelines.build.matches",
    tables=(SparkTable("subject_matches", _subject_matches, "source_a, source_b, case_number_a, case_number_b",
                       stamped=("first_raised_at",)),),
    before_load=_remember_first_raised,
    after_load=_keep_first_raised,
)


def _moves(spark: SparkSession, lake: Path | str) -> DataFrame:
    from pipelines.build import spark_moves

    return spark_moves.moves(spark)


def _circuits(spark: SparkSession, lake: Path | str) -> DataFrame:
    from pipelines.build import spark_moves

    return spark_moves.circuits(spark)


MOVES = SparkStep(
    module="pipelines.build.moves",
    tables=(
        SparkTable("moves", _moves, "level, month, origin, destination"),
        SparkTable("circuits", _circuits, "rank"),
    ),
)

#: The steps the Spark engine runs, in order (the flows first: the corridors read them).
SPARK_STEPS: tuple[SparkStep, ...] = (FLOWS, AGGREGATES, TRENDS, CORRIDORS, HOTSPOTS, MATCHES, MOVES)
#: The same, by the DuckDB step's module name.
STEPS_BY_MODULE = {step.module: step for step in SPARK_STEPS}

#: Partition columns of the lake, cast back to the warehouse's types on reading
#: (a reader infers them from directory names; ``kind=1`` would otherwise be an int).
_PARTITION_TYPES = {"records": {"month": "DATE"}, "record_identifiers": {"kind": "STRING"}}


def spark_session(master: str = DEFAULT_MASTER, *, driver_memory: str | None = None) -> SparkSession:
    """A Spark session for the build: no web UI, no progress bars, UTC, few shuffle partitions locally.

    ``driver_memory`` is ``spark.driver.memory`` (default :func:`routes.settings.spark_driver_memory`,
    ``ROUTES_SPARK_DRIVER_MEMORY`` or ``1g``); it takes effect only when this call starts the JVM.
    """
    driver_memory = driver_memory or settings.spark_driver_memory()
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise RoutesError(
            "the Spark engine needs pyspark: `.venv/bin/pip install -r requirements-dev.txt` "
            "(and Java 17: `apt-get install openjdk-17-jre-headless`)"
        ) from exc
    # pyspark 4.3 warns that pandas 3 is not fully supported; this engine uses no pandas API.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = (
        SparkSession.builder.master(master)
        .appName("routes-build")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", driver_memory)
    )
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "4")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def register_lake(spark: SparkSession, lake: Path | str) -> None:
    """Make the lake's tables (a folder or a URI) Spark views named as in the warehouse."""
    for table in ("records", "record_identifiers", "sources"):
        frame = spark.read.parquet(join(lake, table))
        for column, kind in _PARTITION_TYPES.get(table, {}).items():
            frame = frame.withColumn(column, frame[column].cast(kind))
        frame.createOrReplaceTempView(table)


def build_on_spark(
    lake: Path | str,
    out: Path | str,
    *,
    master: str = DEFAULT_MASTER,
    driver_memory: str | None = None,
    spark: SparkSession | None = None,
) -> dict[str, int]:
    """Run :data:`SPARK_STEPS` over ``lake``; write each table as Parquet under ``out``.

    Parameters
    ----------
    lake
        A lake written by ``python -m pipelines lake export``: a folder, or a URI
        of a file system Spark has a connector for (``s3a://bucket/lake``).
    out
        Where to write. A folder: written beside it and renamed into place, so an
        earlier build there is replaced as a whole. A URI (object stores cannot
        rename): its manifest is deleted first and written last, so a reader finds
        a complete build or none.
    master
        The Spark master, when no ``spark`` session is given.
    driver_memory
        The driver's heap (``4g``), when no ``spark`` session is given; default
        :func:`routes.settings.spark_driver_memory`.
    spark
        A session to use (and leave running); by default one is started and stopped.

    Returns
    -------
    dict
        Rows written per table.

    Raises
    ------
    ConfigError
        A URI whose file system Spark has no connector for (say which to add).
    """
    session = spark or spark_session(master, driver_memory=driver_memory)
    remote = is_uri(str(out))
    work: Path | str | None = None
    try:
        lake_manifest = lake_manifest_of(session, lake)
        if remote:
            work = str(out)
            _delete(session, join(work, BUILD_MANIFEST), option="--out", given=work)
        else:
            out = Path(out)
            out.parent.mkdir(parents=True, exist_ok=True)
            work = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            shutil.rmtree(work, ignore_errors=True)
        counts = _build_into(session, lake, work, lake_manifest)
        if not remote:
            assert isinstance(out, Path) and isinstance(work, Path)
            swap_in_folder(work, out, manifest=BUILD_MANIFEST, kind="Routes Spark build")
    except BaseException:
        if isinstance(work, Path):
            shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if spark is None:
            session.stop()
    return counts


def _build_into(session: SparkSession, lake: Path | str, work: Path | str, lake_manifest: dict[str, Any]) -> dict[str, int]:
    """Every step's tables, the release's pre-noise counts, then the manifest, under ``work``."""
    started = time.perf_counter()
    counts: dict[str, int] = {}
    register_lake(session, lake)
    for step in SPARK_STEPS:
        counts.update(run_step(session, step, lake=lake, out=work))
    # The release's pre-noise counts; ``release load`` draws the noise on them.
    for name, sql in build_release.TRUE_COUNT_SELECTS.items():
        session.sql(sql).write.mode("overwrite").parquet(join(work, RELEASE_COUNTS, name))
    manifest = {
        "format": "routes-build/1",
        "engine": "spark",
        "spark_version": session.version,
        "master": session.sparkContext.master,
        "built_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "lake": str(lake),
        "lake_fingerprint": lake_manifest["fingerprint"],
        "release_true_counts": sorted(build_release.TRUE_COUNT_SELECTS),
        "steps": {
            step.module: {
                "state_table": step.state_table,
                "tables": {t.name: {"rows": counts[t.name], "order": t.order} for t in step.tables},
            }
            for step in SPARK_STEPS
        },
    }
    text = json.dumps(manifest, indent=2) + "\n"
    if isinstance(work, Path):
        (work / BUILD_MANIFEST).write_text(text)
    else:
        _write_text(session, join(work, BUILD_MANIFEST), text, given=work)
    _say(f"spark build finished in {time.perf_counter() - started:.2f} s")
    return counts


# ------------------------------------------------------------------ folders and URIs

_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def is_uri(value: str) -> bool:
    """``value`` names a location by scheme (``s3a://bucket/lake``), not a folder.

    >>> is_uri("s3a://bucket/lake"), is_uri("/data/lake"), is_uri("lake")
    (True, False, False)
    """
    return bool(_URI.match(value))


def join(base: Path | str, *names: str) -> str:
    """``base/name/…`` as the string Spark reads: a URI keeps its ``//`` (``Path`` would fold it).

    >>> join("s3a://bucket/lake/", "records")
    's3a://bucket/lake/records'
    """
    if isinstance(base, Path) or not is_uri(base):
        return str(Path(base).joinpath(*names))
    return "/".join([base.rstrip("/"), *names])


def _hadoop_path(spark: SparkSession, uri: str, *, option: str, given: str) -> tuple[Any, Any]:
    """The Hadoop ``FileSystem`` and ``Path`` of ``uri`` (a file under ``option``'s value ``given``);
    a ConfigError naming the connector when Spark has none."""
    jvm: Any = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path  # type: ignore[attr-defined]
    except Exception as exc:
        raise missing_filesystem(exc, given, option=option) or exc from exc


def missing_filesystem(exc: BaseException, uri: str, *, option: str) -> ConfigError | None:
    """A clear ConfigError when ``exc`` says Spark has no file system for ``uri``'s scheme; else None.

    Hadoop says it two ways: "No FileSystem for scheme" (a scheme it does not know),
    or a ``ClassNotFoundException`` of the file system class it maps the scheme to
    (``s3a`` maps to ``S3AFileSystem``, which ``hadoop-aws`` provides).
    """
    text = str(exc)
    if "No FileSystem for scheme" not in text and not re.search(r"ClassNotFoundException: Class \S+FileSystem not found", text):
        return None
    match = _URI.match(uri)
    scheme = match[1] if match else "?"
    hint = (
        "for S3 use s3a:// with the hadoop-aws package of Spark's Hadoop version "
        "(--conf spark.jars.packages=org.apache.hadoop:hadoop-aws:<version>) and credentials"
        if scheme.lower() in ("s3", "s3a", "s3n")
        else f"add the Hadoop connector for {scheme}:// to Spark's jars (spark.jars.packages)"
    )
    return ConfigError(
        f"{option} {uri!r}: Spark has no file system for {scheme}://; {hint}, "
        "or copy the lake to a local or shared folder and give its path (docs/SCALE.md)"
    )


def _read_text(spark: SparkSession, uri: str, *, option: str, given: str) -> str | None:
    """The text of the file at ``uri`` (through Spark's Hadoop file system), or None when there is none."""
    fs, path = _hadoop_path(spark, uri, option=option, given=given)
    if not fs.exists(path):
        return None
    jvm: Any = spark.sparkContext._jvm
    stream = fs.open(path)
    try:
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def _write_text(spark: SparkSession, uri: str, text: str, *, given: str) -> None:
    fs, path = _hadoop_path(spark, uri, option="--out", given=given)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode()))
    finally:
        stream.close()


def _delete(spark: SparkSession, uri: str, *, option: str, given: str) -> None:
    fs, path = _hadoop_path(spark, uri, option=option, given=given)
    fs.delete(path, False)


def lake_manifest_of(spark: SparkSession, lake: Path | str) -> dict[str, Any]:
    """The lake's manifest, from a folder (:func:`pipelines.build.lake.read_manifest`) or a URI (through Spark)."""
    if not is_uri(str(lake)):
        return read_manifest(Path(lake))
    text = _read_text(spark, join(lake, LAKE_MANIFEST), option="--lake", given=str(lake))
    if text is None:
        raise RoutesError(
            f"{str(lake)!r} is not a Routes lake (no {LAKE_MANIFEST}); "
            "write one with `python -m pipelines lake export --out DIR` and copy it there"
        )
    manifest: dict[str, Any] = json.loads(text)
    return manifest


def run_step(spark: SparkSession, step: SparkStep, *, lake: Path | str, out: Path | str) -> dict[str, int]:
    """Write ``step``'s tables as Parquet under ``out``, in order; rows per table.

    Each table, once written, is read back and registered as a view of its name:
    the later tables (and steps) read it as written, as DuckDB's steps read their
    tables (``cell_indicator_sets`` joins ``indicator_sets``, the corridors read ``flows``).
    Needs the lake registered (:func:`register_lake`) and the steps before ``step`` run.
    """
    counts: dict[str, int] = {}
    cached = []
    for table in step.tables:
        table_started = time.perf_counter()
        for view, sql in table.views:
            frame = spark.sql(sql).persist()
            frame.createOrReplaceTempView(view)
            cached.append(frame)
        select = table.select if isinstance(table.select, str) else table.select(spark, lake)
        frame = spark.sql(select) if isinstance(select, str) else select
        frame.write.mode("overwrite").parquet(join(out, table.name))
        written = spark.read.parquet(join(out, table.name))
        written.createOrReplaceTempView(table.name)
        counts[table.name] = written.count()
        _say(f"      {table.name:<32} {counts[table.name]:>10,} rows  {time.perf_counter() - table_started:>7.2f} s")
    for frame in cached:
        frame.unpersist()
    return counts


def read_build_manifest(build_dir: Path) -> dict[str, Any]:
    """The manifest of a Spark build; a clear error when ``build_dir`` is not one."""
    return read_folder_manifest(
        build_dir, manifest=BUILD_MANIFEST, kind="Routes Spark build",
        how="`python -m pipelines build --engine spark --lake DIR --out DIR`",
    )


def _say(message: str) -> None:
    if not settings.quiet():
        print(message, flush=True)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``build`` command's engine options (``--engine``, ``--lake``, ``--master``, ``--out``)."""
    parser.add_argument(
        "--engine", choices=("duckdb", "spark"), default="duckdb",
        help="duckdb (default): rebuild the warehouse in place; spark: build from --lake into --out",
    )
    parser.add_argument("--lake", help="with --engine spark: the lake (`python -m pipelines lake export`)")
    parser.add_argument("--master", default=DEFAULT_MASTER, help="with --engine spark: the Spark master (default local[2])")
    parser.add_argument("--out", help="with --engine spark: the directory for the built tables (Parquet)")
    parser.add_argument(
        "--driver-memory",
        help="with --engine spark: the driver's heap, e.g. 4g (default ROUTES_SPARK_DRIVER_MEMORY or 1g)",
    )


def location(value: str, *, option: str) -> Path | str:
    """``value`` as Spark will read or write it: an absolute local path, or a URI as given.

    A URI passes through (``s3a://bucket/lake``, ``hdfs://…``): Spark reads and writes
    it with the Hadoop connector for its scheme, and the first access says clearly
    when Spark has none (:func:`missing_filesystem`). ``Path`` is never applied to a
    URI: it would fold ``s3a://b/lake`` into ``s3a:/b/lake``.
    """
    return value if is_uri(value) else Path(value).expanduser().resolve()


def run_spark_build(args: argparse.Namespace) -> int:
    """``build --engine spark``: check the options, build, say what to do next."""
    if not args.lake or not args.out:
        raise RoutesError(
            "--engine spark needs --lake DIR (from `python -m pipelines lake export --out DIR`) "
            "and --out DIR2 (where the tables go)"
        )
    lake, out = location(args.lake, option="--lake"), location(args.out, option="--out")
    memory = (
        settings.check_spark_memory(args.driver_memory, name="--driver-memory")
        if args.driver_memory
        else settings.spark_driver_memory()
    )
    build_on_spark(lake, out, master=args.master, driver_memory=memory)
    where = args.out if is_uri(str(out)) else str(out)
    after = " (copy it to a local folder first: release load reads folders)" if is_uri(str(out)) else ""
    _say(f"tables written to {where}; load them with `python -m pipelines release load DIR`{after}")
    return 0
