"""Build step: the protected release every aggregate view reads for viewers without record access.

Cell suppression protects each answer alone, not the differences between
answers (``docs/ACCESS.md``). So the numbers shown to a viewer without record
access come from one release made here: counts over a fixed domain, measured
with OpenDP's discrete Gaussian mechanism under zero-concentrated differential
privacy (ρ-zCDP), made consistent and stored. Readers for those viewers read only
the ``release_*`` tables (``query/release.py``); every figure they derive is
post-processing of released numbers and costs no budget.

Measurements
------------
Each measurement counts every record (with a month) in exactly one cell of a
fixed domain: the 58 counties (plus "no destination county"), every month from
the first to the last month of ``records``, the record and trafficking types,
the source kinds, the indicators (a record in up to three of them: Δ √3), the
states and countries flows come from (reference data),
the H3 cells that hold a gazetteer place or ZIP centroid (reference data, not
the records), the years. Cells with no record are measured too, so the presence
of a key reveals nothing. A record's ``victim_count`` is clamped to
:data:`VICTIM_CAP` (0 when missing). So a record changes one cell of a
measurement by 1 (by at most :data:`VICTIM_CAP` for victims): the L2
sensitivity of a measurement's vector is 1 (``VICTIM_CAP``), and the discrete
Gaussian with scale σ costs ρ = Δ² / (2σ²) (OpenDP's ``map``). Measurements
compose: a release costs the sum of their ρ.

============================  ==================================================  ======
measurement                   cell                                                parent
============================  ==================================================  ======
``records_month``             month                                               —
``records_county_month``      county × month                                      above
``records_county_type``       county × month × record type                        above
``records_fine``              county × month × record type × trafficking type     above
``victims_month``             month (victims)                                     —
``victims_county_type``       county × month × record type (victims)              above
``minors_month``              month (records with a minor)                        —
``minors_county_type``        county × month × record type (minors)               above
``cells_res4``                county × res-4 cell × quarter                       county × quarter (released)
``cells_res5``                county × res-5 cell × quarter                       above
``cells_res6``                county × res-6 cell × quarter                       above
``cells_type``                … × record type (res-6 leaves above 0 only)         ``cells_res6``
``cells_kind``                … × source kind (res-6 leaves above 0 only)         ``cells_res6``
``counts_kind``               county × month × source kind                        ``records_county_month``
``counts_indicator_month``    month × indicator (Δ √3)                            —
``counts_indicator``          county × month × indicator (Δ √3)                   above
``indicators_quarter``        quarter × indicator (Δ √3)                          —
``indicators_county``         county × quarter × indicator (Δ √3)                 above
``cells_indicator``           county × res-5 cell × quarter × indicator (Δ √3;    above
                              cells above 0 only)
``flows_region``              origin region × destination region × year           —
``flows_county``              origin county × destination county × year           above
``flows_type``                … × record type                                     above
``flows_traffic``             … × trafficking type                                ``flows_county``
``flows_outside``             out-of-state origin × year                          —
``flows_outside_region``      … × destination region                              above
``flows_outside_county``      … × destination county                              above
============================  ==================================================  ======

Out-of-state origins are every US state but California, every country of
``data/reference/world_centroids.csv`` and ``US`` (a US origin of unknown
state), named as :mod:`geo.flow_places` names them **without their entry
point** (``MX@san_ysidro`` and ``MX@calexico`` are both ``MX``;
:func:`geo.flow_places.outside_origin_ids`): 97 origins, so 97 × 65 cells a
year (69,355 values for the 1 M demo's 11 years, 10 % more than the other
measurements' 689 k). They have no breakdown by record or trafficking type
(that would be eight times as many values): under a type filter they are left
out and the reader says so (``query.release.outside_flows_note``). A record
from an origin outside that list (a country the reference data does not name)
is not released.

The budget per release, ``ROUTES_RELEASE_RHO`` (default :data:`DEFAULT_RHO`,
0.75: the total did not change when the cell breakdowns, the out-of-state
flows and the count parts came, so the yearly cap still allows 12 charged
rebuilds), is split over the 26 measurements by weight, σ = Δ / √(2ρw/Σw) with
Σw = 24.7: 4 for ``records_month`` (the statewide monthly series must be within
2 %: σ 2.0), 0.6 for the county × type, finest record and county × source-kind
counts (their small differences are what differencing attacks recover, so they
get more noise: σ 5.2), 0.5 for the three indicator levels that only steer a
fit (``counts_indicator_month``, ``indicators_quarter``, ``indicators_county``:
σ 9.9), 1 for ``counts_indicator`` (σ 7.0), 1.5 for ``cells_indicator`` (σ 5.7),
0.3 for each out-of-state flow measurement (σ 7.4: their flows are few and
large, MX → Los Angeles some 1,200 a year at 1 M), 1 for every other (σ 4.1
records, 20.3 victims). ρ per measurement (OpenDP's map): 0.121, 0.046, 0.030
(×15), 0.018 (×3), 0.015 (×3), 0.009 (×3); total 0.75 (``python -m pipelines
release report``; tested). The count parts' 2.1 of Σw moved every other σ up by
4.5 % (a county-month's typical error stays ±8 at 95 %).

Count parts (the area counts by source kind and by one indicator)
-------------------------------------------------------------------
``release_counts`` splits by record and trafficking type only, so the Statewide
and Region pages, the headline figures and the period bars could not answer a
source-kind or indicator filter for a viewer without record access. Two cubes
answer them (``release_count_parts``; :func:`_measure_count_parts`):

- ``counts_kind``: every county × month (and "no destination county") split by
  source kind. Each record has one kind, so Δ = 1; fitted to the released
  county-month (:func:`fit_to_parent`), so a county-month's kinds add up to its
  ``release_counts`` records exactly, and a region's or the state's to theirs.
- ``counts_indicator_month`` then ``counts_indicator``: month × indicator, and
  county × month × indicator fitted to it, each value at most the released
  records of its month (county-month); Δ = √3 as for ``cells_indicator`` (a
  record's first :data:`INDICATORS_PER_RECORD` indicators). Indicators overlap,
  so they add up to nothing; a sum over several would count a record twice, and
  the readers refuse several indicators.

They are measured over the full domain (59 × 4 and 59 × 11 values a month: 31 k
and 86 k at 1 M), since it is small. Victims and minors are not measured by kind
or indicator: the county-month's released ones (as ``release_counts`` shows
them) are spread over the kinds in proportion to their released records, and
scaled by an indicator's share of the county-month's records (post-processing).
The parts have no record type: a source-kind or indicator filter together with a
record- or trafficking-type filter, or with each other, is refused
(``query.release.count_dimension``).

Cell breakdowns (the heatmap's record-type, source-kind and indicator filters)
---------------------------------------------------------------------------------
``release_cells`` counts every record of a cell together, so a viewer without
record access could not filter the map. Three cubes answer those filters:

- ``cells_type`` and ``cells_kind``: each released res-6 leaf (cell × quarter,
  and the county's "no cell" row) split by record type, by source kind. Each
  record is in one leaf and one type (one kind), so Δ = 1. Fitted to the
  released leaf (:func:`fit_to_parent`), then summed to res 5 and 4 as the
  leaves are: at every resolution a cell's types (kinds) add up to its row
  of ``release_cells``, and a filter naming all of them is that row.
- ``cells_indicator``: indicators overlap (a record may carry several), so a
  record adds 1 to at most :data:`INDICATORS_PER_RECORD` indicator cells (its
  first three filterable indicators in the vocabulary's order; in the 1 M demo
  0.6 % of records carry four, none more; the fourth is not counted): Δ = √3. Measured at res
  5 only (res 4 is its sum; a res-6 map under an indicator filter shows res 5:
  at σ 5.4 per cell and quarter, res-6 cells would be mostly noise), top down
  from quarter × indicator and county × quarter × indicator so that cells
  holding no such record fall to 0 instead of adding a positive bias (measured
  on the 3 k fixture: 250 phantom records per absent indicator with one level,
  under 20 with three), each value at most its cell's released records.

A filter on several record types (source kinds) reads the sum of the chosen
types' released cells: post-processing, no further budget. Several indicators
are refused (``query/release.py``): a sum would count a record carrying two of
them twice. One of the three breakdowns at a time; trafficking types stay refused.

Only cells that can be above 0 are measured: a child of a parent released as 0
is released as 0 whatever its noise, so the breakdowns are drawn only under
released parents above 0 (which parents those are is a released number, so
choosing by it costs nothing). At 1 M records that is 157 k values per
breakdown of record type and source kind and 182 k for indicators, instead
of 1.05 M over the full domains. Such a measurement's domain moves with the
released parents, so the stored noise of a cell outside this build's domain is
kept (:class:`Measurement` ``sparse``): a cell that comes back reuses it.

Consistency
-----------
Measuring only the finest cells and summing upwards fails on sparse cubes: a
county-year sums 12 × 16 fine cells, mostly zero, whose noise (and the bias of
clamping it at zero) swamps the total. So levels are measured separately and
reconciled top down (as the 2020 Census's TopDown does): the coarsest level is
the noisy count clamped at 0; the children of each released parent are the
nearest non-negative vector that sums to the parent (a Euclidean projection
onto the scaled simplex, :func:`fit_to_parent`), rounded to integers that keep
the sum (largest remainders). Then every parent equals the sum of its children,
every count is a non-negative integer, and small noisy cells next to big ones
shrink to zero instead of adding bias. Victims and minors are measured per
county × month × record type and spread over the trafficking types in proportion
to the released records (post-processing).

Noise is never handed out twice for the same count
----------------------------------------------------
``release_noise`` keeps, per measurement and cell, the true value and the noise
drawn for it. A rebuild reuses the stored noise of every cell whose true value
did not change, and draws new noise only for the others; so rebuilding without
new data gives the same release, and averaging releases learns nothing new about
an unchanged cell. A build that draws any new noise for a measurement charges
that measurement's ρ again in ``release_ledger``. When the ledger's last 365
days plus this build would pass ``ROUTES_RELEASE_RHO_YEAR`` (default
:data:`DEFAULT_RHO_YEAR`), the release is not re-measured: the previous release
stays (and the build says so).

Tables
------
``release_counts``
    ``month``, ``dest_county_fips``, ``dest_region``, ``dest_task_force``,
    ``record_type``, ``trafficking_type``, ``records``, ``victims``, ``minors``
    (non-zero rows only; a missing row is a released zero).
``release_cells``
    ``res`` (4, 5, 6), ``cell``, ``dest_county_fips``, ``dest_region``,
    ``dest_task_force``, ``month`` (the first month of the quarter), ``records``;
    ``cell`` NULL for the county's records in no cell of the domain.
``release_flows``
    ``month`` (1 January of the year), ``origin_county_fips``, ``origin_region``,
    ``origin_task_force``, ``dest_county_fips``, ``dest_region``,
    ``dest_task_force``, ``record_type``, ``trafficking_type``, ``records``;
    ``origin_outside``. An in-state edge twice: by record type
    (``trafficking_type`` NULL) and by trafficking type (``record_type`` NULL);
    both add up to the same released edge. An edge from outside California
    once, with ``origin_outside`` (``US-NV``, ``MX``), its ``origin_*`` areas
    and both type columns NULL.
``release_count_parts``
    ``dimension`` (``source_kind``, ``indicator``), ``value``, ``month``,
    ``dest_county_fips``, ``dest_region``, ``dest_task_force``, ``records``,
    ``victims``, ``minors`` (non-zero rows only; see "Count parts").
``release_cell_parts``
    ``dimension`` (``record_type``, ``source_kind``, ``indicator``), ``value``,
    then the columns of ``release_cells`` (``res`` 4-6; 4-5 for indicators);
    non-zero rows only.
``release_meta``
    ``key``, ``value``: the month range, the build id, σ per measurement.
``release_corridor_paths``, ``release_corridor_segments``
    ``origin_id``, ``dest_id``, ``segment_id``, ``weight``: the highway routes
    of every county pair between the counties' anchors (their busiest
    released res-4 cells, :func:`county_anchor_points`), and from every
    entry point an out-of-state origin is routed through to each county,
    ``origin_id`` the entry's key (``@san_ysidro``; the release does not know a
    record's own entry, so an origin's flows take its default entry,
    :func:`_outside_anchors`; :func:`query.release.path_origin_sql` maps ``MX`` to it),
    ``weight`` the share of the pair's flows along the segment; and every
    segment's geometry. Reference
    data and released numbers only, so a released flow is routed the same
    whether or not records support the pair. (``corridor_paths`` snaps to the
    records' own points: not for these viewers.)
``release_hotspot_classes``
    ``hotspot_classes`` (``pipelines/build/hotspots.py``: Gi* per step, trend
    by Mann-Kendall) computed from the released res-5 and res-6 cells per
    quarter (the last 16 complete quarters): the step is always ``quarter``.
``release_noise`` (never read for a viewer)
    ``measurement``, ``key`` (a 64-bit hash of the cell's key), ``true_value``, ``noise``.
``release_ledger``
    ``build_id``, ``built_at``, ``measurement``, ``cells``, ``redrawn``,
    ``scale``, ``rho``: the budget spent per build and measurement.
"""

from __future__ import annotations

import logging
import math
import sys
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

import duckdb
import h3
import numpy as np
import pandas as pd

from geo import reference
from geo.grid import sql_cell_to_parent
from pipelines.build import table_timer
from query import release
from routes import settings
from routes.contract import vocabularies

log = logging.getLogger(__name__)

#: The tables a viewer without record access may read.
RELEASE_TABLES = tuple(t for t in release.RELEASE_TABLES if t != "meta")
#: The tables this step owns (``release_noise`` holds true counts: never for viewers).
TABLES = (*RELEASE_TABLES, "release_noise", "release_ledger")

#: A record's victims count at most this much (a larger ``victim_count`` is clamped).
VICTIM_CAP = 5
#: ρ per release (zCDP) and per 365 days of rebuilds (``routes/settings.py``).
DEFAULT_RHO = settings.DEFAULT_RELEASE_RHO
DEFAULT_RHO_YEAR = settings.DEFAULT_RELEASE_RHO_YEAR
#: Record types and trafficking types of the domain (records with others are not released).
RECORD_TYPES = vocabularies.RECORD_TYPES
TRAFFICKING_TYPES = vocabularies.TRAFFICKING_TYPES
#: Values drawn per OpenDP call (two threads share the work: the sampler releases the GIL).
_CHUNK = 20_000
_NO_COUNTY = ""
#: Source kinds of the domain (``sources.kind``).
SOURCE_KINDS = vocabularies.SOURCE_KINDS
#: The filterable indicators, and how many of them one record counts under in ``cells_indicator``.
INDICATORS = vocabularies.INDICATORS
INDICATORS_PER_RECORD = 3
#: L2 sensitivity of ``cells_indicator``: a record adds 1 to at most :data:`INDICATORS_PER_RECORD` cells.
INDICATOR_SENSITIVITY = math.sqrt(INDICATORS_PER_RECORD)
#: The key of a res-6 leaf of ``release_cells`` (``cell6`` 0: the county's records in no cell of the domain).
_LEAF = ("quarter", "county", "cell4", "cell5", "cell6")


@dataclass(frozen=True)
class Measurement:
    """One noisy count vector: its name, its cell key, its value and its L2 sensitivity."""

    name: str
    keys: tuple[str, ...]
    value: str = "records"
    sensitivity: float = 1
    parent: str | None = None
    weight: float = 1.0
    #: Measured only under released parents above 0 (its domain follows released numbers; see "Cell breakdowns").
    sparse: bool = False


#: Weight of each out-of-state flow measurement (small: the others' σ move by 2.6 %).
OUTSIDE_WEIGHT = 0.3

MEASUREMENTS = (
    Measurement("records_month", ("month",), weight=4),
    Measurement("records_county_month", ("month", "county"), parent="records_month"),
    Measurement(
        "records_county_type", ("month", "county", "record_type"), parent="records_county_month", weight=0.6
    ),
    Measurement(
        "records_fine", ("month", "county", "record_type", "trafficking_type"), parent="records_county_type", weight=0.6
    ),
    Measurement("victims_month", ("month",), "victims", VICTIM_CAP),
    Measurement("victims_county_type", ("month", "county", "record_type"), "victims", VICTIM_CAP, "victims_month"),
    Measurement("minors_month", ("month",), "minors"),
    Measurement("minors_county_type", ("month", "county", "record_type"), "minors", parent="minors_month"),
    Measurement("cells_res4", ("quarter", "county", "cell4")),
    Measurement("cells_res5", ("quarter", "county", "cell4", "cell5"), parent="cells_res4"),
    Measurement("cells_res6", ("quarter", "county", "cell4", "cell5", "cell6"), parent="cells_res5"),
    Measurement("cells_type", (*_LEAF, "record_type"), parent="cells_res6", sparse=True),
    Measurement("cells_kind", (*_LEAF, "source_kind"), parent="cells_res6", sparse=True),
    # the area counts by source kind and by one indicator (``release_count_parts``; see "Count parts")
    Measurement("counts_kind", ("month", "county", "source_kind"), parent="records_county_month", weight=0.6),
    Measurement("counts_indicator_month", ("month", "indicator"), "records", INDICATOR_SENSITIVITY, weight=0.5),
    Measurement(
        "counts_indicator", ("month", "county", "indicator"), "records", INDICATOR_SENSITIVITY,
        "counts_indicator_month", weight=1.0,
    ),
    Measurement("indicators_quarter", ("quarter", "indicator"), "records", INDICATOR_SENSITIVITY, weight=0.5),
    Measurement(
        "indicators_county", ("quarter", "county", "indicator"), "records", INDICATOR_SENSITIVITY,
        "indicators_quarter", weight=0.5,
    ),
    Measurement(
        "cells_indicator", ("quarter", "county", "cell4", "cell5", "indicator"), "records",
        INDICATOR_SENSITIVITY, "indicators_county", weight=1.5, sparse=True,
    ),
    Measurement("flows_region", ("year", "o_region", "d_region")),
    Measurement("flows_county", ("year", "o_region", "d_region", "o_county", "d_county"), parent="flows_region"),
    Measurement(
        "flows_type", ("year", "o_region", "d_region", "o_county", "d_county", "record_type"), parent="flows_county"
    ),
    Measurement(
        "flows_traffic", ("year", "o_region", "d_region", "o_county", "d_county", "trafficking_type"),
        parent="flows_county",
    ),
    # out-of-state origins (every state and country of the reference data): statewide, per destination region, county
    Measurement("flows_outside", ("year", "o_outside"), weight=OUTSIDE_WEIGHT),
    Measurement("flows_outside_region", ("year", "o_outside", "d_region"), parent="flows_outside", weight=OUTSIDE_WEIGHT),
    Measurement(
        "flows_outside_county", ("year", "o_outside", "d_region", "d_county"), parent="flows_outside_region",
        weight=OUTSIDE_WEIGHT,
    ),
)
MEASUREMENT_NAMES = tuple(m.name for m in MEASUREMENTS)


# ------------------------------------------------------------------ settings and accounting


def release_rho() -> float:
    """ρ (zCDP) one release spends over all its measurements (:func:`routes.settings.release_rho`)."""
    return settings.release_rho()


def release_rho_year() -> float:
    """ρ the rebuilds of any 365 days may spend together (:func:`routes.settings.release_rho_year`)."""
    return settings.release_rho_year()


def _enable_opendp():  # noqa: ANN202 (the opendp prelude module)
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


@cache
def _mechanism(scale: float):  # noqa: ANN202 (an opendp Measurement)
    """OpenDP's discrete Gaussian over integer vectors (L2 distance), at ``scale``."""
    dp = _enable_opendp()
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int)
    return dp.m.make_gaussian(*space, scale=scale)


def scale_for(measurement: Measurement, rho: float) -> float:
    """σ of ``measurement`` when a release spends ``rho`` split over :data:`MEASUREMENTS` by weight."""
    share = rho * measurement.weight / sum(m.weight for m in MEASUREMENTS)
    return measurement.sensitivity / math.sqrt(2 * share)


@cache
def _accountant(scale: float):  # noqa: ANN202 (an opendp Measurement)
    """The same discrete Gaussian with a real-valued L2 metric: its map takes Δ = √3 as well as 1."""
    dp = _enable_opendp()
    return dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=float), scale=scale)


def rho_of(measurement: Measurement, scale: float) -> float:
    """ρ that OpenDP's accountant gives the measurement at ``scale`` (its privacy map at Δ)."""
    if float(measurement.sensitivity).is_integer():
        return float(_mechanism(float(scale)).map(int(measurement.sensitivity)))
    return float(_accountant(float(scale)).map(float(measurement.sensitivity)))


def draw_noise(n: int, scale: float) -> np.ndarray:
    """``n`` draws of the discrete Gaussian with ``scale`` (OpenDP, two threads)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    mechanism = _mechanism(float(scale))
    sizes = [min(_CHUNK, n - i) for i in range(0, n, _CHUNK)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(lambda size: mechanism([0] * size), sizes))
    return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])


# ------------------------------------------------------------------ reconciliation


def fit_to_parent(noisy: np.ndarray, group: np.ndarray, parent_total: np.ndarray) -> np.ndarray:
    """Non-negative integers, closest to ``noisy``, that add up to each group's parent.

    Parameters
    ----------
    noisy
        The children's noisy counts.
    group
        Each child's group, as an index into ``parent_total`` (0..n_groups-1).
    parent_total
        Each group's released total (non-negative integers).

    Returns
    -------
    numpy.ndarray
        ``x = max(noisy - τ, 0)`` with τ per group chosen so ``x`` sums to the
        parent (the Euclidean projection onto the scaled simplex), then rounded:
        floors plus one for the largest remainders (ties: the first child), so
        every group sums exactly to its parent.

    Examples
    --------
    >>> fit_to_parent(np.array([5, -2, 1]), np.array([0, 0, 0]), np.array([4])).tolist()
    [4, 0, 0]
    >>> fit_to_parent(np.array([3, 3, 0]), np.array([0, 0, 0]), np.array([9])).tolist()
    [4, 4, 1]
    """
    y = np.asarray(noisy, dtype=float)
    g = np.asarray(group, dtype=np.int64)
    total = np.asarray(parent_total, dtype=float)
    n = len(y)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-y, g))
    ys, gs = y[order], g[order]
    starts = np.r_[0, np.flatnonzero(np.diff(gs)) + 1]
    sizes = np.diff(np.r_[starts, n])
    position = np.arange(n) - np.repeat(starts, sizes) + 1
    cumulative = np.cumsum(ys)
    before = np.repeat(np.r_[0.0, cumulative[starts[1:] - 1]], sizes)
    tau_j = (cumulative - before - total[gs]) / position
    valid = ys - tau_j > 0
    # the last valid position of each group decides τ (valid positions are a prefix)
    last = np.full(len(starts), -1, dtype=np.int64)
    np.maximum.at(last, np.repeat(np.arange(len(starts)), sizes), np.where(valid, np.arange(n), -1))
    tau = np.where(last >= 0, tau_j[np.maximum(last, 0)], np.inf)
    x = np.maximum(ys - np.repeat(tau, sizes), 0.0)
    x[np.repeat(total[gs[starts]], sizes) <= 0] = 0.0
    floors = np.floor(x + 1e-9)
    short = np.round(total[gs[starts]] - np.add.reduceat(floors, starts)).astype(np.int64)
    remainder = x - floors
    rank_order = np.lexsort((np.arange(n), -remainder, np.repeat(np.arange(len(starts)), sizes)))
    rank = np.empty(n, dtype=np.int64)
    rank[rank_order] = np.arange(n) - np.repeat(starts, sizes)
    floors += rank < np.repeat(short, sizes)
    out = np.empty(n, dtype=np.int64)
    out[order] = floors.astype(np.int64)
    return out


def _spread(group: np.ndarray, weights: np.ndarray, parent_total: np.ndarray) -> np.ndarray:
    """Split each group's total over its members in proportion to ``weights`` (integers, sums kept)."""
    w = np.asarray(weights, dtype=float)
    g = np.asarray(group, dtype=np.int64)
    sums = np.bincount(g, weights=w, minlength=len(parent_total))
    sizes = np.bincount(g, minlength=len(parent_total))
    share = np.where(sums[g] > 0, w / np.where(sums[g] > 0, sums[g], 1), 1.0 / np.maximum(sizes[g], 1))
    return fit_to_parent(share * parent_total[g], g, parent_total)


# ------------------------------------------------------------------ the domain


def _month_range(con: duckdb.DuckDBPyConnection, source: str = "records") -> list[date]:
    rows = con.execute(f"SELECT min(month), max(month) FROM {source}").fetchall()  # noqa: S608 (own names)
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        return []
    return [d.date() for d in pd.date_range(row[0], row[1], freq="MS")]


def _counties() -> pd.DataFrame:
    dims = reference.county_dimensions()[["county_fips", "region", "task_force"]]
    none = pd.DataFrame({"county_fips": [_NO_COUNTY], "region": [None], "task_force": [None]})
    return pd.concat([dims, none], ignore_index=True)


@cache
def cell_domain() -> pd.DataFrame:
    """The (county, res-6 cell) pairs the release measures: cells holding a gazetteer place or ZIP.

    Fixed by the shipped reference data, never by the records: ``county``,
    ``cell4``, ``cell5``, ``cell6`` (BIGINT, the res-6 cell and its parents). A record in a cell outside it counts in its
    county's "no cell" row.
    """
    places = reference.load_places()[["county_fips", "lat", "lng"]]
    zips = reference.load_zips()[["county_fips", "lat", "lng"]]
    points = pd.concat([places, zips], ignore_index=True).dropna()
    cells = [int(h3.str_to_int(h3.latlng_to_cell(a, b, 6))) for a, b in zip(points["lat"], points["lng"], strict=True)]
    frame = pd.DataFrame({"county": points["county_fips"].astype(str).to_numpy(), "cell6": cells}).drop_duplicates()
    frame["cell5"] = [int(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(c), 5))) for c in frame["cell6"]]
    frame["cell4"] = [int(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(c), 4))) for c in frame["cell6"]]
    return frame.sort_values(["county", "cell6"]).reset_index(drop=True)[["county", "cell4", "cell5", "cell6"]]


def _quarter(month: pd.Series) -> pd.Series:
    m = pd.to_datetime(month)
    return pd.to_datetime(pd.DataFrame({"year": m.dt.year, "month": (m.dt.month - 1) // 3 * 3 + 1, "day": 1})).dt.date


# ------------------------------------------------------------------ true counts


#: The release's reads of ``records``: the true (pre-noise) counts each measurement is
#: made from. Plain SQL that DuckDB and Spark SQL both run as written
#: (``pipelines/build/spark_release.py`` runs them on the lake), so the two cannot differ.
RECORD_COUNTS_SELECT = f"""
    SELECT month, coalesce(dest_county_fips, '{_NO_COUNTY}') AS county, record_type, trafficking_type,
        count(*) AS records,
        sum(least(greatest(coalesce(victim_count, 0), 0), {VICTIM_CAP}))::BIGINT AS victims,
        count(*) FILTER (WHERE minor_involved)::BIGINT AS minors
    FROM records WHERE month IS NOT NULL GROUP BY ALL
"""  # noqa: S608 (constants)

def _indicator_counts_sql() -> str:
    """One count column per indicator: records that carry it among their first :data:`INDICATORS_PER_RECORD`.

    A record's indicators are taken in the vocabulary's order, so each record
    adds 1 to at most that many indicator cells (the sensitivity of
    ``cells_indicator``); ``array_contains`` and ``FILTER`` run in DuckDB and Spark.
    """
    columns = []
    for i, name in enumerate(INDICATORS):
        has = f"array_contains(indicators, '{name}')"
        if i >= INDICATORS_PER_RECORD:
            before = " + ".join(f"CASE WHEN array_contains(indicators, '{e}') THEN 1 ELSE 0 END" for e in INDICATORS[:i])
            has += f" AND ({before}) < {INDICATORS_PER_RECORD}"
        columns.append(f"count(*) FILTER (WHERE {has}) AS ind_{name}")
    return ",\n        ".join(columns)


CELL_COUNTS_SELECT = f"""
    SELECT month, dest_county_fips AS county,
        CASE WHEN dest_res >= 6 THEN {sql_cell_to_parent('dest_cell', 6)} END AS cell6,
        record_type, source_kind, count(*) AS records,
        {_indicator_counts_sql()}
    FROM records WHERE month IS NOT NULL AND dest_county_fips IS NOT NULL GROUP BY ALL
"""  # noqa: S608 (constants)

#: Records per month, county (``''``: none), source kind, with the indicator columns of :data:`CELL_COUNTS_SELECT`.
PART_COUNTS_SELECT = f"""
    SELECT month, coalesce(dest_county_fips, '{_NO_COUNTY}') AS county, source_kind, count(*) AS records,
        {_indicator_counts_sql()}
    FROM records WHERE month IS NOT NULL GROUP BY ALL
"""  # noqa: S608 (constants)

FLOW_COUNTS_SELECT = """
    SELECT year(month) AS year, origin_county_fips AS o_county, dest_county_fips AS d_county,
        record_type, trafficking_type, count(*) AS records
    FROM records
    WHERE month IS NOT NULL AND origin_county_fips IS NOT NULL AND dest_county_fips IS NOT NULL
    GROUP BY ALL
"""

#: Flows from outside California, keyed as the flow places name the origin with its
#: entry point dropped (``US-NV``, ``MX``; :func:`geo.flow_places.sql_flow_records`).
OUTSIDE_FLOW_COUNTS_SELECT = """
    SELECT year(month) AS year,
        CASE WHEN coalesce(origin_country, 'US') = 'US' THEN 'US' || coalesce('-' || origin_state, '')
             ELSE origin_country END AS o_outside,
        dest_county_fips AS d_county, count(*) AS records
    FROM records
    WHERE month IS NOT NULL AND origin_county_fips IS NULL AND dest_county_fips IS NOT NULL
      AND (origin_state IS NOT NULL OR origin_country IS NOT NULL)
      AND NOT (coalesce(origin_state, '') = 'CA' AND coalesce(origin_country, 'US') = 'US')
    GROUP BY ALL
"""

#: Measurement reads by name, in the order :data:`MEASUREMENTS` uses them.
TRUE_COUNT_SELECTS = {
    "records": RECORD_COUNTS_SELECT, "cells": CELL_COUNTS_SELECT, "flows": FLOW_COUNTS_SELECT,
    "outside_flows": OUTSIDE_FLOW_COUNTS_SELECT, "parts": PART_COUNTS_SELECT,
}


def _record_counts(con: duckdb.DuckDBPyConnection, sql: str = RECORD_COUNTS_SELECT) -> pd.DataFrame:
    return con.execute(sql).df()


def _cell_counts(con: duckdb.DuckDBPyConnection, sql: str = CELL_COUNTS_SELECT) -> pd.DataFrame:
    return con.execute(sql).df()


def _flow_counts(con: duckdb.DuckDBPyConnection, sql: str = FLOW_COUNTS_SELECT) -> pd.DataFrame:
    return con.execute(sql).df()


# ------------------------------------------------------------------ measuring


@dataclass
class _Ledger:
    build_id: str
    built_at: datetime
    rho: float
    rows: list[dict[str, object]]


def _key_hashes(frame: pd.DataFrame, keys: tuple[str, ...]) -> pd.Series:
    """A 64-bit key per cell (pandas' fixed-key hash of the key columns, dates as days): stable across builds."""
    columns = {}
    for key in keys:
        column = frame[key]
        if column.dtype == object and len(column) and isinstance(column.iloc[0], date):
            column = pd.Series(pd.to_datetime(column).to_numpy().astype("datetime64[D]").astype(np.int64), index=frame.index)
        columns[key] = column
    return pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).astype(np.int64)


def _measure(
    con: duckdb.DuckDBPyConnection, m: Measurement, domain: pd.DataFrame, ledger: _Ledger
) -> np.ndarray:
    """The noisy counts of ``domain[m.value]`` (stored noise reused where the true value did not change)."""
    scale = scale_for(m, ledger.rho)
    keys = _key_hashes(domain, m.keys)
    true = domain[m.value].to_numpy(dtype=np.int64)
    old = con.execute(
        "SELECT key, true_value, noise FROM release_noise WHERE measurement = ?", [m.name]
    ).df().set_index("key")
    previous_true = keys.map(old["true_value"]).to_numpy(dtype=float, na_value=np.nan)
    previous_noise = keys.map(old["noise"]).to_numpy(dtype=float, na_value=np.nan)
    reuse = previous_true == true  # NaN (a new cell) is never equal
    noise = np.where(reuse, np.nan_to_num(previous_noise), 0).astype(np.int64)
    redraw = ~reuse
    with table_timer(f"noise {m.name}"):
        noise[redraw] = draw_noise(int(redraw.sum()), scale)
    con.execute("DELETE FROM release_noise WHERE measurement = ?", [m.name])
    stored = pd.DataFrame({"measurement": m.name, "key": keys.to_numpy(), "true_value": true, "noise": noise})
    if m.sparse:  # a cell outside this build's domain keeps its noise, for when its parent is above 0 again
        kept = old[~old.index.isin(stored["key"])].reset_index()
        stored = pd.concat([stored, kept.assign(measurement=m.name)[list(stored.columns)]], ignore_index=True)
    con.register("_release_noise_rows", stored)
    con.execute("INSERT INTO release_noise SELECT * FROM _release_noise_rows")
    con.unregister("_release_noise_rows")
    ledger.rows.append({
        "build_id": ledger.build_id, "built_at": ledger.built_at, "measurement": m.name,
        "cells": len(true), "redrawn": int(redraw.sum()), "scale": scale,
        "rho": rho_of(m, scale) if redraw.any() else 0.0,
    })
    return true + noise


def _released_level(
    con: duckdb.DuckDBPyConnection,
    m: Measurement,
    domain: pd.DataFrame,
    ledger: _Ledger,
    parent: pd.DataFrame | None,
    parent_keys: tuple[str, ...] = (),
) -> pd.DataFrame:
    """``domain`` with ``released``: measured, then fitted to ``parent`` (keys and ``released``).

    A ``ceiling`` column in ``domain`` caps each noisy value before the fit (indicators: a cell's
    released records), so the fit gives its share to the cells that can hold it.
    """
    noisy = _measure(con, m, domain, ledger)
    if "ceiling" in domain.columns:
        noisy = np.minimum(noisy, domain["ceiling"].to_numpy(dtype=np.int64))
    out = domain.copy()
    if parent is None:
        out["released"] = np.maximum(noisy, 0)
        return out
    codes = out[list(parent_keys)].merge(
        parent[list(parent_keys)].reset_index(names="_g"), on=list(parent_keys), how="left"
    )["_g"].to_numpy()
    if np.isnan(codes.astype(float)).any():
        raise ValueError(f"measurement {m.name!r} has cells without a parent in {parent_keys!r}")
    out["released"] = fit_to_parent(noisy, codes.astype(np.int64), parent["released"].to_numpy(dtype=np.int64))
    return out


def _product(**columns: Sequence[object]) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(list(columns.values()), names=list(columns))
    return index.to_frame(index=False)


def _with_counts(domain: pd.DataFrame, counts: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    summed = counts.groupby(keys, as_index=False)[values].sum()
    out = domain.merge(summed, on=keys, how="left")
    out[values] = out[values].fillna(0).astype(np.int64)
    return out


def _measure_counts(
    con: duckdb.DuckDBPyConnection, months: list[date], ledger: _Ledger, sql: str = RECORD_COUNTS_SELECT
) -> pd.DataFrame:
    raw = _record_counts(con, sql)
    raw["month"] = pd.to_datetime(raw["month"]).dt.date
    counties = _counties()["county_fips"].tolist()
    values = ["records", "victims", "minors"]
    by = {m.name: m for m in MEASUREMENTS}
    level0 = _with_counts(_product(month=months), raw, ["month"], values)
    level1 = _with_counts(_product(month=months, county=counties), raw, ["month", "county"], values)
    level2 = _with_counts(
        _product(month=months, county=counties, record_type=list(RECORD_TYPES)), raw, ["month", "county", "record_type"], values
    )
    level3 = _with_counts(
        _product(month=months, county=counties, record_type=list(RECORD_TYPES), trafficking_type=list(TRAFFICKING_TYPES)),
        raw, ["month", "county", "record_type", "trafficking_type"], values,
    )
    r0 = _released_level(con, by["records_month"], level0, ledger, None)
    r1 = _released_level(con, by["records_county_month"], level1, ledger, r0, ("month",))
    r2 = _released_level(con, by["records_county_type"], level2, ledger, r1, ("month", "county"))
    r3 = _released_level(con, by["records_fine"], level3, ledger, r2, ("month", "county", "record_type"))
    fine = r3.rename(columns={"released": "released_records"})
    for value in ("victims", "minors"):
        top = _released_level(con, by[f"{value}_month"], level0, ledger, None)
        per_type = _released_level(con, by[f"{value}_county_type"], level2, ledger, top, ("month",))
        group_keys = ["month", "county", "record_type"]
        codes = fine[group_keys].merge(per_type[group_keys].reset_index(names="_g"), on=group_keys, how="left")["_g"]
        fine[f"released_{value}"] = _spread(
            codes.to_numpy(dtype=np.int64), fine["released_records"].to_numpy(),
            per_type["released"].to_numpy(dtype=np.int64),
        )
    return fine


def _measure_cells(
    con: duckdb.DuckDBPyConnection, months: list[date], county_month: pd.DataFrame, ledger: _Ledger,
    sql: str = CELL_COUNTS_SELECT,
) -> pd.DataFrame:
    raw = _cell_counts(con, sql)
    raw["month"] = pd.to_datetime(raw["month"]).dt.date
    raw["quarter"] = _quarter(raw["month"])
    known = cell_domain()
    pairs = known[["county", "cell6"]].assign(_in=True)
    raw = raw.merge(pairs, on=["county", "cell6"], how="left")
    # 0: in no cell of the domain. Never through NaN: a float64 cell id loses its low bits, and a
    # garbled id matches no cell of the domain, so the county's records would all land in "no cell"
    inside = raw["_in"].notna().to_numpy()
    raw["cell6"] = np.where(inside, raw["cell6"].fillna(0).to_numpy(dtype=np.int64), 0)
    # nullable integers: a merge that leaves gaps must not turn 64-bit cell ids into floats
    parents = known[["cell6", "cell5", "cell4"]].drop_duplicates("cell6").astype({"cell5": "Int64", "cell4": "Int64"})
    raw = raw.merge(parents, on="cell6", how="left")
    raw[["cell5", "cell4"]] = raw[["cell5", "cell4"]].fillna(0).astype(np.int64)
    quarters = sorted(set(_quarter(pd.Series(months))))
    counties = _counties()["county_fips"].tolist()
    counties.remove(_NO_COUNTY)
    units = pd.concat(
        [known, pd.DataFrame({"county": counties, "cell4": 0, "cell5": 0, "cell6": 0})], ignore_index=True
    ).sort_values(["county", "cell4", "cell5", "cell6"], ignore_index=True)
    q = pd.DataFrame({"quarter": quarters})

    def level(keys: list[str]) -> pd.DataFrame:
        return _with_counts(q.merge(units[keys].drop_duplicates(), how="cross"), raw, ["quarter", *keys], ["records"])

    top = county_month[county_month["county"] != _NO_COUNTY].assign(quarter=lambda f: _quarter(f["month"]))
    top = top.groupby(["quarter", "county"], as_index=False)["released"].sum()
    by = {m.name: m for m in MEASUREMENTS}
    r4 = _released_level(con, by["cells_res4"], level(["county", "cell4"]), ledger, top, ("quarter", "county"))
    r5 = _released_level(
        con, by["cells_res5"], level(["county", "cell4", "cell5"]), ledger, r4, ("quarter", "county", "cell4")
    )
    leaves = level(["county", "cell4", "cell5", "cell6"])
    r6 = _released_level(con, by["cells_res6"], leaves, ledger, r5, ("quarter", "county", "cell4", "cell5"))
    return r6, _measure_cell_parts(con, raw, r5, r6, ledger)


def _under_released(parent: pd.DataFrame, keys: tuple[str, ...], column: str, values: Sequence[str],
                    raw: pd.DataFrame, counted: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The released parents above 0 (renumbered 0..n-1) and their children: parent × each of ``values``.

    ``counted`` is the column of ``raw`` that holds a child's true count.
    """
    above = parent[parent["released"] > 0].reset_index(drop=True)
    children = above[list(keys)].merge(pd.DataFrame({column: list(values)}), how="cross")
    if column == "indicator":  # one column per indicator in raw: long form first
        wide = raw.groupby(list(keys), as_index=False)[[f"ind_{v}" for v in values]].sum()
        long = wide.melt(id_vars=list(keys), var_name=column, value_name=counted)
        long[column] = long[column].str.removeprefix("ind_")
        return above, _with_counts(children, long, [*keys, column], [counted])
    return above, _with_counts(children, raw, [*keys, column], [counted])


def _indicator_level(r5: pd.DataFrame, raw: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """Every ``keys`` × indicator with its true (bounded) count and ``ceiling``, the released records there."""
    released = r5.groupby(list(keys), as_index=False)["released"].sum().rename(columns={"released": "ceiling"})
    columns = [f"ind_{v}" for v in INDICATORS]
    long = raw.groupby(list(keys), as_index=False)[columns].sum().melt(
        id_vars=list(keys), var_name="indicator", value_name="records"
    )
    long["indicator"] = long["indicator"].str.removeprefix("ind_")
    domain = released.merge(pd.DataFrame({"indicator": list(INDICATORS)}), how="cross")
    return _with_counts(domain, long, [*keys, "indicator"], ["records"])


def _at_most(values: pd.Series | np.ndarray, ceiling: pd.Series) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=np.int64), 0, ceiling.to_numpy(dtype=np.int64))


def _measure_cell_parts(
    con: duckdb.DuckDBPyConnection, raw: pd.DataFrame, r5: pd.DataFrame, r6: pd.DataFrame, ledger: _Ledger
) -> pd.DataFrame:
    """The map cells by record type, by source kind (res-6 leaves) and by indicator (res-5 cells).

    Children are measured only under a released parent above 0: a parent
    released as 0 has children released as 0 whatever their noise, so drawing
    it would only cost time. Record types and source kinds split a leaf, so
    they are fitted to it (:func:`fit_to_parent`); indicators overlap, so each
    is clamped to ``[0, parent]``. Returns ``dimension``, ``value``, the
    leaf's keys (``cell6`` 0 for indicators), ``released``.
    """
    by = {m.name: m for m in MEASUREMENTS}
    parts = []
    for name, column, values in (("cells_type", "record_type", RECORD_TYPES), ("cells_kind", "source_kind", SOURCE_KINDS)):
        above, children = _under_released(r6, _LEAF, column, values, raw, "records")
        fitted = _released_level(con, by[name], children, ledger, above, _LEAF)
        parts.append(fitted.rename(columns={column: "value"}).assign(dimension=column))
    # indicators, top down: per quarter (at most the quarter's released records), per county and quarter
    # fitted to it (at most the county's), then the res-5 cells fitted to that (at most the cell's)
    state_ind = _indicator_level(r5, raw, ("quarter",))
    state_ind["released"] = _at_most(_measure(con, by["indicators_quarter"], state_ind, ledger), state_ind["ceiling"])
    county_ind = _indicator_level(r5, raw, ("quarter", "county"))
    county_ind = _released_level(con, by["indicators_county"], county_ind, ledger, state_ind, ("quarter", "indicator"))
    county_ind["released"] = _at_most(county_ind["released"], county_ind["ceiling"])
    res5 = ("quarter", "county", "cell4", "cell5")
    above, children = _under_released(r5, res5, "indicator", INDICATORS, raw, "records")
    county_keys = ["quarter", "county", "indicator"]
    held = county_ind.loc[county_ind["released"] > 0, county_keys]
    children = children.merge(held, on=county_keys, how="inner")  # an indicator released as 0 in the county: 0 in its cells
    children["ceiling"] = children[list(res5)].merge(above[[*res5, "released"]], on=list(res5), how="left")["released"]
    fitted = _released_level(con, by["cells_indicator"], children, ledger, county_ind, ("quarter", "county", "indicator"))
    fitted["released"] = _at_most(fitted["released"], fitted["ceiling"])
    parts.append(fitted.rename(columns={"indicator": "value"}).assign(dimension="indicator", cell6=0))
    frame = pd.concat(parts, ignore_index=True)
    return frame[frame["released"] > 0][["dimension", "value", *_LEAF, "released"]]


def _measure_count_parts(
    con: duckdb.DuckDBPyConnection, months: list[date], fine: pd.DataFrame, ledger: _Ledger,
    sql: str = PART_COUNTS_SELECT,
) -> pd.DataFrame:
    """The area counts by source kind and by indicator (county × month; see "Count parts").

    Source kinds split a county-month's records, so ``counts_kind`` is fitted to
    the released county-month (:func:`fit_to_parent`): its kinds add up to it
    exactly. Indicators overlap: ``counts_indicator_month`` (at most the month's
    released records) is the parent of ``counts_indicator`` (at most the
    county-month's). Victims and minors are not measured by kind or indicator:
    the county-month's released ones are spread in proportion to the released
    records (post-processing). Returns ``dimension``, ``value``, ``month``,
    ``county``, ``released``, ``released_victims``, ``released_minors`` (rows above 0).
    """
    raw = con.execute(sql).df()
    raw["month"] = pd.to_datetime(raw["month"]).dt.date
    by = {m.name: m for m in MEASUREMENTS}
    area = ["month", "county"]
    # victims and minors as ``release_counts`` shows them: those spread onto rows of no released record are not shown
    shown = fine[["released_victims", "released_minors"]].where(fine["released_records"] > 0, 0)
    cm = fine[area].join(fine[["released_records"]]).join(shown).groupby(area, as_index=False).sum()
    parent = cm.rename(columns={"released_records": "released"})
    children = _with_counts(
        cm[area].merge(pd.DataFrame({"source_kind": list(SOURCE_KINDS)}), how="cross"), raw,
        [*area, "source_kind"], ["records"],
    )
    kinds = _released_level(con, by["counts_kind"], children, ledger, parent, tuple(area))
    codes = kinds[area].merge(cm[area].reset_index(names="_g"), on=area, how="left")["_g"].to_numpy(dtype=np.int64)
    for value in ("victims", "minors"):
        kinds[f"released_{value}"] = _spread(codes, kinds["released"].to_numpy(), cm[f"released_{value}"].to_numpy(dtype=np.int64))
    kinds = kinds.rename(columns={"source_kind": "value"}).assign(dimension="source_kind")
    # indicators, top down: per month (at most its released records), per county and month fitted to it
    columns = [f"ind_{v}" for v in INDICATORS]
    long = raw.groupby(area, as_index=False)[columns].sum().melt(id_vars=area, var_name="indicator", value_name="records")
    long["indicator"] = long["indicator"].str.removeprefix("ind_")
    ind = pd.DataFrame({"indicator": list(INDICATORS)})
    month_ceiling = cm.groupby("month", as_index=False)["released_records"].sum().rename(columns={"released_records": "ceiling"})
    top = _with_counts(month_ceiling.merge(ind, how="cross"), long, ["month", "indicator"], ["records"])
    top["released"] = _at_most(_measure(con, by["counts_indicator_month"], top, ledger), top["ceiling"])
    county = cm.rename(columns={"released_records": "ceiling"}).merge(ind, how="cross")
    county = _with_counts(county, long, [*area, "indicator"], ["records"])
    county = _released_level(con, by["counts_indicator"], county, ledger, top, ("month", "indicator"))
    county["released"] = _at_most(county["released"], county["ceiling"])
    share = county["released"] / county["ceiling"].where(county["ceiling"] > 0, 1)
    for value in ("victims", "minors"):
        county[f"released_{value}"] = np.rint(county[f"released_{value}"] * share).astype(np.int64)
    county = county.rename(columns={"indicator": "value"}).assign(dimension="indicator")
    columns = ["dimension", "value", *area, "released", "released_victims", "released_minors"]
    frame = pd.concat([kinds[columns], county[columns]], ignore_index=True)
    return frame[frame["released"] > 0].reset_index(drop=True)


def _count_part_rows(parts: pd.DataFrame) -> pd.DataFrame:
    """``release_count_parts`` rows of :func:`_measure_count_parts` (the true values never reach it)."""
    columns = ["dimension", "value", "month", "dest_county_fips", "dest_region", "dest_task_force", "records",
               "victims", "minors"]
    if parts.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("records", "victims", "minors") else object) for c in columns})
    rows = _areas(parts, "county", "dest").rename(
        columns={"released": "records", "released_victims": "victims", "released_minors": "minors"}
    )
    return rows[columns]


def _measure_flows(
    con: duckdb.DuckDBPyConnection, months: list[date], ledger: _Ledger, sql: str = FLOW_COUNTS_SELECT
) -> pd.DataFrame:
    raw = _flow_counts(con, sql)
    dims = reference.county_dimensions()[["county_fips", "region"]]
    region = dims.set_index("county_fips")["region"]
    raw["o_region"] = raw["o_county"].map(region)
    raw["d_region"] = raw["d_county"].map(region)
    raw = raw.dropna(subset=["o_region", "d_region"])
    years = sorted({d.year for d in months})
    pairs = dims.merge(dims, how="cross", suffixes=("_o", "_d")).rename(columns={
        "county_fips_o": "o_county", "county_fips_d": "d_county", "region_o": "o_region", "region_d": "d_region",
    })
    y = pd.DataFrame({"year": years})
    regions = _with_counts(
        y.merge(pairs[["o_region", "d_region"]].drop_duplicates(), how="cross"), raw, ["year", "o_region", "d_region"], ["records"]
    )
    counties = _with_counts(y.merge(pairs, how="cross"), raw, ["year", "o_region", "d_region", "o_county", "d_county"], ["records"])
    types = _with_counts(
        counties.drop(columns="records").merge(pd.DataFrame({"record_type": list(RECORD_TYPES)}), how="cross"),
        raw, ["year", "o_region", "d_region", "o_county", "d_county", "record_type"], ["records"],
    )
    traffic = _with_counts(
        counties.drop(columns="records").merge(pd.DataFrame({"trafficking_type": list(TRAFFICKING_TYPES)}), how="cross"),
        raw, ["year", "o_region", "d_region", "o_county", "d_county", "trafficking_type"], ["records"],
    )
    by = {m.name: m for m in MEASUREMENTS}
    r0 = _released_level(con, by["flows_region"], regions, ledger, None)
    r1 = _released_level(con, by["flows_county"], counties, ledger, r0, ("year", "o_region", "d_region"))
    edge = ("year", "o_region", "d_region", "o_county", "d_county")
    by_type = _released_level(con, by["flows_type"], types, ledger, r1, edge)
    by_traffic = _released_level(con, by["flows_traffic"], traffic, ledger, r1, edge)
    # one table: rows by record type (trafficking type NULL), then rows by trafficking type (record type NULL)
    return pd.concat([by_type.assign(trafficking_type=None), by_traffic.assign(record_type=None)], ignore_index=True)


def _measure_outside_flows(
    con: duckdb.DuckDBPyConnection, months: list[date], ledger: _Ledger, sql: str = OUTSIDE_FLOW_COUNTS_SELECT
) -> pd.DataFrame:
    """Released flows from outside California: ``year``, ``o_outside``, ``d_region``, ``d_county``, ``released``.

    The domain is every year × every origin of :func:`geo.flow_places.outside_origin_ids`
    × every county (its region the parent), whatever the records hold; a record from an
    origin outside it (a country the reference data does not list) is not released.
    """
    from geo.flow_places import outside_origin_ids

    raw = con.execute(sql).df()
    dims = reference.county_dimensions()[["county_fips", "region"]].rename(
        columns={"county_fips": "d_county", "region": "d_region"}
    )
    raw = raw.merge(dims, on="d_county", how="inner")
    origins = pd.DataFrame({"o_outside": list(outside_origin_ids())})
    y = pd.DataFrame({"year": sorted({d.year for d in months})})
    ends = y.merge(origins, how="cross").merge(dims, how="cross")
    regions = _with_counts(
        ends[["year", "o_outside", "d_region"]].drop_duplicates(ignore_index=True), raw,
        ["year", "o_outside", "d_region"], ["records"],
    )
    counties = _with_counts(ends, raw, ["year", "o_outside", "d_region", "d_county"], ["records"])
    totals = _with_counts(y.merge(origins, how="cross"), raw, ["year", "o_outside"], ["records"])
    by = {m.name: m for m in MEASUREMENTS}
    # the top is clamped at 0, which biases an empty cell up by about σ/√(2π); measured per origin (not per
    # origin and region), that bias falls on one origin-year, and fitting shrinks it in the regions below
    top = _released_level(con, by["flows_outside"], totals, ledger, None)
    per_region = _released_level(con, by["flows_outside_region"], regions, ledger, top, ("year", "o_outside"))
    return _released_level(con, by["flows_outside_county"], counties, ledger, per_region, ("year", "o_outside", "d_region"))


def _outside_flow_rows(outside: pd.DataFrame) -> pd.DataFrame:
    """``release_flows`` rows of :func:`_measure_outside_flows` (non-zero only; no type: both type columns NULL)."""
    rows = outside.drop(columns="records")[outside["released"] > 0]  # the true values never reach a release table
    rows = _areas(rows, "d_county", "dest").assign(
        month=pd.to_datetime(rows["year"].astype(str) + "-01-01").dt.date if len(rows) else [],
        origin_county_fips=None, origin_region=None, origin_task_force=None, record_type=None, trafficking_type=None,
    )
    return rows.rename(columns={"released": "records", "o_outside": "origin_outside"})


# ------------------------------------------------------------------ writing


_LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS release_ledger (
    build_id VARCHAR, built_at TIMESTAMP, measurement VARCHAR, cells BIGINT, redrawn BIGINT,
    scale DOUBLE, rho DOUBLE
)
"""
_NOISE_DDL = "CREATE TABLE IF NOT EXISTS release_noise (measurement VARCHAR, key BIGINT, true_value BIGINT, noise BIGINT)"


def _write(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, order: str) -> int:
    with table_timer(name):
        con.register("_release_rows", frame)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _release_rows ORDER BY {order}")  # noqa: S608 (own names)
        con.unregister("_release_rows")
    return len(frame)


def _areas(frame: pd.DataFrame, column: str, prefix: str) -> pd.DataFrame:
    dims = reference.county_dimensions().set_index("county_fips")
    out = frame.copy()
    out[f"{prefix}_county_fips"] = out[column].where(out[column] != _NO_COUNTY, None)
    out[f"{prefix}_region"] = out[column].map(dims["region"])
    out[f"{prefix}_task_force"] = out[column].map(dims["task_force"])
    return out


def spent_last_year(con: duckdb.DuckDBPyConnection, *, now: datetime) -> float:
    """ρ charged by the builds of the 365 days before ``now`` (``release_ledger``)."""
    con.execute(_LEDGER_DDL)
    rows = con.execute(
        "SELECT coalesce(sum(rho), 0) FROM release_ledger WHERE built_at > ?::TIMESTAMP - INTERVAL 365 DAY", [now]
    ).fetchall()
    return float(rows[0][0]) if rows else 0.0


def build(
    con: duckdb.DuckDBPyConnection,
    *,
    now: Callable[[], datetime] | None = None,
    true_counts: dict[str, str] | None = None,
) -> dict[str, int]:
    """Measure, reconcile and store the release; charge the ledger. Rows per table written.

    ``true_counts`` (name of :data:`TRUE_COUNT_SELECTS` -> a query on ``con``) gives
    the pre-noise counts instead of reading ``records``: ``release load`` passes
    those a Spark build computed, and the noise, its reuse and the ledger are then
    this very function's, on the warehouse's ``release_noise`` and ``release_ledger``.
    """
    if true_counts is not None and sorted(true_counts) != sorted(TRUE_COUNT_SELECTS):
        raise ValueError(f"true_counts must give {sorted(TRUE_COUNT_SELECTS)}, not {sorted(true_counts)}")
    return _build(con, now=now, reads={**TRUE_COUNT_SELECTS, **(true_counts or {})},
                  months_from=f"({true_counts['records']})" if true_counts else "records")


def _build(
    con: duckdb.DuckDBPyConnection, *, now: Callable[[], datetime] | None, reads: dict[str, str], months_from: str
) -> dict[str, int]:
    started = (now or (lambda: datetime.now(UTC).replace(tzinfo=None)))()
    con.execute(_LEDGER_DDL)
    con.execute(_NOISE_DDL)
    rho = release_rho()
    if spent_last_year(con, now=started) + rho > release_rho_year() and all(
        _has(con, t) for t in RELEASE_TABLES
    ):
        message = (
            f"Release not re-measured: this build's rho {rho:g} would take the last 365 days past "
            f"ROUTES_RELEASE_RHO_YEAR={release_rho_year():g}; the previous release stays "
            "(see `python -m pipelines release report`)"
        )
        log.warning(message)
        if not settings.quiet():
            print(message, file=sys.stderr, flush=True)
        return {}
    months = _month_range(con, months_from)
    ledger = _Ledger(str(uuid.uuid4()), started, rho, [])
    if not months:
        fine = pd.DataFrame(columns=["month", "county", "record_type", "trafficking_type", "records", "victims",
                                     "minors", "released_records", "released_victims", "released_minors"])
        cells = pd.DataFrame(columns=["quarter", "county", "cell4", "cell5", "cell6", "records", "released"])
        parts = pd.DataFrame(columns=["dimension", "value", *_LEAF, "released"])
        flows = pd.DataFrame(columns=["year", "o_county", "d_county", "record_type", "trafficking_type", "records", "released"])
        outside = pd.DataFrame(columns=["year", "o_outside", "d_region", "d_county", "records", "released"])
        count_parts = pd.DataFrame()
    else:
        fine = _measure_counts(con, months, ledger, reads["records"])
        county_month = fine.groupby(["month", "county"], as_index=False)["released_records"].sum()
        cells, parts = _measure_cells(
            con, months, county_month.rename(columns={"released_records": "released"}), ledger, reads["cells"]
        )
        count_parts = _measure_count_parts(con, months, fine, ledger, reads["parts"])
        flows = _measure_flows(con, months, ledger, reads["flows"])
        outside = _measure_outside_flows(con, months, ledger, reads["outside_flows"])
    # the true values never reach a release table: only the released columns are kept
    counts = _areas(fine.drop(columns=["records", "victims", "minors"]), "county", "dest")
    counts = counts[counts["released_records"] > 0].rename(
        columns={"released_records": "records", "released_victims": "victims", "released_minors": "minors"}
    )
    counts = counts[["month", "dest_county_fips", "dest_region", "dest_task_force", "record_type", "trafficking_type",
                     "records", "victims", "minors"]]
    written = {"release_counts": _write(con, "release_counts", counts, "month, dest_county_fips")}
    written["release_count_parts"] = _write(
        con, "release_count_parts", _count_part_rows(count_parts), "dimension, value, month, dest_county_fips"
    )
    written["release_cells"] = _write(con, "release_cells", _cell_rows(cells), "res, month, cell")
    written["release_cell_parts"] = _write(con, "release_cell_parts", _cell_part_rows(parts), "dimension, value, res, month, cell")
    flows = flows.drop(columns="records")[flows["released"] > 0]
    flow_rows = _areas(_areas(flows, "o_county", "origin"), "d_county", "dest")
    flow_rows = flow_rows.assign(month=pd.to_datetime(flow_rows["year"].astype(str) + "-01-01").dt.date if len(flow_rows) else [])
    parts = [flow_rows.rename(columns={"released": "records"}).assign(origin_outside=None), _outside_flow_rows(outside)]
    flow_rows = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)[["month", "origin_county_fips", "origin_region", "origin_task_force", "dest_county_fips", "dest_region",
       "dest_task_force", "record_type", "trafficking_type", "records", "origin_outside"]]
    written["release_flows"] = _write(con, "release_flows", flow_rows, "month, origin_county_fips, dest_county_fips")
    meta = {
        "build_id": ledger.build_id, "built_at": started.isoformat(),
        "first_month": months[0].isoformat() if months else "", "last_month": months[-1].isoformat() if months else "",
        "rho": repr(rho), "victim_cap": str(VICTIM_CAP),
        **{f"scale:{m.name}": repr(scale_for(m, rho)) for m in MEASUREMENTS},
    }
    written["release_meta"] = _write(
        con, "release_meta", pd.DataFrame({"key": list(meta), "value": list(meta.values())}), "key"
    )
    written.update(_corridors(con, cells))
    written["release_hotspot_classes"] = _hotspots(con, months)
    from pipelines.build import (
        release_moves as build_release_moves,  # it draws with this module's mechanism
    )

    moves_tables, charges = build_release_moves.build(con, sorted({m.year for m in months}))
    for table, frame in moves_tables.items():
        written[table] = _write(con, table, frame, "1")
    ledger.rows.extend({"build_id": ledger.build_id, "built_at": ledger.built_at, **c} for c in charges)
    if ledger.rows:
        con.register("_ledger_rows", pd.DataFrame(ledger.rows))
        con.execute("INSERT INTO release_ledger SELECT * FROM _ledger_rows")
        con.unregister("_ledger_rows")
    written["release_ledger"] = len(ledger.rows)
    return written


#: At most this many anchors per county, each holding at least this share of its released cells' records.
ANCHORS = 3
ANCHOR_SHARE = 0.1


def county_anchor_points(cells: pd.DataFrame) -> pd.DataFrame:
    """Where a county's flows start and end, from released numbers only: ``county``, ``lat``, ``lng``, ``weight``.

    The county's busiest released res-4 cells (up to :data:`ANCHORS`, each with
    at least :data:`ANCHOR_SHARE` of them), weighted by their released records;
    a county with none is anchored at its most populous place
    (:func:`geo.flow_places.county_anchors`).
    """
    from geo.flow_places import county_anchors

    per = cells[cells["cell4"].astype("int64") != 0].groupby(["county", "cell4"], as_index=False)["released"].sum()
    per = per.sort_values(["county", "released", "cell4"], ascending=[True, False, True])
    per = per[per["released"] > 0].groupby("county").head(ANCHORS)
    per["weight"] = per["released"] / per.groupby("county")["released"].transform("sum")
    per = per[per["weight"] >= ANCHOR_SHARE]
    per["weight"] = per["weight"] / per.groupby("county")["weight"].transform("sum")
    centres = [h3.cell_to_latlng(h3.int_to_str(int(c))) for c in per["cell4"]]
    per["lat"] = [c[0] for c in centres]
    per["lng"] = [c[1] for c in centres]
    fallback = county_anchors().rename(columns={"county_fips": "county"})
    fallback = fallback[~fallback["county"].isin(per["county"])].assign(weight=1.0)
    return pd.concat([per[["county", "lat", "lng", "weight"]], fallback[["county", "lat", "lng", "weight"]]], ignore_index=True)


def _outside_anchors() -> pd.DataFrame:
    """Where released out-of-state flows start: each entry point an origin is routed through (reference data only).

    The release drops the entry point a record came through (``MX@calexico`` is
    released as ``MX``), so an origin's flows are routed from its default entry
    (:func:`geo.flow_places.default_entry`). Origins that share one (every
    country but Mexico and Canada at LAX) share its paths, so the paths are
    keyed by the entry, :func:`query.release.entry_path_id` (``@san_ysidro``):
    ``county`` (that key), ``lat``, ``lng``, ``weight`` 1.
    """
    from geo import highways
    from geo.flow_places import default_entry, outside_origin_ids

    entries = sorted({default_entry(o) for o in outside_origin_ids()})
    return pd.DataFrame({
        "county": [release.entry_path_id(e) for e in entries],
        "lat": [highways.ENTRY_POINTS[e][2] for e in entries],
        "lng": [highways.ENTRY_POINTS[e][3] for e in entries],
        "weight": 1.0,
    })


def _corridors(con: duckdb.DuckDBPyConnection, cells: pd.DataFrame) -> dict[str, int]:
    """``release_corridor_paths`` and ``release_corridor_segments``, from reference data and released cells.

    A county pair's flows follow the shortest highway paths between the two
    counties' anchors (:func:`county_anchor_points`), each path with the product
    of its anchors' weights; ``weight`` per segment is the share of the pair's
    flows that pass along it.
    """
    from geo import highways
    from pipelines.build.corridors import corridor_graph

    graph = corridor_graph()
    anchors = county_anchor_points(cells) if len(cells) else county_anchor_points(
        pd.DataFrame(columns=["county", "cell4", "released"])
    )
    anchors["node"] = highways.nearest_nodes(graph, anchors["lat"].to_numpy(), anchors["lng"].to_numpy()).astype(int)
    outside = _outside_anchors()
    outside["node"] = highways.nearest_nodes(graph, outside["lat"].to_numpy(), outside["lng"].to_numpy()).astype(int)
    pairs = pd.concat([anchors, outside], ignore_index=True).merge(anchors, how="cross", suffixes=("_o", "_d"))
    pairs = pairs[(pairs["county_o"] != pairs["county_d"]) & (pairs["node_o"] != pairs["node_d"])]
    pairs = pairs.assign(weight=pairs["weight_o"] * pairs["weight_d"])
    paths = highways.shortest_path_segments(graph, set(zip(pairs["node_o"], pairs["node_d"], strict=True)))
    steps = pd.DataFrame(
        [(u, v, segment) for (u, v), segments in paths.items() for segment in segments],
        columns=["node_o", "node_d", "segment_id"],
    ).astype({"node_o": int, "node_d": int, "segment_id": int})
    frame = pairs[["county_o", "county_d", "node_o", "node_d", "weight"]].merge(steps, on=["node_o", "node_d"])
    frame = frame.rename(columns={"county_o": "origin_id", "county_d": "dest_id"})
    frame = frame.groupby(["origin_id", "dest_id", "segment_id"], as_index=False)["weight"].sum()
    segments = highways.segments_frame(graph)[
        ["segment_id", "route", "kind", "length_km", "from_lat", "from_lng", "to_lat", "to_lng", "wkt"]
    ]
    return {
        "release_corridor_paths": _write(con, "release_corridor_paths", frame, "origin_id, dest_id, segment_id"),
        "release_corridor_segments": _write(con, "release_corridor_segments", segments, "segment_id"),
    }


def _hotspots(con: duckdb.DuckDBPyConnection, months: list[date]) -> int:
    """``release_hotspot_classes``: the emerging hot-spot analysis run on released cells only."""
    from pipelines.build import hotspots as hs

    frames = []
    if months:
        as_of = (pd.Timestamp(months[-1]) + pd.offsets.MonthEnd(0)).date()
        last = hs.last_complete_step(as_of, step="quarter")
        first = max(_quarter(pd.Series([months[0]]))[0], (pd.Timestamp(last) - pd.DateOffset(months=3 * (hs.MAX_STEPS["quarter"] - 1))).date())
        periods = hs.step_periods(first, last, step="quarter") if first <= last else []
        for res in hs.RESOLUTIONS if len(periods) >= hs.MIN_STEPS else ():
            cells = con.execute(
                "SELECT cell, month AS period, dest_county_fips, dest_region, dest_task_force, records "
                "FROM release_cells WHERE res = ? AND cell IS NOT NULL AND month BETWEEN ? AND ?",
                [res, periods[0], periods[-1]],
            ).df()
            if cells.empty:
                continue
            cells["period"] = pd.to_datetime(cells["period"]).dt.date
            counts = cells.groupby(["cell", "period"], as_index=False)["records"].sum()
            found = hs.emerging_hot_spots_of(counts, periods, rings=hs.RINGS.get(res, 1))
            by_county = cells.groupby(["cell", "dest_county_fips", "dest_region", "dest_task_force"], as_index=False)["records"].sum()
            top = by_county.sort_values(["cell", "records", "dest_county_fips"], ascending=[True, False, True]).drop_duplicates("cell")
            top = top.rename(columns={"dest_county_fips": "county_fips", "dest_region": "region", "dest_task_force": "task_force"})
            found = found.merge(top.drop(columns="records"), on="cell", how="left")
            frames.append(found.assign(res=res, step="quarter", first_period=periods[0], last_period=periods[-1]))
    frame = pd.concat(frames, ignore_index=True) if frames else hs._empty_frame()
    return _write(con, "release_hotspot_classes", frame, "res, cell")


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0])


def _cell_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """Released res-6 leaves summed to res 5 and res 4 (the "no cell" rows keep ``cell`` NULL at every res)."""
    cells = cells.drop(columns="records")[cells["released"] > 0]
    if cells.empty:
        return pd.DataFrame({
            "res": pd.Series(dtype="int64"), "cell": pd.Series(dtype="int64"), "dest_county_fips": pd.Series(dtype=object),
            "dest_region": pd.Series(dtype=object), "dest_task_force": pd.Series(dtype=object),
            "month": pd.Series(dtype=object), "records": pd.Series(dtype="int64"),
        })
    parts = []
    for res, column in ((6, "cell6"), (5, "cell5"), (4, "cell4")):
        frame = cells.groupby(["quarter", "county", column], as_index=False)["released"].sum()
        frame = frame.rename(columns={column: "cell"}).assign(res=res)
        parts.append(frame)
    out = _areas(pd.concat(parts, ignore_index=True), "county", "dest")
    out["cell"] = out["cell"].astype("Int64").mask(out["cell"].eq(0))
    out = out.rename(columns={"quarter": "month", "released": "records"})
    return out[["res", "cell", "dest_county_fips", "dest_region", "dest_task_force", "month", "records"]]


def _cell_part_rows(parts: pd.DataFrame) -> pd.DataFrame:
    """``release_cell_parts``: released leaves by record type and source kind summed to res 5 and 4, indicators to res 4.

    Post-processing of the released leaves, as :func:`_cell_rows` sums the
    unsplit ones: at every resolution the record types (and the source kinds)
    of a cell add up to its row of ``release_cells``.
    """
    columns = ["dimension", "value", "res", "cell", "dest_county_fips", "dest_region", "dest_task_force", "month", "records"]
    if parts.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("res", "cell", "records") else object) for c in columns})
    out = []
    for res, column in ((6, "cell6"), (5, "cell5"), (4, "cell4")):
        frame = parts if res < 6 else parts[parts["dimension"] != "indicator"]
        frame = frame.groupby(["dimension", "value", "quarter", "county", column], as_index=False)["released"].sum()
        out.append(frame.rename(columns={column: "cell"}).assign(res=res))
    rows = _areas(pd.concat(out, ignore_index=True), "county", "dest")
    rows["cell"] = rows["cell"].astype("Int64").mask(rows["cell"].eq(0))
    rows = rows.rename(columns={"quarter": "month", "released": "records"})
    return rows[columns]
