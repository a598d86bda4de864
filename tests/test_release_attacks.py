"""The differencing attacks of issue 17, as tests: they no longer recover small counts exactly.

Each attack is run as a hostile partner would run it, through the public readers,
over many filter sets, and collects every small count (1..k-1) it can work out
by subtracting shown numbers, with the true value from ``records``. Against the
protected release the recovered values must be wrong often and by enough: an
exact hit at most 1 time in 4, a mean absolute error of at least 1.5 records.

``test_the_attacks_succeed_without_the_release`` runs the same attacks with the
readers on their exact path (what every viewer got before the release) and
checks that they then recover the counts exactly: the tests can fail.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from geo import grid, reference
from pipelines.build import build_warehouse
from pipelines.build.release import release_rho
from query import flows, release, trends
from query.filters import INDICATORS, Filters
from query.suppression import FilterIsolationError
from query.viewer import Viewer
from routes.contract.sql import compose, ident
from tests.support.release_attacks import (
    CELL_SPLITS,
    PARTNER,
    TYPE_SETS,
    YEARS,
    K,
    Pairs,
    all_but_one_cells,
    score,
    total_minus_shown_parts,
    truth_of,
)
from tests.support.warehouse_fixture import make_small_warehouse


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("attacks")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTES_WAREHOUSE", str(root / "routes.duckdb"))
        mp.setenv("ROUTES_QUIET", "1")
        mp.setenv("ROUTES_K", str(K))
        make_small_warehouse(root / "routes.duckdb", n=6000)
        build_warehouse(warehouse_path=root / "routes.duckdb")
        yield root / "routes.duckdb"


def _year_filters() -> Iterator[Filters]:
    for year in YEARS:
        for types in TYPE_SETS:
            yield Filters(start=year, end=date(year.year, 12, 1), record_types=types)


def _types_sql(filters: Filters) -> tuple[str, list[object]]:
    where, params = filters.where(side="dest")
    return where, params


def _region(fips: pd.Series) -> pd.Series:
    return fips.map(reference.county_dimensions().set_index("county_fips")["region"])


#: Out-of-state origins as the release keys them (``MX``, ``US-NV``: the exact path's ``MX@san_ysidro`` without its entry).
OUTSIDE_KEY_SQL = compose("""CASE WHEN coalesce(origin_country, 'US') = 'US' THEN 'US' || coalesce('-' || origin_state, '')
    ELSE origin_country END""")
OUTSIDE_WHERE = compose("""origin_county_fips IS NULL AND dest_county_fips IS NOT NULL
    AND (origin_state IS NOT NULL OR origin_country IS NOT NULL)
    AND NOT (coalesce(origin_state, '') = 'CA' AND coalesce(origin_country, 'US') = 'US')""")
OUTSIDE_PERIODS = (Filters(), *(Filters(start=y, end=date(y.year, 12, 1)) for y in YEARS))


def _outside_key(origin_id: pd.Series) -> pd.Series:
    return origin_id.astype(str).str.partition("@")[0]


def _outside_truth(path: Path, filters: Filters) -> pd.DataFrame:
    """True flows from outside California per (origin key, destination county): ``o``, ``d``, ``d_region``, ``n``."""
    where, params = filters.where(side="dest")
    true = truth_of(path, compose("""
        SELECT {key} AS o, dest_county_fips AS d, count(*) AS n FROM records
        WHERE {where} AND {outside} GROUP BY ALL""", key=OUTSIDE_KEY_SQL, where=where, outside=OUTSIDE_WHERE), params)
    true["d_region"] = _region(true["d"])
    return true



# ------------------------------------------------------------------ the attacks


def region_minus_county_edges(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """A region edge minus the county edges shown inside it: the hidden county edges."""
    out: Pairs = []
    for f in _year_filters():
        try:
            regions = flows.flow_edges(viewer, f, level="region")
            counties = flows.flow_edges(viewer, f, level="county")
        except FilterIsolationError:
            continue
        shown = counties[counties["level"].eq("county") & ~counties["suppressed"]].copy()
        shown["o_region"], shown["d_region"] = _region(shown["origin_id"]), _region(shown["dest_id"])
        where, params = _types_sql(f)
        true = truth_of(path, compose("""
            SELECT origin_county_fips AS o, dest_county_fips AS d, count(*) AS n FROM records
            WHERE {where} AND origin_county_fips IS NOT NULL AND dest_county_fips IS NOT NULL GROUP BY ALL""",
                                      where=where), params)
        true["o_region"], true["d_region"] = _region(true["o"]), _region(true["d"])
        visible = set(zip(shown["origin_id"], shown["dest_id"], strict=True))
        true["hidden"] = [(o, d) not in visible for o, d in zip(true["o"], true["d"], strict=True)]
        for row in regions[~regions["suppressed"] & regions["level"].eq("region")].itertuples():
            inside = shown[(shown["o_region"] == row.origin_id) & (shown["d_region"] == row.dest_id)]
            recovered = float(row.records) - float(inside["records"].sum())
            hidden = true[(true["o_region"] == row.origin_id) & (true["d_region"] == row.dest_id) & true["hidden"]]
            out.append((recovered, float(hidden["n"].sum())))
    return out


def one_more_month(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """County rates over months a..b and a..b+1: the difference is each county's month b+1."""
    out: Pairs = []
    truth = truth_of(path, "SELECT dest_county_fips AS c, month, count(*) AS n FROM records GROUP BY ALL")
    truth["month"] = pd.to_datetime(truth["month"]).dt.date
    start = date(2024, 1, 1)
    for m in range(1, 23):
        end, after = date(2024 + (m - 1) // 12, (m - 1) % 12 + 1, 1), date(2024 + m // 12, m % 12 + 1, 1)
        try:
            a = trends.county_rates(viewer, Filters(start=start, end=end)).set_index("county_fips")
            b = trends.county_rates(viewer, Filters(start=start, end=after)).set_index("county_fips")
        except FilterIsolationError:
            continue
        both = a["records"].notna() & b["records"].notna()
        month = truth[truth["month"] == after].set_index("c")["n"]
        for county in a.index[both]:
            out.append((float(b.at[county, "records"] - a.at[county, "records"]), float(month.get(county, 0))))
    return out


def one_more_record_type(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """County rates for types T and T + one more type: the difference is that type's count."""
    out: Pairs = []
    truth = truth_of(path, "SELECT dest_county_fips AS c, month, record_type AS t, count(*) AS n FROM records GROUP BY ALL")
    truth["month"] = pd.to_datetime(truth["month"]).dt.date
    types = ("tip", "incident", "recovery", "service")
    halves = [(date(y, m, 1), date(y, m + 5, 1)) for y in (2024, 2025) for m in (1, 7)]
    for start, end in halves:
        for base in types:
            for extra in (t for t in types if t != base):
                period = {"start": start, "end": end}
                try:
                    a = trends.county_rates(viewer, Filters(**period, record_types=(base,))).set_index("county_fips")
                    b = trends.county_rates(viewer, Filters(**period, record_types=(base, extra))).set_index("county_fips")
                except FilterIsolationError:
                    continue
                both = a["records"].notna() & b["records"].notna()
                inside = truth[(truth["month"] >= start) & (truth["month"] <= end) & (truth["t"] == extra)]
                n = inside.groupby("c")["n"].sum()
                for county in a.index[both]:
                    out.append((float(b.at[county, "records"] - a.at[county, "records"]), float(n.get(county, 0))))
    return out


def headline_previous_period(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """The previous-period figure of two counties minus that of one: the other's count."""
    out: Pairs = []
    truth = truth_of(path, "SELECT dest_county_fips AS c, year(month) AS y, count(*) AS n FROM records GROUP BY ALL")
    previous = truth[truth["y"] == 2024].set_index("c")["n"]
    counties = reference.county_dimensions()["county_fips"].tolist()
    big = previous.sort_values(ascending=False).index[:3].tolist()
    period = {"start": date(2025, 1, 1), "end": date(2025, 12, 1)}
    for anchor in big:
        try:
            alone = trends.headline_figures(viewer, Filters(**period, counties=(anchor,))).set_index("period")
        except FilterIsolationError:
            continue
        for county in counties:
            if county == anchor:
                continue
            try:
                pair = trends.headline_figures(viewer, Filters(**period, counties=(anchor, county))).set_index("period")
            except FilterIsolationError:
                continue
            if pd.isna(pair.at["previous", "records"]) or pd.isna(alone.at["previous", "records"]):
                continue
            recovered = float(pair.at["previous", "records"] - alone.at["previous", "records"])
            out.append((recovered, float(previous.get(county, 0))))
    return out


def adjacent_segments(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """Two neighbouring highway segments: the difference of their loads is the flows on one only."""
    out: Pairs = []
    table = release.PATHS_TABLE if release.reads_release(viewer) else "corridor_paths"
    for f in _year_filters():
        try:
            loads = flows.corridor_loads(viewer, f)
        except FilterIsolationError:
            continue
        where, params = _types_sql(f)
        # the release routes an out-of-state origin from its default entry (``MX``), the exact path from its own
        outside = (compose("origin_county_fips IS NULL AND {outside}", outside=OUTSIDE_WHERE)
                   if release.reads_release(viewer) else compose("FALSE"))
        # and keys that entry's paths by the entry (``MX`` by ``@san_ysidro``)
        key, key_params = release.path_origin_sql(compose("e.o")) if release.reads_release(viewer) else (compose("e.o"), [])
        true = truth_of(path, compose("""
            WITH e AS (SELECT coalesce(origin_county_fips, {outside_key}) AS o, dest_county_fips AS d,
                           count(*) AS n FROM records
                       WHERE {where} AND ((origin_county_fips IS NOT NULL AND dest_county_fips IS NOT NULL)
                           OR ({outside})) GROUP BY ALL)
            SELECT p.segment_id, sum(e.n) AS n FROM e JOIN {table} p ON p.origin_id = {key} AND p.dest_id = e.d
            GROUP BY ALL""", outside_key=OUTSIDE_KEY_SQL, where=where, outside=outside, table=ident(table), key=key),
                        [*params, *key_params]).set_index("segment_id")["n"]
        shown = loads[~loads["suppressed"]]
        ends: dict[tuple[float, float], list[int]] = {}
        for row in shown.itertuples():
            for end in ((row.from_lat, row.from_lng), (row.to_lat, row.to_lng)):
                ends.setdefault(end, []).append(row.Index)
        for members in ends.values():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    sa, sb = shown.loc[a], shown.loc[b]
                    recovered = abs(float(sa["load"]) - float(sb["load"]))
                    expected = abs(float(true.get(sa["segment_id"], 0)) - float(true.get(sb["segment_id"], 0)))
                    out.append((recovered, expected))
    return out


def location_minus_edges(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """A county's incoming total minus the incoming county edges shown: the hidden ones."""
    out: Pairs = []
    for f in _year_filters():
        try:
            totals = flows.location_totals(viewer, f, level="county").set_index("location_id")
            edges = flows.flow_edges(viewer, f, level="county")
        except FilterIsolationError:
            continue
        # every incoming edge shown, in-state or from outside California (an outside origin keyed without its entry)
        shown = edges[edges["level"].eq("county") & ~edges["suppressed"]]
        shown = shown[shown["origin_id"] != shown["dest_id"]]
        where, params = _types_sql(f)
        true = truth_of(path, compose("""
            SELECT coalesce(origin_county_fips, {outside_key}) AS o, dest_county_fips AS d, count(*) AS n
            FROM records
            WHERE {where} AND ((origin_county_fips IS NOT NULL AND dest_county_fips IS NOT NULL
              AND origin_county_fips <> dest_county_fips) OR ({outside})) GROUP BY ALL""",
                                      outside_key=OUTSIDE_KEY_SQL, where=where, outside=OUTSIDE_WHERE), params)
        visible = set(zip(_outside_key(shown["origin_id"]), shown["dest_id"], strict=True))
        true = true[[(o, d) not in visible for o, d in zip(true["o"], true["d"], strict=True)]]
        hidden = true.groupby("d")["n"].sum()
        for county, row in totals.iterrows():
            if pd.isna(row["incoming"]):
                continue
            recovered = float(row["incoming"]) - float(shown.loc[shown["dest_id"] == county, "records"].sum())
            out.append((recovered, float(hidden.get(county, 0))))
    return out


def outside_region_minus_county_edges(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """An out-of-state origin's edge to a region (or task force) minus its county edges shown inside: the hidden ones."""
    out: Pairs = []
    dims = reference.county_dimensions().set_index("county_fips")
    for f in OUTSIDE_PERIODS:
        counties = flows.flow_edges(viewer, f, level="county")
        outside = counties["origin_kind"].isin(["state", "country"]) & counties["level"].eq("county")
        shown = counties[outside & ~counties["suppressed"]].assign(o=lambda e: _outside_key(e["origin_id"]))
        true = _outside_truth(path, f)
        visible = set(zip(shown["o"], shown["dest_id"], strict=True))
        true = true[[(o, d) not in visible for o, d in zip(true["o"], true["d"], strict=True)]]
        for level in ("region", "task_force"):
            parents = flows.flow_edges(viewer, f, level=level)
            shown["parent"], true["parent"] = shown["dest_id"].map(dims[level]), true["d"].map(dims[level])
            whole = parents[parents["origin_kind"].isin(["state", "country"]) & ~parents["suppressed"]]
            whole = whole.assign(o=_outside_key(whole["origin_id"])).groupby(["o", "dest_id"], as_index=False)["records"].sum()
            for row in whole.itertuples():
                inside = shown[(shown["o"] == row.o) & (shown["parent"] == row.dest_id)]
                recovered = float(row.records) - float(inside["records"].sum())
                hidden = true[(true["o"] == row.o) & (true["parent"] == row.dest_id)]
                out.append((recovered, float(hidden["n"].sum())))
    return out


#: The attacks over the small fixture. ``parent_minus_shown_children`` (tests/support/release_attacks.py)
#: needs map cells with k or more records, which this fixture's even spread has too few of: it runs
#: on the 60 k demo (tests/test_release_utility.py).
ATTACKS: dict[str, Callable[[Path, Viewer], Pairs]] = {
    "region edge minus county edges": region_minus_county_edges,
    "one more month": one_more_month,
    "one more record type": one_more_record_type,
    "headline previous period": headline_previous_period,
    "adjacent corridor segments": adjacent_segments,
    "location_totals minus edges": location_minus_edges,
    "outside origin: region edge minus county edges": outside_region_minus_county_edges,
}


#: Attacks whose mean error sits at the issue's 1.5 floor: measured 1.5-2.0 over runs (the
#: release's noise cannot be seeded). A known shortfall of issue 17, kept visible, not hidden.
#: Why: 94-99 % of the small counts this attack judges are in counties the release shows as 0
#: under both filters (the top-down fit rounds a sparse county-month to 0), so the "recovered"
#: value is 0 and its error is the true count itself, mostly 1. More noise on the county x type
#: counts does not move that (weight 0.6 -> 0.3 -> 0.15: mean 1.75 -> 1.77 -> 1.97 over 3 runs
#: each); the few pairs with a released figure of 11 or more are off by 3.7-4.7, never exact.
AT_THE_FLOOR: set[str] = set()


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason="mean error 1.4-1.8 against the 1.5 floor; open in issue 17",
                                            strict=False)) if n in AT_THE_FLOOR else n
    for n in ATTACKS
])
def test_differencing_recovers_no_small_count_exactly(path: Path, name: str) -> None:
    hit_rate, mean_error, n = score(ATTACKS[name](path))
    print(f"{name}: {n} small counts recovered, exact {hit_rate:.0%}, mean abs error {mean_error:.2f}")
    assert n >= 10, f"{name}: only {n} small counts to judge; the attack needs more filter sets"
    assert hit_rate <= 0.25, f"{name}: {hit_rate:.0%} of {n} small counts recovered exactly"
    assert mean_error >= 1.5, f"{name}: mean error {mean_error:.2f} over {n} small counts"


@pytest.mark.slow  # four attacks on the exact path, every filter set
def test_the_attacks_succeed_without_the_release(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The readers' exact path (before the release) gives the small counts away, attack by attack."""
    monkeypatch.setattr(release, "reads_release", lambda viewer: False)
    exact = {}
    for name in ("region edge minus county edges", "one more month", "one more record type", "location_totals minus edges"):
        hit_rate, _, n = score(ATTACKS[name](path))
        exact[name] = (hit_rate, n)
    assert any(n > 0 and rate == 1.0 for rate, n in exact.values()), exact


# ------------------------------------------------- analysts and leads (issue 17: one release for them too)


#: Viewers with record access attacking other agencies' records: their default scope is "all agencies".
ANALYST = Viewer("attacker-analyst", "analyst", "la")
LEAD = Viewer("attacker-lead", "lead", "san_diego")


@pytest.mark.parametrize("viewer", [ANALYST, LEAD], ids=["analyst", "lead"])
@pytest.mark.parametrize("name", [n for n in ATTACKS if n not in AT_THE_FLOOR])
def test_analysts_and_leads_recover_no_small_count_exactly(path: Path, name: str, viewer: Viewer) -> None:
    """The partner's attacks, run by an analyst or lead in the "all agencies" scope (the release)."""
    hit_rate, mean_error, n = score(ATTACKS[name](path, viewer))
    print(f"{name} as {viewer.role}: {n} small counts recovered, exact {hit_rate:.0%}, mean abs error {mean_error:.2f}")
    assert n >= 10, f"{name}: only {n} small counts to judge; the attack needs more filter sets"
    assert hit_rate <= 0.25, f"{name} as {viewer.role}: {hit_rate:.0%} of {n} small counts recovered exactly"
    assert mean_error >= 1.5, f"{name} as {viewer.role}: mean error {mean_error:.2f} over {n} small counts"


def release_minus_own_records(path: Path, viewer: Viewer) -> Pairs:
    """Every agency's count (the "all agencies" scope) minus the viewer's own task force's exact count.

    The strongest mix of the two scopes: the attacker knows its own records
    exactly (it may list them, and the "my task force's records" scope counts
    them), so whatever the all-agencies figure says beyond them is the other
    agencies' count, per county, year and record-type set.
    """
    out: Pairs = []
    truth = truth_of(path, """
        SELECT dest_county_fips AS c, month, record_type AS t, source_task_force = ? AS own, count(*) AS n
        FROM records GROUP BY ALL""", [viewer.task_force])
    truth["month"] = pd.to_datetime(truth["month"]).dt.date
    for f in _year_filters():
        try:
            every = trends.county_rates(viewer, f).set_index("county_fips")
        except FilterIsolationError:
            continue
        assert f.start is not None and f.end is not None
        chosen = truth[(truth["month"] >= f.start) & (truth["month"] <= f.end)
                       & (truth["t"].isin(f.record_types) if f.record_types else True)]
        own = chosen[chosen["own"]].groupby("c")["n"].sum()
        others = chosen[~chosen["own"]].groupby("c")["n"].sum()
        for county in every.index[every["records"].notna()]:
            recovered = float(every.at[county, "records"]) - float(own.get(county, 0))
            out.append((recovered, float(others.get(county, 0))))
    return out


@pytest.mark.slow  # every county, year and record-type set, twice
@pytest.mark.parametrize("viewer", [ANALYST, LEAD], ids=["analyst", "lead"])
def test_release_minus_own_records_recovers_no_small_count_exactly(path: Path, viewer: Viewer) -> None:
    """Own exact minus the release gives other agencies' small counts only at the noise's rate."""
    hit_rate, mean_error, n = score(release_minus_own_records(path, viewer))
    print(f"release minus own records as {viewer.role}: {n} small counts, exact {hit_rate:.0%}, "
          f"mean abs error {mean_error:.2f}")
    assert hit_rate <= 0.25, f"as {viewer.role}: {hit_rate:.0%} of {n} other agencies' small counts recovered exactly"
    assert n >= 10, f"only {n} small counts of other agencies to judge"
    assert mean_error >= 1.5, f"as {viewer.role}: mean error {mean_error:.2f} over {n} small counts"


def test_own_scope_minus_release_recovers_no_small_count_exactly(path: Path) -> None:
    """The same attack with the own counts read from the "my task force's records" scope where it shows them.

    Run as an analyst of each task force in turn: a released count under k reads
    "fewer than 11" (query.suppression), so how many small counts one attacker gets
    to judge depends on the noise (one Los Angeles analyst over years and halves
    found 9 in a clean run, 10 to 16 in six more); every task force's analyst
    together gives the judgement enough of them.
    """
    from query.viewer import OWN_RECORDS

    truth = truth_of(path, "SELECT dest_county_fips AS c, month, record_type AS t, source_task_force AS tf, "
                         "count(*) AS n FROM records GROUP BY ALL")
    truth["month"] = pd.to_datetime(truth["month"]).dt.date
    out: Pairs = []
    halves = [dataclasses.replace(f, start=start, end=end) for f in _year_filters()
              for start, end in ((f.start, f.start.replace(month=6)), (f.start.replace(month=7), f.end))]
    filter_sets = [*_year_filters(), *halves]
    every = {f: trends.county_rates(ANALYST, f).set_index("county_fips")["records"] for f in filter_sets}
    for task_force in sorted(truth["tf"].dropna().unique()):
        own_viewer = Viewer(f"attacker-{task_force}", "analyst", task_force).with_scope(OWN_RECORDS)
        for f in filter_sets:
            try:
                own = trends.county_rates(own_viewer, f).set_index("county_fips")["records"]
            except FilterIsolationError:  # the own scope keeps the small-cell guard on its exact counts
                continue
            assert f.start is not None and f.end is not None
            chosen = truth[(truth["month"] >= f.start) & (truth["month"] <= f.end) & (truth["tf"] != task_force)
                           & (truth["t"].isin(f.record_types) if f.record_types else True)]
            others = chosen.groupby("c")["n"].sum()
            shown = every[f]
            for county in shown.index[shown.notna()]:
                if county in own.index and pd.notna(own[county]):
                    out.append((float(shown[county] - own[county]), float(others.get(county, 0))))
    hit_rate, mean_error, n = score(out)
    print(f"own scope minus release: {n} small counts, exact {hit_rate:.0%}, mean abs error {mean_error:.2f}")
    assert n >= 10, f"only {n} small counts of other agencies to judge"
    assert hit_rate <= 0.25, f"{hit_rate:.0%} of {n} other agencies' small counts recovered exactly"
    assert mean_error >= 1.5, f"mean error {mean_error:.2f} over {n} small counts"


# ------------------------------------------------------------------ display of released counts


def test_a_released_count_of_k_or_more_is_never_hidden_as_fewer_than_k(path: Path) -> None:
    """Hidden released values read "fewer than 11", so only released values under k may be hidden.

    Complementary suppression (right for exact counts) hid released edges of k or
    more to protect a small neighbour, and the page then said "fewer than 11" of
    a released 13. Noise protects released counts; complements are not needed.
    """
    checked = 0
    with duckdb.connect(str(path), read_only=True) as con:
        regions = sorted(reference.load_regions()["region"].unique())
        for filters in (dataclasses.replace(f, regions=(r,)) for f in _year_filters() for r in regions):
            shown = flows.flow_edges(PARTNER, filters, level="county", con=con)
            shown = shown[(shown["level"] == "county") & ~shown.get("rolled_up", False)]
            raw = release.edges(con, filters, "county").set_index(["origin_id", "dest_id"])["records"]
            for row in shown.itertuples(index=False):
                released = int(raw.get((row.origin_id, row.dest_id), 0))
                checked += 1
                if pd.isna(row.records):
                    assert released < K, (filters, row.origin_id, row.dest_id, released)
                else:
                    assert int(row.records) == released
    assert checked > 50, checked  # (main's complements hid a released 13 here)


def test_county_rates_hide_released_counts_under_k_and_only_those(path: Path) -> None:
    """County rates for a release reader: a released county count of k or more is shown as released, any under k
    (a county with no released record included) reads "fewer than 11"; complements are for exact counts only."""
    checked = hidden_zero = 0
    with duckdb.connect(str(path), read_only=True) as con:
        for filters in _year_filters():
            shown = trends.county_rates(PARTNER, filters, con=con).set_index("county_fips")["records"]
            source = release.count_source(filters)
            where, params = source.where(filters)
            raw = con.execute(
                compose("SELECT dest_county_fips, {records} FROM {table} WHERE {where} "
                        "AND dest_county_fips IS NOT NULL GROUP BY ALL",
                        records=source.records, table=ident(source.table), where=where), params).fetchall()
            released = {county: int(n) for county, n in raw}
            for county, value in shown.items():
                count = released.get(county, 0)
                checked += 1
                if count >= K:
                    assert pd.notna(value) and int(value) == count, (filters, county, count, value)
                else:
                    assert pd.isna(value), (filters, county, count, value)
                    hidden_zero += count == 0
    assert checked > 100 and hidden_zero > 0, (checked, hidden_zero)


# ------------------------------------------------- the map by record type and by source kind


@pytest.mark.parametrize("field", ["record_types", "source_kinds"])
def test_map_cells_all_minus_all_but_one_recovers_no_small_count_exactly(path: Path, field: str) -> None:
    """Every type's map cell minus the same cell under all types but one: only the noise's rate of exact hits.

    Before the release answered these filters for a partner, it refused them; on
    the exact path (the readers without the release) the attack is exact.
    """
    from pipelines.build.release import MEASUREMENTS, scale_for

    hit_rate, mean_error, n = score(all_but_one_cells(path, field))
    print(f"map cells, all {field} minus all but one: {n} small counts, exact {hit_rate:.0%}, "
          f"mean abs error {mean_error:.2f}")
    assert n >= 10, f"only {n} small counts to judge"
    # the noise's rate: a discrete Gaussian of the cube's sigma is 0 with chance about 1/(sigma sqrt(2 pi));
    # the bound is 5 standard deviations of an exact-hit share over n counts above it
    sigma = scale_for(next(m for m in MEASUREMENTS if m.name == "cells_type"), release_rho())
    rate = 1 / (sigma * math.sqrt(2 * math.pi))
    bound = min(0.25, rate + 5 * math.sqrt(rate * (1 - rate) / n))
    assert hit_rate <= bound, f"{hit_rate:.0%} of {n} small counts recovered exactly (noise rate {rate:.0%})"
    assert mean_error >= 1.5, f"mean error {mean_error:.2f} over {n} small counts"


def test_the_map_cell_attack_is_exact_without_the_release(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same attack on the readers' exact path recovers the small counts exactly: the test above can fail."""
    monkeypatch.setattr(release, "reads_release", lambda viewer: False)
    hit_rate, _, n = score(all_but_one_cells(path, "record_types", res_levels=(4,), domain_only=False))
    assert n > 0 and hit_rate == 1.0, (hit_rate, n)


# ------------------------------------------------- the map's cell parts: consistent, never under k, not exact


def _released_cells(con: duckdb.DuckDBPyConnection, filters: Filters, res: int) -> pd.Series:
    """What the release's map reads under ``filters`` at ``res``: records per (cell, county), "no cell" as 0."""
    raw = release.raw_cells(con, filters, res)
    return raw.assign(cell=raw["cell"].fillna(0).astype("int64")).groupby(["cell", "county_fips"])["records"].sum()


@pytest.mark.parametrize("field", ["record_types", "source_kinds"])
def test_a_cells_record_types_and_source_kinds_add_up_to_the_cell(path: Path, field: str) -> None:
    """Each value's released cells, summed over the values, are the cell's released records, at res 4-6, per
    quarter and over the whole period; a filter naming every value reads the cell itself."""
    _, values = CELL_SPLITS[field]
    quarters = [Filters(start=date(2024, m, 1), end=date(2024, m + 2, 1)) for m in (1, 4, 7, 10)]
    with duckdb.connect(str(path), read_only=True) as con:
        for period in [Filters(), *quarters]:
            for res in (4, 5, 6):
                whole = _released_cells(con, period, res)
                parts = [_released_cells(con, dataclasses.replace(period, **{field: (v,)}), res) for v in values]
                summed = pd.concat(parts).groupby(level=[0, 1]).sum()
                pd.testing.assert_series_equal(summed.sort_index(), whole[whole > 0].sort_index(), check_names=False)
                every = _released_cells(con, dataclasses.replace(period, **{field: values}), res)
                pd.testing.assert_series_equal(every.sort_index(), whole.sort_index())
                assert all(len(p) for p in parts) and all((p <= whole.reindex(p.index)).all() for p in parts)


def test_a_cells_indicator_counts_are_at_most_the_cell(path: Path) -> None:
    """Indicators overlap (a record may carry several), so they need not add up; none exceeds its cell, and none
    is read finer than res 5."""
    with duckdb.connect(str(path), read_only=True) as con:
        for res in (4, 5, 6):
            whole = _released_cells(con, Filters(), min(res, release.FINEST_INDICATOR_RES))
            read = 0
            for indicator in INDICATORS:
                part = _released_cells(con, Filters(indicators=(indicator,)), res)
                read += len(part)
                assert (part <= whole.reindex(part.index).fillna(0)).all(), (res, indicator)
                if len(part):
                    cells_res = {grid.cell_resolution(int(c)) for c, _ in part.index if c}
                    assert cells_res <= {min(res, release.FINEST_INDICATOR_RES)}, (res, indicator, cells_res)
            assert read > 0, res


def test_the_map_never_shows_a_cell_part_under_k(path: Path) -> None:
    """Under each record type, source kind and indicator, every number the map shows is at least k, and a cell shown
    whole reads its released value; a released part under k is hidden, not shown."""
    from query import cells

    checked = hidden = 0
    single = [Filters(**{f: (v,)}) for f, (_, vs) in CELL_SPLITS.items() for v in vs]
    single += [Filters(indicators=(i,)) for i in INDICATORS]
    with duckdb.connect(str(path), read_only=True) as con:
        for base in single:
            for period in (Filters(), Filters(start=date(2025, 1, 1), end=date(2025, 3, 1))):
                filters = dataclasses.replace(base, start=period.start, end=period.end)
                for res in (4, 5, 6, 7):
                    shown = cells.cell_counts(PARTNER, filters, res=res, con=con)
                    numbers = shown.loc[~shown["suppressed"], "records"]
                    assert (numbers >= K).all(), (filters, res, numbers[numbers < K].tolist())
                    assert shown.loc[shown["suppressed"], "records"].isna().all()
                    at = release.cell_res(filters, res)
                    released = _released_cells(con, filters, at).groupby(level=0).sum()
                    whole = shown[shown["level"].eq("cell") & ~shown["rolled_up"] & ~shown["suppressed"]
                                  & shown["res"].eq(at)]
                    for cell, records in zip(whole["cell"].astype("int64"), whole["records"], strict=True):
                        assert int(records) == int(released[cell]) >= K, (filters, res, cell)
                    checked += len(whole)
                    hidden += int(((released > 0) & (released < K)).sum())
    assert checked > 100 and hidden > 100, (checked, hidden)


@pytest.mark.parametrize("field", ["record_types", "source_kinds"])
def test_a_cell_minus_its_shown_parts_recovers_no_small_count_exactly(path: Path, field: str) -> None:
    """A cell's total minus its parts read one type (kind) at a time, or their sum: only the noise's rate of exact
    hits, as for the other map-cell attack."""
    from pipelines.build.release import MEASUREMENTS, scale_for

    hit_rate, mean_error, n = score(total_minus_shown_parts(path, field))
    print(f"map cells, total minus shown {field}: {n} small counts, exact {hit_rate:.0%}, mean abs error {mean_error:.2f}")
    assert n >= 10, f"only {n} small counts to judge"
    sigma = scale_for(next(m for m in MEASUREMENTS if m.name == "cells_type"), release_rho())
    rate = 1 / (sigma * math.sqrt(2 * math.pi))
    bound = min(0.25, rate + 5 * math.sqrt(rate * (1 - rate) / n))
    assert hit_rate <= bound, f"{hit_rate:.0%} of {n} small counts recovered exactly (noise rate {rate:.0%})"
    assert mean_error >= 1.5, f"mean error {mean_error:.2f} over {n} small counts"


def test_a_cell_minus_its_shown_parts_is_exact_without_the_release(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the readers' exact path the same subtraction gives the small parts away: the test above can fail."""
    monkeypatch.setattr(release, "reads_release", lambda viewer: False)
    hit_rate, _, n = score(total_minus_shown_parts(path, "record_types", res_levels=(4,), domain_only=False))
    assert n > 0 and hit_rate == 1.0, (hit_rate, n)


# ------------------------------------------------- the area counts by source kind and by one indicator


#: The source kinds (``release_count_parts``), and the indicators the fixture's records carry most.
KINDS = CELL_SPLITS["source_kinds"][1]
ATTACK_INDICATORS = INDICATORS[:3]
HALVES = tuple((date(y, m, 1), date(y, m + 5, 1)) for y in (2024, 2025) for m in (1, 7))


def _truth_by(path: Path, column: str) -> pd.DataFrame:
    """True records per (county, month, value of ``column``): ``source_kind``, or each indicator a record carries."""
    value = compose("unnest(indicators)") if column == "indicators" else ident(column)
    truth = truth_of(path, compose("""
        SELECT c, month, v, count(*) AS n FROM (SELECT dest_county_fips AS c, month, {value} AS v FROM records)
        GROUP BY ALL""", value=value))
    truth["month"] = pd.to_datetime(truth["month"]).dt.date
    return truth


def _county_counts(viewer: Viewer, filters: Filters) -> pd.Series | None:
    """``county_rates``' records by county (``<NA>``: hidden), or ``None`` when the filters are refused."""
    try:
        return trends.county_rates(viewer, filters).set_index("county_fips")["records"]
    except FilterIsolationError:
        return None


def kinds_parent_minus_parts(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """County counts: every kind minus all kinds but one (that kind), and the total minus the kinds shown one at a
    time (the hidden ones), per half year. Kinds add up to the county's count exactly, so only noise stands in the way."""
    out: Pairs = []
    truth = _truth_by(path, "source_kind")
    for start, end in HALVES:
        period = {"start": start, "end": end}
        inside = truth[(truth["month"] >= start) & (truth["month"] <= end)].groupby(["c", "v"])["n"].sum()
        total = _county_counts(viewer, Filters(**period))
        every = _county_counts(viewer, Filters(**period, source_kinds=KINDS))
        single = {k: _county_counts(viewer, Filters(**period, source_kinds=(k,))) for k in KINDS}
        for left_out in KINDS:
            rest = _county_counts(viewer, Filters(**period, source_kinds=tuple(k for k in KINDS if k != left_out)))
            if every is None or rest is None:
                continue
            for county in every.index[every.notna() & rest.notna()]:
                out.append((float(every[county] - rest[county]), float(inside.get((county, left_out), 0))))
        if total is None or any(s is None for s in single.values()):
            continue
        for county in total.index[total.notna()]:
            shown = {k: float(s[county]) for k, s in single.items() if s is not None and pd.notna(s[county])}
            hidden = [k for k in KINDS if k not in shown]
            if hidden:
                out.append((float(total[county]) - sum(shown.values()), float(sum(inside.get((county, k), 0) for k in hidden))))
    return out


def _one_more_month_under(path: Path, viewer: Viewer, field: str, values: tuple[str, ...]) -> Pairs:
    """County counts under one source kind (indicator) over months a..b and a..b+1: that kind's month b+1."""
    out: Pairs = []
    truth = _truth_by(path, "source_kind" if field == "source_kinds" else "indicators")
    start = date(2024, 1, 1)
    for value in values:
        month_of = truth[truth["v"] == value].groupby(["month", "c"])["n"].sum()
        for m in range(1, 23):
            end, after = date(2024 + (m - 1) // 12, (m - 1) % 12 + 1, 1), date(2024 + m // 12, m % 12 + 1, 1)
            a = _county_counts(viewer, Filters(start=start, end=end, **{field: (value,)}))
            b = _county_counts(viewer, Filters(start=start, end=after, **{field: (value,)}))
            if a is None or b is None:
                continue
            for county in a.index[a.notna() & b.notna()]:
                out.append((float(b[county] - a[county]), float(month_of.get((after, county), 0))))
    return out


def kind_one_more_month(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    return _one_more_month_under(path, viewer, "source_kinds", KINDS)


def indicator_one_more_month(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    return _one_more_month_under(path, viewer, "indicators", ATTACK_INDICATORS)


def one_more_indicator(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """County counts under indicator A and under A or B: the difference is B's records without A."""
    out: Pairs = []
    truth = truth_of(path, "SELECT dest_county_fips AS c, month, indicators FROM records")
    truth["month"] = pd.to_datetime(truth["month"]).dt.date
    for start, end in HALVES:
        inside = truth[(truth["month"] >= start) & (truth["month"] <= end)]
        for a in ATTACK_INDICATORS:
            for b in (i for i in ATTACK_INDICATORS if i != a):
                one = _county_counts(viewer, Filters(start=start, end=end, indicators=(a,)))
                two = _county_counts(viewer, Filters(start=start, end=end, indicators=(a, b)))
                if one is None or two is None:
                    continue
                only_b = inside[[b in list(i) and a not in list(i) for i in inside["indicators"]]].groupby("c").size()
                for county in one.index[one.notna() & two.notna()]:
                    out.append((float(two[county] - one[county]), float(only_b.get(county, 0))))
    return out


COUNT_PART_ATTACKS: dict[str, tuple[Callable[[Path, Viewer], Pairs], str]] = {
    "source kinds: parent minus parts": (kinds_parent_minus_parts, "counts_kind"),
    "one more month under a source kind": (kind_one_more_month, "counts_kind"),
    "one more month under an indicator": (indicator_one_more_month, "counts_indicator"),
}


@pytest.mark.parametrize("name", list(COUNT_PART_ATTACKS))
def test_count_parts_differencing_recovers_no_small_count_exactly(path: Path, name: str) -> None:
    """The area counts by source kind and by one indicator, attacked as a partner: exact hits only at the noise's
    rate (5 standard deviations of an exact-hit share over n counts above it), a mean error of at least 1.5."""
    from pipelines.build.release import MEASUREMENTS, scale_for

    attack, measurement = COUNT_PART_ATTACKS[name]
    hit_rate, mean_error, n = score(attack(path, PARTNER))
    print(f"{name}: {n} small counts recovered, exact {hit_rate:.0%}, mean abs error {mean_error:.2f}")
    assert n >= 10, f"{name}: only {n} small counts to judge; the attack needs more filter sets"
    sigma = scale_for(next(m for m in MEASUREMENTS if m.name == measurement), release_rho())
    rate = 1 / (sigma * math.sqrt(2 * math.pi))
    bound = min(0.25, rate + 5 * math.sqrt(rate * (1 - rate) / n))
    assert hit_rate <= bound, f"{name}: {hit_rate:.0%} of {n} small counts recovered exactly (noise rate {rate:.0%})"
    assert mean_error >= 1.5, f"{name}: mean error {mean_error:.2f} over {n} small counts"


def test_one_more_indicator_is_refused_on_the_release(path: Path) -> None:
    """A or B minus A would be exact for B alone; the release counts one indicator at a time, so the union is refused
    (a sum of two released indicators would count a record carrying both twice)."""
    assert one_more_indicator(path, PARTNER) == []
    with pytest.raises(release.ReleaseFilterError, match="one indicator at a time"):
        trends.county_rates(PARTNER, Filters(indicators=ATTACK_INDICATORS[:2]))


@pytest.mark.slow  # every count-part attack on the exact path
def test_the_count_part_attacks_are_exact_without_the_release(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the readers' exact path (what a partner got before the release, had it answered these filters) the same
    subtractions give small counts away exactly: the tests above can fail."""
    monkeypatch.setattr(release, "reads_release", lambda viewer: False)
    exact = {name: score(attack(path, PARTNER)) for name, (attack, _) in COUNT_PART_ATTACKS.items()}
    exact["one more indicator"] = score(one_more_indicator(path, PARTNER))
    assert all(n > 0 and rate == 1.0 for rate, _, n in exact.values()), exact
