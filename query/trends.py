"""Statewide and regional trends: headline figures, monthly series, county rates, hot spots.

Leadership's questions — "is it getting better or worse, and where" — read here.
Every reader takes the :class:`~query.viewer.Viewer` first and passes every count
through :func:`query.suppression.suppress_small_counts` with the viewer's k, over
the margins that are published elsewhere (the statewide total, each month, each
region), so no hidden count comes back by subtraction. Every derived figure (a
change, a rate) is computed only from counts that are shown: a rate or a change
that rests on a hidden count is hidden too.

The period
----------
Headline figures, county rates and rankings compare one *current* period with
the *previous* one of the same length and with the same months a year before.
The current period is the filters' ``start``..``end``; a missing ``end`` is the
latest month in the warehouse and a missing ``start`` makes the period the 12
months ending at ``end`` (:func:`resolve_period`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache

import duckdb
import numpy as np
import pandas as pd

from geo import grid, reference
from query import flows, release, scope
from query.aggregates import CountSource, count_source
from query.filters import Filters
from query.policy import Capability
from query.release import ReleaseFilterError
from query.suppression import guard_filters, suppress_small_counts
from query.viewer import Viewer
from routes import warehouse
from routes.contract.sql import SQL, compose, ident, string_literal
from routes.contract.vocabularies import HOTSPOT_PATTERNS

__all__ = [
    "HEADLINE_COUNTS",
    "PERIODS",
    "RegionProfile",
    "counties_ranked_by_change",
    "county_neighbours",
    "county_rates",
    "emerging_hot_spots",
    "headline_figures",
    "monthly_series",
    "region_profile",
    "resolve_period",
]

#: The counts of :func:`headline_figures`, in display order.
HEADLINE_COUNTS = ("records", "victims", "minors", "tips", "incidents", "recoveries", "services")

#: The periods :func:`headline_figures` compares, current first.
PERIODS = ("current", "previous", "year_before")

#: Record type → the headline count column it feeds.
_TYPE_COLUMNS = {"tip": "tips", "incident": "incidents", "recovery": "recoveries", "service": "services"}

#: How a record without a destination region shows in a by-region series.
NO_REGION = "no destination"

#: Months in the current period when the filters give no start.
DEFAULT_MONTHS = 12


# --------------------------------------------------------------------------- plumbing


_snapshot = scope.reading  # the viewer's scope: the warehouse (release), or its own records' database


def _guard(c: duckdb.DuckDBPyConnection, viewer: Viewer, filters: Filters) -> None:
    """Refuse filters that would isolate records (rule 4 of ``query.suppression``).

    A viewer who reads the protected release gets no guard (noise protects the
    differences; a refusal decided on true counts would leak them), only a
    refusal of the filters the release cannot answer.
    """
    if release.reads_release(viewer):
        release.check_count_filters(filters)
        return
    guard_filters(c, filters, k=viewer.k)


def _source(c: duckdb.DuckDBPyConnection, viewer: Viewer, filters: list[Filters]) -> CountSource:
    """Where ``viewer``'s counts come from: the protected release, or the exact pre-aggregates."""
    if release.reads_release(viewer):
        for f in filters:
            release.check_count_filters(f)
        source = release.count_source(filters[0] if filters else Filters())
        release.require(c, source.table)
        return source
    return count_source(c, filters)


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def _months_between(start: date, end: date) -> int:
    """Months from ``start`` to ``end`` inclusive."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def resolve_period(
    viewer: Viewer, filters: Filters, *, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[date, date] | None:
    """The current period ``(start, end)`` as first days of months, or ``None`` with no data.

    ``end`` is the filters' end or the latest month in the warehouse (in the
    protected release, for a viewer who reads it); ``start`` is the filters'
    start or :data:`DEFAULT_MONTHS` months back from ``end``.
    """
    viewer.require(Capability.SEE_AGGREGATES, "see the data's calendar")  # the same for every such viewer
    end = filters.end.replace(day=1) if filters.end else None
    if end is None:
        with _snapshot(viewer, con) as c:
            if release.reads_release(viewer):  # the release's last month: no read of records
                release.require(c, release.META_TABLE)
                span = release.month_range(c)
                end = span[1] if span else None
            else:
                row = c.execute("SELECT max(month) FROM records").fetchone()
                end = row[0] if row else None
        if end is None:
            return None
    start = filters.start.replace(day=1) if filters.start else _add_months(end, 1 - DEFAULT_MONTHS)
    if start > end:
        start = end
    return start, end


def _comparison_periods(start: date, end: date) -> dict[str, tuple[date, date]]:
    length = _months_between(start, end)
    return {
        "current": (start, end),
        "previous": (_add_months(start, -length), _add_months(start, -1)),
        "year_before": (_add_months(start, -12), _add_months(end, -12)),
    }


def _change(current: pd.Series, other: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Absolute and percent change from ``other`` to ``current``; ``<NA>`` where either is hidden."""
    cur = pd.to_numeric(current, errors="coerce").astype("Float64")
    oth = pd.to_numeric(other, errors="coerce").astype("Float64")
    change = (cur - oth).astype("Float64")
    pct = (change / oth.where(oth > 0) * 100).round(1)
    return change.round().astype("Int64"), pct.astype("Float64")


# --------------------------------------------------------------------------- headline


def headline_figures(
    viewer: Viewer, filters: Filters, *, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """The headline counts of the current period, the previous one and a year before.

    Parameters
    ----------
    viewer
        Who is asking (decides k).
    filters
        The shared filters; the period is resolved by :func:`resolve_period`.
    con
        An open read-only snapshot to reuse; by default one is opened and closed.

    Returns
    -------
    pandas.DataFrame
        One row per period of :data:`PERIODS`: ``period``, ``start``, ``end``, the
        counts of :data:`HEADLINE_COUNTS` (records; victims; records involving a
        minor; records by type), ``suppressed``, and for each count ``<count>_change``
        and ``<count>_change_pct``: the change from that row's period to the
        current one (``<NA>`` on the current row, and wherever either figure is
        hidden). Records by type are protected against "records minus the other
        types"; they are ``<NA>`` for a viewer of the release under a source-kind
        or indicator filter (that breakdown has no record type). Empty when the
        warehouse has no records.
    """
    with _snapshot(viewer, con) as c:
        _guard(c, viewer, filters)
        period = resolve_period(viewer, filters, con=c)
        if period is None:
            return pd.DataFrame(columns=["period", "start", "end", *HEADLINE_COUNTS, "suppressed"])
        spans = _comparison_periods(*period)
        earliest = min(s for s, _ in spans.values())
        wide = filters.with_period(earliest, period[1])
        source = _source(c, viewer, [wide])
        where, params = source.where(wide)
        sql = compose("""
            SELECT month, {record_type} AS record_type, {records} AS records, {victims} AS victims,
                   {minors} AS minors
            FROM {table} WHERE {where}
            GROUP BY ALL
        """, record_type=source.record_type, records=source.records, victims=source.victims,
                      minors=source.minors, table=ident(source.table), where=where)
        by_month = c.execute(sql, params).df()
    # a month may fall in two spans (the year before overlaps a current period over 12 months)
    month = pd.to_datetime(by_month["month"]).dt.date
    by_type = pd.concat(
        [by_month[(month >= s) & (month <= e)].assign(period=name) for name, (s, e) in spans.items()],
        ignore_index=True,
    )
    return _headline_frame(viewer, by_type, spans, typed=source.record_type == "record_type")


def _headline_frame(
    viewer: Viewer, by_type: pd.DataFrame, spans: dict[str, tuple[date, date]], *, typed: bool = True
) -> pd.DataFrame:
    grid_ = pd.MultiIndex.from_product([list(PERIODS), list(_TYPE_COLUMNS)], names=["period", "record_type"])
    if not typed:  # the release's counts by source kind or indicator have no record type: totals only
        by_type = by_type.assign(record_type=next(iter(_TYPE_COLUMNS)))
    by_type = (
        by_type.groupby(["period", "record_type"])[["records", "victims", "minors"]].sum()
        .reindex(grid_, fill_value=0).reset_index()
    )
    totals = by_type.groupby("period", sort=False)[["records", "victims", "minors"]].sum().reindex(list(PERIODS)).reset_index()
    exact = not release.reads_release(viewer)  # released counts get no complements (query.suppression)
    totals = suppress_small_counts(totals, k=viewer.k, margins=[["period"]], complementary=exact)
    # records by type: the parts of each period's total, protected against the total
    parts = suppress_small_counts(by_type[["period", "record_type", "records"]], k=viewer.k, margins=[["period"]],
                                  complementary=exact)
    wide = parts.pivot(index="period", columns="record_type", values="records").reindex(list(PERIODS))
    out = totals.copy()
    for record_type, column in _TYPE_COLUMNS.items():
        out[column] = wide[record_type].to_numpy()
        out[column] = out[column].astype("Int64").mask(out["suppressed"] | (not typed))
    out.insert(1, "start", [spans[p][0] for p in out["period"]])
    out.insert(2, "end", [spans[p][1] for p in out["period"]])
    current = out.iloc[0]
    for column in HEADLINE_COUNTS:
        change, pct = _change(pd.Series([current[column]] * len(out)), out[column])
        out[f"{column}_change"] = change.mask(out["period"].eq("current").to_numpy())
        out[f"{column}_change_pct"] = pct.mask(out["period"].eq("current").to_numpy())
    return out[["period", "start", "end", *HEADLINE_COUNTS, "suppressed",
                *[f"{c}_change" for c in HEADLINE_COUNTS], *[f"{c}_change_pct" for c in HEADLINE_COUNTS]]]


# --------------------------------------------------------------------------- series


def monthly_series(
    viewer: Viewer,
    filters: Filters,
    *,
    by: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Records and victims per month, statewide or per Cal OES region.

    Parameters
    ----------
    viewer, filters
        Who is asking; what to count. The months are the filters' period, or every
        month in the warehouse when it has none.
    by
        ``None`` for one series, ``"region"`` for one per destination region (records
        without a destination form the region :data:`NO_REGION`).

    Returns
    -------
    pandas.DataFrame
        ``month`` (every month of the range, zero-filled), ``region`` when
        ``by="region"``, ``records``, ``victims``, ``suppressed``. Protected
        against the totals of each month and of each region (and of the range).
    """
    if by not in (None, "region"):
        raise ValueError(f"by must be None or 'region', not {by!r}")
    region = compose("coalesce(dest_region, {none}) AS region, ", none=string_literal(NO_REGION)) if by else SQL("")
    with _snapshot(viewer, con) as c:
        _guard(c, viewer, filters)
        source = _source(c, viewer, [filters])
        where, params = source.where(filters)
        sql = compose("""
            SELECT month, {region}{records} AS records, {victims} AS victims
            FROM {table} WHERE {where} AND month IS NOT NULL
            GROUP BY ALL
        """, region=region, records=source.records, victims=source.victims, table=ident(source.table), where=where)
        raw = c.execute(sql, params).df()
    columns = ["month", *(["region"] if by else []), "records", "victims"]
    if raw.empty:
        return suppress_small_counts(pd.DataFrame(columns=columns).astype({"records": "int64", "victims": "int64"}), k=viewer.k,
                                     complementary=not release.reads_release(viewer))
    raw["month"] = pd.to_datetime(raw["month"]).dt.date
    first = filters.start.replace(day=1) if filters.start else min(raw["month"])
    last = filters.end.replace(day=1) if filters.end else max(raw["month"])
    months = [d.date() for d in pd.date_range(first, last, freq="MS")]
    if by:
        regions = sorted(set(_allowed_counties(filters)["region"].dropna()) | set(raw["region"]))
        index = pd.MultiIndex.from_product([months, regions], names=["month", "region"])
        frame = raw.set_index(["month", "region"]).reindex(index, fill_value=0).reset_index()
        margins: list[list[str]] = [["month"], ["region"], []]
    else:
        frame = raw.set_index("month").reindex(pd.Index(months, name="month"), fill_value=0).reset_index()
        margins = [[]]
    frame[["records", "victims"]] = frame[["records", "victims"]].astype("int64")
    return suppress_small_counts(frame[columns], k=viewer.k, margins=margins, complementary=not release.reads_release(viewer))


# --------------------------------------------------------------------------- counties


def _county_counts(
    c: duckdb.DuckDBPyConnection, viewer: Viewer, filters: Filters, *, start: date, end: date
) -> pd.DataFrame:
    period = filters.with_period(start, end)
    source = _source(c, viewer, [period])
    where, params = source.where(period)
    sql = compose("""
        SELECT dest_county_fips AS county_fips, {records} AS records, {victims} AS victims
        FROM {table} WHERE {where} AND dest_county_fips IS NOT NULL
        GROUP BY ALL
    """, records=source.records, victims=source.victims, table=ident(source.table), where=where)
    return c.execute(sql, params).df()


def _allowed_counties(filters: Filters) -> pd.DataFrame:
    """The rows of :func:`geo.reference.county_dimensions` the geographic filters allow."""
    dims = reference.county_dimensions()
    if filters.counties:
        dims = dims[dims["county_fips"].isin(filters.counties)]
    if filters.regions:
        dims = dims[dims["region"].isin(filters.regions)]
    if filters.task_forces:
        dims = dims[dims["task_force"].isin(filters.task_forces)]
    return dims


def _county_frame(viewer: Viewer, filters: Filters, counts: pd.DataFrame) -> pd.DataFrame:
    """Every county the filters allow, zero-filled, suppressed against state and region totals."""
    dims = _allowed_counties(filters)
    frame = dims.merge(counts, on="county_fips", how="left")
    frame[["records", "victims"]] = frame[["records", "victims"]].fillna(0).astype("int64")
    frame = frame.sort_values("county_fips").reset_index(drop=True)
    return suppress_small_counts(frame, k=viewer.k, margins=[[], ["region"], ["task_force"]],
                                 complementary=not release.reads_release(viewer))


def county_rates(
    viewer: Viewer, filters: Filters, *, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """Records per 100,000 residents in each county over the current period.

    Returns
    -------
    pandas.DataFrame
        ``county_fips``, ``county``, ``region``, ``task_force``, ``population``
        (Census 2019 estimate), ``records``, ``victims``, ``rate_per_100k``
        (``<NA>`` where ``records`` is hidden), ``suppressed``, ``start``, ``end``.
        Every county the geographic filters allow appears, with zero when it has
        no records.
    """
    with _snapshot(viewer, con) as c:
        _guard(c, viewer, filters)
        period = resolve_period(viewer, filters, con=c)
        if period is None:
            return _county_frame(viewer, filters, pd.DataFrame(columns=["county_fips", "records", "victims"])).assign(
                rate_per_100k=pd.NA, start=None, end=None
            )
        counts = _county_counts(c, viewer, filters, start=period[0], end=period[1])
    frame = _county_frame(viewer, filters, counts)
    population = frame["population"].astype("Float64")
    frame["rate_per_100k"] = (frame["records"].astype("Float64") / population * 100_000).round(2)
    frame["start"], frame["end"] = period
    return frame


def counties_ranked_by_change(
    viewer: Viewer,
    filters: Filters,
    *,
    against: str = "previous",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Counties ranked by the change in records from ``against`` to the current period.

    Parameters
    ----------
    against
        ``"previous"`` (the period of the same length just before) or
        ``"year_before"`` (the same months a year earlier).

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``county_fips``, ``county``, ``region``, ``records`` (current),
        ``records_before`` (the earlier period, itself protected as a county
        table), ``change``, ``change_pct``, ``rate_per_100k``, ``suppressed``
        (the current count is hidden). A change is shown only when both counts are;
        counties are ranked by ``change_pct`` (largest rise first; a rise from
        zero first of all), then by ``change``; those with no percentage to show
        (a hidden count, or zero in both periods) come last, unranked.
    """
    if against not in ("previous", "year_before"):
        raise ValueError(f"against must be 'previous' or 'year_before', not {against!r}")
    with _snapshot(viewer, con) as c:
        _guard(c, viewer, filters)
        period = resolve_period(viewer, filters, con=c)
        if period is None:
            return pd.DataFrame(columns=["rank", "county_fips", "county", "region", "records", "records_before", "change", "change_pct"])
        spans = _comparison_periods(*period)
        now = _county_frame(viewer, filters, _county_counts(c, viewer, filters, start=spans["current"][0], end=spans["current"][1]))
        before = _county_frame(viewer, filters, _county_counts(c, viewer, filters, start=spans[against][0], end=spans[against][1]))
    out = now[["county_fips", "county", "region", "population", "records", "suppressed"]].copy()
    out["records_before"] = before["records"].array
    out["change"], out["change_pct"] = _change(out["records"], out["records_before"])
    out["rate_per_100k"] = (out["records"].astype("Float64") / out["population"].astype("Float64") * 100_000).round(2)
    # a county that rose from zero leads the ranking; one with nothing in either period is not ranked
    emerged = out["records_before"].eq(0).fillna(False) & out["records"].gt(0).fillna(False)
    key = out["change_pct"].astype("float64").where(~emerged, np.inf)
    out = out.assign(_key=key).sort_values(["_key", "change"], ascending=False, na_position="last", kind="stable")
    ranked = out["_key"].notna().to_numpy()
    out["rank"] = pd.Series(np.cumsum(ranked), index=out.index, dtype="Int64").mask(~ranked)
    out = out.drop(columns=["_key"])
    out = out.drop(columns=["population"]).reset_index(drop=True)
    out["start"], out["end"] = spans["current"]
    out["before_start"], out["before_end"] = spans[against]
    return out[["rank", *[c for c in out.columns if c != "rank"]]]


# --------------------------------------------------------------------------- hot spots


def emerging_hot_spots(
    viewer: Viewer,
    filters: Filters,
    *,
    res: int = 6,
    step: str = "month",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Emerging hot-spot patterns per H3 cell, from the built ``hotspot_classes`` table.

    The patterns are computed by ``pipelines/build/hotspots.py`` over every record
    with a destination cell (place precision or finer) in the window it documents;
    only the geographic filters (regions, counties, task forces, by each cell's
    main county) apply here: the period and type filters do not change a pattern.

    For a viewer who reads the protected release, the same analysis run by the
    build on released cells (``release_hotspot_classes``): always per quarter.

    Parameters
    ----------
    res
        H3 resolution: 5 or 6.
    step
        ``"month"`` or ``"quarter"``: the time step of the analysis.

    Returns
    -------
    pandas.DataFrame
        ``cell``, ``hex`` (the cell as H3 string), ``pattern`` (a key of
        ``routes.contract.vocabularies.HOTSPOT_PATTERNS``), ``label``, ``county_fips``,
        ``region``, ``records`` (over the window, protected), ``suppressed``,
        ``hot_steps``, ``cold_steps``, ``n_steps``, ``trend_z``, ``trend_p``,
        ``first_period``, ``last_period``. Empty when the table is not built.
    """
    sql = """
        SELECT cell, pattern, county_fips, region, task_force, records, hot_steps, cold_steps,
               n_steps, trend_z, trend_p, first_period, last_period
        FROM hotspot_classes WHERE res = ? AND step = ? ORDER BY cell
    """
    params: list[object] = [int(res), step]
    table = "hotspot_classes"
    if release.reads_release(viewer):  # classes computed from released cells, per quarter
        table, params = release.HOTSPOTS_TABLE, [int(res), "quarter"]
        sql = sql.replace("FROM hotspot_classes", f"FROM {table}")
    with _snapshot(viewer, con) as c:
        frame = c.execute(sql, params).df() if warehouse.has_table(c, table) else pd.DataFrame(
            columns=["cell", "pattern", "county_fips", "region", "task_force", "records", "hot_steps", "cold_steps",
                     "n_steps", "trend_z", "trend_p", "first_period", "last_period"]
        )
    frame["records"] = frame["records"].astype("int64")
    frame.insert(1, "hex", grid.cells_to_strings(frame["cell"]))
    frame.insert(3, "label", frame["pattern"].map(lambda p: str(p).replace("_", " ").capitalize()))
    frame["definition"] = frame["pattern"].map(HOTSPOT_PATTERNS)
    # protected statewide first, then narrowed: every view hides the same cells
    frame = suppress_small_counts(frame, k=viewer.k, margins=[[]], complementary=not release.reads_release(viewer))
    keep = np.ones(len(frame), dtype=bool)
    for column, values in (("county_fips", filters.counties), ("region", filters.regions), ("task_force", filters.task_forces)):
        if values:
            keep &= frame[column].isin(values).to_numpy()
    return frame[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- regions


#: Counties closer than this count as neighbours: across the Golden Gate or the Bay
#: (San Francisco faces Marin and Alameda) as well as along a land border.
NEIGHBOUR_GAP_M = 5_000


@cache
def _adjacency() -> dict[str, tuple[str, ...]]:
    """County → counties within :data:`NEIGHBOUR_GAP_M` of it (California Albers, EPSG:3310)."""
    counties = reference.load_counties()[["county_fips", "geometry"]].to_crs(3310).reset_index(drop=True)
    counties["geometry"] = counties.buffer(NEIGHBOUR_GAP_M / 2)
    pairs = counties.sjoin(counties, predicate="intersects", how="inner")
    pairs = pairs[pairs["county_fips_left"] != pairs["county_fips_right"]]
    out: dict[str, set[str]] = {f: set() for f in counties["county_fips"]}
    for left, right in zip(pairs["county_fips_left"], pairs["county_fips_right"], strict=True):
        out[left].add(right)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def county_neighbours(counties: list[str] | tuple[str, ...]) -> list[str]:
    """Counties that border any of ``counties`` (or face it across water) and are not among them.

    >>> county_neighbours(["06075"])  # San Francisco: Alameda, Marin, San Mateo
    ['06001', '06041', '06081']
    """
    inside = set(counties)
    adjacency = _adjacency()
    return sorted({n for c in inside for n in adjacency.get(c, ()) if n not in inside})


@dataclass(frozen=True)
class RegionProfile:
    """What the Region page shows of one region, task force or county.

    Every table came through the query layer's protection.
    """

    kind: str
    key: str
    name: str
    counties: tuple[str, ...]
    headline: pd.DataFrame
    trend: pd.DataFrame
    county_rates: pd.DataFrame
    neighbours: pd.DataFrame
    flows_in: pd.DataFrame | None = None
    flows_out: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _place_of(*, region: str | None, task_force: str | None, county: str | None) -> tuple[str, str, str, tuple[str, ...]]:
    chosen = [(k, v) for k, v in (("region", region), ("task_force", task_force), ("county", county)) if v]
    if len(chosen) != 1:
        raise ValueError("give exactly one of region=, task_force= or county=")
    kind, key = chosen[0]
    dims = reference.county_dimensions()
    column = {"region": "region", "task_force": "task_force", "county": "county_fips"}[kind]
    members = dims.loc[dims[column] == key, "county_fips"]
    if members.empty:
        valid = sorted(dims[column].dropna().unique())
        raise ValueError(f"unknown {kind} {key!r}; valid values: {', '.join(valid)}")
    if kind == "county":
        name = f"{dims.loc[dims['county_fips'] == key, 'county'].iloc[0]} County"
    elif kind == "task_force":
        forces = reference.load_task_forces().drop_duplicates("task_force").set_index("task_force")
        name = str(forces["name"].get(key, key))
    else:
        name = f"Cal OES Mutual Aid {key}"
    return kind, key, name, tuple(sorted(members))


def region_profile(
    viewer: Viewer,
    *,
    region: str | None = None,
    task_force: str | None = None,
    county: str | None = None,
    filters: Filters,
) -> RegionProfile:
    """Everything the Region page shows about one Cal OES region, task force or county.

    Parameters
    ----------
    viewer
        Who is asking.
    region, task_force, county
        Exactly one: a Mutual Aid Region (``"Region II"``), a task force id, or a
        county FIPS code.
    filters
        The shared filters; their geography is replaced by the chosen place.

    Returns
    -------
    RegionProfile
        ``headline`` (as :func:`headline_figures`), ``trend`` (as
        :func:`monthly_series`), ``county_rates`` of its counties, ``neighbours``
        (the bordering counties' rates, for comparison) and ``flows_in`` /
        ``flows_out``: the county-level edges of :func:`query.flows.flow_edges`
        (statewide, protected as one table) that end / start in the place and
        come from / go to elsewhere.
    """
    kind, key, name, members = _place_of(region=region, task_force=task_force, county=county)
    anywhere = replace(filters, regions=(), task_forces=(), counties=())
    local = replace(anywhere, counties=members)
    around = county_neighbours(members)
    notes: list[str] = []
    with warehouse.open_snapshot() as c:
        headline = headline_figures(viewer, local, con=c)
        trend = monthly_series(viewer, local, con=c)
        # the statewide county table, rows picked: the same counties hidden as on the state map
        statewide = county_rates(viewer, anywhere, con=c)
    rates = statewide[statewide["county_fips"].isin(members)].reset_index(drop=True)
    neighbours = statewide[statewide["county_fips"].isin(around)].reset_index(drop=True)
    flows_in, flows_out = _flows_of(viewer, anywhere, members, notes)
    return RegionProfile(
        kind=kind, key=key, name=name, counties=members, headline=headline, trend=trend,
        county_rates=rates, neighbours=neighbours, flows_in=flows_in, flows_out=flows_out,
        notes=tuple(notes),
    )


def _flows_of(
    viewer: Viewer, filters: Filters, members: tuple[str, ...], notes: list[str]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Flows into and out of ``members`` through ``query.flows``; ``None`` when the filters refuse flows.

    A filter the release answers for counts but not for flows (a source kind, an
    indicator) refuses only the flows: the rest of the page still stands, and
    ``notes`` says why the flows are missing.
    """
    # statewide county edges (protected as one table), then the ones crossing the place's edge
    try:
        edges = flows.flow_edges(viewer, filters, level="county")
    except ReleaseFilterError as refused:
        notes.append(f"Flows in and out are not shown: {refused}")
        return None, None
    at_county = edges[edges["level"].eq("county")] if "level" in edges.columns else edges
    inside = set(members)
    origin = at_county["origin_id"].isin(inside)
    dest = at_county["dest_id"].isin(inside)
    if "level" in edges.columns and not edges["level"].eq("county").all():
        notes.append("Flows too small to show between counties are counted between regions on the Flows page.")
    return at_county[dest & ~origin].reset_index(drop=True), at_county[origin & ~dest].reset_index(drop=True)
