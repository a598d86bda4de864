"""Emerging hot spots: Getis-Ord Gi* per period on the H3 grid, trend by Mann-Kendall.

Builds one table, ``hotspot_classes``, the way crime analysts know it from
ArcGIS's *Emerging Hot Spot Analysis*:

1. **Space-time cube.** Records with a destination cell are counted per H3 cell
   (resolutions 5 and 6, parents derived with :func:`geo.grid.sql_cell_to_parent`)
   and per time step (``month`` and ``quarter``). The locations analysed are the
   cells holding at least one record in the window (as ArcGIS does without an
   analysis mask); a location gets a zero in the steps where it had none. Records
   located only to a county have no cell and are left out. The window ends with
   the last *complete* step (a month or quarter still running would look like a
   collapse; "complete" means the data reach its last day: the latest of
   ``meta.data_as_of`` and the records' ``occurred_at`` / ``reported_at``) and
   holds at most :data:`MAX_STEPS` steps.
2. **Gi\\* per step.** Neighbours are the H3 ``grid_disk`` rings around each cell
   (:data:`RINGS`: 1 ring at res 5, about 30 km across; 2 rings at res 6, about
   20 km across) among the locations, turned into a binary
   :class:`libpysal.weights.W` that includes the cell itself. For each step,
   :class:`esda.G_Local` with ``star=True`` gives a z-score per cell; a bin is a
   significant hot (cold) spot when its two-sided p-value passes the
   Benjamini-Hochberg false-discovery-rate cut-off of that step at
   :data:`ALPHA` (ArcGIS applies the same FDR correction) and z > 0 (z < 0).
   A step whose counts are all equal carries no information: every bin gets
   z = 0, p = 1. P-values are analytical (normal), as in ArcGIS; ``permutations``
   switches to esda's conditional-permutation pseudo p-values.
3. **Trend.** The Mann-Kendall test on each location's series of Gi* z-scores
   (the intensity of clustering) gives the trend's z, p and Kendall's tau. It is
   computed for all locations at once by :func:`mann_kendall`, which reproduces
   ``pymannkendall.original_test`` (same S, tie-corrected variance, continuity
   correction, two-sided p; the tests check the two agree) at array speed: calling
   pymannkendall once per location costs about 0.4 ms each, seconds per build.
4. **Pattern.** Each location gets one of :data:`PATTERNS` from its series of
   significant bins (n steps, the final one last):

   ==========================  ==============================================================
   pattern                     the location …
   ==========================  ==============================================================
   ``new_hot_spot``            is hot in the final step and was never significant (hot or
                               cold) before.
   ``consecutive_hot_spot``    is hot in one uninterrupted run of at least two steps ending
                               with the final one, was never significant before that run, and
                               is hot in fewer than 90 % of the steps.
   ``intensifying_hot_spot``   is hot in at least 90 % of the steps including the final one,
                               and the clustering grows: Mann-Kendall trend of Gi* z up and
                               significant.
   ``persistent_hot_spot``     is hot in at least 90 % of the steps including the final one,
                               with no significant trend.
   ``diminishing_hot_spot``    is hot in at least 90 % of the steps including the final one,
                               and the clustering weakens: the trend is down and significant.
   ``sporadic_hot_spot``       is hot in the final step, was hot on and off before (not one
                               final run), in fewer than 90 % of the steps, never cold.
   ``oscillating_hot_spot``    is hot in the final step, was a significant cold spot in some
                               earlier step, and is hot in fewer than 90 % of the steps.
   ``historical_hot_spot``     is not hot in the final step but was hot in at least 90 % of
                               the steps.
   ``…_cold_spot``             the same eight, with hot and cold swapped (an *intensifying*
                               cold spot's z falls, a *diminishing* one's rises).
   ``no_pattern``              none of the above.
   ==========================  ==============================================================

   Where ArcGIS's wording leaves an overlap, the order is: final hot with ≥ 90 % hot
   → intensifying / diminishing / persistent by trend; final hot otherwise →
   oscillating if ever cold before, else new, consecutive, sporadic; final cold
   likewise; final neither → historical hot or cold, else no pattern. This
   matches sfdep's reading of the ArcGIS definitions. One simplification: ArcGIS
   computes a *space-time* Gi* (neighbours in the previous time step too); here
   Gi* is computed per step on the spatial neighbours only.

Columns of ``hotspot_classes``
------------------------------
``res``, ``step``
    H3 resolution (5, 6) and time step (``month``, ``quarter``).
``cell``
    The H3 cell (BIGINT).
``county_fips``, ``region``, ``task_force``
    Where most of the cell's records lie (for the geographic filters).
``pattern``
    One key of :data:`PATTERNS`.
``records``
    Records in the cell over the window (raw: the query layer applies k).
``hot_steps``, ``cold_steps``, ``n_steps``
    Significant hot / cold bins and steps in the window.
``gi_z_last``, ``gi_p_last``
    Gi* z and two-sided p of the final step.
``trend_z``, ``trend_p``, ``trend_tau``
    The Mann-Kendall test of the Gi* z series.
``first_period``, ``last_period``
    First day of the window's first and last steps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import duckdb
import esda
import h3
import numpy as np
import pandas as pd
from libpysal.weights import W
from scipy import stats

from geo import grid
from routes import warehouse
from routes.contract.sql import SQL, compose, idents
from routes.contract.tables import table
from routes.contract.vocabularies import HOTSPOT_PATTERNS

log = logging.getLogger(__name__)

#: Tables this step owns (dropped and recreated on every build).
TABLES = ("hotspot_classes",)

#: H3 resolutions analysed.
RESOLUTIONS = (5, 6)

#: Time steps analysed.
STEPS = ("month", "quarter")

#: ``grid_disk`` rings that make a cell's neighbourhood, per resolution.
RINGS = {5: 1, 6: 2}

#: Significance level of both the Gi* bins (FDR-controlled) and the trend test.
ALPHA = 0.05

#: Most recent steps kept in the window, per time step.
MAX_STEPS = {"month": 36, "quarter": 16}

#: Fewer complete steps than this and no pattern is computed (a trend needs a series).
MIN_STEPS = 4

#: Share of steps that makes a location persistently hot (or cold).
PERSISTENT_SHARE = 0.9

#: Every pattern, in legend order (defined in :mod:`routes.contract.vocabularies`).
PATTERNS = HOTSPOT_PATTERNS

_COLUMNS = table("hotspot_classes").columns


# --------------------------------------------------------------------------- window


def last_complete_step(as_of: date, *, step: str) -> date:
    """First day of the last month or quarter that ended on or before ``as_of``.

    >>> last_complete_step(date(2025, 12, 31), step="month")
    datetime.date(2025, 12, 1)
    >>> last_complete_step(date(2025, 12, 30), step="quarter")
    datetime.date(2025, 7, 1)
    """
    start = _step_start(as_of, step=step)
    end = (pd.Timestamp(start) + _offset(step, 1) - pd.Timedelta(days=1)).date()
    return start if as_of >= end else (pd.Timestamp(start) - _offset(step, 1)).date()


def _step_start(day: date, *, step: str) -> date:
    if step == "month":
        return day.replace(day=1)
    if step == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"step must be 'month' or 'quarter', not {step!r}")


def _offset(step: str, n: int) -> pd.DateOffset:
    return pd.DateOffset(months=n * (3 if step == "quarter" else 1))


def step_periods(first: date, last: date, *, step: str) -> list[date]:
    """The first days of every step from ``first`` to ``last`` inclusive."""
    freq = "QS" if step == "quarter" else "MS"
    return [d.date() for d in pd.date_range(first, last, freq=freq)]


# --------------------------------------------------------------------------- cube


def space_time_cube(
    counts: pd.DataFrame, periods: list[date]
) -> tuple[np.ndarray, np.ndarray]:
    """Counts per ``(cell, period)`` as a dense matrix.

    Parameters
    ----------
    counts
        Columns ``cell``, ``period``, ``records`` (one row per non-empty bin).
    periods
        Every step of the window, in order.

    Returns
    -------
    cells, matrix
        The locations (cells with at least one record, sorted) and a
        ``(len(cells), len(periods))`` float array of counts, zero where empty.
    """
    cells = np.sort(counts["cell"].unique()).astype(np.int64)
    position = {p: i for i, p in enumerate(periods)}
    rows = np.searchsorted(cells, counts["cell"].to_numpy(dtype=np.int64))
    cols = np.array([position[p] for p in pd.to_datetime(counts["period"]).dt.date])
    matrix = np.zeros((len(cells), len(periods)))
    np.add.at(matrix, (rows, cols), counts["records"].to_numpy(dtype=float))
    return cells, matrix


def cells_to_weights(cells: np.ndarray, *, rings: int) -> W:
    """Binary contiguity among ``cells``: the cells within ``rings`` grid steps, self included.

    Ids are positions in ``cells``. A cell with no other location nearby keeps
    itself as its only neighbour, so Gi* still compares it with the whole grid.
    """
    index = {int(c): i for i, c in enumerate(cells)}
    neighbors: dict[int, list[int]] = {}
    for i, cell in enumerate(cells):
        disk = h3.grid_disk(h3.int_to_str(int(cell)), rings)
        found = (index.get(h3.str_to_int(d)) for d in disk)
        neighbors[i] = sorted(j for j in found if j is not None)
    return W(neighbors, id_order=list(range(len(cells))), silence_warnings=True)


# --------------------------------------------------------------------------- statistics


def gi_star(
    matrix: np.ndarray, w: W, *, permutations: int = 0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided p-values for every column (step) of ``matrix``.

    A column whose values are all equal gets z = 0 and p = 1 (nothing to find).
    With ``permutations`` > 0 the p-values are esda's conditional-permutation
    pseudo p-values (folded, doubled to two-sided, capped at 1).
    """
    n_cells, n_steps = matrix.shape
    z = np.zeros((n_cells, n_steps))
    p = np.ones((n_cells, n_steps))
    for t in range(n_steps):
        y = matrix[:, t]
        if n_cells < 3 or np.ptp(y) == 0:
            continue
        g = esda.G_Local(
            y, w, transform="B", star=True, permutations=permutations,
            keep_simulations=False, n_jobs=1, seed=seed,
        )
        z[:, t] = g.Zs
        p[:, t] = np.minimum(2 * (g.p_sim if permutations else g.p_norm), 1.0)
    return z, p


def significant_bins(
    z: np.ndarray, p: np.ndarray, *, alpha: float = ALPHA
) -> tuple[np.ndarray, np.ndarray]:
    """Hot and cold bins: p under each step's FDR cut-off (:func:`esda.fdr`), by the sign of z."""
    significant = np.zeros(z.shape, dtype=bool)
    for t in range(z.shape[1]):
        if (p[:, t] < 1).any():
            significant[:, t] = p[:, t] <= esda.fdr(p[:, t], alpha)
    return significant & (z > 0), significant & (z < 0)


def mann_kendall(series: np.ndarray) -> pd.DataFrame:
    """The Mann-Kendall trend test on each row of ``series`` (locations × steps).

    The same statistic as ``pymannkendall.original_test`` (S, variance with the
    tie correction, continuity-corrected z, two-sided normal p, Kendall's tau),
    computed for all rows at once.

    Returns
    -------
    pandas.DataFrame
        ``s``, ``var_s``, ``z``, ``p``, ``tau``, one row per row of ``series``.

    Examples
    --------
    >>> mann_kendall(np.array([[1.0, 2, 3, 4, 5], [5, 4, 3, 2, 1]]))[["s", "tau"]].to_dict("list")
    {'s': [10.0, -10.0], 'tau': [1.0, -1.0]}
    """
    x = np.asarray(series, dtype=float)
    n = x.shape[1]
    upper_i, upper_j = np.triu_indices(n, k=1)
    s = np.sign(x[:, upper_j] - x[:, upper_i]).sum(axis=1)
    var_s = np.full(len(x), n * (n - 1) * (2 * n + 5) / 18.0)
    ordered = np.sort(x, axis=1)
    # tie groups: runs of equal values in each sorted row
    new_group = np.ones_like(ordered, dtype=bool)
    new_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    for r in np.flatnonzero(~new_group[:, 1:].all(axis=1)):
        starts = np.flatnonzero(new_group[r])
        sizes = np.diff(np.append(starts, n))
        sizes = sizes[sizes > 1]
        var_s[r] = (n * (n - 1) * (2 * n + 5) - (sizes * (sizes - 1) * (2 * sizes + 5)).sum()) / 18.0
    safe = np.where(var_s > 0, var_s, 1.0)
    z = np.where(s > 0, (s - 1) / np.sqrt(safe), np.where(s < 0, (s + 1) / np.sqrt(safe), 0.0))
    p = 2 * stats.norm.sf(np.abs(z))
    tau = s / (0.5 * n * (n - 1))
    return pd.DataFrame({"s": s, "var_s": var_s, "z": z, "p": p, "tau": tau})


# --------------------------------------------------------------------------- patterns


def classify_patterns(
    hot: np.ndarray,
    cold: np.ndarray,
    trend_z: np.ndarray,
    trend_p: np.ndarray,
    *,
    alpha: float = ALPHA,
) -> np.ndarray:
    """The emerging hot-spot pattern of each location (row), as keys of :data:`PATTERNS`.

    Parameters
    ----------
    hot, cold
        Boolean ``(locations, steps)``: significant hot / cold bins, final step last.
    trend_z, trend_p
        Mann-Kendall z and p of each location's Gi* z series.
    alpha
        Significance level of the trend.

    Examples
    --------
    >>> hot = np.array([[0, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 1], [1, 1, 1, 0]], dtype=bool)
    >>> cold = np.zeros_like(hot)
    >>> classify_patterns(hot, cold, np.zeros(4), np.ones(4)).tolist()
    ['new_hot_spot', 'consecutive_hot_spot', 'sporadic_hot_spot', 'no_pattern']
    """
    hot_side = _classify_side(hot, cold, trend_z, trend_p, alpha=alpha, kind="hot")
    cold_side = _classify_side(cold, hot, -np.asarray(trend_z), trend_p, alpha=alpha, kind="cold")
    out = np.full(len(hot), "no_pattern", dtype=object)
    final_hot, final_cold = hot[:, -1], cold[:, -1]
    out[final_hot] = hot_side[final_hot]
    out[final_cold] = cold_side[final_cold]
    neither = ~final_hot & ~final_cold
    out[neither & (hot_side == "historical_hot_spot")] = "historical_hot_spot"
    out[neither & (cold_side == "historical_cold_spot")] = "historical_cold_spot"
    return out


def _classify_side(
    same: np.ndarray,
    other: np.ndarray,
    growing_z: np.ndarray,
    trend_p: np.ndarray,
    *,
    alpha: float,
    kind: str,
) -> np.ndarray:
    """Patterns of one side (hot, or cold with ``other`` = hot and the trend negated)."""
    n = same.shape[1]
    count = same.sum(axis=1)
    mostly = count >= PERSISTENT_SHARE * n
    final = same[:, -1]
    # length of the run of `same` bins that ends with the final step
    not_same = ~same[:, ::-1]
    run = np.where(not_same.any(axis=1), not_same.argmax(axis=1), n)
    before_run_hits = count - run  # bins of this side before that final run
    other_before = other[:, :-1].any(axis=1)
    trend = trend_p < alpha
    out = np.full(len(same), "no_pattern", dtype=object)
    hit = final & mostly
    out[hit & trend & (growing_z > 0)] = f"intensifying_{kind}_spot"
    out[hit & trend & (growing_z < 0)] = f"diminishing_{kind}_spot"
    out[hit & ~(trend & (growing_z != 0))] = f"persistent_{kind}_spot"
    rest = final & ~mostly
    out[rest & other_before] = f"oscillating_{kind}_spot"
    rest &= ~other_before
    out[rest & (count == 1)] = f"new_{kind}_spot"
    out[rest & (count > 1) & (run >= 2) & (before_run_hits == 0)] = f"consecutive_{kind}_spot"
    out[rest & (count > 1) & (before_run_hits > 0)] = f"sporadic_{kind}_spot"
    out[~final & mostly] = f"historical_{kind}_spot"
    return out


def emerging_hot_spots_of(
    counts: pd.DataFrame,
    periods: list[date],
    *,
    rings: int,
    alpha: float = ALPHA,
    permutations: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Emerging hot-spot analysis of one space-time cube.

    Parameters
    ----------
    counts
        ``cell``, ``period``, ``records``: records per cell and step (non-empty bins).
    periods
        Every step of the window, in order (the final step last).
    rings
        ``grid_disk`` rings that make a neighbourhood.
    alpha
        Significance of the Gi* bins (FDR) and the trend.
    permutations, seed
        Passed to :func:`gi_star`.

    Returns
    -------
    pandas.DataFrame
        One row per location: ``cell``, ``pattern``, ``records``, ``hot_steps``,
        ``cold_steps``, ``n_steps``, ``gi_z_last``, ``gi_p_last``, ``trend_z``,
        ``trend_p``, ``trend_tau``.
    """
    cells, matrix = space_time_cube(counts, periods)
    w = cells_to_weights(cells, rings=rings)
    z, p = gi_star(matrix, w, permutations=permutations, seed=seed)
    hot, cold = significant_bins(z, p, alpha=alpha)
    trend = mann_kendall(z)
    patterns = classify_patterns(hot, cold, trend["z"].to_numpy(), trend["p"].to_numpy(), alpha=alpha)
    return pd.DataFrame(
        {
            "cell": cells,
            "pattern": patterns.astype(str),
            "records": matrix.sum(axis=1).astype(np.int64),
            "hot_steps": hot.sum(axis=1).astype(np.int32),
            "cold_steps": cold.sum(axis=1).astype(np.int32),
            "n_steps": np.int32(len(periods)),
            "gi_z_last": z[:, -1],
            "gi_p_last": p[:, -1],
            "trend_z": trend["z"].to_numpy(),
            "trend_p": trend["p"].to_numpy(),
            "trend_tau": trend["tau"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------- warehouse

#: The first month and the last day of the records with a cell: where the window can lie.
#: DuckDB and Spark SQL read it alike (``pipelines/build/spark_hotspots.py`` runs this text).
WINDOW_SQL = (
    "SELECT min(month), greatest(max(occurred_at), max(reported_at))::DATE FROM records "
    "WHERE dest_cell IS NOT NULL AND dest_cell > 0"
)


def cell_counts_sql(res: int, step: str) -> SQL:
    """Records per res-``res`` cell and ``step`` period; parameters: resolution, first day, end (exclusive).

    The same text runs on DuckDB and Spark SQL (``?`` parameters, ``::`` casts,
    ``date_trunc``, 64-bit parents of :func:`geo.grid.sql_cell_to_parent`).
    """
    cell = grid.sql_cell_to_parent("dest_cell", res)
    period = SQL("month" if step == "month" else "date_trunc('quarter', month)::DATE")
    return compose("""
        SELECT {cell} AS cell, {period} AS period, count(*) AS records
        FROM records
        WHERE dest_cell IS NOT NULL AND dest_cell > 0 AND dest_res >= ?
          AND month >= ? AND month < ?
        GROUP BY ALL
    """, cell=cell, period=period)


def cell_county_counts_sql(res: int) -> SQL:
    """Records per res-``res`` cell and destination county; parameters: resolution, first day, last day.

    Shared by both engines; each picks the county with most records its own way
    (:data:`CELL_PLACES_PICK`, ``pipelines/build/spark_hotspots.py``).
    """
    cell = grid.sql_cell_to_parent("dest_cell", res)
    return compose("""
            SELECT {cell} AS cell, dest_county_fips, dest_region, dest_task_force, count(*) AS n
            FROM records
            WHERE dest_cell IS NOT NULL AND dest_cell > 0 AND dest_res >= ?
              AND month >= ? AND month <= ?
            GROUP BY ALL
    """, cell=cell)


#: The county with most records per cell over ``by_county`` (:func:`cell_county_counts_sql`);
#: ties broken by FIPS, so rebuilds agree. DuckDB's ordered ``first``, which Spark lacks.
CELL_PLACES_PICK = """
        SELECT cell,
               first(dest_county_fips ORDER BY n DESC, dest_county_fips) AS county_fips,
               first(dest_region ORDER BY n DESC, dest_county_fips) AS region,
               first(dest_task_force ORDER BY n DESC, dest_county_fips) AS task_force
        FROM by_county GROUP BY cell
"""


def _cell_counts(
    con: duckdb.DuckDBPyConnection, *, res: int, step: str, first: date, last: date
) -> pd.DataFrame:
    return con.execute(cell_counts_sql(res, step), [res, first, step_end(last, step=step)]).df()


def _cell_places(con: duckdb.DuckDBPyConnection, *, res: int, first: date, last: date) -> pd.DataFrame:
    sql = f"WITH by_county AS ({cell_county_counts_sql(res)}) {CELL_PLACES_PICK}"
    return con.execute(sql, [res, first, last]).df()


def step_end(last: date, *, step: str) -> date:
    """The day after the step that starts on ``last``: the exclusive end of a window.

    >>> step_end(date(2025, 10, 1), step="quarter")
    datetime.date(2026, 1, 1)
    """
    return (pd.Timestamp(last) + _offset(step, 1)).date()


def window_periods(first_month: date | None, last_day: date | None, data_as_of: date | None, *, step: str) -> list[date]:
    """The steps analysed: complete ones up to the data's last day, at most :data:`MAX_STEPS`.

    ``first_month`` and ``last_day`` are :data:`WINDOW_SQL`'s row; ``data_as_of``
    the warehouse's ``meta`` entry (None when unset), which can only move the end later.

    >>> window_periods(date(2024, 1, 1), date(2024, 6, 30), None, step="quarter")
    [datetime.date(2024, 1, 1), datetime.date(2024, 4, 1)]
    """
    if first_month is None or last_day is None:
        return []
    as_of = max(last_day, data_as_of or last_day)
    last = last_complete_step(as_of, step=step)
    first = max(_step_start(first_month, step=step), (pd.Timestamp(last) - _offset(step, MAX_STEPS[step] - 1)).date())
    return step_periods(first, last, step=step) if first <= last else []


def _window(con: duckdb.DuckDBPyConnection, *, step: str) -> list[date]:
    row = con.execute(WINDOW_SQL).fetchone()
    if row is None:
        return []
    return window_periods(row[0], row[1], _meta_date(con, "data_as_of"), step=step)


def _meta_date(con: duckdb.DuckDBPyConnection, key: str) -> date | None:
    try:
        return date.fromisoformat(str(warehouse.get_meta(con, key))[:10])
    except (ValueError, duckdb.Error):
        return None


def hotspot_frame(
    con: duckdb.DuckDBPyConnection,
    *,
    resolutions: tuple[int, ...] = RESOLUTIONS,
    steps: tuple[str, ...] = STEPS,
    alpha: float = ALPHA,
    permutations: int = 0,
) -> pd.DataFrame:
    """Every row of ``hotspot_classes``, computed from ``records`` on ``con``."""
    return hotspots_of(
        window=lambda step: _window(con, step=step),
        cell_counts=lambda res, step, first, last: _cell_counts(con, res=res, step=step, first=first, last=last),
        cell_places=lambda res, first, last: _cell_places(con, res=res, first=first, last=last),
        resolutions=resolutions, steps=steps, alpha=alpha, permutations=permutations,
    )


def hotspots_of(
    *,
    window: Callable[[str], list[date]],
    cell_counts: Callable[[int, str, date, date], pd.DataFrame],
    cell_places: Callable[[int, date, date], pd.DataFrame],
    resolutions: tuple[int, ...] = RESOLUTIONS,
    steps: tuple[str, ...] = STEPS,
    alpha: float = ALPHA,
    permutations: int = 0,
) -> pd.DataFrame:
    """Every row of ``hotspot_classes`` from an engine's three reads of ``records``.

    Parameters
    ----------
    window
        ``step`` -> the periods analysed (:func:`window_periods`).
    cell_counts
        ``(res, step, first, last)`` -> ``cell``, ``period``, ``records`` (:func:`cell_counts_sql`).
    cell_places
        ``(res, first, last)`` -> ``cell``, ``county_fips``, ``region``, ``task_force``.

    The DuckDB step (:func:`hotspot_frame`) and the Spark one
    (``pipelines/build/spark_hotspots.py``) differ only in these reads: the statistics
    run here, on the aggregated cube, for both.
    """
    parts = []
    for step in steps:
        periods = window(step)
        if len(periods) < MIN_STEPS:
            log.info("Skipped %s hot spots: %d complete steps, %d needed", step, len(periods), MIN_STEPS)
            continue
        for res in resolutions:
            counts = cell_counts(res, step, periods[0], periods[-1])
            if counts.empty:
                continue
            found = emerging_hot_spots_of(
                counts, periods, rings=RINGS.get(res, 1), alpha=alpha, permutations=permutations
            )
            places = cell_places(res, periods[0], periods[-1])
            found = found.merge(places, on="cell", how="left")
            found["res"] = np.int8(res)
            found["step"] = step
            found["first_period"] = periods[0]
            found["last_period"] = periods[-1]
            parts.append(found[list(_COLUMNS)])
            log.info(
                "Classified %d res-%d cells over %d %ss: %s", len(found), res, len(periods), step,
                found["pattern"].value_counts().to_dict(),
            )
    if not parts:
        return _empty_frame()
    return pd.concat(parts, ignore_index=True)


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in _COLUMNS})
    for column in ("res", "hot_steps", "cold_steps", "n_steps"):
        frame[column] = frame[column].astype("int32")
    frame["cell"] = frame["cell"].astype("int64")
    frame["records"] = frame["records"].astype("int64")
    for column in ("step", "county_fips", "region", "task_force", "pattern"):
        frame[column] = frame[column].astype("object")
    for column in ("first_period", "last_period"):
        frame[column] = pd.Series(dtype="datetime64[s]")
    return frame


_DDL = """
CREATE OR REPLACE TABLE hotspot_classes (
    res TINYINT, step VARCHAR, cell BIGINT, county_fips VARCHAR, region VARCHAR,
    task_force VARCHAR, pattern VARCHAR, records BIGINT, hot_steps INTEGER,
    cold_steps INTEGER, n_steps INTEGER, gi_z_last DOUBLE, gi_p_last DOUBLE,
    trend_z DOUBLE, trend_p DOUBLE, trend_tau DOUBLE, first_period DATE, last_period DATE
)
"""


def build(con: duckdb.DuckDBPyConnection, *, permutations: int = 0) -> dict[str, int]:
    """Recreate ``hotspot_classes`` from ``records``; return its row count.

    Idempotent: the same records give the same table.
    """
    from pipelines.build import table_timer  # the orchestrator imports this module

    with table_timer("hotspot_classes"):
        frame = hotspot_frame(con, permutations=permutations)
        con.execute(_DDL)
        con.register("hotspot_frame", frame)
        try:
            con.execute(compose("INSERT INTO hotspot_classes BY NAME SELECT {columns} FROM hotspot_frame",
                                columns=idents(_COLUMNS)))
        finally:
            con.unregister("hotspot_frame")
        con.execute("CREATE INDEX IF NOT EXISTS hotspot_classes_res_step ON hotspot_classes (res, step)")
    return {"hotspot_classes": len(frame)}
