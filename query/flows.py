"""Flow reads: edges, location totals, corridor loads, coordination pairs, route shifts.

Every function takes the :class:`~query.viewer.Viewer` first and returns a
:class:`pandas.DataFrame` whose counts have passed through
:func:`query.suppression.suppress_small_counts` (k from ``viewer.k``, the same
for every role): a count under k is ``<NA>`` and the row's ``suppressed`` is set,
never 0.

Flows follow the map's roll-up rule. An edge under k at the level asked for is
not shown at that level: its records join the edge between the *parents* of its
two ends at the next coarser level (``res6 → res5 → res4 → county → region``,
``county → region``), and so on; a row at a coarser level holds only the records
not shown at finer ones (nothing is counted twice; ``rolled_up`` is set). What is
still under k at the coarsest level comes back with ``suppressed=True``. Region
and task-force edges have no coarser level.

The tables come from ``pipelines/build/flows.py`` and
``pipelines/build/corridors.py``. Filters on period, trafficking type and
geography read them directly; a filter on record type, source kind or indicator
reads ``flow_area_cube`` at the area levels (``flow_res4_cube`` at res 4) when at most
one indicator is named, else re-aggregates ``flow_facts`` (:func:`routes.contract.flow_tables.sql_fact_records`);
a view of the whole period reads their all-time copies (``*_all_time``, ``flows`` too). A warehouse
built before those tables existed recomputes the edges from ``records``
with the same SQL (:func:`geo.flow_places.sql_flow_records`). At res 4-6 the edges are
first cut to those with an end in the selected area. Geographic filters apply to the
destination (``coordination_pairs``: to either end; ``location_totals``: to the
location itself).

Beyond the shared module, two rules apply to what only flows report:

- ``tips``, ``confirmed`` (incidents + recoveries) and ``services`` partition
  ``records``; within a row their hidden parts must add up to 0 or at least k,
  else the next-smallest part is hidden too (so ``records`` minus the shown parts
  never gives a small count);
- a share ``share_<indicator>`` is shown only when both the records with the
  indicator and those without are 0 or at least k; ``sources`` and the shares of
  a suppressed row are blank.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from geo import highways, reference
from geo.flow_places import area_places, cell_places, outside_places, sql_flow_records
from geo.grid import sql_cell_to_parent
from query import release, scope, suppression
from query.filters import Filters
from query.viewer import Viewer
from routes import warehouse
from routes.contract.flow_tables import (
    ALL_TIME_TABLES,
    AREA_FACTS_TABLE,
    CELL_CUBE_TABLE,
    CELL_LEVELS,
    CUBE_TABLE,
    EDGE_KEYS,
    EDGE_SUMS,
    FACTS_TABLE,
    FLOW_INDICATORS,
    FLOW_LEVELS,
    FLOWS_TABLE,
    SOURCES_TABLE,
    check_level,
    decode_source_bits,
    indicator_mask,
    sql_fact_records,
    sql_level_edges,
    sql_with_source_bits,
)
from routes.contract.sql import (
    SQL,
    compose,
    frame_name,
    ident,
    idents,
    join,
    placeholders,
    vocabulary_literal,
)

__all__ = [
    "COORDINATION_LEVELS",
    "EDGE_LEVELS",
    "NARROW_LEVELS",
    "SHIFT_LEVELS",
    "coordination_pairs",
    "corridor_loads",
    "flow_edges",
    "levels_for",
    "location_totals",
    "route_shifts",
    "segment_flows",
]

#: Levels :func:`flow_edges` and :func:`location_totals` accept, finest first.
EDGE_LEVELS = ("res6", "res5", "res4", "county", "region", "task_force")

#: Where an edge under k goes next, per level asked for.
ROLL_UP_CHAINS: dict[str, tuple[str, ...]] = {
    "res6": ("res6", "res5", "res4", "county", "region"),
    "res5": ("res5", "res4", "county", "region"),
    "res4": ("res4", "county", "region"),
    "county": ("county", "region"),
    "region": ("region",),
    "task_force": ("task_force",),
}

#: Levels drawn only for part of the state: statewide they would be tens of thousands
#: of arcs, mostly under k (aggregation follows the zoom: coarse statewide, fine close up).
NARROW_LEVELS = ("res5", "res6")


def levels_for(filters: Filters) -> tuple[str, ...]:
    """The levels a map of ``filters`` offers: H3 res 5 and 6 once a region, task force or county is chosen.

    >>> levels_for(Filters())
    ('res4', 'county', 'region', 'task_force')
    >>> levels_for(Filters(counties=("06037",)))[:2]
    ('res6', 'res5')
    """
    narrowed = bool(filters.regions or filters.counties or filters.task_forces)
    return tuple(level for level in EDGE_LEVELS if narrowed or level not in NARROW_LEVELS)


COORDINATION_LEVELS = ("county", "region", "task_force")
SHIFT_LEVELS = ("county", "region", "task_force", "segment")

#: The counts an edge reports (all under the k rule).
EDGE_COUNTS = ["records", "victims", "minors", "tips", "confirmed", "services"]
_PARTITION = ["tips", "confirmed", "services"]
_GEO_FILTERS = ("regions", "counties", "task_forces")
_OUTSIDE = compose("origin_kind IN ('state', 'country')")


# ------------------------------------------------------------------ plumbing


_connection = scope.reading  # the viewer's scope: the warehouse (release), or its own records' database
_has_table = warehouse.has_table


def _guard(con: duckdb.DuckDBPyConnection, viewer: Viewer, filters: Filters) -> None:
    if release.reads_release(viewer):  # the release: no guard on true counts (see query/release.py)
        release.check_filters(filters)
        return
    guard = getattr(suppression, "guard_filters", None)
    if guard is not None:
        guard(con, filters, k=viewer.k, side="dest")


def _source_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The source of each bit of ``source_bits`` (``flow_sources``, in bit order)."""
    sql = compose("SELECT source_id FROM {sources} ORDER BY bit", sources=ident(SOURCES_TABLE))
    return [str(r[0]) for r in con.execute(sql).fetchall()]


#: Edges summed over the period and types (from ``flows``, or re-aggregated from ``flow_facts``), per (read-only snapshot file, SQL, parameters):
#: a page's flows, totals, corridors and coordination pairs share one aggregation.
_MEMO: OrderedDict[tuple[str, str, tuple[object, ...]], pa.Table] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_ENTRIES = 16


def _snapshot_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The file of a read-only snapshot ``con`` reads, else ``None`` (a write connection, or in memory).

    A snapshot file never changes (a new one is swapped in under a new name), so
    whatever is computed from it stays true for as long as that file is read.
    """
    rows = con.execute(
        "SELECT path, readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    return str(rows[0][0]) if rows and rows[0][1] and rows[0][0] else None


def _remembered(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> tuple[str, list[object]]:
    """``sql`` computed once per read-only snapshot and kept (a few entries); a relation to read it.

    Write connections are not remembered (:func:`_snapshot_path`).
    """
    snapshot = _snapshot_path(con)
    if snapshot is None:
        return sql, params
    key = (snapshot, sql, tuple(tuple(p) if isinstance(p, list) else p for p in params))
    with _MEMO_LOCK:
        frame = _MEMO.get(key)
        if frame is not None:
            _MEMO.move_to_end(key)
    if frame is None:
        frame = con.sql(  # Arrow keeps every column's type (a NULL cell stays a BIGINT)
            compose("SELECT * REPLACE (source_bits::VARCHAR AS source_bits) FROM ({sql})", sql=sql), params=params
        ).to_arrow_table()
        with _MEMO_LOCK:
            _MEMO[key] = frame
            while len(_MEMO) > _MEMO_ENTRIES:
                _MEMO.popitem(last=False)
    name = frame_name("_flow_memo", hash(key))
    con.register(name, frame)
    return compose("SELECT * REPLACE (source_bits::BIT AS source_bits) FROM {name}", name=name), []


def _needs_records(filters: Filters) -> bool:
    """Whether a filter asks for something the pre-built tables do not keep."""
    return bool(filters.record_types or filters.source_kinds or filters.indicators)


def _edges_sql(con: duckdb.DuckDBPyConnection, filters: Filters, level: str) -> tuple[str, list[object]]:
    """Edges at ``level`` under every filter, one row per edge: SQL over ``flows`` columns.

    Geography stays a filter for the caller to apply on the end it means, except
    at the cell levels: there the edges are first narrowed to those with either
    end in the selection (res 5 and 6 are only offered for part of the state, and
    the statewide cell edges are the bulk of the work). Computed once per
    snapshot and filters (:func:`_remembered`), so the readers of one page view
    share it.
    """
    edges, params = _edges_statewide_sql(con, replace(filters, regions=(), counties=(), task_forces=()), level)
    if level in CELL_LEVELS and any(getattr(filters, n) for n in _GEO_FILTERS):
        dest, dest_params = _geo_where(filters, prefix="dest_")
        origin, origin_params = _geo_where(filters, prefix="origin_")
        edges = compose("SELECT * FROM ({edges}) WHERE ({dest}) OR ({origin})", edges=edges, dest=dest, origin=origin)
        params = [*params, *dest_params, *origin_params]
    return _remembered(con, edges, params)


def _edges_statewide_sql(con: duckdb.DuckDBPyConnection, plain: Filters, level: str) -> tuple[str, list[object]]:
    """The SQL of :func:`_edges_sql` for filters without geography, from the smallest table that answers."""
    if not _needs_records(plain):
        where, params = plain.where()
        sums = join((compose("sum({c})::BIGINT AS {c}", c=ident(c)) for c in EDGE_SUMS), ", ")
        return compose("""
            SELECT {keys}, {sums}, bit_count(bit_or(source_bits)) AS sources,
                bit_or(source_bits) AS source_bits
            FROM {table} WHERE level = {level} AND {where} GROUP BY ALL
        """, keys=idents(EDGE_KEYS), sums=sums, table=ident(_all_time_or(con, plain, FLOWS_TABLE)),
                       level=vocabulary_literal(level, FLOW_LEVELS), where=where), params
    bits = len(_source_ids(con))
    wanted = set(plain.indicators)
    cube = CUBE_TABLE if level not in CELL_LEVELS else CELL_CUBE_TABLE if level == "res4" else None
    if cube and len(wanted) <= 1 and _has_table(con, cube):
        where, params = replace(plain, indicators=()).where()
        where = compose("{where} AND indicator {test}", where=where, test=SQL("= ?" if wanted else "IS NULL"))
        params = [*params, *wanted]
        source = compose("(SELECT * FROM {table} WHERE {where})", table=ident(_all_time_or(con, plain, cube)), where=where)
        return sql_level_edges(level, source=source, cube=True, bits=bits, source_lists=False, by_month=False), params
    if _has_table(con, FACTS_TABLE):  # none in a warehouse built before it existed
        where, params = replace(plain, indicators=()).where()
        if plain.indicators:
            where = compose("{where} AND (indicator_mask & ?) <> 0", where=where)
            params = [*params, indicator_mask(plain.indicators)]
        table = _all_time_or(con, plain, FACTS_TABLE)
        if table == FACTS_TABLE and level not in CELL_LEVELS and _has_table(con, AREA_FACTS_TABLE):
            table = AREA_FACTS_TABLE
        if level in CELL_LEVELS:
            # Facts are nearly one per record (month, source and three resolutions of
            # cells apart); summed first over what this level does not keep, the
            # edge aggregate with its twenty counts has a few times fewer rows.
            res = CELL_LEVELS[level]
            keys = idents((
                "o_outside", "o_entry", "o_state", "o_country", "o_county", "o_region", "o_task_force",
                f"o_cell{res}", "d_county", "d_region", "d_task_force", f"d_cell{res}",
                "record_type", "source_bit", "indicator_mask", "ind_minor",
            ))
            summed = compose(
                "(SELECT {keys}, sum(n)::BIGINT AS n, sum(victims)::BIGINT AS victims FROM {table} WHERE {where} GROUP BY ALL)",
                keys=keys, table=ident(table), where=where,
            )
            facts = sql_fact_records(SQL("TRUE"), table=summed)
        else:
            facts = sql_fact_records(where, table=table)
        return sql_level_edges(level, source=compose("({facts})", facts=facts), weight="n", bits=bits,
                               source_lists=False, by_month=False), params
    con.register("flow_entry_candidates", highways.entry_candidates())
    where, params = plain.where(alias="r")
    records = sql_with_source_bits(compose("({rows})", rows=sql_flow_records(where)))
    return sql_level_edges(level, source=compose("({records})", records=records), bits=bits, source_lists=False,
                           by_month=False), params


def _all_time_or(con: duckdb.DuckDBPyConnection, filters: Filters, table: str) -> str:
    """``table``'s all-time copy for a view of the whole period (no start, no end), where the warehouse has it."""
    whole = filters.start is None and filters.end is None
    copy = ALL_TIME_TABLES.get(table)
    return copy if whole and copy and _has_table(con, copy) else table


def _geo_where(filters: Filters, *, prefix: str) -> tuple[str, list[object]]:
    """Geographic filters on ``<prefix>county_fips``/``region``/``task_force`` columns."""
    clauses, params = [], []
    for name, column in (("regions", "region"), ("counties", "county_fips"), ("task_forces", "task_force")):
        values = getattr(filters, name)
        if values:
            clauses.append(compose("{column} IN ({marks})", column=ident(f"{prefix}{column}"),
                                   marks=placeholders(len(values))))
            params.extend(values)
    return (join(clauses, " AND ") or SQL("TRUE")), params


def _key_sql(level: str, side: str) -> str:
    """One in-state end at ``level`` over ``flows`` rows of a finer (or equal) level.

    A cell level gives the parent cell as an integer (made the H3 string once the
    rows are few); an out-of-state origin gives NULL (it is the same place at
    every level: ``outside_id``).
    """
    inner: SQL
    if level in CELL_LEVELS:
        inner = sql_cell_to_parent(f"{side}_cell", CELL_LEVELS[level])
    elif level == "county":
        inner = ident(f"{side}_county_fips")
    else:
        inner = ident(f"{side}_{level}")
    return compose("CASE WHEN NOT {outside} THEN {inner} END", outside=_OUTSIDE, inner=inner) if side == "origin" else inner


def _sum_columns() -> SQL:
    counts = join((compose("sum({c})::BIGINT AS {c}", c=ident(c)) for c in [*EDGE_COUNTS, *(f"n_{n}" for n in FLOW_INDICATORS)]), ", ")
    return compose("{counts}, bit_or(source_bits) AS source_bits", counts=counts)


def _places_for(frame: pd.DataFrame, side: str) -> pd.DataFrame:
    ids, kinds = frame[f"{side}_id"].astype(str), frame[f"{side}_kind"].astype(str)
    parts = [area_places()]
    if (kinds == "cell").any():
        parts.append(cell_places(ids[kinds == "cell"].tolist()))
    outside = kinds.isin(["state", "country"])
    if outside.any():
        parts.append(outside_places(ids[outside].tolist()))
    return pd.concat(parts, ignore_index=True).drop_duplicates(["kind", "id"])


def _add_places(frame: pd.DataFrame, sides: Sequence[str] = ("origin", "dest")) -> pd.DataFrame:
    for side in sides:
        places = _places_for(frame, side).rename(
            columns={"kind": f"{side}_kind", "id": f"{side}_id", "name": f"{side}_name",
                     "lat": f"{side}_lat", "lng": f"{side}_lng"}
        )
        frame = frame.merge(places, on=[f"{side}_kind", f"{side}_id"], how="left")
    return frame


def _outside_kind(ids: pd.Series) -> np.ndarray:
    return np.where(ids.astype(str).str.startswith("US"), "state", "country")


def _protect_partition(frame: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """Within each row, hidden parts of :data:`_PARTITION` add up to 0 or at least k.

    Vectorised over rows: while a visible row's hidden parts add up to 1..k-1,
    its smallest visible part is hidden too (smallest first, ties by column order).
    """
    values = frame[_PARTITION].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    hidden = np.isnan(values)
    index = np.arange(len(values))
    rows = ~frame["suppressed"].to_numpy(dtype=bool) & hidden.any(axis=1)
    records = frame["records"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    hidden_total = records - np.where(hidden, 0.0, values).sum(axis=1)
    order = np.argsort(np.where(hidden, np.inf, values), axis=1, kind="stable")
    for step in range(values.shape[1]):
        column = order[:, step]
        take = rows & ~hidden[index, column] & (hidden_total > 0) & (hidden_total < k)
        hidden[take, column[take]] = True
        hidden_total = hidden_total + np.where(take, values[index, column], 0.0)
    for j, name in enumerate(_PARTITION):
        blank = rows & hidden[:, j]
        if blank.any():
            frame.loc[frame.index[blank], name] = pd.NA
    return frame


def _protect_edges(frame: pd.DataFrame, *, viewer: Viewer) -> pd.DataFrame:
    """Suppress the counts of an edge frame and blank what would reveal them."""
    k = viewer.k
    raw = frame.copy()
    released = release.reads_release(viewer)
    out = suppression.suppress_small_counts(frame, k=k, count_columns=EDGE_COUNTS, complementary=not released)
    out = out if released else _protect_partition(out, k=k)
    suppressed = out["suppressed"].to_numpy(dtype=bool)
    records = raw["records"].to_numpy(dtype=float)
    for name in FLOW_INDICATORS:
        n = raw[f"n_{name}"].to_numpy(dtype=float)
        rest = records - n
        small = ((n > 0) & (n < k)) | ((rest > 0) & (rest < k)) | suppressed
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(records > 0, n / records, np.nan)
        out[f"share_{name}"] = pd.array(np.where(small, np.nan, np.round(share, 3)), dtype="Float64")
    out["sources"] = pd.array(
        np.where(suppressed, np.nan, raw["n_sources"].to_numpy(dtype=float)), dtype="Float64"
    ).round().astype("Int64")
    drop = ["n_sources", *(f"n_{n}" for n in FLOW_INDICATORS)]
    if viewer.has_record_access:  # flow_edges decoded them for these viewers only
        out.loc[suppressed, "source_ids"] = None
    return out.drop(columns=drop)


def _order(frame: pd.DataFrame, *, by: str = "records", top_n: int | None = None) -> pd.DataFrame:
    # ties broken by every id column present, so equal counts always come in one order
    ties = [c for c in ("origin_id", "dest_id", "origin_task_force", "dest_task_force") if c in frame.columns]
    ordered = frame.assign(_v=frame[by].astype("Float64").fillna(-1)).sort_values(
        ["_v", *ties], ascending=[False, *([True] * len(ties))], kind="stable"
    ).drop(columns="_v")
    if top_n is not None:
        ordered = ordered[~ordered["suppressed"]].head(int(top_n))
    return ordered.reset_index(drop=True)


# ------------------------------------------------------------------ flows


def _rolled_edges(con: duckdb.DuckDBPyConnection, filters: Filters, level: str, *, k: int) -> pd.DataFrame:
    chain = ROLL_UP_CHAINS[level]
    base_level = level if level in ("res6", "res5", "res4", "county") else "county"
    edges, params = _edges_sql(con, filters, base_level)
    geo, geo_params = _geo_where(filters, prefix="dest_")
    keys = join(
        (compose("{o} AS o{j}, {d} AS d{j}", o=_key_sql(lv, "origin"), d=_key_sql(lv, "dest"), j=j)
         for j, lv in enumerate(chain)),
        ", ",
    )
    windows, previous = [], compose("agg")
    hidden = compose("TRUE")
    for j in range(len(chain)):
        windows.append(compose(
            "w{j} AS (SELECT *, sum(CASE WHEN {hidden} THEN records ELSE 0 END) "
            "OVER (PARTITION BY outside_id, o{j}, d{j}) AS s{j} FROM {previous})",
            j=j, hidden=hidden, previous=previous,
        ))
        hidden = compose("({hidden} AND s{j} < {k})", hidden=hidden, j=j, k=int(k))
        previous = compose("w{j}", j=j)
    at_cases = join((compose(" WHEN s{j} >= {k} THEN {j}", j=j, k=int(k)) for j in range(len(chain))), "")

    def pick(side: str, cells: bool) -> SQL:
        """The key of the level a row is shown at: the cell levels' (BIGINT) or the areas' (text)."""
        chosen = [j for j, lv in enumerate(chain) if (lv in CELL_LEVELS) == cells]
        if not chosen:
            return compose("NULL::BIGINT") if cells else compose("NULL::VARCHAR")
        end = compose("o") if side == "o" else compose("d")
        return compose("CASE shown_at{whens} END",
                       whens=join((compose(" WHEN {j} THEN {end}{j}", j=j, end=end) for j in chosen), ""))

    sql = compose("""
        WITH base AS (SELECT * FROM ({edges}) WHERE {geo}),
        agg AS (
            SELECT {keys}, CASE WHEN {outside} THEN origin_id END AS outside_id, {sums}
            FROM base GROUP BY ALL
        ),
        {windows},
        tagged AS (SELECT *, CASE{at_cases} ELSE {last} END AS shown_at FROM {previous}),
        shown AS (
            SELECT shown_at, outside_id,
                {o_cell} AS o_cell, {o_area} AS o_area,
                {d_cell} AS d_cell, {d_area} AS d_area,
                {sums}
            FROM tagged
            GROUP BY ALL
        )
        SELECT shown_at, outside_id IS NOT NULL AS outside,
            coalesce(outside_id, printf('%x', o_cell), o_area) AS origin_id,
            coalesce(printf('%x', d_cell), d_area) AS dest_id,
            * EXCLUDE (shown_at, outside_id, o_cell, o_area, d_cell, d_area, source_bits),
            bit_count(source_bits) AS n_sources, source_bits::VARCHAR AS source_bits
        FROM shown
        WHERE (outside_id IS NOT NULL OR o_cell IS NOT NULL OR o_area IS NOT NULL)
          AND (d_cell IS NOT NULL OR d_area IS NOT NULL)
    """, edges=edges, geo=geo, keys=keys, outside=_OUTSIDE, sums=_sum_columns(), windows=join(windows, ", "),
        at_cases=at_cases, last=len(chain) - 1, previous=previous, o_cell=pick("o", True), o_area=pick("o", False),
        d_cell=pick("d", True), d_area=pick("d", False))
    frame = con.execute(sql, [*params, *geo_params]).df()
    frame["level"] = [chain[int(a)] for a in frame["shown_at"]]
    frame["rolled_up"] = frame["level"] != level
    kind = frame["level"].map(lambda lv: "cell" if lv in CELL_LEVELS else lv)
    frame["dest_kind"] = kind
    frame["origin_kind"] = np.where(frame["outside"].astype(bool), _outside_kind(frame["origin_id"]), kind)
    return frame.drop(columns=["shown_at", "outside"])


def flow_edges(
    viewer: Viewer,
    filters: Filters | None = None,
    *,
    level: str = "county",
    top_n: int | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Origin → destination edges at ``level``, small edges rolled up, every count protected.

    Parameters
    ----------
    viewer
        Who is asking; k is ``viewer.k`` for every role.
    filters
        The shared filters (geography on the destination).
    level
        One of :data:`EDGE_LEVELS`.
    top_n
        Keep only the ``top_n`` busiest shown edges (suppressed rows dropped).
    con
        An open warehouse connection; by default a read-only snapshot.

    Returns
    -------
    pandas.DataFrame
        ``level`` (where the row is shown), ``rolled_up``, ``origin_id``,
        ``origin_kind``, ``origin_name``, ``origin_lat``, ``origin_lng``,
        ``dest_id``, ``dest_kind``, ``dest_name``, ``dest_lat``, ``dest_lng``,
        ``records``, ``victims``, ``minors``, ``tips``, ``confirmed``,
        ``services``, ``sources``, ``share_<indicator>``, ``suppressed``
        (and ``source_ids`` for analysts and leads), busiest first.
    """
    check_level(level, allowed=EDGE_LEVELS)
    filters = filters or Filters()
    if release.reads_release(viewer):
        return _released_flow_edges(viewer, filters, level=level, top_n=top_n, con=con)
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        frame = _rolled_edges(c, filters, level, k=viewer.k)
        bits = frame.pop("source_bits")
        if viewer.has_record_access:  # which sources: only for those who may see it
            frame["source_ids"] = decode_source_bits(bits, _source_ids(c))
    frame = _add_places(frame)
    out = _protect_edges(frame, viewer=viewer)
    columns = [
        "level", "rolled_up", "origin_id", "origin_kind", "origin_name", "origin_lat", "origin_lng",
        "dest_id", "dest_kind", "dest_name", "dest_lat", "dest_lng", *EDGE_COUNTS, "sources",
        *(f"share_{n}" for n in FLOW_INDICATORS), "suppressed",
    ]
    if "source_ids" in out.columns:
        columns.insert(columns.index("sources") + 1, "source_ids")
    return _order(out[columns], top_n=top_n)


# ------------------------------------------------------------------ the protected release


#: The columns of ``route_shifts`` (``pipelines/build/flows.py``).
_SHIFT_COLUMNS = (
    "kind", "level", "trafficking_type", "origin_id", "origin_name", "dest_id", "dest_name", "segment_id", "route",
    "recent_start", "recent_end", "baseline_start", "baseline_end", "recent_days", "baseline_days", "recent",
    "baseline", "recent_per_month", "baseline_per_month", "rate_ratio", "p_value", "q_value", "shift",
)


def _released_level(level: str) -> str:
    """The release has flows between areas only: a cell level reads as county."""
    return "county" if level in CELL_LEVELS else level


def _released_origin_kind(frame: pd.DataFrame, level: str) -> np.ndarray:
    """``state``/``country`` for an out-of-state origin of released edges, else ``level``."""
    outside = frame["origin_outside"].notna().to_numpy()
    return np.where(outside, _outside_kind(frame["origin_id"]), level)


def _released_edges_sql(con: duckdb.DuckDBPyConnection, filters: Filters, level: str) -> tuple[str, list[object]]:
    """Released edges at ``level`` (no geography applied) as a relation with the columns ``_edges_sql`` gives.

    ``victims`` and ``minors`` are NULL (the release measures flow records),
    ``source_bits`` empty: who supports an edge is not released. Read once per
    read-only snapshot, level and filters (as :func:`_remembered` does for the
    exact path), so a page's totals, corridors and coordination pairs share it.
    """
    plain = replace(filters, regions=(), counties=(), task_forces=())
    snapshot = _snapshot_path(con)
    key = (snapshot or "", f"released edges at {level}", (plain,))
    table = None
    if snapshot is not None:
        with _MEMO_LOCK:
            table = _MEMO.get(key)
            if table is not None:
                _MEMO.move_to_end(key)
    if table is None:
        frame = release.edges(con, plain, level)
        frame["origin_kind"] = _released_origin_kind(frame, level)
        frame["dest_kind"] = level
        frame["victims"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        frame["minors"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        for indicator in FLOW_INDICATORS:
            frame[f"n_{indicator}"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if snapshot is not None:
            with _MEMO_LOCK:
                _MEMO[key] = table
                while len(_MEMO) > _MEMO_ENTRIES:
                    _MEMO.popitem(last=False)
    name = frame_name("_released_edges", hash(key))
    con.register(name, table)
    return compose("SELECT *, '0'::BIT AS source_bits FROM {name}", name=name), []


def _released_flow_edges(
    viewer: Viewer, filters: Filters, *, level: str, top_n: int | None, con: duckdb.DuckDBPyConnection | None
) -> pd.DataFrame:
    """:func:`flow_edges` from the protected release: county edges under k shown between regions.

    An out-of-state origin (``MX``, ``US-NV``: the release drops the entry
    point) is the same place at every level, drawn at its default entry; its
    small county edges join its edge to the destination's region. It has no
    split by record type (``tips``, ``confirmed``, ``services`` are ``<NA>``),
    and under a type filter it is left out (:func:`query.release.outside_flows_note`).
    """
    level = _released_level(level)
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        frame = release.edges(c, filters, level)
    frame = frame[frame["records"] > 0].reset_index(drop=True)
    # no split by record type under a trafficking-type filter (an out-of-state origin has none either)
    split = not frame.loc[frame["origin_outside"].isna(), "tips"].isna().any()
    frame["level"], frame["rolled_up"] = level, False
    if level == "county":  # as the exact reader does: a small county edge joins its regions' edge
        # (an out-of-state origin is the same place at every level: its small edges join (origin, dest region))
        small = frame["records"] < viewer.k
        parts = frame[small].assign(_origin=frame["origin_outside"].fillna(frame["origin_region"]))
        groups = parts.groupby(["_origin", "dest_region"])
        counts = ["records", "tips", "incidents", "recoveries", "services", "confirmed"]
        rest = pd.concat([groups["origin_outside"].first(), groups[counts].sum(min_count=1)], axis=1).reset_index()
        rest = rest.assign(origin_id=rest["_origin"], dest_id=rest["dest_region"], level="region", rolled_up=True)
        rest["origin_region"] = rest["_origin"].where(rest["origin_outside"].isna(), None)
        frame = pd.concat([frame[~small], rest.drop(columns="_origin")], ignore_index=True) if len(rest) else frame[~small]
    if not split:
        for column in _PARTITION:
            frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["origin_kind"] = np.where(frame["origin_outside"].notna(), _outside_kind(frame["origin_id"]), frame["level"])
    frame["dest_kind"] = frame["level"]
    frame = _add_places(frame)
    for column in ("victims", "minors"):
        frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
    out = suppression.suppress_small_counts(frame, k=viewer.k, count_columns=["records", *_PARTITION],
                                            complementary=not release.reads_release(viewer))
    out = out if release.reads_release(viewer) else _protect_partition(out, k=viewer.k)
    out["sources"] = pd.array([pd.NA] * len(out), dtype="Int64")
    for name in FLOW_INDICATORS:
        out[f"share_{name}"] = pd.array([pd.NA] * len(out), dtype="Float64")
    columns = [
        "level", "rolled_up", "origin_id", "origin_kind", "origin_name", "origin_lat", "origin_lng",
        "dest_id", "dest_kind", "dest_name", "dest_lat", "dest_lng", *EDGE_COUNTS, "sources",
        *(f"share_{n}" for n in FLOW_INDICATORS), "suppressed",
    ]
    return _order(out[columns], top_n=top_n)


# ------------------------------------------------------------------ location totals


def _allowed_locations(filters: Filters, level: str) -> set[str] | None:
    """At region / task-force level: the areas touching the geographic filters."""
    if not any(getattr(filters, n) for n in _GEO_FILTERS):
        return None
    counties = reference.county_dimensions()
    mask = pd.Series(True, index=counties.index)
    if filters.regions:
        mask &= counties["region"].isin(filters.regions)
    if filters.counties:
        mask &= counties["county_fips"].isin(filters.counties)
    if filters.task_forces:
        mask &= counties["task_force"].isin(filters.task_forces)
    return set(counties.loc[mask, level].dropna().astype(str))


def location_totals(
    viewer: Viewer,
    filters: Filters | None = None,
    *,
    level: str = "county",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Incoming, outgoing and internal flow records per place at ``level``.

    Geographic filters select the places themselves (at region and task-force
    level: those containing a selected county); a cell on the selection's border
    counts only its records inside it. Each count is protected on its
    own (a place with 400 outgoing and 3 incoming shows 400 and suppressed).

    Returns
    -------
    pandas.DataFrame
        ``level``, ``location_id``, ``location_kind``, ``name``, ``lat``, ``lng``,
        ``incoming``, ``outgoing``, ``internal``, ``suppressed`` (all three hidden).
    """
    check_level(level, allowed=EDGE_LEVELS)
    filters = filters or Filters()
    released = release.reads_release(viewer)
    if released:
        level = _released_level(level)
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        edges, params = _released_edges_sql(c, filters, level) if released else _edges_sql(c, filters, level)
        # an end's areas are single-valued at county level and finer (a cell on a border has a
        # row per area): there the filter keeps the parts inside; a region or task force is kept whole
        allowed = _allowed_locations(filters, level) if level in ("region", "task_force") else None
        inside, inside_params = (compose("TRUE"), []) if allowed is not None else _geo_where(filters, prefix="")
        origin_area = join((compose("{o} AS {a}", o=ident(f"origin_{a}"), a=ident(a)) for a in ("county_fips", "region", "task_force")), ", ")
        dest_area = join((compose("{d} AS {a}", d=ident(f"dest_{a}"), a=ident(a)) for a in ("county_fips", "region", "task_force")), ", ")
        frame = c.execute(compose("""
            WITH e AS ({edges}),
            ends AS (
                SELECT origin_id AS location_id, origin_kind AS location_kind, {origin_area},
                    0 AS incoming, records AS outgoing, 0 AS internal FROM e WHERE origin_id <> dest_id
                UNION ALL
                SELECT dest_id, dest_kind, {dest_area}, records, 0, 0 FROM e WHERE origin_id <> dest_id
                UNION ALL
                SELECT dest_id, dest_kind, {dest_area}, 0, 0, records FROM e WHERE origin_id = dest_id
            )
            SELECT location_id, location_kind,
                sum(incoming)::BIGINT AS incoming, sum(outgoing)::BIGINT AS outgoing,
                sum(internal)::BIGINT AS internal
            FROM ends WHERE {inside} GROUP BY location_id, location_kind
        """, edges=edges, origin_area=origin_area, dest_area=dest_area, inside=inside), [*params, *inside_params]).df()
    if allowed is not None:
        frame = frame[frame["location_id"].isin(allowed)]
    frame = frame.rename(columns={"location_id": "origin_id", "location_kind": "origin_kind"})
    frame = _add_places(frame.reset_index(drop=True), sides=("origin",)).rename(
        columns={"origin_id": "location_id", "origin_kind": "location_kind",
                 "origin_name": "name", "origin_lat": "lat", "origin_lng": "lng"}
    )
    protected = frame.copy()
    hidden = np.ones(len(frame), dtype=bool)
    for column in ("incoming", "outgoing", "internal"):
        one = suppression.suppress_small_counts(frame[["location_id", column]], k=viewer.k, count_columns=[column],
                                                complementary=not release.reads_release(viewer))
        protected[column] = one[column]
        hidden &= one[column].isna().to_numpy() | (frame[column].to_numpy() == 0)
    protected["suppressed"] = hidden & (frame[["incoming", "outgoing", "internal"]].sum(axis=1).to_numpy() > 0)
    protected["level"] = level
    columns = ["level", "location_id", "location_kind", "name", "lat", "lng", "incoming", "outgoing", "internal", "suppressed"]
    return protected[columns].sort_values("location_id", ignore_index=True)


# ------------------------------------------------------------------ corridors


def corridor_loads(
    viewer: Viewer,
    filters: Filters | None = None,
    *,
    origins: Sequence[str] | None = None,
    dests: Sequence[str] | None = None,
    both_ways: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Flow records routed along each highway segment, under the filters.

    The county-level edges that pass the filters (geography on the destination)
    are joined to their paths (``corridor_paths``). A segment's ``load`` under k
    is suppressed (a segment has no coarser level).

    ``origins`` and ``dests`` (county FIPS codes) keep only the flows leaving
    and arriving at those counties: the corridors of the place in focus.
    ``both_ways`` also keeps the flows from ``dests`` to ``origins``.

    Returns
    -------
    pandas.DataFrame
        ``segment_id``, ``route``, ``kind``, ``length_km``, ``from_lat``,
        ``from_lng``, ``to_lat``, ``to_lng``, ``wkt``, ``load``, ``victims``,
        ``od_pairs``, ``suppressed``, busiest first.
    """
    filters = filters or Filters()
    released = release.reads_release(viewer)
    paths, segments = (release.PATHS_TABLE, release.SEGMENTS_TABLE) if released else ("corridor_paths", "corridor_segments")
    weight = compose("p.weight") if released else compose("1")  # the release splits a county pair over its anchors' routes
    # the release routes an out-of-state origin by its entry point's paths (``MX`` by ``@san_ysidro``)
    origin = compose("e.origin_id")
    path_origin, path_params = release.path_origin_sql(origin) if released else (origin, [])
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        edges, params = _released_edges_sql(c, filters, "county") if released else _edges_sql(c, filters, "county")
        geo, geo_params = _geo_where(filters, prefix="dest_")
        focus, focus_params = _focus_where(origins, dests, both_ways=both_ways)
        frame = c.execute(compose("""
            WITH e AS (
                SELECT origin_id, dest_id, sum(records)::BIGINT AS records, sum(victims)::BIGINT AS victims
                FROM ({edges}) WHERE {geo} AND {focus} GROUP BY origin_id, dest_id
            ),
            geometry AS (
                SELECT DISTINCT segment_id, route, kind, length_km, from_lat, from_lng, to_lat, to_lng, wkt
                FROM {segments}
            )
            -- rounded to 6 places first: a sum of shares that lands on .5 rounds the same whatever the sum's order
            SELECT g.*, round(round(sum(e.records * {weight}), 6))::BIGINT AS load, sum(e.victims)::BIGINT AS victims,
                count(DISTINCT (e.origin_id, e.dest_id)) AS od_pairs
            FROM e JOIN {paths} AS p ON p.origin_id = {path_origin} AND p.dest_id = e.dest_id
            JOIN geometry AS g ON g.segment_id = p.segment_id
            GROUP BY ALL
        """, edges=edges, geo=geo, focus=focus, segments=ident(segments), weight=weight, paths=ident(paths),
            path_origin=path_origin), [*params, *geo_params, *focus_params, *path_params]).df()
    if released:  # the release routes records, not victims
        frame = frame[frame["load"] > 0].reset_index(drop=True)
        frame["victims"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    out = suppression.suppress_small_counts(frame, k=viewer.k, count_columns=["load", "victims"], complementary=not released)
    out["od_pairs"] = out["od_pairs"].astype("Int64").mask(out["suppressed"])
    out = out.assign(_v=out["load"].astype("Float64").fillna(-1)).sort_values(
        ["_v", "segment_id"], ascending=[False, True], kind="stable"
    ).drop(columns="_v")
    return out.reset_index(drop=True)


def _focus_where(origins: Sequence[str] | None, dests: Sequence[str] | None, *, both_ways: bool) -> tuple[str, list[object]]:
    """``origin_id``/``dest_id`` limited to county codes (either side may be open)."""

    def one_way(o: Sequence[str] | None, d: Sequence[str] | None) -> tuple[SQL, list[object]]:
        clauses: list[SQL] = []
        params: list[object] = []
        for column, values in ((compose("origin_id"), o), (compose("dest_id"), d)):
            if values is not None:
                clauses.append(compose("{column} IN ({marks})", column=column, marks=placeholders(len(values)))
                               if values else compose("FALSE"))
                params.extend(values)
        return (join(clauses, " AND ") or compose("TRUE")), params

    there, params = one_way(origins, dests)
    if not both_ways:
        return compose("({there})", there=there), params
    back, back_params = one_way(dests, origins)
    return compose("(({there}) OR ({back}))", there=there, back=back), [*params, *back_params]


def segment_flows(
    viewer: Viewer,
    filters: Filters | None = None,
    *,
    segment_id: int,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The county-to-county flows routed over highway segment ``segment_id``.

    The rows of :func:`flow_edges` at county level (protected as there: a flow
    under k is rolled up to its region and so is on no segment) whose path
    (``corridor_paths``) uses the segment, busiest first, with ``share``: the
    part of the flow routed over the segment. An exact path carries a whole
    pair (1.0); the release splits a pair over the routes between its counties'
    anchors, and the segment's load in :func:`corridor_loads` is the sum of
    ``records × share``.
    """
    filters = filters or Filters()
    released = release.reads_release(viewer)
    paths = release.PATHS_TABLE if released else "corridor_paths"
    share = SQL("sum(weight)" if released else "1.0")
    with _connection(viewer, con) as c:
        edges = flow_edges(viewer, filters, level="county", con=c)
        pairs = c.execute(
            compose("SELECT origin_id, dest_id, least({share}, 1.0)::DOUBLE AS share FROM {paths}"
                    " WHERE segment_id = ? GROUP BY origin_id, dest_id", share=share, paths=ident(paths)),
            [int(segment_id)],
        ).df()
    edges = edges[edges["level"].eq("county")]
    if released:  # an out-of-state origin's share is its entry point's (the paths are keyed by entry)
        keyed = edges.assign(_path=release.path_origins(edges["origin_id"]))
        over = keyed.merge(pairs.rename(columns={"origin_id": "_path"}), on=["_path", "dest_id"]).drop(columns="_path")
    else:
        over = edges.merge(pairs, on=["origin_id", "dest_id"], how="inner")
    return _order(over)


# ------------------------------------------------------------------ coordination


def coordination_pairs(
    viewer: Viewer,
    filters: Filters | None = None,
    *,
    level: str = "region",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """In-state flows between different task forces, ranked, naming both task forces.

    Geographic filters keep pairs with either end in the selection (a lead sees
    the neighbours of their own task force).

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``level``, ``origin_id``, ``origin_name``, ``dest_id``,
        ``dest_name``, ``origin_task_force``, ``origin_task_force_name``,
        ``dest_task_force``, ``dest_task_force_name``, ``records``, ``victims``,
        ``tips``, ``confirmed``, ``sources``, ``suppressed``; shown pairs ranked by
        ``records`` (suppressed pairs after them, without a rank).
    """
    check_level(level, allowed=COORDINATION_LEVELS)
    filters = filters or Filters()
    keys = {"county": "county_fips", "region": "region", "task_force": "task_force"}[level]
    origin_key, dest_key = ident(f"origin_{keys}"), ident(f"dest_{keys}")
    released = release.reads_release(viewer)
    with _connection(viewer, con) as c:
        _guard(c, viewer, filters)
        edges, params = _released_edges_sql(c, filters, "county") if released else _edges_sql(c, filters, "county")
        dest_geo, dest_params = _geo_where(filters, prefix="dest_")
        origin_geo, origin_params = _geo_where(filters, prefix="origin_")
        frame = c.execute(compose("""
            SELECT {origin_key} AS origin_id, {dest_key} AS dest_id,
                origin_task_force, dest_task_force,
                sum(records)::BIGINT AS records, sum(victims)::BIGINT AS victims,
                sum(tips)::BIGINT AS tips, sum(confirmed)::BIGINT AS confirmed,
                bit_count(bit_or(source_bits)) AS n_sources
            FROM ({edges})
            WHERE origin_kind = 'county' AND origin_task_force IS DISTINCT FROM dest_task_force
              AND (({dest_geo}) OR ({origin_geo}))
            GROUP BY ALL
        """, origin_key=origin_key, dest_key=dest_key, edges=edges, dest_geo=dest_geo, origin_geo=origin_geo),
            [*params, *dest_params, *origin_params]).df()
    areas = area_places()
    kind = "county" if level == "county" else level
    names = areas[areas["kind"] == kind].set_index("id")["name"]
    tf_names = areas[areas["kind"] == "task_force"].set_index("id")["name"]
    frame["origin_name"] = frame["origin_id"].map(names)
    frame["dest_name"] = frame["dest_id"].map(names)
    frame["origin_task_force_name"] = frame["origin_task_force"].map(tf_names)
    frame["dest_task_force_name"] = frame["dest_task_force"].map(tf_names)
    if released:
        frame = frame[frame["records"] > 0].reset_index(drop=True)
    out = suppression.suppress_small_counts(frame, k=viewer.k, count_columns=["records", "victims", "tips", "confirmed"],
                                            complementary=not released)
    out["sources"] = out["n_sources"].astype("Int64").mask(out["suppressed"])
    if released:  # the release measures records and types only
        out["victims"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["sources"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["level"] = level
    out = _order(out)
    out["rank"] = pd.array(np.where(out["suppressed"], np.nan, np.arange(1, len(out) + 1)), dtype="Float64").astype("Int64")
    columns = [
        "rank", "level", "origin_id", "origin_name", "dest_id", "dest_name",
        "origin_task_force", "origin_task_force_name", "dest_task_force", "dest_task_force_name",
        "records", "victims", "tips", "confirmed", "sources", "suppressed",
    ]
    return out[columns]


# ------------------------------------------------------------------ route shifts


def route_shifts(
    viewer: Viewer,
    *,
    level: str = "county",
    trafficking_type: str = "all",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """New, growing, steady, fading and gone edges (or highway segments).

    ``level`` is ``county``, ``region``, ``task_force`` (edges) or ``segment``.
    ``recent`` and ``baseline`` are protected one by one; when either is hidden,
    the rates, ratio and p-values (which would give it back) are blank too, but
    the ``shift`` class is kept.

    Returns
    -------
    pandas.DataFrame
        The columns of ``route_shifts`` (see ``pipelines/build/flows.py``) plus
        ``suppressed``; changes first (``new``, ``growing``, ``fading``,
        ``gone``, then ``steady``), largest recent first.
    """
    check_level(level, allowed=SHIFT_LEVELS)
    kind = "segment" if level == "segment" else "edge"
    if release.reads_release(viewer):
        with _connection(viewer, con) as c:
            frame = _released_shifts_once(c, level=level, trafficking_type=trafficking_type)
    else:
        with _connection(viewer, con) as c:
            frame = c.execute(
                "SELECT * FROM route_shifts WHERE kind = ? AND level = ? AND trafficking_type = ?",
                [kind, level, trafficking_type],
            ).df()
    out = suppression.suppress_small_counts(frame, k=viewer.k, count_columns=["recent", "baseline"],
                                            complementary=not release.reads_release(viewer))
    either = out["recent"].isna() | out["baseline"].isna()
    for column in ("recent_per_month", "baseline_per_month", "rate_ratio", "p_value", "q_value"):
        out[column] = out[column].astype("Float64").mask(either)
    order = {"new": 0, "growing": 1, "fading": 2, "gone": 3, "steady": 4}
    out = out.assign(
        _o=out["shift"].map(order), _v=out["recent"].astype("Float64").fillna(-1)
    ).sort_values(["_o", "_v"], ascending=[True, False], kind="stable").drop(columns=["_o", "_v"])
    return out.reset_index(drop=True)


def _released_year_counts(
    con: duckdb.DuckDBPyConnection, filters: Filters, *, level: str
) -> pd.DataFrame:
    """Released flow records of one period per edge (``origin_id``, ``dest_id``) or per segment (``segment_id``, ``route``)."""
    if level != "segment":
        frame = release.edges(con, filters, level)
        return frame.groupby(["origin_id", "dest_id"], as_index=False)["records"].sum()
    edges, params = _released_edges_sql(con, filters, "county")
    path_origin, path_params = release.path_origin_sql(compose("e.origin_id"))
    return con.execute(compose("""
        WITH e AS (SELECT origin_id, dest_id, sum(records)::BIGINT AS records FROM ({edges}) GROUP BY ALL),
        geometry AS (SELECT DISTINCT segment_id, route FROM {segments})
        SELECT g.segment_id, g.route, round(round(sum(e.records * p.weight), 6))::BIGINT AS records
        FROM e JOIN {paths} AS p ON p.origin_id = {path_origin} AND p.dest_id = e.dest_id
        JOIN geometry AS g ON g.segment_id = p.segment_id
        GROUP BY ALL
    """, edges=edges, segments=ident(release.SEGMENTS_TABLE), paths=ident(release.PATHS_TABLE),
        path_origin=path_origin), [*params, *path_params]).df()


_SHIFTS_MEMO: OrderedDict[tuple[str, str, str], pd.DataFrame] = OrderedDict()
_SHIFTS_MEMO_ENTRIES = 16


def _released_shifts_once(con: duckdb.DuckDBPyConnection, *, level: str, trafficking_type: str) -> pd.DataFrame:
    """:func:`_released_shifts`, computed once per read-only snapshot, level and type (a copy each call).

    They depend on the release alone (no filter), and their exact binomial tests
    cost about 0.35 s per view at 10 M records (918 segment tests; ``bench/RESULTS.md``),
    the slowest part of the Flows page there.
    """
    snapshot = _snapshot_path(con)
    if snapshot is None:
        return _released_shifts(con, level=level, trafficking_type=trafficking_type)
    key = (snapshot, level, trafficking_type)
    with _MEMO_LOCK:
        frame = _SHIFTS_MEMO.get(key)
        if frame is not None:
            _SHIFTS_MEMO.move_to_end(key)
    if frame is None:
        frame = _released_shifts(con, level=level, trafficking_type=trafficking_type)
        with _MEMO_LOCK:
            _SHIFTS_MEMO[key] = frame
            while len(_SHIFTS_MEMO) > _SHIFTS_MEMO_ENTRIES:
                _SHIFTS_MEMO.popitem(last=False)
    return frame.copy()


def _released_shifts(con: duckdb.DuckDBPyConnection, *, level: str, trafficking_type: str) -> pd.DataFrame:
    """Route shifts from released flows only (post-processing: no budget, no read of ``records``).

    The release counts flows per year, so the recent window is the release's
    last year (up to its last month) and the baseline the year before (from the
    release's first month at the earliest); edges and segments are then classed
    exactly as the build classes exact counts (``pipelines.build.flows.classify_shifts``).
    """
    from pipelines.build.flows import shifts_frame  # pure: classes counts, writes nothing

    release.require(con, release.FLOWS_TABLE)
    span = release.month_range(con)
    if span is None or span[1].year == span[0].year:
        return pd.DataFrame(columns=list(_SHIFT_COLUMNS))
    first, last = span
    recent_start, baseline_start = date(last.year, 1, 1), max(date(last.year - 1, 1, 1), first)
    recent_end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    windows: dict[str, date | int] = {
        "recent_start": recent_start, "recent_end": recent_end,
        "baseline_start": baseline_start, "baseline_end": date(last.year - 1, 12, 31),
        "recent_days": (recent_end - recent_start).days + 1, "baseline_days": (recent_start - baseline_start).days,
    }
    types = () if trafficking_type == "all" else (trafficking_type,)
    keys = ["segment_id", "route"] if level == "segment" else ["origin_id", "dest_id"]
    recent = _released_year_counts(con, Filters(start=last, end=last, trafficking_types=types), level=level)
    baseline = _released_year_counts(con, Filters(start=baseline_start, end=baseline_start, trafficking_types=types), level=level)
    counts = recent.merge(baseline, on=keys, how="outer", suffixes=("_recent", "_baseline"))
    counts["recent"] = counts.pop("records_recent").fillna(0).astype("int64")
    counts["baseline"] = counts.pop("records_baseline").fillna(0).astype("int64")
    counts = counts[counts["recent"] + counts["baseline"] > 0].reset_index(drop=True)
    counts["kind"] = "segment" if level == "segment" else "edge"
    counts["level"], counts["trafficking_type"] = level, trafficking_type
    if level != "segment":
        names = area_places().drop_duplicates("id").set_index("id")["name"]
        outside = outside_places([i for i in counts["origin_id"] if i not in names.index])
        names = pd.concat([names, outside.set_index("id")["name"]])
        counts["origin_name"] = counts["origin_id"].map(names)
        counts["dest_name"] = counts["dest_id"].map(names)
    return shifts_frame(counts, windows)
