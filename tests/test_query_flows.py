"""Tests for query/flows.py: no count under k for any role, roll-up without double counting."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import build
from query import flows as qf
from query.filters import Filters
from query.suppression import max_visible_count_below_k
from query.viewer import Viewer
from routes import warehouse
from routes.contract.flow_tables import (
    ALL_TIME_TABLES,
)
from tests.support.exact_path import exact_viewer, read_the_whole_warehouse
from tests.support.warehouse_fixture import make_small_warehouse

#: The last reads the exact path, whose arithmetic these tests check over every record of the fixture
#: (tests/support/exact_path.py): in the product it serves an analyst's or lead's own-records scope, on its own
#: records only (tests/test_scope.py); every other view reads the protected release (tests/test_release_*.py).
VIEWERS = [Viewer("u", "partner"), Viewer("u", "leadership"), exact_viewer("u", "analyst", "la")]
EXACT = VIEWERS[2]
K = 11


@pytest.fixture(autouse=True)
def _exact_path_over_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exact path reads the whole fixture warehouse (release viewers read its release as before)."""
    read_the_whole_warehouse(monkeypatch)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path: Path = tmp_path_factory.mktemp("qflows") / "w.duckdb"
    make_small_warehouse(path, n=3000, seed=1)
    build.build_warehouse(
        warehouse_path=path, steps=("pipelines.build.flows", "pipelines.build.corridors", "pipelines.build.release")
    )
    connection = warehouse.connect_readonly(path=path)
    yield connection
    connection.close()


def _assert_protected(frame: pd.DataFrame) -> None:
    assert max_visible_count_below_k(frame, k=K) is None
    for column in ("confirmed", "recent", "baseline"):
        if column in frame.columns:
            values = pd.to_numeric(frame[column], errors="coerce")
            assert not ((values > 0) & (values < K)).any(), column
    if "suppressed" in frame.columns and "records" in frame.columns:
        assert frame.loc[frame["suppressed"], "records"].isna().all()


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.role)
@pytest.mark.parametrize("level", qf.EDGE_LEVELS)
def test_flow_edges_never_show_a_count_under_k(con, viewer: Viewer, level: str) -> None:
    edges = qf.flow_edges(viewer, Filters(), level=level, con=con)
    assert len(edges) > 0
    _assert_protected(edges)
    shares = edges.filter(like="share_")
    assert shares[edges["suppressed"]].isna().all().all()


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.role)
def test_every_read_is_protected(con, viewer: Viewer) -> None:
    filters = Filters(trafficking_types=("sex", "labor", "both", "unknown"))
    for level in qf.EDGE_LEVELS:
        _assert_protected(qf.location_totals(viewer, filters, level=level, con=con))
    _assert_protected(qf.corridor_loads(viewer, filters, con=con))
    for level in qf.COORDINATION_LEVELS:
        _assert_protected(qf.coordination_pairs(viewer, filters, level=level, con=con))
    for level in qf.SHIFT_LEVELS:
        _assert_protected(qf.route_shifts(viewer, level=level, con=con))


def test_roll_up_counts_every_record_once(con) -> None:
    raw = qf._rolled_edges(con, Filters(), "res6", k=K)
    total = con.execute("SELECT sum(records) FROM flows WHERE level = 'res6'").fetchall()[0][0]
    assert raw["records"].sum() == total
    assert set(raw["level"]) <= {"res6", "res5", "res4", "county", "region"}
    shown_fine = raw[~raw["rolled_up"]]
    assert (shown_fine["records"] >= K).all()
    # what is under k is only ever at the coarsest level
    assert (raw.loc[raw["records"] < K, "level"] == "region").all()


def test_small_edges_roll_up_to_coarser_levels(con) -> None:
    edges = qf.flow_edges(EXACT, Filters(), level="county", con=con)
    assert {"county", "region"} <= set(edges["level"])
    assert edges.loc[edges["level"] == "region", "rolled_up"].all()


def test_records_filters_give_the_same_edges_as_the_tables(con) -> None:
    viewer = EXACT
    from_tables = qf.flow_edges(viewer, Filters(), level="county", con=con)
    from_records = qf.flow_edges(
        viewer, Filters(record_types=("tip", "incident", "recovery", "service")), level="county", con=con
    )
    pd.testing.assert_frame_equal(from_tables, from_records)


def test_top_n_and_order(con) -> None:
    top = qf.flow_edges(EXACT, Filters(), level="county", top_n=5, con=con)
    assert len(top) == 5 and not top["suppressed"].any()
    assert top["records"].is_monotonic_decreasing


def test_only_record_roles_see_which_sources(con) -> None:
    assert "source_ids" not in qf.flow_edges(VIEWERS[0], Filters(), con=con).columns
    assert "source_ids" in qf.flow_edges(VIEWERS[2], Filters(), con=con).columns


def test_destination_filters_apply(con) -> None:
    edges = qf.flow_edges(EXACT, Filters(task_forces=("la", "orange")), level="county", con=con)
    assert set(edges.loc[edges["level"] == "county", "dest_id"]) <= {"06037", "06059"}


def test_out_of_state_origins_are_drawn_at_their_entry(con) -> None:
    edges = qf.flow_edges(EXACT, Filters(), level="county", con=con)
    outside = edges[edges["origin_kind"].isin(["state", "country"])]
    assert len(outside) > 0
    assert outside["origin_name"].str.contains(" via ").all()
    assert outside[["origin_lat", "origin_lng"]].notna().all().all()


def test_corridor_loads_follow_the_filters(con) -> None:
    viewer = EXACT
    everything = qf.corridor_loads(viewer, Filters(), con=con)
    sex_only = qf.corridor_loads(viewer, Filters(trafficking_types=("sex",)), con=con)
    assert everything["load"].max() >= sex_only["load"].max()
    assert everything["wkt"].str.startswith("LINESTRING").all()


def test_coordination_pairs_are_ranked_and_name_both_task_forces(con) -> None:
    pairs = qf.coordination_pairs(EXACT, Filters(), level="task_force", con=con)
    shown = pairs[~pairs["suppressed"]]
    assert shown["rank"].tolist() == list(range(1, len(shown) + 1))
    assert (shown["origin_task_force"] != shown["dest_task_force"]).all()
    assert shown[["origin_task_force_name", "dest_task_force_name"]].notna().all().all()


def test_route_shift_rates_are_blank_when_a_count_is_hidden(con) -> None:
    shifts = qf.route_shifts(EXACT, level="county", con=con)
    hidden = shifts["recent"].isna() | shifts["baseline"].isna()
    assert hidden.any()
    assert shifts.loc[hidden, ["p_value", "rate_ratio", "recent_per_month"]].isna().all().all()
    assert set(shifts["shift"]) <= {"new", "growing", "steady", "fading", "gone"}


def test_bad_level_names_the_choices(con) -> None:
    with pytest.raises(ValueError, match="'zip'.*res6"):
        qf.flow_edges(EXACT, Filters(), level="zip", con=con)


def _protect_partition_row_by_row(frame, *, k):
    """The first, row-by-row version of ``query.flows._protect_partition`` (reference)."""
    import numpy as np
    import pandas as pd

    from query.flows import _PARTITION

    values = frame[_PARTITION].astype("Float64")
    for i in np.flatnonzero(~frame["suppressed"].to_numpy(dtype=bool)):
        row = values.iloc[i]
        hidden = row.isna()
        if not hidden.any():
            continue
        hidden_total = float(frame["records"].iloc[i]) - float(row[~hidden].sum())
        while 0 < hidden_total < k and (~hidden).any():
            smallest = row[~hidden].astype(float).idxmin()
            hidden[smallest] = True
            hidden_total += float(row[smallest])
        for column in hidden[hidden].index:
            frame.iat[i, frame.columns.get_loc(column)] = pd.NA
    return frame


@pytest.mark.parametrize("k", [5, 11, 30])
def test_vectorised_partition_protection_equals_row_by_row(k: int) -> None:
    import numpy as np
    import pandas as pd

    from query import suppression
    from query.flows import _PARTITION, _protect_partition

    rng = np.random.default_rng(k)
    n = 400
    tips = rng.integers(0, 40, n)
    confirmed = rng.integers(0, 40, n)
    services = rng.integers(0, 15, n)
    raw = pd.DataFrame({"records": tips + confirmed + services, "tips": tips, "confirmed": confirmed, "services": services})
    base = suppression.suppress_small_counts(raw, k=k, count_columns=["records", *_PARTITION])
    fast = _protect_partition(base.copy(), k=k)
    slow = _protect_partition_row_by_row(base.copy(), k=k)
    pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(record_types=("tip",)),
        Filters(record_types=("incident", "recovery"), trafficking_types=("sex",)),
        Filters(source_kinds=("ngo", "hotline")),
        Filters(indicators=("online_ads",)),
        Filters(indicators=("minor", "drugs"), record_types=("tip", "incident")),
    ],
    ids=["tips", "confirmed-sex", "ngo-hotline", "online-ads", "minor-drugs-tips"],
)
@pytest.mark.parametrize(
    "period", [None, (date(2024, 3, 1), date(2025, 10, 1))], ids=["all-time-copies", "monthly-tables"]
)
def test_flow_facts_give_what_the_records_give(
    con, monkeypatch: pytest.MonkeyPatch, filters: Filters, period: tuple[date, date] | None
) -> None:
    """Under record-type, source-kind and indicator filters, the flow pre-aggregates stand in for ``records`` exactly.

    A view of the whole period reads the all-time copies; a period reads the monthly tables.
    """
    viewer = VIEWERS[2]
    if period:
        filters = filters.with_period(*period)
    read_tables: list[str] = []
    has_table = qf._has_table
    monkeypatch.setattr(qf, "_has_table", lambda c, name: read_tables.append(name) or has_table(c, name))

    def reads() -> list[pd.DataFrame]:
        out = [qf.flow_edges(viewer, filters, level=level, con=con) for level in qf.EDGE_LEVELS]
        out += [qf.location_totals(viewer, filters, level=level, con=con) for level in ("res6", "county")]
        out.append(qf.corridor_loads(viewer, filters, con=con))
        out += [qf.coordination_pairs(viewer, filters, level=level, con=con) for level in qf.COORDINATION_LEVELS]
        return out

    for table in ("flow_facts", "flow_area_facts", "flow_area_cube", "flow_res4_cube", *ALL_TIME_TABLES.values()):
        assert has_table(con, table)
    from_facts = reads()  # the cubes (area levels and res 4, ≤ 1 indicator), the area facts or the facts
    asked_for_copies = any(name in ALL_TIME_TABLES.values() for name in read_tables)
    assert asked_for_copies == (period is None)
    monkeypatch.setattr(qf, "_has_table", lambda _con, _name: False)
    from_records = reads()
    assert sum(len(f) for f in from_facts) > 0
    for facts, records in zip(from_facts, from_records, strict=True):
        pd.testing.assert_frame_equal(facts, records)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(trafficking_types=("sex", "labor"), regions=("Region I",)),
        Filters(record_types=("tip", "service"), counties=("06037",)),
        Filters(indicators=("online_ads",), task_forces=("la",)),
        Filters(indicators=("minor", "drugs")),
    ],
    ids=["everything", "types-region", "record-types-counties", "indicator-task-force", "two-indicators"],
)
def test_all_time_copies_give_what_the_monthly_tables_give(con, monkeypatch: pytest.MonkeyPatch, filters: Filters) -> None:
    """A view of the whole period reads the ``*_all_time`` copies, with the same result as summing every month."""
    viewer = VIEWERS[2]

    def reads() -> list[pd.DataFrame]:
        out = [qf.flow_edges(viewer, filters, level=level, con=con) for level in qf.levels_for(filters)]
        out += [qf.location_totals(viewer, filters, level=level, con=con) for level in ("res4", "county")]
        out.append(qf.corridor_loads(viewer, filters, con=con))
        out += [qf.coordination_pairs(viewer, filters, level=level, con=con) for level in qf.COORDINATION_LEVELS]
        return out

    asked: list[str] = []
    has_table = qf._has_table
    monkeypatch.setattr(qf, "_has_table", lambda c, name: asked.append(name) or has_table(c, name))
    from_copies = reads()
    assert set(asked) & set(ALL_TIME_TABLES.values())
    copies = set(ALL_TIME_TABLES.values())
    monkeypatch.setattr(qf, "_has_table", lambda c, name: name not in copies and has_table(c, name))
    from_months = reads()
    assert sum(len(f) for f in from_copies) > 0
    for fast, slow in zip(from_copies, from_months, strict=True):
        pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(counties=("06001",)),
        Filters(regions=("Region II",), record_types=("tip",)),
        Filters(task_forces=("la",), indicators=("online_ads",)),
    ],
    ids=["county", "region-tips", "task-force-online-ads"],
)
def test_cell_edges_narrowed_before_aggregating_equal_the_statewide_ones_filtered(
    con, monkeypatch: pytest.MonkeyPatch, filters: Filters
) -> None:
    """At the cell levels the edges are cut to the selected area first: the map is what the statewide edges filtered give."""
    viewer = VIEWERS[2]
    levels = [level for level in qf.levels_for(filters) if level in ("res4", "res5", "res6")]
    narrowed = [qf.flow_edges(viewer, filters, level=level, con=con) for level in levels]
    monkeypatch.setattr(qf, "_GEO_FILTERS", ())  # _edges_sql then leaves geography to the reader
    statewide = [qf.flow_edges(viewer, filters, level=level, con=con) for level in levels]
    assert levels == ["res6", "res5", "res4"]
    assert sum(len(f) for f in narrowed) > 0
    for fast, slow in zip(narrowed, statewide, strict=True):
        pd.testing.assert_frame_equal(fast, slow)


def test_location_totals_of_a_cell_on_the_border_count_only_the_part_inside(con) -> None:
    """A res 4 cell spanning two regions, under one region: its records in that region, every time the same."""
    raw = con.sql("""
        WITH e AS (SELECT origin_id, dest_id, origin_region, dest_region, records FROM flows WHERE level = 'res4'),
        ends AS (
            SELECT dest_id AS id, dest_region AS region, records AS incoming, 0 AS outgoing, 0 AS internal
            FROM e WHERE origin_id <> dest_id
            UNION ALL SELECT origin_id, origin_region, 0, records, 0 FROM e WHERE origin_id <> dest_id
            UNION ALL SELECT dest_id, dest_region, 0, 0, records FROM e WHERE origin_id = dest_id
        )
        SELECT id, region, sum(incoming) AS incoming, sum(outgoing) AS outgoing, sum(internal) AS internal
        FROM ends GROUP BY ALL
    """).df()
    border = raw.groupby("id")["region"].nunique()
    border = set(border[border > 1].index)
    assert border  # the test data has cells on a regional border
    inside = raw[raw["region"] == "Region I"].groupby("id")[["incoming", "outgoing", "internal"]].sum()
    totals = qf.location_totals(EXACT, Filters(regions=("Region I",)), level="res4", con=con)
    totals = totals.set_index("location_id")
    assert set(totals.index) == set(inside.index)
    checked = 0
    for column in ("incoming", "outgoing", "internal"):
        shown = totals[column].dropna()
        pd.testing.assert_series_equal(shown.astype("int64"), inside.loc[shown.index, column].astype("int64"),
                                       check_names=False)
        checked += len(shown.index.intersection(list(border)))
    assert checked > 0  # some border cell's count is shown, and it is the part inside


@pytest.mark.parametrize("level", ["county", "region", "segment"])
def test_release_viewers_get_route_shifts_from_released_flows(con: duckdb.DuckDBPyConnection, level: str) -> None:
    """Route shifts for a viewer who reads the release: its last year against the year before, released flows only."""
    from query import release

    partner = VIEWERS[0]
    shifts = qf.route_shifts(partner, level=level, con=con)
    assert len(shifts), "release viewers get route shifts"
    _assert_protected(shifts)
    span = release.month_range(con)
    assert span is not None
    last = span[1]
    assert set(shifts["recent_start"]) == {date(last.year, 1, 1)}
    assert set(shifts["baseline_end"]) == {date(last.year - 1, 12, 31)}
    assert set(shifts["shift"]) <= {"new", "growing", "steady", "fading", "gone"}
    if level == "segment":
        return
    year = lambda y: release.edges(con, Filters(start=date(y, 1, 1), end=date(y, 12, 1)), level)  # noqa: E731
    recent, baseline = year(last.year), year(last.year - 1)
    shown = shifts[shifts["recent"].notna() & shifts["baseline"].notna()]
    assert len(shown)
    recent_by = recent.groupby(["origin_id", "dest_id"])["records"].sum()
    baseline_by = baseline.groupby(["origin_id", "dest_id"])["records"].sum()
    for row in shown.head(20).itertuples():
        key = (row.origin_id, row.dest_id)
        assert (int(row.recent), int(row.baseline)) == (int(recent_by.get(key, 0)), int(baseline_by.get(key, 0)))


def test_released_route_shifts_are_classed_once_per_snapshot(con: duckdb.DuckDBPyConnection,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The exact binomial tests run once per read-only snapshot and level; every view gets its own equal copy."""
    from pipelines.build import flows as build_flows

    calls: list[int] = []
    real = build_flows.shifts_frame
    monkeypatch.setattr(build_flows, "shifts_frame", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(qf, "_SHIFTS_MEMO", type(qf._SHIFTS_MEMO)())
    partner = VIEWERS[0]
    first = qf.route_shifts(partner, level="region", con=con)
    first.loc[:, "shift"] = "changed by the caller"
    second = qf.route_shifts(partner, level="region", con=con)
    assert len(calls) == 1
    assert (second["shift"] != "changed by the caller").all()
    qf.route_shifts(partner, level="county", con=con)
    assert len(calls) == 2  # another level is classed on its own
    with duckdb.connect() as memory:  # not a snapshot: never remembered
        assert qf._snapshot_path(memory) is None
