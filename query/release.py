"""The protected release, as the query layer reads it for every viewer in the "all agencies" scope.

That is every viewer without record access, and analysts and leads unless they
chose their own task force's records (:mod:`query.scope`).

``pipelines/build/release.py`` measures the release (OpenDP discrete Gaussian,
ρ-zCDP, reconciled top down) and documents its tables. Every aggregate reader
of ``query/`` asks :func:`reads_release` first; for those viewers it reads only
the tables of :data:`RELEASE_TABLES` (the all-paths privacy test checks this on
a warehouse that holds nothing else), never ``records`` or another derived
table, and skips the filter guard (a refusal decided on true counts would itself
leak them; noise makes it unneeded). Every figure it then derives (sums,
changes, rates, roll-ups, "fewer than 11") is post-processing of released
numbers.

What the release resolves, and so what a filter can narrow for these viewers:

- counts: month × county (region, task force) × record type × trafficking type;
- map cells: H3 res 4-6 per quarter (a period is widened to whole quarters;
  finer resolutions show res 6), each also by record type and by source kind,
  and at res 4-5 by indicator (``release_cell_parts``; a res-6 map under an
  indicator filter shows res 5). One of the three at a time: a filter on
  several record types (or source kinds) reads the sum of their released
  cells, which is post-processing; several indicators are refused, since a
  record carrying two of them would count twice in a sum;
- flows: county to county per year, by record type or by trafficking type
  (not both at once; a period is widened to whole years); from outside
  California (a state or country, without its entry point: ``MX``, ``US-NV``)
  to county per year, with no type breakdown (:func:`outside_flows_note`).

- area counts (``release_count_parts``): month × county by source kind, and
  by one indicator; each alone (not with a type filter or with each other),
  several source kinds summed, several indicators refused.

Flows have no source-kind or indicator breakdown: :class:`ReleaseFilterError`
says which filter to remove.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

import duckdb
import pandas as pd

from query.aggregates import CountSource
from query.filters import Filters
from query.policy import Capability
from query.suppression import FilterIsolationError
from query.viewer import Viewer
from routes import warehouse
from routes.contract.sql import SQL, compose, ident, idents, join, placeholders
from routes.errors import TablesNotBuilt

__all__ = ["outside_flows_note", "protection_note", "release_summary"]

COUNTS_TABLE = "release_counts"
COUNT_PARTS_TABLE = "release_count_parts"
CELLS_TABLE = "release_cells"
CELL_PARTS_TABLE = "release_cell_parts"
FLOWS_TABLE = "release_flows"
META_TABLE = "release_meta"
PATHS_TABLE = "release_corridor_paths"
SEGMENTS_TABLE = "release_corridor_segments"
HOTSPOTS_TABLE = "release_hotspot_classes"
#: What a reader for a viewer without record access may read (and nothing else; ``meta`` holds dates).
RELEASE_TABLES = (COUNTS_TABLE, COUNT_PARTS_TABLE, CELLS_TABLE, CELL_PARTS_TABLE, FLOWS_TABLE, META_TABLE, PATHS_TABLE, SEGMENTS_TABLE, HOTSPOTS_TABLE, "meta")
#: The finest H3 resolution of the release.
FINEST_RES = 6
#: The finest H3 resolution of its cells by indicator (``release_cell_parts``).
FINEST_INDICATOR_RES = 5
#: How an exact count hidden by small-cell suppression reads (it may be hidden to protect another: not "fewer than k").
SUPPRESSED_TEXT = "suppressed"
#: z of a two-sided 95 % interval.
_Z95 = 1.96


class ReleaseFilterError(FilterIsolationError):
    """A filter the protected release cannot answer (it has no such breakdown)."""


class ReleaseNotBuiltError(TablesNotBuilt):
    """The warehouse has no protected release (built before it existed, or never built)."""


def require(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Raise :class:`ReleaseNotBuiltError` when ``table`` of the release is missing (never fall back to exact counts)."""
    if not warehouse.has_table(con, table):
        raise ReleaseNotBuiltError(
            f"the protected release ({table!r}) is not built in this warehouse, so figures for this "
            "viewer cannot be shown; run `python -m pipelines build`"
        )


def reads_release(viewer: Viewer) -> bool:
    """Whether ``viewer``'s aggregate views read the protected release.

    Every viewer does, except an analyst or lead who chose the scope of its own
    task force's records (:attr:`query.viewer.Viewer.counts_own_records`).

    >>> reads_release(Viewer("a", "analyst", "la")), reads_release(Viewer("a", "analyst", "la", "own"))
    (True, False)
    """
    return not viewer.counts_own_records


def _full(values: tuple[str, ...], every: tuple[str, ...]) -> bool:
    return bool(values) and set(every) <= set(values)


def plain(filters: Filters) -> Filters:
    """``filters`` without a type filter that names every type (the same selection as none)."""
    from query.filters import RECORD_TYPES, TRAFFICKING_TYPES

    if _full(filters.record_types, RECORD_TYPES):
        filters = replace(filters, record_types=())
    if _full(filters.trafficking_types, TRAFFICKING_TYPES):
        filters = replace(filters, trafficking_types=())
    return filters


def check_filters(filters: Filters, *, what: str = "flows") -> None:
    """Refuse the filters the release's ``what`` (flows, moves) have no breakdown for (source kind, indicators)."""
    if filters.source_kinds:
        raise ReleaseFilterError(
            f"figures for this viewer come from the protected release, whose {what} have no breakdown by "
            f"source kind; remove the source-kind filter {list(filters.source_kinds)!r}"
        )
    if filters.indicators:
        raise ReleaseFilterError(
            f"figures for this viewer come from the protected release, whose {what} have no breakdown by "
            f"indicator; remove the indicator filter {list(filters.indicators)!r}"
        )


#: The breakdowns of the area counts (``release_count_parts.dimension`` -> the :class:`Filters` field).
COUNT_DIMENSIONS = {"source_kind": "source_kinds", "indicator": "indicators"}


def count_dimension(filters: Filters) -> tuple[str, tuple[str, ...]] | None:
    """Which breakdown of the area counts ``filters`` reads (``source_kind``, its values); ``None``: ``release_counts``.

    ``release_counts`` splits by record and trafficking type; ``release_count_parts``
    by source kind, or by one indicator, each alone. Raises
    :class:`ReleaseFilterError` for what is not measured: a source-kind or
    indicator filter together with another breakdown, several indicators.

    >>> count_dimension(Filters(source_kinds=("ngo", "hotline")))
    ('source_kind', ('hotline', 'ngo'))
    >>> count_dimension(Filters(record_types=("tip",), trafficking_types=("sex",))) is None
    True
    """
    filters = cell_plain(filters)
    chosen = [(d, tuple(sorted(set(getattr(filters, f))))) for d, f in COUNT_DIMENSIONS.items() if getattr(filters, f)]
    if not chosen:
        return None
    others = [n for n, f in (("record type", "record_types"), ("trafficking type", "trafficking_types")) if getattr(filters, f)]
    if len(chosen) > 1 or others:
        names = " and ".join([*(d.replace("_", " ") for d, _ in chosen), *others])
        raise ReleaseFilterError(
            f"the protected counts split by source kind or by one indicator, each on its own, not by {names} together; "
            "keep one of those filters (or count your own task force's records, exact, if you may)"
        )
    if chosen[0][0] == "indicator" and len(chosen[0][1]) > 1:
        raise ReleaseFilterError(
            "the protected counts count one indicator at a time (a record with two of them would count twice); "
            f"keep one of {list(chosen[0][1])!r}"
        )
    return chosen[0]


def check_count_filters(filters: Filters) -> None:
    """Refuse the filters the release's area counts cannot answer (see :func:`count_dimension`)."""
    count_dimension(filters)


@dataclass(frozen=True)
class ReleaseCountSource(CountSource):
    """:class:`CountSource` over ``release_counts``, or over one breakdown of ``release_count_parts``."""

    dimension: str | None = None
    values: tuple[str, ...] = ()

    def where(self, filters: Filters, *, side: str = "dest") -> tuple[str, list[object]]:
        """``filters`` as a WHERE body: area and period, the types on ``release_counts``, else the breakdown's values."""
        filters = cell_plain(filters)
        if self.dimension is None:
            return replace(filters, source_kinds=(), indicators=()).where(side=side)
        area = replace(filters, record_types=(), trafficking_types=(), source_kinds=(), indicators=())
        sql, params = area.where(side=side)
        clause = compose("dimension = ? AND value IN ({chosen}) AND {sql}", chosen=placeholders(len(self.values)), sql=sql)
        return clause, [self.dimension, *self.values, *params]


def count_source(filters: Filters) -> ReleaseCountSource:
    """The release's count table for ``filters``, read as :class:`query.aggregates.CountSource` reads ``trend_counts``.

    ``release_counts`` (record and trafficking types), or ``release_count_parts``
    under a source-kind filter (the chosen kinds summed: post-processing) or one
    indicator; there the rows carry no record type.
    """
    dimension = count_dimension(filters)
    counts = ("coalesce(sum(records), 0)::BIGINT", "coalesce(sum(victims), 0)::BIGINT", "coalesce(sum(minors), 0)::BIGINT")
    if dimension is None:
        return ReleaseCountSource(COUNTS_TABLE, *counts)
    return ReleaseCountSource(
        COUNT_PARTS_TABLE, *counts, record_type="NULL::VARCHAR", dimension=dimension[0], values=dimension[1]
    )


def _meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not warehouse.has_table(con, META_TABLE):
        return {}
    return {str(k): str(v) for k, v in con.execute(compose("SELECT key, value FROM {meta}", meta=ident(META_TABLE))).fetchall()}


def month_range(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """The first and last month of the release, or ``None`` when it is empty or not built."""
    meta = _meta(con)
    if not meta.get("first_month") or not meta.get("last_month"):
        return None
    return date.fromisoformat(meta["first_month"]), date.fromisoformat(meta["last_month"])


def scales(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """σ per measurement of the release read by ``con`` (from ``release_meta``)."""
    return {k.split(":", 1)[1]: float(v) for k, v in _meta(con).items() if k.startswith("scale:")}


def typical_error(con: duckdb.DuckDBPyConnection) -> int | None:
    """The 95 % error of one released county-month count, in records (``None``: no release).

    The discrete Gaussian's σ of the county × month measurement (what most
    tables and maps add up), times 1.96, rounded up; ``python -m pipelines
    release report`` gives it for every level.
    """
    sigma = scales(con).get("records_county_month")
    return None if sigma is None else math.ceil(_Z95 * sigma)


def protection_note(viewer: Viewer, *, con: duckdb.DuckDBPyConnection | None = None) -> str | None:
    """The sentence every page, export and CLI reader prints beside protected figures.

    ``None`` for a viewer whose views read exact counts.

    >>> protection_note(Viewer("a", "analyst", "la", "own")) is None
    True
    """
    viewer.require(Capability.SEE_AGGREGATES, "see the release's error margins")
    if not reads_release(viewer):
        return None
    with warehouse.reading(con) as c:
        error = typical_error(c)
    k = viewer.k
    margin = f"typical error ±{error} at 95 %" if error is not None else "release not built yet"
    return (
        f"Figures for this viewer are protected (differential privacy; {margin}); "
        f"counts under {k} read '{fewer_than(k)}'."
    )


def fewer_than(k: int) -> str:
    """How a released value under ``k`` reads, as the hotline words it: ``"fewer than 11"`` (written once).

    >>> fewer_than(11)
    'fewer than 11'
    """
    return f"fewer than {k}"


def hidden_text(viewer: Viewer) -> str:
    """How a hidden count reads for ``viewer``: ``"fewer than 11"`` for a released value, else ``"suppressed"``.

    A released value under k is shown as the hotline does ("fewer than 11";
    post-processing, so it costs no budget). An exact count is hidden either
    because it is under k or to protect another one (complementary suppression),
    so for viewers who read exact counts it stays "suppressed".

    >>> hidden_text(Viewer("p", "partner")), hidden_text(Viewer("a", "analyst", "la", "own"))
    ('fewer than 11', 'suppressed')

    A role without aggregates is refused by the readers, not here: a page asks
    for the wording before its first read, and must reach that refusal
    (``test_policy``'s role without an entry).
    """
    if not viewer.can(Capability.SEE_AGGREGATES):
        return SUPPRESSED_TEXT
    return fewer_than(viewer.k) if reads_release(viewer) else SUPPRESSED_TEXT


#: Count columns the release does not measure for flows and corridors (their readers fill them with ``<NA>``).
FLOW_COLUMNS_NOT_RELEASED = ("victims", "minors", "sources", "od_pairs")


def drop_unreleased(viewer: Viewer, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (flows, corridors, coordination pairs) without the columns the release has no figure for.

    For a viewer who reads the release, a ``<NA>`` there means "not measured",
    not "fewer than k": a page or export drops them rather than show either.
    """
    if not reads_release(viewer):
        return frame
    return frame.drop(columns=[c for c in FLOW_COLUMNS_NOT_RELEASED if c in frame.columns])


def release_summary(viewer: Viewer, *, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Per measurement of the current release: ``measurement``, ``scale`` (σ), ``error_95``.

    Public facts about the mechanism (no count): what the protection note and
    ``python -m pipelines release report`` quote.
    """
    viewer.require(Capability.SEE_AGGREGATES, "see the release's error margins")  # same for every such viewer
    with warehouse.reading(con) as c:
        sigma = scales(c)
    return pd.DataFrame({
        "measurement": list(sigma), "scale": list(sigma.values()),
        "error_95": [math.ceil(_Z95 * s) for s in sigma.values()],
    })


def outside_flows_note(viewer: Viewer, filters: Filters) -> str | None:
    """What a flow view of ``filters`` leaves out for ``viewer``: out-of-state flows under a type filter.

    The release measures flows from outside California per year and county, not
    per record or trafficking type; ``None`` when nothing is left out.

    >>> outside_flows_note(Viewer("p", "partner"), Filters(record_types=("tip",)))[:40]
    'Flows from outside California are not sh'
    >>> outside_flows_note(Viewer("p", "partner"), Filters()) is None
    True
    """
    viewer.require(Capability.SEE_AGGREGATES, "see flows")  # a role without aggregates is refused, as by the readers
    filters = plain(filters)
    if not reads_release(viewer) or not (filters.record_types or filters.trafficking_types):
        return None
    return (
        "Flows from outside California are not shown under a record-type or trafficking-type filter: "
        "the protected release counts them per year and county only, with no breakdown by type; "
        "remove the type filter to see them."
    )


# ------------------------------------------------------------------ corridor paths


def entry_path_id(entry_id: str) -> str:
    """The ``origin_id`` of ``release_corridor_paths`` for flows entering California at ``entry_id``.

    >>> entry_path_id("san_ysidro")
    '@san_ysidro'
    """
    return f"@{entry_id}"


def corridor_path_origins() -> dict[str, str]:
    """Each out-of-state origin of the release -> the ``origin_id`` its flows are routed by (its entry's key)."""
    from geo.flow_places import default_entry, outside_origin_ids

    return {o: entry_path_id(default_entry(o)) for o in outside_origin_ids()}


def path_origin_sql(column: SQL) -> tuple[SQL, list[object]]:
    """SQL giving the ``release_corridor_paths.origin_id`` of the flow origin in ``column``, and its parameters.

    A county keeps its FIPS code; an out-of-state origin (``MX``) is routed by its
    entry point's key (``@san_ysidro``): the paths are keyed by entry, not origin.
    A simple ``CASE``, not a lookup subquery: the join on it stays a hash join
    (at 10 M the subquery made ``flows.corridor_loads`` 136-139 ms p50 and 247-251 ms
    p95, the CASE 56-66 ms and 67-77 ms, the same rows).
    """
    pairs = corridor_path_origins()
    whens = join((compose(" WHEN ? THEN ?") for _ in pairs), "")
    sql = compose("CASE {column}{whens} ELSE {column} END", column=column, whens=whens)
    return sql, [v for pair in pairs.items() for v in pair]


def path_origins(origin_ids: pd.Series) -> pd.Series:
    """:func:`path_origin_sql` for a column of origin ids in pandas."""
    return origin_ids.map(corridor_path_origins()).fillna(origin_ids)


# ------------------------------------------------------------------ periods


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def widen_to_quarters(filters: Filters) -> Filters:
    """``filters`` with the period widened to whole quarters (rows of ``release_cells`` are quarters).

    >>> widen_to_quarters(Filters(start=date(2025, 2, 1), end=date(2025, 7, 1))).start
    datetime.date(2025, 1, 1)
    """
    start = _quarter_start(filters.start) if filters.start else None
    end = _quarter_start(filters.end) if filters.end else None
    return replace(filters, start=start, end=end)


def widen_to_years(filters: Filters) -> Filters:
    """``filters`` with the period widened to whole years (rows of ``release_flows`` are years)."""
    start = date(filters.start.year, 1, 1) if filters.start else None
    end = date(filters.end.year, 1, 1) if filters.end else None
    return replace(filters, start=start, end=end)


# ------------------------------------------------------------------ cells


#: The filters the map cells split by (``release_cell_parts.dimension`` -> the :class:`Filters` field).
CELL_DIMENSIONS = {"record_type": "record_types", "source_kind": "source_kinds", "indicator": "indicators"}


def cell_plain(filters: Filters) -> Filters:
    """:func:`plain`, and a source-kind filter that names every kind dropped (the same selection as none)."""
    from query.filters import SOURCE_KINDS

    filters = plain(filters)
    return replace(filters, source_kinds=()) if _full(filters.source_kinds, SOURCE_KINDS) else filters


def cell_dimension(filters: Filters) -> tuple[str, tuple[str, ...]] | None:
    """Which breakdown of the map cells ``filters`` reads (``record_type``, its values), ``None`` for the plain cells.

    Raises :class:`ReleaseFilterError` for what the release's cells cannot answer:
    a trafficking-type filter, two of the breakdowns at once, several indicators.

    >>> cell_dimension(Filters(record_types=("tip", "service")))
    ('record_type', ('tip', 'service'))
    >>> cell_dimension(Filters(record_types=("tip", "incident", "recovery", "service"))) is None
    True
    """
    filters = cell_plain(filters)
    if filters.trafficking_types:
        raise ReleaseFilterError(
            "the protected map counts every trafficking type together; remove the trafficking-type filter to see it"
        )
    chosen = [(d, tuple(getattr(filters, f))) for d, f in CELL_DIMENSIONS.items() if getattr(filters, f)]
    if len(chosen) > 1:
        names = " and ".join(d.replace("_", " ") for d, _ in chosen)
        raise ReleaseFilterError(
            f"the protected map splits by record type, by source kind or by indicator, one at a time, not by {names} "
            "together; keep one of those filters"
        )
    if chosen and chosen[0][0] == "indicator" and len(set(chosen[0][1])) > 1:
        raise ReleaseFilterError(
            "the protected map counts one indicator at a time (a record with two of them would count twice); "
            f"keep one of {list(chosen[0][1])!r}"
        )
    return chosen[0] if chosen else None


def check_cell_filters(filters: Filters) -> None:
    """Refuse the filters the release's map cells cannot answer (see :func:`cell_dimension`)."""
    cell_dimension(filters)


def cell_res(filters: Filters, res: int) -> int:
    """The resolution the release's map shows for ``res`` under ``filters`` (res 6 at most, res 5 by indicator)."""
    dimension = cell_dimension(filters)
    finest = FINEST_INDICATOR_RES if dimension and dimension[0] == "indicator" else FINEST_RES
    return min(int(res), finest)


def _cell_source(filters: Filters) -> tuple[str, str, list[object]]:
    """The table a cell read uses, a WHERE body over it (period widened to quarters) and its parameters."""
    dimension = cell_dimension(filters)
    area = replace(cell_plain(filters), record_types=(), source_kinds=(), indicators=(), trafficking_types=())
    where, params = widen_to_quarters(area).where(side="dest")
    if dimension is None:
        return CELLS_TABLE, where, params
    name, values = dimension
    chosen = sorted(set(values))
    clause = compose("dimension = ? AND value IN ({chosen}) AND {where}", chosen=placeholders(len(chosen)), where=where)
    return CELL_PARTS_TABLE, clause, [name, *chosen, *params]


def raw_cells(con: duckdb.DuckDBPyConnection, filters: Filters, res: int) -> pd.DataFrame:
    """Released records per (cell at ``res``, county), plus each county's records in no cell.

    The shape of ``query.cells._raw_cells``: ``cell``, ``county_fips``,
    ``records``, ``victims`` (``<NA>``: the release counts no victims per cell).
    Under a record-type, source-kind or indicator filter the released cells of
    the chosen values are summed (post-processing: no budget).
    """
    table, where, params = _cell_source(filters)
    require(con, table)
    res = cell_res(filters, res)
    frame = con.execute(
        compose(
            "SELECT cell, dest_county_fips AS county_fips, sum(records)::BIGINT AS records "
            "FROM {table} WHERE res = ? AND {where} GROUP BY ALL",
            table=ident(table), where=where,
        ),
        [res, *params],
    ).df()
    frame["victims"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    return frame


def cell_quarters(con: duckdb.DuckDBPyConnection, filters: Filters, res: int, cell: int) -> pd.DataFrame:
    """One released cell's records per quarter under ``filters``: ``dimension`` ('month'), ``value``, ``records``."""
    table, where, params = _cell_source(filters)
    require(con, table)
    return con.execute(
        compose(
            "SELECT 'month' AS dimension, strftime(month, '%Y-%m') AS value, sum(records)::BIGINT AS records "
            "FROM {table} WHERE res = ? AND cell = ? AND {where} GROUP BY ALL ORDER BY value",
            table=ident(table), where=where,
        ),
        [res, cell, *params],
    ).df()


# ------------------------------------------------------------------ flows


def edges(con: duckdb.DuckDBPyConnection, filters: Filters, level: str) -> pd.DataFrame:
    """Released flow records per edge at ``level`` (``county``, ``region`` or ``task_force``).

    Geographic filters apply to the destination. Columns: ``origin_id``,
    ``dest_id``, ``origin_outside`` (``US-NV``, ``MX``: an out-of-state origin,
    the same at every level and also its ``origin_id``; ``None`` in state), the
    ends' ``*_county_fips`` / ``*_region`` / ``*_task_force`` (single-valued at
    and above their level, else ``None``; ``None`` for an out-of-state origin),
    ``records``, ``tips``, ``incidents``, ``recoveries``, ``services``,
    ``confirmed`` (``<NA>`` under a trafficking-type filter, and for an
    out-of-state origin). Out-of-state origins have no breakdown by type in the
    release: under a record-type or trafficking-type filter they are left out
    (:func:`outside_flows_note` says so).
    """
    check_filters(filters)
    if level not in ("county", "region", "task_force"):
        raise ValueError(f"the protected release has flows by county, region or task force, not {level!r}")
    require(con, FLOWS_TABLE)
    filters = plain(filters)
    if filters.record_types and filters.trafficking_types:
        raise ReleaseFilterError(
            "the protected flows count record types and trafficking types separately, not together; "
            "remove the record-type or the trafficking-type filter"
        )
    by_traffic = bool(filters.trafficking_types)
    rows = compose("record_type IS NULL") if by_traffic else compose("trafficking_type IS NULL")
    where, params = widen_to_years(filters).where(side="dest")
    where = compose("{rows} AND {where}", rows=rows, where=where)
    column = {"county": "county_fips", "region": "region", "task_force": "task_force"}[level]
    keep = {"county": ("county_fips", "region", "task_force"), "region": ("region",), "task_force": ("task_force",)}[level]
    areas = join((idents([f"origin_{a}", f"dest_{a}"]) for a in keep), ", ")
    missing = join(
        (compose("NULL::VARCHAR AS {origin}, NULL::VARCHAR AS {dest}, ", origin=ident(f"origin_{a}"), dest=ident(f"dest_{a}"))
         for a in ("county_fips", "region", "task_force") if a not in keep),
        "",
    )
    types = (("tip", "tips"), ("incident", "incidents"), ("recovery", "recoveries"), ("service", "services"))
    by_type = join(  # an out-of-state origin has no breakdown by type: NULL, not 0
        (compose("CASE WHEN bool_or(origin_outside IS NOT NULL) THEN NULL "
                 "ELSE coalesce(sum(records) FILTER (WHERE record_type = ?), 0) END::BIGINT AS {name}", name=ident(name))
         for _, name in types),
        ", ",
    )
    frame = con.execute(
        compose(
            "SELECT coalesce(origin_outside, {origin}) AS origin_id, {dest} AS dest_id, "
            "origin_outside, {areas}, {missing}sum(records)::BIGINT AS records, {by_type} "
            "FROM {flows} WHERE {where} GROUP BY ALL",
            origin=ident(f"origin_{column}"), dest=ident(f"dest_{column}"), areas=areas, missing=missing,
            by_type=by_type, flows=ident(FLOWS_TABLE), where=where,
        ),
        [*(t for t, _ in types), *params],
    ).df()
    frame["confirmed"] = frame["incidents"].astype("Int64") + frame["recoveries"].astype("Int64")
    for column in ("tips", "incidents", "recoveries", "services"):
        frame[column] = frame[column].astype("Int64")
    if by_traffic:  # rows by trafficking type do not split by record type
        for column in ("tips", "incidents", "recoveries", "services", "confirmed"):
            frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
    return frame
