"""The trend pre-aggregates give exactly what scanning ``records`` gives.

``pipelines/build/trend_aggregates.py`` builds ``trend_counts`` and friends;
``query/aggregates.py`` reads them only while they match the records. Here two
copies of the fixture warehouse are compared for random filters: one built (the
fast path), one whose trend tables are dropped (the records path, the old SQL).
Every reader must return the same frames, with the same counts hidden, and refuse
the same filters with the same message.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines import build
from pipelines.build import trend_aggregates as build_trend_aggregates
from query import aggregates, intake, suppression, trends
from query.filters import INDICATORS, RECORD_TYPES, SOURCE_KINDS, TRAFFICKING_TYPES, Filters
from query.suppression import FilterIsolationError, guard_filters
from query.viewer import Viewer
from routes import warehouse
from routes.contract.sql import compose, ident
from tests.support.warehouse_fixture import SOURCES, make_records

K = 11
VIEWERS = (Viewer("leader", "leadership"), Viewer("ana", "analyst", task_force="la"), Viewer("ngo", "partner"))
MONTHS = [date(2024 + m // 12, m % 12 + 1, 1) for m in range(24)]
DROP = ("trend_counts", "trend_indicator_counts", "trend_indicator_bits", "source_precision_counts",
        "trend_build_state")


def _write(path: Path, records: pd.DataFrame) -> None:
    with warehouse.write_snapshot(path=path) as con:
        con.register("src", SOURCES.assign(added_at=datetime(2026, 1, 1)))
        con.execute("INSERT INTO sources SELECT source_id, name, kind, task_force, contact, added_at FROM src")
        con.register("recs", records)
        con.execute("INSERT INTO records BY NAME SELECT * FROM recs")
        con.execute(
            "INSERT INTO batches VALUES ('fixture-batch', 'hotline', 'fixture.csv', 'x', NULL, ?, ?, ?, ?, 0, 0, 0)",
            [datetime(2026, 1, 1), datetime(2026, 1, 1), len(records), len(records)],
        )
        warehouse.mark_demo(con)


def _records_with_gaps(n: int = 3000) -> pd.DataFrame:
    """The fixture's records, plus a few without a destination, a type or a month.

    Those NULLs are what made ``_check_atoms`` sort NaN with strings.
    """
    records = make_records(n, seed=3)
    rng = np.random.default_rng(5)
    no_dest = rng.choice(n, 4, replace=False)
    for column in ("dest_cell", "dest_res"):
        records[column] = records[column].astype("Int64")
    for column in [c for c in records.columns if c.startswith("dest_")]:
        records.loc[no_dest, column] = None
    no_type = rng.choice(n, 3, replace=False)
    records.loc[no_type, "trafficking_type"] = None
    records.loc[rng.choice(n, 2, replace=False), "record_type"] = None
    no_month = rng.choice(n, 2, replace=False)
    records.loc[no_month, ["occurred_at", "month"]] = None
    records.loc[rng.choice(n, 5, replace=False), "victim_count"] = None
    records["indicators"] = [
        [*ind, "cross_border"] if i % 97 == 0 else ind for i, ind in enumerate(records["indicators"])
    ]
    return records


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trend_aggregates")
    fast = root / "fast" / "routes.duckdb"
    slow = root / "slow" / "routes.duckdb"
    fast.parent.mkdir()
    slow.parent.mkdir()
    _write(fast, _records_with_gaps())
    build.build_warehouse(warehouse_path=fast)
    shutil.copyfile(fast, slow)
    with warehouse.write_snapshot(path=slow) as con:
        for table in DROP:
            con.execute(f"DROP TABLE {table}")
    return {"fast": fast, "slow": slow}


def _random_filters(rng: random.Random) -> Filters:
    from geo import reference

    dims = reference.county_dimensions()
    kwargs: dict[str, object] = {}
    if rng.random() < 0.7:
        i = rng.randrange(len(MONTHS))
        kwargs["start"], kwargs["end"] = MONTHS[i], MONTHS[min(len(MONTHS) - 1, i + rng.choice([0, 2, 5, 11]))]
    if rng.random() < 0.4:
        kwargs["trafficking_types"] = tuple(rng.sample(TRAFFICKING_TYPES, rng.randint(1, 3)))
    if rng.random() < 0.3:
        kwargs["record_types"] = tuple(rng.sample(RECORD_TYPES, rng.randint(1, 3)))
    if rng.random() < 0.2:
        kwargs["source_kinds"] = tuple(rng.sample(SOURCE_KINDS, rng.randint(1, 3)))
    roll = rng.random()
    if roll < 0.3:
        kwargs["regions"] = tuple(rng.sample(sorted(dims["region"].dropna().unique()), rng.randint(1, 2)))
    elif roll < 0.5:
        kwargs["counties"] = tuple(rng.sample(sorted(dims["county_fips"]), rng.randint(1, 4)))
    elif roll < 0.6:
        kwargs["task_forces"] = tuple(rng.sample(sorted(dims["task_force"].dropna().unique()), rng.randint(1, 2)))
    if rng.random() < 0.3:
        pool = [*INDICATORS, "not_an_indicator"]
        kwargs["indicators"] = tuple(rng.sample(pool, rng.randint(1, 3)))
    return Filters(**kwargs)  # type: ignore[arg-type]


def _outcome(path: Path, monkeypatch: pytest.MonkeyPatch, call) -> object:
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(path))
    try:
        return call()
    except FilterIsolationError as exc:
        return ("refused", str(exc))


def _same(a: object, b: object, where: str) -> None:
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b, where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=where)
    elif isinstance(a, trends.RegionProfile):
        for name in ("headline", "trend", "county_rates", "neighbours", "flows_in", "flows_out"):
            _same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    else:
        assert a == b, where


READERS = {
    "headline_figures": lambda v, f, rng: trends.headline_figures(v, f),
    "monthly_series": lambda v, f, rng: trends.monthly_series(v, f),
    "monthly_series(by=region)": lambda v, f, rng: trends.monthly_series(v, f, by="region"),
    "county_rates": lambda v, f, rng: trends.county_rates(v, f),
    "counties_ranked_by_change": lambda v, f, rng: trends.counties_ranked_by_change(
        v, f, against=rng.choice(["previous", "year_before"])),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_readers_give_the_same_frames_from_the_aggregates_and_from_records(
    pair: dict[str, Path], monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    monkeypatch.setenv("ROUTES_K", str(K))
    rng = random.Random(hash(reader) % 1000)
    refused = 0
    for i in range(40):
        filters = _random_filters(rng)
        viewer = VIEWERS[i % len(VIEWERS)]
        state = rng.getstate()
        fast = _outcome(pair["fast"], monkeypatch, lambda v=viewer, f=filters: READERS[reader](v, f, rng))
        rng.setstate(state)
        slow = _outcome(pair["slow"], monkeypatch, lambda v=viewer, f=filters: READERS[reader](v, f, rng))
        _same(fast, slow, f"{reader} {viewer.role} {filters}")
        refused += isinstance(fast, tuple)
    assert refused < 40  # the comparison covered answers, not only refusals


def test_region_profile_and_source_summary_match(pair: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_K", str(K))
    rng = random.Random(4)
    for i, place in enumerate(({"region": "Region I"}, {"county": "06037"}, {"task_force": "la"})):
        filters = _random_filters(rng).with_period(MONTHS[3], MONTHS[14])
        viewer = VIEWERS[i % len(VIEWERS)]
        fast = _outcome(pair["fast"], monkeypatch, lambda v=viewer, p=place, f=filters: trends.region_profile(v, **p, filters=f))
        slow = _outcome(pair["slow"], monkeypatch, lambda v=viewer, p=place, f=filters: trends.region_profile(v, **p, filters=f))
        _same(fast, slow, f"region_profile {place}")
    for viewer in VIEWERS:
        fast = _outcome(pair["fast"], monkeypatch, lambda v=viewer: intake.source_summary(v))
        slow = _outcome(pair["slow"], monkeypatch, lambda v=viewer: intake.source_summary(v))
        _same(fast, slow, f"source_summary {viewer.role}")


def test_guard_gives_the_same_verdicts_and_messages(pair: dict[str, Path]) -> None:
    rng = random.Random(11)
    with duckdb.connect(str(pair["fast"]), read_only=True) as fast, \
            duckdb.connect(str(pair["slow"]), read_only=True) as slow:
        assert aggregates.is_fresh(fast) and not aggregates.is_fresh(slow)
        verdicts = []
        for _ in range(150):
            filters = _random_filters(rng)
            outcomes = []
            for con in (fast, slow):
                try:
                    guard_filters(con, filters, k=K)
                    outcomes.append("allowed")
                except FilterIsolationError as exc:
                    outcomes.append(str(exc))
            assert outcomes[0] == outcomes[1], filters
            verdicts.append(outcomes[0] == "allowed")
        assert 0 < sum(verdicts) < len(verdicts)  # both kinds of verdict were compared


def test_counts_from_the_aggregates_equal_counts_from_records(pair: dict[str, Path]) -> None:
    rng = random.Random(12)
    with duckdb.connect(str(pair["fast"]), read_only=True) as con:
        for _ in range(60):
            filters = _random_filters(rng)
            source = aggregates.count_source(con, [filters])
            where, params = source.where(filters)
            got = con.execute(
                compose("SELECT {records}, {victims}, {minors} FROM {table} WHERE {where}", records=source.records,
                        victims=source.victims, minors=source.minors, table=ident(source.table), where=where),
                params,
            ).fetchone()
            where, params = filters.where()
            want = con.execute(
                compose("SELECT count(*), sum(victim_count), count(*) FILTER (WHERE minor_involved) "
                        "FROM records WHERE {where}", where=where), params,
            ).fetchone()
            assert tuple(got) == tuple(want), filters
            if filters.indicators:
                assert source.table in ("trend_indicator_counts", "records")


def test_a_stale_build_is_not_read(pair: dict[str, Path], tmp_path: Path) -> None:
    stale = tmp_path / "routes.duckdb"
    shutil.copyfile(pair["fast"], stale)
    with warehouse.write_snapshot(path=stale) as con:
        con.execute("INSERT INTO records (source_id, record_id, batch_id, dest_county_fips, month) "
                    "VALUES ('hotline', 'late', 'b2', '06037', DATE '2025-12-01')")
    with duckdb.connect(str(stale), read_only=True) as con:
        assert not aggregates.is_fresh(con)
        assert aggregates.count_source(con, [Filters()]).table == "records"


def test_the_trend_step_is_a_build_step() -> None:
    assert "pipelines.build.trend_aggregates" in build.BUILD_STEPS


def test_build_is_idempotent(pair: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "routes.duckdb"
    shutil.copyfile(pair["fast"], again)
    with warehouse.write_snapshot(path=again) as con:
        first = con.execute("SELECT * FROM trend_indicator_counts ORDER BY ALL").df()
        counts = build_trend_aggregates.build(con)
        second = con.execute("SELECT * FROM trend_indicator_counts ORDER BY ALL").df()
        total = con.execute("SELECT sum(records) FROM trend_counts").fetchone()[0]
        assert total == con.execute("SELECT count(*) FROM records").fetchone()[0]
    pd.testing.assert_frame_equal(first, second)
    assert counts["trend_indicator_counts"] == len(second)


# ------------------------------------------------------------------ the atoms, vectorised


def test_atoms_equal_the_pandas_version_for_random_units() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        size = int(rng.integers(1, 40))
        units = pd.DataFrame({
            "value": [f"v{i}" for i in range(size)],
            "n": rng.choice([0, 1, 2, 3, 5, 8, 10, 11, 12, 30, 200], size),
            "tf": rng.choice(["a", "b", "c", None], size),
            "region": rng.choice(["R1", "R2", None], size),
        })
        hierarchy = [["tf", "region"], ["region"], []][int(rng.integers(0, 3))]
        fast = suppression._atoms(units, k=K, hierarchy=hierarchy)
        slow = suppression._atoms_reference(units, k=K, hierarchy=hierarchy)
        pd.testing.assert_series_equal(fast, slow, check_dtype=False)


# ------------------------------------------------------------- the TypeError, reproduced


def test_check_atoms_names_a_missing_value_instead_of_failing_to_sort() -> None:
    # an atom holding a unit without a value (records with no county) and a county:
    # selecting only the third part must be refused with a readable message,
    # not a TypeError from sorting NaN with strings
    units = pd.DataFrame({
        "value": pd.array([None, "06003", "06005"], dtype="str"),
        "n": [3, 3, 20], "n_in": [0, 0, 20],
    })
    atom = pd.Series([0, 0, 0])
    with pytest.raises(FilterIsolationError) as caught:
        suppression._check_atoms(units, atom, k=K, dimension="county")
    assert "['(no value)', '06003']" in str(caught.value)


def test_random_filters_on_records_with_gaps_never_raise_type_error(pair: dict[str, Path]) -> None:
    # with the first _check_atoms, 9 of these 150 selections raised TypeError
    rng = random.Random(21)
    named = 0
    with duckdb.connect(str(pair["slow"]), read_only=True) as con:
        for _ in range(150):
            filters = _random_filters(rng)
            try:
                guard_filters(con, filters, k=K)
            except FilterIsolationError as exc:
                named += suppression.NO_VALUE in str(exc)
    assert named > 0  # the records without a value were in the refused atoms


def test_guard_verdicts_are_remembered_per_build_only(pair: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(31)
    with duckdb.connect(str(pair["fast"]), read_only=True) as con:
        build_id = aggregates.fresh_build(con)
        assert build_id
        for _ in range(40):
            filters = _random_filters(rng)
            outcomes = []
            for _ in range(2):  # the second answer comes from the cache
                try:
                    guard_filters(con, filters, k=K)
                    outcomes.append(None)
                except FilterIsolationError as exc:
                    outcomes.append(str(exc))
            assert outcomes[0] == outcomes[1]
            assert (build_id, filters, K, "dest") in suppression._VERDICTS
    # a copy with one more record is not fresh: nothing cached is used for it
    stale = tmp_path / "routes.duckdb"
    shutil.copyfile(pair["fast"], stale)
    with warehouse.write_snapshot(path=stale) as con:
        con.execute("INSERT INTO records (source_id, record_id, batch_id, dest_county_fips, month) "
                    "VALUES ('hotline', 'late', 'b2', '06037', DATE '2025-12-01')")
    with duckdb.connect(str(stale), read_only=True) as con:
        assert aggregates.fresh_build(con) is None


def test_a_rebuild_gets_a_new_build_id(pair: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "routes.duckdb"
    shutil.copyfile(pair["fast"], again)
    with duckdb.connect(str(again), read_only=True) as con:
        before = aggregates.fresh_build(con)
    build.build_warehouse(warehouse_path=again, steps=("pipelines.build.trend_aggregates",))
    with duckdb.connect(str(again), read_only=True) as con:
        after = aggregates.fresh_build(con)
    assert before and after and before != after


# ------------------------------------------------- roll-up: the county label, vectorised


def _assemble_first_version(
    cell_rows: pd.DataFrame, county_rows: pd.DataFrame, *, columns: list[str], primary: str, k: int
) -> pd.DataFrame:
    """``query.suppression._assemble`` as first written (a Python lambda per cell)."""
    agg = {c: "sum" for c in columns}
    cells = cell_rows.groupby("cell", as_index=False).agg(
        {**agg, "res": "first", "orig_res": "max", "county_fips": lambda s: s.iloc[0] if s.nunique() == 1 else None}
    )
    cells["level"] = "cell"
    cells["rolled_up"] = cells["orig_res"] > cells["res"]
    counties = county_rows.groupby("county_fips", as_index=False, dropna=False).agg(agg)
    counties["level"] = "county"
    counties["cell"] = pd.NA
    counties["res"] = pd.NA
    counties["rolled_up"] = True
    counties = counties[counties[primary] > 0]
    out = pd.concat([cells.drop(columns="orig_res"), counties], ignore_index=True)
    out["cell"] = out["cell"].astype("Int64")
    out["res"] = out["res"].astype("Int64")
    out = out[["level", "cell", "res", "county_fips", *columns, "rolled_up"]]
    return suppression.protect_breakdown(out, k=k, count_columns=columns)


def test_roll_up_cells_equals_the_first_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from geo import grid

    records = _records_with_gaps(2000)
    rng = np.random.default_rng(8)
    for _ in range(12):
        subset = records[rng.random(len(records)) < rng.uniform(0.02, 0.6)]
        res = int(rng.choice([5, 6, 7]))
        cells = [
            grid.cell_to_parent(int(c), min(res, int(r))) if pd.notna(c) and c else None
            for c, r in zip(subset["dest_cell"], subset["dest_res"], strict=True)
        ]
        frame = (
            subset.assign(cell=cells).groupby(["cell", "dest_county_fips"], dropna=False)
            .agg(records=("record_id", "size"), victims=("victim_count", "sum")).reset_index()
            .rename(columns={"dest_county_fips": "county_fips"})
        )
        fast = suppression.roll_up_cells(frame, k=K, min_res=4)
        with monkeypatch.context() as m:
            m.setattr(suppression, "_assemble", _assemble_first_version)
            slow = suppression.roll_up_cells(frame, k=K, min_res=4)
        pd.testing.assert_frame_equal(fast, slow)
