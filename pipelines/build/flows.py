"""Build step: point-source → destination-source flows and what derives from them.

A **flow record** is a record with both a destination in California and an origin
(a California county, or a state or country outside it). Where each end sits at
each level (H3 res 4/5/6, county, region, task force, border entry point) is
defined once in :mod:`geo.flow_places`.

Tables (all rebuilt from scratch; building twice gives the same tables):

``flows``
    One row per edge: ``level`` (``res6``, ``res5``, ``res4``, ``county``,
    ``region``, ``task_force``) × ``month`` × ``trafficking_type`` × origin ×
    destination.

    - ``origin_id``, ``origin_kind`` (``cell``, ``county``, ``region``,
      ``task_force``, ``state``, ``country``), ``origin_name``, ``origin_lat``,
      ``origin_lng`` (where to draw it: cell centre, area centroid, or the border
      entry point), ``origin_cell`` (BIGINT, cell levels), ``origin_county_fips``,
      ``origin_region``, ``origin_task_force`` (the records' own areas, kept at
      the levels where they are single-valued, so the query layer can filter and
      roll up), ``origin_entry`` (entry point id of an out-of-state origin),
      ``origin_state``, ``origin_country`` (out-of-state origins only);
    - ``dest_id``, ``dest_kind``, ``dest_name``, ``dest_lat``, ``dest_lng``,
      ``dest_cell``, ``dest_county_fips``, ``dest_region``, ``dest_task_force``;
    - counts: ``records``, ``victims`` (sum of ``victim_count``), ``minors``,
      ``tips``, ``incidents``, ``recoveries``, ``services``, ``confirmed``
      (incidents + recoveries);
    - corroboration: ``sources`` (distinct supporting sources), ``source_ids``
      and ``source_bits`` (a ``BIT`` with bit ``i`` set for source ``i`` of
      ``flow_sources``: what the query layer combines when it rolls edges up);
    - indicators: ``n_<indicator>`` (records with it) and ``share_<indicator>``
      (``n_<indicator> / records``) for each of
      :data:`routes.contract.flow_tables.FLOW_INDICATORS`.

    At the cell levels only records whose in-state ends have a cell count
    (county-only precision is never shown as a cell).

``flow_facts``
    The flow records grouped by every filter dimension and every end at every
    level (:data:`routes.contract.flow_tables.FACT_KEYS`: ``month``, ``trafficking_type``,
    ``record_type``, ``source_id``, ``source_bit``, ``source_kind``, ``indicator_mask``,
    ``ind_minor``, the origin's outside id, entry, state, country, county,
    region, task force and cells at res 4/5/6, the destination's county, region,
    task force and cells), with ``n`` (records) and ``victims``; sorted by record type, then month.
    ``flows`` keeps neither record type, source kind nor indicators, so the
    query layer re-aggregates this table under such filters
    (:func:`routes.contract.flow_tables.sql_fact_records`) instead of ``records``.

``flow_area_facts``
    ``flow_facts`` summed over the cells (its keys without ``o_cell*`` and
    ``d_cell*``): what the county, region and task-force levels re-aggregate.

``flow_area_cube``
    The flow records at the area levels (county, region, task force ends) per
    ``month``, ``trafficking_type``, ``record_type``, ``source_kind`` and origin
    and destination, counted once with ``indicator`` NULL and once more under
    each indicator their list holds: ``records``, ``victims``, ``minors``,
    ``n_<indicator>``, ``source_bits``. A filter naming at most one indicator
    reads a slice of it (:func:`routes.contract.flow_tables.sql_flow_area_cube`).

``flow_res4_cube``
    The same per H3 res 4 cell of both ends (the rows with a res 4 edge), for
    the statewide cell map under such filters
    (:func:`routes.contract.flow_tables.sql_flow_cell_cube`).

``flows_all_time``, ``flow_facts_all_time``, ``flow_area_cube_all_time``, ``flow_res4_cube_all_time``
    ``flows``, ``flow_facts``, ``flow_area_cube`` and ``flow_res4_cube`` summed
    over their months (:func:`routes.contract.flow_tables.sql_all_time`): the same keys and
    counts but no ``month`` (and ``flows_all_time`` without the names, places,
    source lists and shares ``flows`` derives). What a view of the whole period,
    the app's default, reads: a third of the facts' rows, a tenth of the others'.

``flow_sources``
    ``bit``, ``source_id``: the sources of records, sorted by id; bit
    ``bit`` of ``source_bits`` (and ``source_bit`` of ``flow_facts``) stands
    for that source.

``location_totals``
    Per ``level``, ``month``, ``trafficking_type`` and place (``location_id``,
    ``location_kind``, ``name``, ``lat``, ``lng``, ``county_fips``, ``region``,
    ``task_force``): ``incoming`` (flow records ending here from elsewhere),
    ``outgoing`` (starting here, ending elsewhere) and ``internal`` (starting
    and ending here). Out-of-state origins have outgoing only.

``coordination_pairs``
    In-state flows whose two ends lie in different task forces, per ``level``
    (``county``, ``region``, ``task_force``), ``month`` and ``trafficking_type``:
    ``origin_id``, ``origin_name``, ``dest_id``, ``dest_name``,
    ``origin_task_force``, ``origin_task_force_name``, ``dest_task_force``,
    ``dest_task_force_name``, ``records``, ``victims``, ``tips``, ``confirmed``,
    ``sources``, ``source_ids``. The query layer ranks them for the chosen period.

``route_shifts``
    Whether each edge (``kind='edge'``; levels ``county``, ``region``,
    ``task_force``) and, written by ``pipelines/build/corridors.py``, each highway
    segment (``kind='segment'``) changed: the **recent** window (the last
    :data:`RECENT_MONTHS` months of data, up to ``data_as_of``) against the
    **baseline** (the :data:`BASELINE_MONTHS` months before it, cut to where the
    data starts). Columns: ``kind``, ``level``, ``trafficking_type`` (each type
    and ``all``), ``origin_id``, ``origin_name``, ``dest_id``, ``dest_name``,
    ``segment_id``, ``route``, ``recent_start``, ``recent_end``,
    ``baseline_start``, ``baseline_end``, ``recent_days``, ``baseline_days``,
    ``recent`` and ``baseline`` (records, or segment load), ``recent_per_month``,
    ``baseline_per_month``, ``rate_ratio``, ``p_value``, ``q_value``, ``shift``.

    The test is exact: given ``n = recent + baseline`` events from a Poisson
    process with one rate, ``recent ~ Binomial(n, recent_days / (recent_days +
    baseline_days))`` (the conditional test of two Poisson counts;
    :func:`scipy.stats.binomtest`, two-sided). ``q_value`` is the
    Benjamini-Hochberg adjustment over all rows of one kind, level and type.
    ``shift``: ``steady`` when ``q_value > ALPHA`` (no change beyond noise), else
    ``new`` (no baseline), ``gone`` (nothing recent), ``growing`` or ``fading``.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from geo import highways
from geo.flow_places import area_places, cell_places, outside_places, sql_flow_records
from pipelines.build import table_timer
from routes.contract.flow_tables import (
    ALL_TIME_TABLES,
    AREA_FACTS_TABLE,
    CELL_CUBE_TABLE,
    CUBE_TABLE,
    FACTS_TABLE,
    FLOW_INDICATORS,
    FLOW_LEVELS,
    FLOWS_TABLE,
    SOURCES_TABLE,
    sql_all_time,
    sql_flow_area_cube,
    sql_flow_area_facts,
    sql_flow_cell_cube,
    sql_flow_facts,
    sql_level_edges,
    sql_with_source_bits,
)
from routes.contract.sql import SQL, compose, ident, join, vocabulary_literal

log = logging.getLogger(__name__)

TABLES = ("flows", "flow_facts", "flow_area_facts", "flow_area_cube", "flow_res4_cube", *ALL_TIME_TABLES.values(), "flow_sources", "location_totals", "coordination_pairs", "route_shifts")

#: The recent window and the trailing baseline of :func:`classify_shifts`, in months.
RECENT_MONTHS = 3
BASELINE_MONTHS = 12

#: False-discovery rate under which a change counts as more than noise.
ALPHA = 0.05

#: Levels whose edges are tested for shifts.
SHIFT_LEVELS = ("county", "region", "task_force")

_DAYS_PER_MONTH = 365.25 / 12


def share_of(count: SQL, total: SQL) -> SQL:
    """``count / total`` to 4 decimals, half up, by the IEEE operations both engines share.

    Not ``round()``, whose halves DuckDB and Spark settle differently (see
    ``pipelines.build.corridors._rounded``); for a positive share this is what
    DuckDB's ``round(x, 4)`` gives.
    """
    return compose("floor({count} / {total} * 10000 + 0.5) / 10000", count=count, total=total)


#: ``flows``: the edges of every level (``_flow_edges``) with the names and coordinates
#: of their ends (``_flow_places``) and the indicator shares. Both engines run this text.
FLOWS_SELECT = compose("""
    SELECT e.level, e.month, e.trafficking_type,
        e.origin_id, e.origin_kind, po.name AS origin_name, po.lat AS origin_lat, po.lng AS origin_lng,
        e.origin_cell, e.origin_county_fips, e.origin_region, e.origin_task_force,
        e.origin_entry, e.origin_state, e.origin_country,
        e.dest_id, e.dest_kind, pd.name AS dest_name, pd.lat AS dest_lat, pd.lng AS dest_lng,
        e.dest_cell, e.dest_county_fips, e.dest_region, e.dest_task_force,
        e.records, e.victims, e.minors, e.tips, e.incidents, e.recoveries, e.services,
        e.confirmed, e.sources, e.source_ids, e.source_bits,
        {counts},
        {shares}
    FROM _flow_edges AS e
    LEFT JOIN _flow_places AS po ON po.id = e.origin_id AND po.kind = e.origin_kind
    LEFT JOIN _flow_places AS pd ON pd.id = e.dest_id AND pd.kind = e.dest_kind
""", counts=join((compose("e.{n}", n=ident(f"n_{n}")) for n in FLOW_INDICATORS), ", "),
    shares=join((compose("{share} AS {name}", share=share_of(compose("e.{n}", n=ident(f"n_{n}")), SQL("e.records")),
                         name=ident(f"share_{n}")) for n in FLOW_INDICATORS), ", "))


def flow_place_ids(outside: list[str], cells: list[str]) -> pd.DataFrame:
    """``_flow_places`` (kind, id, name, lat, lng): the areas, and the ``outside`` origins and ``cells`` named."""
    return pd.concat([area_places(), outside_places(outside), cell_places(cells)], ignore_index=True)


#: The out-of-state origins and the cells among ``_flow_edges``' ends (both engines run these).
OUTSIDE_ENDS_SQL = "SELECT DISTINCT origin_id FROM _flow_edges WHERE origin_kind IN ('state', 'country')"
CELL_ENDS_SQL = (
    "SELECT DISTINCT origin_id FROM _flow_edges WHERE origin_kind = 'cell' "
    "UNION SELECT DISTINCT dest_id FROM _flow_edges WHERE dest_kind = 'cell'"
)


def _register_places(con: duckdb.DuckDBPyConnection) -> None:
    """Register ``_flow_places`` (kind, id, name, lat, lng) for every end in ``_flow_edges``."""
    outside = [r[0] for r in con.execute(OUTSIDE_ENDS_SQL).fetchall()]
    cells = [r[0] for r in con.execute(CELL_ENDS_SQL).fetchall()]
    con.register("_flow_places", flow_place_ids(outside, cells))


def _build_flows(con: duckdb.DuckDBPyConnection) -> int:
    con.register("flow_entry_candidates", highways.entry_candidates())
    con.execute(compose("DROP TABLE IF EXISTS {sources}", sources=ident(SOURCES_TABLE)))
    con.execute(compose("""
        CREATE TABLE {sources} AS
        SELECT (row_number() OVER (ORDER BY source_id) - 1)::INTEGER AS bit, source_id
        FROM (SELECT DISTINCT source_id FROM records)
    """, sources=ident(SOURCES_TABLE)))
    bits = _rows(con, SOURCES_TABLE)
    records = sql_with_source_bits(compose("({rows})", rows=sql_flow_records()))
    con.execute(compose("CREATE OR REPLACE TEMP TABLE _flow_records AS {records}", records=records))
    # each reads the one before it or _flow_records; the cubes need the number of source bits
    for table, sql in (
        (FACTS_TABLE, sql_flow_facts()),
        (AREA_FACTS_TABLE, sql_flow_area_facts()),
        (CUBE_TABLE, sql_flow_area_cube(bits)),
        (CELL_CUBE_TABLE, sql_flow_cell_cube(bits)),
        *((ALL_TIME_TABLES[t], sql_all_time(t)) for t in (FACTS_TABLE, CUBE_TABLE, CELL_CUBE_TABLE)),
    ):
        with table_timer(table):
            con.execute(compose("CREATE OR REPLACE TABLE {table} AS {sql}", table=ident(table), sql=sql))
    union = join((sql_level_edges(level, bits=bits) for level in FLOW_LEVELS), "\nUNION ALL\n")
    con.execute(compose("CREATE OR REPLACE TEMP TABLE _flow_edges AS {union}", union=union))
    _register_places(con)
    con.execute("DROP TABLE IF EXISTS flows")
    con.execute(compose("CREATE TABLE flows AS {select}", select=FLOWS_SELECT))
    con.execute("DROP TABLE _flow_edges")
    con.execute("DROP TABLE _flow_records")
    con.unregister("_flow_places")
    with table_timer(ALL_TIME_TABLES[FLOWS_TABLE]):
        con.execute(compose("CREATE OR REPLACE TABLE {table} AS {sql}",
                            table=ident(ALL_TIME_TABLES[FLOWS_TABLE]), sql=sql_all_time(FLOWS_TABLE)))
    return _rows(con, FLOWS_TABLE)


#: ``location_totals`` from ``flows``; both engines run this text.
LOCATION_TOTALS_SELECT = SQL("""
        WITH ends AS (
            SELECT level, month, trafficking_type, origin_id AS location_id, origin_kind AS location_kind,
                origin_name AS name, origin_lat AS lat, origin_lng AS lng,
                origin_county_fips AS county_fips, origin_region AS region, origin_task_force AS task_force,
                0 AS incoming, records AS outgoing, 0 AS internal
            FROM flows WHERE origin_id <> dest_id
            UNION ALL
            SELECT level, month, trafficking_type, dest_id, dest_kind, dest_name, dest_lat, dest_lng,
                dest_county_fips, dest_region, dest_task_force,
                records, 0, 0
            FROM flows WHERE origin_id <> dest_id
            UNION ALL
            SELECT level, month, trafficking_type, dest_id, dest_kind, dest_name, dest_lat, dest_lng,
                dest_county_fips, dest_region, dest_task_force,
                0, 0, records
            FROM flows WHERE origin_id = dest_id
        )
        SELECT level, month, trafficking_type, location_id, location_kind, name, lat, lng,
            county_fips, region, task_force,
            sum(incoming)::BIGINT AS incoming, sum(outgoing)::BIGINT AS outgoing,
            sum(internal)::BIGINT AS internal
        FROM ends
        GROUP BY ALL
""")


def _build_location_totals(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("DROP TABLE IF EXISTS location_totals")
    con.execute(compose("CREATE TABLE location_totals AS {select}", select=LOCATION_TOTALS_SELECT))
    return _rows(con, "location_totals")


def coordination_pairs_select() -> SQL:
    """``coordination_pairs`` from ``flows`` and ``_areas`` (:func:`geo.flow_places.area_places`); both engines run it."""
    selects = []
    for level, o_expr, d_expr in (
        ("county", SQL("f.origin_county_fips"), SQL("f.dest_county_fips")),
        ("region", SQL("f.origin_region"), SQL("f.dest_region")),
        ("task_force", SQL("f.origin_task_force"), SQL("f.dest_task_force")),
    ):
        selects.append(compose("""
        SELECT {level} AS level, f.month, f.trafficking_type,
            {o_expr} AS origin_id, {d_expr} AS dest_id,
            f.origin_task_force, f.dest_task_force,
            sum(f.records)::BIGINT AS records, sum(f.victims)::BIGINT AS victims,
            sum(f.tips)::BIGINT AS tips, sum(f.confirmed)::BIGINT AS confirmed,
            list_sort(list_distinct(flatten(list(f.source_ids)))) AS source_ids
        FROM flows AS f
        WHERE f.level = 'county' AND f.origin_kind = 'county'
          AND f.origin_task_force IS DISTINCT FROM f.dest_task_force
        GROUP BY ALL""", level=vocabulary_literal(level, FLOW_LEVELS), o_expr=o_expr, d_expr=d_expr))
    return compose("""
        WITH pairs AS ({pairs})
        SELECT p.level, p.month, p.trafficking_type,
            p.origin_id, ao.name AS origin_name, p.dest_id, ad.name AS dest_name,
            p.origin_task_force, tfo.name AS origin_task_force_name,
            p.dest_task_force, tfd.name AS dest_task_force_name,
            p.records, p.victims, p.tips, p.confirmed,
            len(p.source_ids) AS sources, p.source_ids
        FROM pairs AS p
        LEFT JOIN _areas AS ao ON ao.id = p.origin_id AND ao.kind = CASE p.level WHEN 'county' THEN 'county' WHEN 'region' THEN 'region' ELSE 'task_force' END
        LEFT JOIN _areas AS ad ON ad.id = p.dest_id AND ad.kind = ao.kind
        LEFT JOIN _areas AS tfo ON tfo.id = p.origin_task_force AND tfo.kind = 'task_force'
        LEFT JOIN _areas AS tfd ON tfd.id = p.dest_task_force AND tfd.kind = 'task_force'
    """, pairs=join(selects, " UNION ALL "))


def _build_coordination_pairs(con: duckdb.DuckDBPyConnection) -> int:
    con.register("_areas", area_places())
    con.execute("DROP TABLE IF EXISTS coordination_pairs")
    con.execute(compose("CREATE TABLE coordination_pairs AS {select}", select=coordination_pairs_select()))
    con.unregister("_areas")
    return _rows(con, "coordination_pairs")


def shift_windows(con: duckdb.DuckDBPyConnection) -> dict[str, date | int] | None:
    """The recent and baseline windows of the data in ``records``; ``None`` when too short.

    Keys: ``recent_start``, ``recent_end``, ``baseline_start``, ``baseline_end``,
    ``recent_days``, ``baseline_days``.
    """
    return shift_windows_of(con.execute(WINDOWS_SQL).fetchall()[0])


#: The first and last day of data and the first day of the recent window, from ``records``.
WINDOWS_SQL = compose("""
    SELECT min(occurred_at)::DATE, max(occurred_at)::DATE,
           date_trunc('month', max(occurred_at))::DATE - INTERVAL {months} MONTH
    FROM records WHERE occurred_at IS NOT NULL
""", months=RECENT_MONTHS - 1)


def shift_windows_of(row: tuple[Any, ...] | None) -> dict[str, date | int] | None:
    """:func:`shift_windows` from the row of :data:`WINDOWS_SQL` (either engine's)."""
    if row is None or row[0] is None:
        return None
    first, last, recent_start = row[0], row[1], pd.Timestamp(row[2]).date()
    baseline_start = (pd.Timestamp(recent_start) - pd.DateOffset(months=BASELINE_MONTHS)).date()
    effective = max(baseline_start, first)
    baseline_days = (recent_start - effective).days
    if baseline_days <= 0:
        return None
    return {
        "recent_start": recent_start,
        "recent_end": last,
        "baseline_start": effective,
        "baseline_end": (pd.Timestamp(recent_start) - pd.Timedelta(days=1)).date(),
        "recent_days": (last - recent_start).days + 1,
        "baseline_days": baseline_days,
    }


def _benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def classify_shifts(
    frame: pd.DataFrame, *, recent_days: int, baseline_days: int, group: list[str] | None = None
) -> pd.DataFrame:
    """Add ``recent_per_month``, ``baseline_per_month``, ``rate_ratio``, ``p_value``, ``q_value``, ``shift``.

    ``frame`` has integer columns ``recent`` and ``baseline``; ``group`` names
    the columns within which q-values are adjusted.

    >>> f = pd.DataFrame({"recent": [30, 0, 5, 0], "baseline": [10, 40, 20, 3]})
    >>> classify_shifts(f, recent_days=90, baseline_days=365)["shift"].tolist()
    ['growing', 'gone', 'steady', 'steady']
    """
    out = frame.copy()
    recent = out["recent"].to_numpy(dtype=np.int64)
    baseline = out["baseline"].to_numpy(dtype=np.int64)
    p0 = recent_days / (recent_days + baseline_days)
    pairs = pd.unique(pd.Series(list(zip(recent.tolist(), (recent + baseline).tolist(), strict=True))))
    pvalue = {
        (r, n): (stats.binomtest(r, n, p0).pvalue if n > 0 else 1.0) for r, n in pairs
    }
    out["p_value"] = [pvalue[(r, r + b)] for r, b in zip(recent.tolist(), baseline.tolist(), strict=True)]
    out["q_value"] = np.nan
    for _, index in (out.groupby(group, sort=False).groups.items() if group else [(None, out.index)]):
        out.loc[index, "q_value"] = _benjamini_hochberg(out.loc[index, "p_value"].to_numpy(dtype=float))
    recent_rate = recent / recent_days * _DAYS_PER_MONTH
    baseline_rate = baseline / baseline_days * _DAYS_PER_MONTH
    out["recent_per_month"] = recent_rate.round(3)
    out["baseline_per_month"] = baseline_rate.round(3)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_ratio"] = np.where(baseline > 0, recent_rate / np.where(baseline > 0, baseline_rate, 1), np.nan).round(3)
    significant = out["q_value"].to_numpy() <= ALPHA
    shift = np.where(recent_rate > baseline_rate, "growing", "fading").astype(object)
    shift[baseline == 0] = "new"
    shift[recent == 0] = "gone"
    shift[~significant] = "steady"
    out["shift"] = shift
    return out


#: Columns of ``route_shifts``, in order (segment rows fill ``segment_id`` and ``route``).
SHIFT_COLUMNS = [
    "kind", "level", "trafficking_type", "origin_id", "origin_name", "dest_id", "dest_name",
    "segment_id", "route", "recent_start", "recent_end", "baseline_start", "baseline_end",
    "recent_days", "baseline_days", "recent", "baseline", "recent_per_month",
    "baseline_per_month", "rate_ratio", "p_value", "q_value", "shift",
]


def shifts_frame(counts: pd.DataFrame, windows: dict[str, date | int]) -> pd.DataFrame:
    """Classify ``counts`` (``kind``, ``level``, ``trafficking_type``, ``recent``,
    ``baseline`` and identifying columns) into rows of :data:`SHIFT_COLUMNS`."""
    if counts.empty:
        return pd.DataFrame(columns=SHIFT_COLUMNS)
    out = classify_shifts(
        counts,
        recent_days=int(str(windows["recent_days"])),
        baseline_days=int(str(windows["baseline_days"])),
        group=["kind", "level", "trafficking_type"],
    )
    for key, value in windows.items():
        out[key] = value
    for column in SHIFT_COLUMNS:
        if column not in out.columns:
            out[column] = None
    return out[SHIFT_COLUMNS]


def empty_shifts_sql() -> str:
    """``CREATE TABLE route_shifts`` with no rows (the typed schema)."""
    return """
        CREATE TABLE route_shifts (
            kind VARCHAR, level VARCHAR, trafficking_type VARCHAR,
            origin_id VARCHAR, origin_name VARCHAR, dest_id VARCHAR, dest_name VARCHAR,
            segment_id INTEGER, route VARCHAR,
            recent_start DATE, recent_end DATE, baseline_start DATE, baseline_end DATE,
            recent_days INTEGER, baseline_days INTEGER, recent BIGINT, baseline BIGINT,
            recent_per_month DOUBLE, baseline_per_month DOUBLE, rate_ratio DOUBLE,
            p_value DOUBLE, q_value DOUBLE, shift VARCHAR
        )"""


#: Per edge of :data:`SHIFT_LEVELS` and type (and ``all``): records in the recent window
#: and in the baseline, from ``flows``; parameters :func:`shift_parameters`. Both engines run it.
EDGE_SHIFT_COUNTS_SQL = compose("""
        WITH windowed AS (
            SELECT level, trafficking_type, origin_id, any_value(origin_name) AS origin_name,
                dest_id, any_value(dest_name) AS dest_name,
                sum(records) FILTER (WHERE month >= ?)::BIGINT AS recent,
                sum(records) FILTER (WHERE month < ?)::BIGINT AS baseline
            FROM flows
            WHERE level IN ({levels}) AND month >= date_trunc('month', ?::DATE)
            GROUP BY level, trafficking_type, origin_id, dest_id
        ),
        both_types AS (
            SELECT * FROM windowed
            UNION ALL
            SELECT level, 'all', origin_id, any_value(origin_name), dest_id, any_value(dest_name),
                sum(recent)::BIGINT, sum(baseline)::BIGINT
            FROM windowed GROUP BY level, origin_id, dest_id
        )
        SELECT 'edge' AS kind, level, trafficking_type, origin_id, origin_name, dest_id, dest_name,
            coalesce(recent, 0) AS recent, coalesce(baseline, 0) AS baseline
        FROM both_types
        WHERE coalesce(recent, 0) + coalesce(baseline, 0) > 0
        ORDER BY level, trafficking_type, origin_id, dest_id
""", levels=join((vocabulary_literal(level, FLOW_LEVELS) for level in SHIFT_LEVELS), ", "))


def shift_parameters(windows: dict[str, date | int]) -> list[date | int]:
    """The parameters of :data:`EDGE_SHIFT_COUNTS_SQL` (and the segments' count) for ``windows``."""
    return [windows["recent_start"], windows["recent_start"], windows["baseline_start"]]


def _build_route_shifts(con: duckdb.DuckDBPyConnection) -> int:
    con.execute("DROP TABLE IF EXISTS route_shifts")
    con.execute(empty_shifts_sql())
    windows = shift_windows(con)
    if windows is None:
        return 0
    counts = con.execute(EDGE_SHIFT_COUNTS_SQL, shift_parameters(windows)).df()
    shifts = shifts_frame(counts, windows)
    con.register("_shifts", shifts)
    con.execute("INSERT INTO route_shifts BY NAME SELECT * FROM _shifts")
    con.unregister("_shifts")
    return _rows(con, "route_shifts")


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(compose("SELECT count(*) FROM {table}", table=ident(table))).fetchall()[0]
    return int(row[0]) if row else 0


def build(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild ``flows``, ``flow_facts``, ``flow_sources``, ``location_totals``, ``coordination_pairs``, ``route_shifts``.

    Returns rows per table. Runs inside the build's one snapshot
    (:func:`pipelines.build.build_warehouse`).
    """
    counts: dict[str, int] = {}
    with table_timer("flows"):
        counts["flows"] = _build_flows(con)
    counts[FACTS_TABLE] = _rows(con, FACTS_TABLE)
    counts[AREA_FACTS_TABLE] = _rows(con, AREA_FACTS_TABLE)
    counts[CUBE_TABLE] = _rows(con, CUBE_TABLE)
    counts[CELL_CUBE_TABLE] = _rows(con, CELL_CUBE_TABLE)
    for table in ALL_TIME_TABLES.values():
        counts[table] = _rows(con, table)
    counts[SOURCES_TABLE] = _rows(con, SOURCES_TABLE)
    with table_timer("location_totals"):
        counts["location_totals"] = _build_location_totals(con)
    with table_timer("coordination_pairs"):
        counts["coordination_pairs"] = _build_coordination_pairs(con)
    with table_timer("route_shifts"):
        counts["route_shifts"] = _build_route_shifts(con)
    log.info("Built flows: %s", counts)
    return counts
