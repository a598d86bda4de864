"""Heatmap reads: records per H3 cell, what is inside one cell, and records per month.

At resolution ``r`` only records whose destination was indexed at ``dest_res >= r``
are cells; a ZIP-precision record (res 7) is never shown as a res-8 or res-9 fact.
The others (coarser precision, or county only) count towards their county: the
rows with ``level == 'county'``.

Small-cell protection: cells under k roll up to their H3 parent (at most
:data:`ROLL_UP_LEVELS` levels), then to their county, via
:func:`query.suppression.roll_up_cells`; what still falls short is returned with
``suppressed=True`` and ``<NA>`` counts, never as zero.

Reads use the pre-aggregates of ``pipelines/build/aggregates.py`` while they are
current (``cell_build_state`` holds the fingerprint of ``records`` they were built
from; a missing or stale build is never read, so it can only make a read slower,
never different):

- no indicator filter: ``cell_counts`` / ``county_month_counts``;
- a filter naming exactly ONE indicator (``"has any of {x}"`` is ``"has x"``):
  ``cell_indicator_counts`` / ``county_indicator_month_counts`` with
  ``indicator = x``;
- several indicators: ``records`` (a record carrying two of them would count
  twice in the per-indicator tables).

:func:`cell_breakdown` reads ``cell_counts`` and splits a cell by indicator from
``cell_indicator_counts`` when no indicator filter is set. Under any indicator
filter (one or several) it reads ``cell_indicator_sets``: the cell's records per
distinct indicator list, a few id ranges of a table sorted by cell, so which
indicators co-occur with the wanted ones comes from the lists, not from
``records``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import duckdb
import h3
import numpy as np
import pandas as pd

from geo import grid, reference
from geo.flow_places import near_place_names
from query import release, scope, suppression
from query.aggregates import FINGERPRINT_SQL, CountSource, count_source
from query.filters import Filters
from query.viewer import Viewer
from routes.contract.sql import compose, ident, join, vocabulary_literal

__all__ = [
    "BREAKDOWN_DIMENSIONS",
    "MEASURES",
    "cell_breakdown",
    "cell_change",
    "cell_counts",
    "cell_counts_by_month",
    "cell_from_hex",
    "cell_label",
    "histogram_by_month",
    "period_months",
    "scale_values",
    "top_cells",
]

#: What a heatmap can show per cell.
MEASURES = {
    "records": "records",
    "victims": "victims",
    "per_capita": "records per 100,000 residents of the cell's county",
}
#: How many H3 levels a cell under k climbs before it rolls into its county.
ROLL_UP_LEVELS = 2
#: The dimensions :func:`cell_breakdown` splits a cell by.
BREAKDOWN_DIMENSIONS = ("trafficking_type", "record_type", "source_kind", "indicator", "month")

_COUNT_COLUMNS = ["records", "victims"]
#: The columns of :func:`cell_counts`.
_CELL_COLUMNS = ["level", "cell", "hex", "res", "county_fips", "records", "victims", "per_100k", "value", "rolled_up", "suppressed"]


# ------------------------------------------------------------------ connections


_connection = scope.reading  # the viewer's scope: the warehouse (release), or its own records' database


#: The tables of ``pipelines/build/aggregates.py`` and its state row.
_AGGREGATE_TABLES = (
    "cell_counts", "county_month_counts", "cell_indicator_counts", "county_indicator_month_counts",
    "indicator_sets", "cell_indicator_sets",
)
_STATE_TABLE = "cell_build_state"
_FRESH_SQL = compose(
    "SELECT s.records_rows IS NOT DISTINCT FROM f.records_rows "
    "AND s.records_updated IS NOT DISTINCT FROM f.records_updated "
    "AND s.batches_rows IS NOT DISTINCT FROM f.batches_rows "
    "AND s.batches_finished IS NOT DISTINCT FROM f.batches_finished FROM {state} s CROSS JOIN ({fingerprint}) f",
    state=ident(_STATE_TABLE), fingerprint=FINGERPRINT_SQL,
)


def _aggregates_fresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the cell pre-aggregates exist and were built from the current ``records``."""
    names = {str(r[0]) for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {*_AGGREGATE_TABLES, _STATE_TABLE} <= names:
        return False
    try:
        rows = con.execute(_FRESH_SQL).fetchall()
    except duckdb.Error:  # another attached database, or an older state layout
        return False
    return len(rows) == 1 and bool(rows[0][0])


@dataclass(frozen=True)
class _Source:
    """Which pre-aggregates a read uses: the tables, and the indicator they are narrowed to."""

    cells: str
    county: str
    indicator: str | None = None

    def where(self, filters: Filters) -> tuple[str, list[object]]:
        """``filters`` as a WHERE body over these tables (destination side)."""
        sql, params = replace(filters, indicators=()).where(side="dest")
        if self.indicator is None:
            return sql, params
        return compose("indicator = ? AND {sql}", sql=sql), [self.indicator, *params]


def _aggregate_source(con: duckdb.DuckDBPyConnection, filters: Filters) -> _Source | None:
    """The pre-aggregates that count ``filters`` exactly as ``records`` would, or ``None``."""
    wanted = set(filters.indicators)
    if len(wanted) > 1 or not _aggregates_fresh(con):
        return None
    if wanted:
        return _Source("cell_indicator_counts", "county_indicator_month_counts", wanted.pop())
    return _Source("cell_counts", "county_month_counts")


def _guard(con: duckdb.DuckDBPyConnection, viewer: Viewer, filters: Filters) -> None:
    if release.reads_release(viewer):  # the release: no guard on true counts (see query/release.py)
        release.check_cell_filters(filters)
        return
    guard = getattr(suppression, "guard_filters", None)
    if guard is not None:
        guard(con, filters, k=viewer.k, side="dest")


def _check_res(res: int) -> int:
    res = int(res)
    if res not in grid.MAP_RESOLUTIONS:
        raise ValueError(f"resolution {res!r} is not a map resolution; use one of {grid.MAP_RESOLUTIONS!r}")
    return res


# ----------------------------------------------------------------------- counts


def _raw_cells(
    con: duckdb.DuckDBPyConnection, filters: Filters, res: int, viewer: Viewer | None = None
) -> pd.DataFrame:
    """Counts per (cell at ``res``, county), and per county for coarse records.

    Exact (unprotected) counts, or the protected release's for a ``viewer`` who
    reads it (:func:`query.release.raw_cells`: res 6 at most, quarters).
    """
    if viewer is not None and release.reads_release(viewer):
        return release.raw_cells(con, filters, res)
    where, params = filters.where(side="dest")
    source = _aggregate_source(con, filters)
    if source is not None:
        where, params = source.where(filters)
        cells_sql = compose(
            "SELECT cell, dest_county_fips AS county_fips, sum(records)::BIGINT AS records, "
            "sum(victims)::BIGINT AS victims FROM {cells} WHERE res = ? AND {where} GROUP BY ALL",
            cells=ident(source.cells), where=where,
        )
        coarse_sql = compose(
            "SELECT NULL::BIGINT AS cell, dest_county_fips AS county_fips, sum(records)::BIGINT AS records, "
            "sum(victims)::BIGINT AS victims FROM {county} "
            "WHERE (dest_res IS NULL OR dest_res < ?) AND {where} GROUP BY ALL",
            county=ident(source.county), where=where,
        )
    else:
        parent = grid.sql_cell_to_parent("dest_cell", res)
        cells_sql = compose(
            "SELECT {parent} AS cell, dest_county_fips AS county_fips, count(*) AS records, "
            "coalesce(sum(victim_count), 0)::BIGINT AS victims FROM records "
            "WHERE dest_cell IS NOT NULL AND dest_res >= ? AND {where} GROUP BY ALL",
            parent=parent, where=where,
        )
        coarse_sql = compose(
            "SELECT NULL::BIGINT AS cell, dest_county_fips AS county_fips, count(*) AS records, "
            "coalesce(sum(victim_count), 0)::BIGINT AS victims FROM records "
            "WHERE dest_county_fips IS NOT NULL AND (dest_cell IS NULL OR dest_res < ?) "
            "AND {where} GROUP BY ALL",
            where=where,
        )
    cells = con.execute(cells_sql, [res, *params]).df()
    coarse = con.execute(coarse_sql, [res, *params]).df()
    return pd.concat([cells, coarse], ignore_index=True)


def _protect_cells(raw: pd.DataFrame, *, k: int, res: int) -> pd.DataFrame:
    min_res = max(grid.MAP_RESOLUTIONS[0], res - ROLL_UP_LEVELS)
    roll_up = getattr(suppression, "roll_up_cells", None)
    if roll_up is not None:
        return roll_up(raw, k=k, min_res=min_res)
    # Until roll-up exists: cells and counties as they are, under-k suppressed.
    grouped = raw.groupby(["cell", "county_fips"], dropna=False, as_index=False)[_COUNT_COLUMNS].sum()
    grouped["level"] = np.where(grouped["cell"].isna(), "county", "cell")
    grouped["res"] = np.where(grouped["cell"].isna(), pd.NA, res)
    grouped["rolled_up"] = False
    return suppression.suppress_small_counts(grouped, k=k, count_columns=_COUNT_COLUMNS)


def no_cells_reason(viewer: Viewer, res: int, *, filters: Filters | None = None) -> str:
    """Why a map at ``res`` under ``filters`` shows no cell at all, only county fills, and what to do.

    Names the real cause: the release's finest resolution (res 6, res 5 under
    an indicator filter), and the record-type, source-kind or indicator filter
    that leaves each cell fewer records.

    >>> no_cells_reason(Viewer("p", "partner"), 7)[:60]
    'The protected release has cells down to res 6 only, and here'
    >>> no_cells_reason(Viewer("p", "partner"), 6, filters=Filters(indicators=("debt_bondage",)))[:72]
    "Under the indicator filter ['debt_bondage'], the protected release has c"
    """
    filters = filters or Filters()
    named = _narrowing_filters(filters)
    if release.reads_release(viewer):
        finest = release.FINEST_RES
        try:
            finest = release.cell_res(filters, release.FINEST_RES)
        except release.ReleaseFilterError:
            pass  # the read itself says what it refuses
        advice = "choose a coarser detail"
        if named:
            advice = f"remove the {' and the '.join(n for n, _ in named)} filter, or {advice}"
        if viewer.has_record_access:
            advice += ", or count your own task force's records (exact) under Count"
        under = f"Under the {', '.join(f'{n} filter {v!r}' for n, v in named)}, the" if named else "The"
        held = f"{viewer.k} records or more of that selection" if named else f"{viewer.k} records or more"
        return (
            f"{under} protected release has cells down to res {finest} only, and here none of them holds "
            f"{held} over this period: every record is counted in its county. To see cells, {advice}."
        )
    cause = f" under the {', '.join(f'{n} filter {v!r}' for n, v in named)}" if named else ""
    more = f"remove the {' and the '.join(n for n, _ in named)} filter, choose" if named else "Choose"
    return (
        f"No cell at res {res} holds {viewer.k} records or more here{cause}: every record is counted in its county. "
        f"{more[0].upper() + more[1:]} a coarser detail or a longer period."
    )


def _narrowing_filters(filters: Filters) -> list[tuple[str, list[str]]]:
    """The record-type, trafficking-type, source-kind and indicator filters that narrow ``filters`` (by name)."""
    plain = release.cell_plain(filters)
    fields = (("record-type", "record_types"), ("trafficking-type", "trafficking_types"),
              ("source-kind", "source_kinds"), ("indicator", "indicators"))
    return [(name, list(getattr(plain, f))) for name, f in fields if getattr(plain, f)]


def _dominant_county(raw: pd.DataFrame) -> pd.Series:
    cells = raw[raw["cell"].notna()]
    if cells.empty:
        return pd.Series(dtype="object")
    per = cells.groupby(["cell", "county_fips"], as_index=False)["records"].sum()
    best = per.sort_values(["cell", "records", "county_fips"], ascending=[True, False, True]).drop_duplicates("cell")
    return best.set_index(best["cell"].astype("int64"))["county_fips"]


def _parent_county(cells: pd.Series, res: pd.Series, dominant: pd.Series, base_res: int) -> list[object]:
    """The dominant county of each (possibly rolled-up) cell, from its finest children."""
    if dominant.empty:
        return [None] * len(cells)
    children = pd.Series(dominant.index.to_numpy(), index=dominant.index)
    out: list[object] = []
    lookup: dict[tuple[int, int], object] = {}
    for cell, r in zip(cells, res, strict=True):
        if pd.isna(cell):
            out.append(None)
            continue
        cell, r = int(cell), int(r)
        if r == base_res:
            out.append(dominant.get(cell))
            continue
        if (cell, r) not in lookup:
            parents = children.map(lambda c, r=r: grid.cell_to_parent(int(c), r))
            for parent, fips in zip(parents, dominant, strict=True):
                lookup.setdefault((int(parent), r), fips)
        out.append(lookup.get((cell, r)))
    return out


def cell_counts(
    viewer: Viewer,
    filters: Filters,
    *,
    res: int,
    measure: str = "records",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Records and victims per H3 cell at ``res``, protected for small cells.

    Parameters
    ----------
    viewer
        Who is asking (every role may see these aggregates; k applies to all).
    filters
        The shared filters (destination side).
    res
        An H3 resolution of :data:`geo.grid.MAP_RESOLUTIONS`.
    measure
        One of :data:`MEASURES`: ``records``, ``victims`` or ``per_capita``
        (records per 100,000 residents of the county the cell mostly lies in;
        population is known per county only).
    con
        An open warehouse connection; by default a read-only snapshot is opened.

    Returns
    -------
    pandas.DataFrame
        One row per shown cell (``level='cell'``) and per county residual
        (``level='county'``: records too coarse for ``res`` and cells still under k
        after rolling up). Columns: ``level``, ``cell`` (Int64), ``hex`` (H3
        string, ``None`` for counties), ``res`` (Int64; coarser than ``res`` when
        ``rolled_up``), ``county_fips``, ``records``, ``victims``, ``per_100k``,
        ``value`` (the measure), ``rolled_up``, ``suppressed``.

    Raises
    ------
    query.suppression.FilterIsolationError
        The filters would isolate a count under k (see ``query/suppression.py``).
    """
    res = _check_res(res)
    if measure not in MEASURES:
        raise ValueError(f"measure {measure!r} is not one of {', '.join(MEASURES)}")
    protected = release.reads_release(viewer)
    if protected:
        if measure == "victims":
            raise release.ReleaseFilterError(
                "the protected map counts records, not victims; choose the records or per-capita measure"
            )
        res = release.cell_res(filters, res)
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        raw = _raw_cells(c, filters, res, viewer)
    raw["cell"] = raw["cell"].astype("Int64")
    out = _protect_cells(raw, k=viewer.k, res=res).reset_index(drop=True)
    if protected:
        out["victims"] = pd.array([pd.NA] * len(out), dtype="Int64")
    is_cell = out["level"].eq("cell")
    out["hex"] = None
    if is_cell.any():
        out.loc[is_cell, "hex"] = grid.cells_to_strings(out.loc[is_cell, "cell"].astype("int64"))
    missing = is_cell & out["county_fips"].isna()
    if missing.any():
        dominant = _dominant_county(raw)
        out.loc[missing, "county_fips"] = _parent_county(
            out.loc[missing, "cell"], out.loc[missing, "res"], dominant, res
        )
    population = reference.load_population().set_index("county_fips")["population"]
    pop = out["county_fips"].map(population).astype("Float64")
    out["per_100k"] = (out["records"].astype("Float64") / pop * 100_000).round(1)
    column = {"records": "records", "victims": "victims", "per_capita": "per_100k"}[measure]
    out["value"] = out[column].astype("Float64")
    return out[_CELL_COLUMNS]


@dataclass(frozen=True)
class MonthlyCells:
    """:func:`cell_counts` of each month of a period, read at once (what playback sends the browser).

    ``counts`` holds every month's rows with a ``month`` column (first of the
    month); ``refused`` names the months whose read the filter guard refused, with
    its reason (they have no rows).
    """

    months: tuple[date, ...]
    counts: pd.DataFrame
    refused: dict[date, str]


def months_between(start: date, end: date) -> list[date]:
    """The first of each month from ``start`` to ``end`` (inclusive).

    >>> [m.month for m in months_between(date(2024, 11, 5), date(2025, 2, 1))]
    [11, 12, 1, 2]
    """
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(first, last + 1)]


def cell_counts_by_month(
    viewer: Viewer,
    filters: Filters,
    *,
    res: int,
    measure: str = "records",
    months: list[date] | tuple[date, ...],
    con: duckdb.DuckDBPyConnection | None = None,
) -> MonthlyCells:
    """:func:`cell_counts` for each of ``months`` alone, on one connection.

    Each month's rows are exactly what the single-month heatmap reads (the same
    reader, filters narrowed to that month): the same roll-up, the same cells
    under k suppressed, and for a viewer who reads the release the month's
    released values (its quarter's: the release's cells are quarters, so the
    months of one quarter share one read).

    Parameters
    ----------
    months
        The months to read (first of the month), in the order they play.

    Returns
    -------
    MonthlyCells
        Every month's :func:`cell_counts` rows with a ``month`` column; a month the
        filter guard refuses has no rows and is named in ``refused``.
    """
    protected = release.reads_release(viewer)
    frames: list[pd.DataFrame] = []
    refused: dict[date, str] = {}
    read: dict[tuple[date, date], pd.DataFrame | str] = {}
    with _connection(viewer, con) as c:
        for month in months:
            one = filters.with_period(month, month)
            widened = release.widen_to_quarters(one) if protected else one
            slot = (widened.start or month, widened.end or month)
            if slot not in read:
                try:
                    read[slot] = cell_counts(viewer, one, res=res, measure=measure, con=c)
                except suppression.FilterIsolationError as error:
                    read[slot] = str(error)
            got = read[slot]
            if isinstance(got, str):
                refused[month] = got
            else:
                frames.append(got.assign(month=month))
    columns = ["month", *_CELL_COLUMNS]
    counts = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    return MonthlyCells(months=tuple(months), counts=counts, refused=refused)


def scale_values(
    viewer: Viewer,
    *,
    res: int,
    measure: str = "records",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.Series:
    """The measure of every cell at ``res`` with at least k records, all filters off.

    What a fixed colour scale is computed from (its quantile breaks): a cheap read
    that needs no roll-up, and holds no count under k.
    """
    res = _check_res(res)
    if measure not in MEASURES:
        raise ValueError(f"measure {measure!r} is not one of {', '.join(MEASURES)}")
    if release.reads_release(viewer):
        res = min(res, release.FINEST_RES)
        measure = "records" if measure == "victims" else measure
    with _connection(viewer, con) as c:
        raw = _raw_cells(c, Filters(), res, viewer)
    cells = raw[raw["cell"].notna()]
    per_cell = cells.groupby("cell").agg(records=("records", "sum"), victims=("victims", "sum"))
    per_cell = per_cell[per_cell["records"] >= viewer.k]
    if measure == "records":
        return per_cell["records"].astype(float).reset_index(drop=True)
    if measure == "victims":
        return per_cell.loc[per_cell["victims"] >= viewer.k, "victims"].astype(float).reset_index(drop=True)
    population = reference.load_population().set_index("county_fips")["population"]
    county = _dominant_county(cells).reindex(per_cell.index)
    rate = per_cell["records"] / county.map(population).astype(float) * 100_000
    return rate.dropna().reset_index(drop=True)


def cell_change(
    viewer: Viewer,
    before: Filters,
    after: Filters,
    *,
    res: int,
    measure: str = "records",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The change per cell at ``res`` from the ``before`` filters to the ``after`` filters.

    A cell's change is shown only when both of its counts are 0 or at least k;
    otherwise the difference could reveal a count under k, so the row is
    ``suppressed`` (``change`` is ``<NA>``). Cells are not rolled up here.

    Returns
    -------
    pandas.DataFrame
        ``cell``, ``hex``, ``res``, ``county_fips``, ``before``, ``after`` (records,
        or victims when ``measure='victims'``), ``change`` (the measure after minus
        before; per 100,000 residents for ``per_capita``), ``suppressed``.
    """
    res = _check_res(res)
    if measure not in MEASURES:
        raise ValueError(f"measure {measure!r} is not one of {', '.join(MEASURES)}")
    column = "victims" if measure == "victims" else "records"
    if release.reads_release(viewer):
        if measure == "victims":
            raise release.ReleaseFilterError(
                "the protected map counts records, not victims; choose the records or per-capita measure"
            )
        res = min(release.cell_res(before, res), release.cell_res(after, res))
    with _connection(viewer, con) as c:
        _guard(c, viewer, before)
        _guard(c, viewer, after)
        a = _raw_cells(c, before, res, viewer)
        b = _raw_cells(c, after, res, viewer)
    sides = []
    for name, raw in (("before", a), ("after", b)):
        cells = raw[raw["cell"].notna()].groupby("cell")[column].sum().rename(name)
        sides.append(cells)
    both = pd.concat(sides, axis=1).fillna(0).astype("int64")
    dominant = _dominant_county(pd.concat([a, b], ignore_index=True))
    both["county_fips"] = both.index.map(lambda c: dominant.get(int(c)))
    k = viewer.k
    small = ((both["before"] > 0) & (both["before"] < k)) | ((both["after"] > 0) & (both["after"] < k))
    out = both.reset_index(names="cell")
    out["cell"] = out["cell"].astype("Int64")
    out["hex"] = grid.cells_to_strings(out["cell"].astype("int64")) if len(out) else []
    out["res"] = res
    if measure == "per_capita":
        population = reference.load_population().set_index("county_fips")["population"]
        pop = out["county_fips"].map(population).astype("Float64")
        change = ((out["after"] - out["before"]).astype("Float64") / pop * 100_000).round(2)
    else:
        change = (out["after"] - out["before"]).astype("Float64")
    small_arr = small.to_numpy()
    out["before"] = out["before"].astype("Int64").mask(small_arr)
    out["after"] = out["after"].astype("Int64").mask(small_arr)
    out["change"] = change.mask(small_arr)
    out["suppressed"] = small_arr
    return out[["cell", "hex", "res", "county_fips", "before", "after", "change", "suppressed"]]


# -------------------------------------------------------------------- breakdown


def _as_cell(cell: int | str) -> int:
    if isinstance(cell, str):
        if not h3.is_valid_cell(cell):
            raise ValueError(f"{cell!r} is not an H3 cell")
        return int(h3.str_to_int(cell))
    return int(cell)


def _indicator_part(con: duckdb.DuckDBPyConnection, filters: Filters, *, res: int, cell_id: int) -> pd.DataFrame:
    """The 'indicator' rows of a breakdown without an indicator filter, from ``cell_indicator_counts``.

    Records per indicator of the cell (a record counts under each indicator it
    carries, as ``unnest`` over ``records`` counts it).
    """
    where, params = filters.where(side="dest")
    return con.execute(
        compose(
            "SELECT 'indicator' AS dimension, indicator AS value, sum(records)::BIGINT AS records, "
            "sum(victims)::BIGINT AS victims FROM cell_indicator_counts "
            "WHERE res = ? AND cell = ? AND {where} GROUP BY ALL ORDER BY records DESC, value",
            where=where,
        ),
        [res, cell_id, *params],
    ).df()


def _indicator_set_read(
    con: duckdb.DuckDBPyConnection, filters: Filters, *, res: int, cell_id: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cell's records under an indicator filter, from ``cell_indicator_sets`` (fresh pre-aggregates).

    Returns the additive rows (``trafficking_type``, ``record_type``,
    ``source_kind``, ``month``, ``records``, ``victims``) and the 'indicator'
    rows: every indicator the matching records carry, the wanted ones and what
    co-occurs with them. The cell's records are a few id ranges of the table
    (:func:`geo.grid.child_ranges`); the indicator lists are unnested once per
    list, not once per record.
    """
    where, params = replace(filters, indicators=()).where(side="dest")
    ranges = join(
        (compose("dest_cell BETWEEN {low} AND {high}", low=low, high=high) for _, low, high in grid.child_ranges(cell_id)),
        " OR ",
    )
    rows = con.execute(
        compose(
            "SELECT trafficking_type, record_type, source_kind, strftime(month, '%Y-%m') AS month, set_id, "
            "sum(records)::BIGINT AS records, sum(victims)::BIGINT AS victims FROM cell_indicator_sets "
            "WHERE ({ranges}) AND dest_res >= ? AND {where} "
            "AND set_id IN (SELECT set_id FROM indicator_sets WHERE list_has_any(indicators, ?::VARCHAR[])) "
            "GROUP BY ALL",
            ranges=ranges, where=where,
        ),
        [res, *params, list(filters.indicators)],
    ).df()
    per_set = rows.groupby("set_id", as_index=False)[["records", "victims"]].sum()
    sets = con.execute(
        "SELECT set_id, unnest(indicators) AS value FROM indicator_sets WHERE set_id IN (SELECT unnest(?::INTEGER[]))",
        [per_set["set_id"].astype(int).tolist()],
    ).df()
    part = sets.merge(per_set, on="set_id").groupby("value", as_index=False)[["records", "victims"]].sum()
    part = part.assign(dimension="indicator").sort_values(["records", "value"], ascending=[False, True])
    return rows.drop(columns="set_id"), part[["dimension", "value", "records", "victims"]]


def cell_breakdown(
    viewer: Viewer,
    filters: Filters,
    *,
    cell: int | str,
    res: int | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """What one cell holds: records by type, record type, source kind, indicator and month.

    Parameters
    ----------
    cell
        The cell (integer id or H3 string), as :func:`cell_counts` returned it.
    res
        Its resolution (read from the cell when omitted). Only records indexed at
        ``dest_res >= res`` are inside it.

    Returns
    -------
    pandas.DataFrame
        Long form: ``dimension`` (one of :data:`BREAKDOWN_DIMENSIONS`), ``value``,
        ``records``, ``victims``, ``suppressed``. Within each dimension, counts
        under k are hidden and complemented so no hidden part equals "cell total
        minus the visible parts". A cell with fewer than k records returns every
        row suppressed. Indicators overlap (a record may carry several).
    """
    cell_id = _as_cell(cell)
    res = _check_res(grid.cell_resolution(cell_id) if res is None else res)
    if release.reads_release(viewer):
        return _released_breakdown(viewer, filters, cell_id=cell_id, res=res, con=con)
    if grid.cell_resolution(cell_id) != res:
        cell_id = grid.cell_to_parent(cell_id, res)
    parent = grid.sql_cell_to_parent("dest_cell", res)
    where, params = filters.where(side="dest")
    base = compose(
        "FROM records WHERE dest_cell IS NOT NULL AND dest_res >= ? AND {parent} = ? AND {where}",
        parent=parent, where=where,
    )
    base_params: list[object] = [res, cell_id, *params]
    parts = []
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        indicator_rows = None
        if filters.indicators:
            if _aggregates_fresh(c):
                agg, indicator_rows = _indicator_set_read(c, filters, res=res, cell_id=cell_id)
        elif (source := _aggregate_source(c, filters)) is not None:
            # the additive dimensions from the pre-aggregate (one small read)
            agg_where, agg_params = source.where(filters)
            agg = c.execute(
                compose(
                    "SELECT trafficking_type, record_type, source_kind, strftime(month, '%Y-%m') AS month, "
                    "sum(records)::BIGINT AS records, sum(victims)::BIGINT AS victims FROM {cells} "
                    "WHERE res = ? AND cell = ? AND {where} GROUP BY ALL",
                    cells=ident(source.cells), where=agg_where,
                ),
                [res, cell_id, *agg_params],
            ).df()
            indicator_rows = _indicator_part(c, filters, res=res, cell_id=cell_id)
        if indicator_rows is not None:
            total = int(agg["records"].sum())
            for dimension in ("trafficking_type", "record_type", "source_kind", "month"):
                part = agg.groupby(agg[dimension].fillna("not given"), as_index=False)[["records", "victims"]].sum()
                part = part.rename(columns={dimension: "value"}).assign(dimension=dimension)
                by = "value" if dimension == "month" else "records"
                parts.append(part.sort_values(by, ascending=dimension == "month")[["dimension", "value", "records", "victims"]])
            parts.append(indicator_rows)
        else:
            row = c.execute(compose("SELECT count(*) {base}", base=base), base_params).fetchone()
            total = int(row[0]) if row else 0
            for dimension in ("trafficking_type", "record_type", "source_kind"):
                parts.append(
                    c.execute(
                        compose(
                            "SELECT {label} AS dimension, coalesce({column}, 'not given') AS value, "
                            "count(*) AS records, coalesce(sum(victim_count), 0)::BIGINT AS victims {base} "
                            "GROUP BY ALL ORDER BY records DESC",
                            label=vocabulary_literal(dimension, BREAKDOWN_DIMENSIONS), column=ident(dimension), base=base,
                        ),
                        base_params,
                    ).df()
                )
            parts.append(
                c.execute(
                    compose(
                        "SELECT 'month' AS dimension, strftime(month, '%Y-%m') AS value, count(*) AS records, "
                        "coalesce(sum(victim_count), 0)::BIGINT AS victims {base} GROUP BY ALL ORDER BY value",
                        base=base,
                    ),
                    base_params,
                ).df()
            )
            parts.append(
                c.execute(
                    compose(
                        "SELECT 'indicator' AS dimension, value, count(*) AS records, "
                        "coalesce(sum(victim_count), 0)::BIGINT AS victims FROM ("
                        "SELECT unnest(list_distinct(indicators)) AS value, victim_count {base}) "
                        "GROUP BY ALL ORDER BY records DESC, value",
                        base=base,
                    ),
                    base_params,
                ).df()
            )
    order = {d: i for i, d in enumerate(BREAKDOWN_DIMENSIONS)}
    frame = pd.concat(parts, ignore_index=True)
    frame["dimension"] = frame["dimension"].astype(object)  # one dtype whichever tables answered
    frame["value"] = frame["value"].astype(str)
    # one order whichever tables answered, ties included (most records first, then by value; months by
    # value): the complementary suppression below hides the first of equal values, so the rows a viewer
    # sees hidden must not depend on the order a GROUP BY returned them in
    months = frame["dimension"].eq("month")
    frame = frame.assign(
        _d=frame["dimension"].map(order), _r=np.where(months, 0, -frame["records"].astype("int64"))
    ).sort_values(["_d", "_r", "value"], kind="stable").drop(columns=["_d", "_r"]).reset_index(drop=True)
    frame[_COUNT_COLUMNS] = frame[_COUNT_COLUMNS].astype("int64")
    if total < viewer.k:
        frame["records"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        frame["victims"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        frame["suppressed"] = True
        return frame
    protect = getattr(suppression, "protect_breakdown", None)
    if protect is not None:
        return protect(frame, k=viewer.k, margins=[["dimension"]], count_columns=_COUNT_COLUMNS)
    return suppression.suppress_small_counts(frame, k=viewer.k, count_columns=_COUNT_COLUMNS)


def _released_breakdown(
    viewer: Viewer, filters: Filters, *, cell_id: int, res: int, con: duckdb.DuckDBPyConnection | None
) -> pd.DataFrame:
    """A cell's released records per quarter, under the filters the release's cells answer."""
    res = release.cell_res(filters, res)
    if grid.cell_resolution(cell_id) > res:
        cell_id = grid.cell_to_parent(cell_id, res)
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        frame = release.cell_quarters(c, filters, res, cell_id)
    frame["records"] = frame["records"].astype("int64")
    frame["victims"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    if int(frame["records"].sum()) < viewer.k:
        frame["records"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        frame["suppressed"] = True
        return frame
    return suppression.protect_breakdown(frame, k=viewer.k, margins=[["dimension"]], count_columns=["records"],
                                         complementary=False)  # released counts: noise protects them


# -------------------------------------------------------------------- histogram


def histogram_by_month(
    viewer: Viewer,
    filters: Filters,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Records per month under ``filters`` with the period ignored (the slider's backdrop).

    Returns
    -------
    pandas.DataFrame
        ``month`` (date, first of the month), ``records``, ``victims``, ``suppressed``.
    """
    unbounded = filters.with_period(None, None)
    with _connection(viewer, con) as c:
        _guard(c, viewer, unbounded)
        # the trend pre-aggregates count every record (indicator filters through their mask)
        source: CountSource
        if release.reads_release(viewer):
            source = release.count_source(unbounded)
            release.require(c, source.table)
        else:
            source = count_source(c, [unbounded])
        where, params = source.where(unbounded)
        sql = compose(
            "SELECT month, {records} AS records, coalesce({victims}, 0)::BIGINT AS victims "
            "FROM {table} WHERE month IS NOT NULL AND {where} GROUP BY month ORDER BY month",
            records=source.records, victims=source.victims, table=ident(source.table), where=where,
        )
        frame = c.execute(sql, params).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return suppression.suppress_small_counts(frame, k=viewer.k, count_columns=_COUNT_COLUMNS,
                                             complementary=not release.reads_release(viewer))


def period_months(filters: Filters, *, available: list[date] | None = None) -> int:
    """How many months ``filters`` spans (all ``available`` months when open-ended).

    >>> period_months(Filters(start=date(2024, 1, 1), end=date(2024, 3, 1)))
    3
    """
    if available:
        lo = filters.start or min(available)
        hi = filters.end or max(available)
    elif filters.start and filters.end:
        lo, hi = filters.start, filters.end
    else:
        return 1
    return max((hi.year - lo.year) * 12 + hi.month - lo.month + 1, 1)


# ------------------------------------------------------------------------ labels


def cell_from_hex(hex_id: str) -> tuple[int, int]:
    """The integer id and resolution of an H3 hex string (as the map returns it).

    >>> cell_from_hex("872830828ffffff")
    (608692970719281151, 7)
    """
    cell = _as_cell(hex_id)
    return cell, grid.cell_resolution(cell)


def cell_label(hex_id: str, county_fips: str | None = None) -> str:
    """A human name for a cell: its resolution, the place nearest its centre, its county.

    >>> cell_label("872830828ffffff", "06075")
    'res-7 cell: San Francisco (San Francisco County)'
    >>> cell_label("8629a4707ffffff")
    'res-6 cell: 5 km S of Escondido'
    """
    return _cell_labels([hex_id], [county_fips])[0]


def _cell_labels(hex_ids: list[str], county_fips: list[str | None]) -> list[str]:
    """:func:`cell_label` of many cells, their nearest places found in one lookup."""
    centres = np.array([h3.cell_to_latlng(h) for h in hex_ids], dtype=float).reshape(-1, 2)
    places = near_place_names(centres[:, 0], centres[:, 1])
    names = reference.load_regions().set_index("county_fips")["county"]
    return [
        f"res-{h3.get_resolution(h)} cell: {place}" + (f" ({names.get(f, f)} County)" if isinstance(f, str) and f else "")
        for h, f, place in zip(hex_ids, county_fips, places, strict=True)
    ]


def top_cells(counts: pd.DataFrame, *, n: int = 25) -> pd.DataFrame:
    """The ``n`` shown cells with the largest ``value``: ``hex``, ``res``, ``label``, ``value``."""
    shown = counts[counts["level"].eq("cell") & ~counts["suppressed"].astype(bool)]
    shown = shown.sort_values("value", ascending=False, kind="stable").head(n)
    labels = _cell_labels(shown["hex"].to_list(), shown["county_fips"].to_list())
    return pd.DataFrame(
        {"hex": shown["hex"].to_list(), "res": shown["res"].to_list(), "label": labels, "value": shown["value"].to_list()}
    )
