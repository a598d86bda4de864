"""Differencing attacks on the protected release (issue 17) that several test files run.

An attack returns ``(recovered, true)`` pairs: what a hostile viewer works out by
subtracting shown numbers, and the true value from ``records``; :func:`score`
judges the small ones. ``tests/test_release_attacks.py`` runs the attacks over a
small fixture, ``tests/test_release_utility.py`` the cell attack over the demo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from query import cells
from query.filters import Filters
from query.suppression import FilterIsolationError
from query.viewer import Viewer
from routes.contract.sql import compose, ident

K = 11
PARTNER = Viewer("attacker", "partner")
YEARS = (date(2024, 1, 1), date(2025, 1, 1))
TYPE_SETS = ((), ("tip",), ("incident",), ("tip", "incident"), ("recovery", "service"))
Pairs = list[tuple[float, float]]


def truth_of(path: Path, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    """The true answer of ``sql`` on the warehouse at ``path`` (what an attack's guess is scored against)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _small(pairs: Pairs) -> Pairs:
    """The pairs whose true value is a small count (1..k-1): what an attack is after."""
    return [(got, true) for got, true in pairs if 1 <= true <= K - 1]


def score(pairs: Pairs) -> tuple[float, float, int]:
    """Of the small counts among ``(recovered, true)`` pairs: the share recovered exactly, the mean absolute error, how many."""
    small = _small(pairs)
    if not small:
        return 0.0, 0.0, 0
    got, true = np.array(small).T
    return float(np.mean(got == true)), float(np.mean(np.abs(got - true))), len(small)


def parent_minus_shown_children(path: Path, viewer: Viewer = PARTNER) -> Pairs:
    """A cell of ``cell_counts`` minus its children that ``cell_change`` shows: the hidden children."""
    out: Pairs = []
    grid = cells.grid
    nothing = Filters(start=date(1990, 1, 1), end=date(1990, 12, 1))
    periods = [Filters(), *(Filters(start=y, end=date(y.year, 12, 1)) for y in YEARS)]
    for f in periods:
        for parent_res in (4, 5):
            child_res = parent_res + 1
            try:
                parents = cells.cell_counts(viewer, f, res=parent_res)
                change = cells.cell_change(viewer, nothing, f, res=child_res)
            except FilterIsolationError:
                continue
            shown = change[~change["suppressed"] & change["after"].notna()].copy()
            shown["parent"] = [int(grid.cell_to_parent(int(c), parent_res)) for c in shown["cell"]]
            where, params = f.where(side="dest")
            true = truth_of(path, compose("""
                SELECT {parent} AS parent,
                    {child} AS cell, count(*) AS n
                FROM records WHERE dest_res >= 6 AND {where} GROUP BY ALL""",
                parent=grid.sql_cell_to_parent("dest_cell", parent_res),
                child=grid.sql_cell_to_parent("dest_cell", child_res), where=where), params)
            visible = set(shown["cell"].astype("int64"))
            whole = parents[parents["level"].eq("cell") & ~parents["suppressed"] & ~parents["rolled_up"]]
            for row in whole.itertuples():
                kids = shown[shown["parent"] == int(row.cell)]
                recovered = float(row.records) - float(kids["after"].sum())
                hidden = true[(true["parent"] == int(row.cell)) & ~true["cell"].isin(visible)]
                out.append((recovered, float(hidden["n"].sum())))
    return out


#: Filters the protected map splits by, and their vocabularies (``release_cell_parts``).
CELL_SPLITS = {"record_types": ("record_type", ("tip", "incident", "recovery", "service")),
               "source_kinds": ("source_kind", ("law_enforcement", "ngo", "hotline", "fusion"))}


def all_but_one_cells(
    path: Path, field: str, viewer: Viewer = PARTNER, *, res_levels: tuple[int, ...] = (4, 5, 6), domain_only: bool = True
) -> Pairs:
    """A map cell under every record type (source kind) minus the same cell under all but one: that one's count.

    ``field`` is ``record_types`` or ``source_kinds``. Over the whole period and
    each year, at each resolution of ``res_levels``; only cells shown whole
    (not rolled up, not hidden) under both filters are subtracted. The true
    count is that of the release's cell (records whose res-6 cell is in its
    domain), or with ``domain_only=False`` of the whole H3 cell (what the exact
    readers count).
    """
    _, values = CELL_SPLITS[field]
    out: Pairs = []
    for every, truth, under in _cell_reads(path, field, viewer, res_levels=res_levels, domain_only=domain_only):
        for left_out in values:
            some = under(tuple(v for v in values if v != left_out))
            for cell in every.index.intersection(some.index):
                recovered = float(every[cell]) - float(some[cell])
                out.append((recovered, float(truth.get((cell, left_out), 0))))
    return out


#: The whole period and each year: the periods the map-cell attacks read.
PERIODS = (Filters(), *(Filters(start=y, end=date(y.year, 12, 1)) for y in YEARS))


def _cell_reads(
    path: Path, field: str, viewer: Viewer, *, res_levels: tuple[int, ...], domain_only: bool
) -> Iterator[tuple[pd.Series, pd.Series, Callable[[tuple[str, ...]], pd.Series]]]:
    """What the map-cell attacks read, for each period of :data:`PERIODS` and each res of ``res_levels``.

    Yields the cells shown whole with no filter (:func:`_whole_cells`), the true
    counts per (cell, value of ``field``) (:func:`_cell_truth`), and a reader of
    the cells shown whole under some values of ``field``.
    """
    for period in PERIODS:
        for res in res_levels:
            def under(chosen: tuple[str, ...], period: Filters = period, res: int = res) -> pd.Series:
                only: dict[str, Any] = {field: chosen}  # record_types or source_kinds
                return _whole_cells(cells.cell_counts(viewer, dataclasses.replace(period, **only), res=res), res)

            every = _whole_cells(cells.cell_counts(viewer, period, res=res), res)
            yield every, _cell_truth(path, period, res, field, domain_only=domain_only), under


def _whole_cells(frame: pd.DataFrame, res: int) -> pd.Series:
    """Records of the cells ``cell_counts`` shows whole at ``res`` (not rolled up, not hidden), by cell."""
    whole = frame[frame["level"].eq("cell") & ~frame["suppressed"] & ~frame["rolled_up"] & frame["res"].eq(res)]
    return whole.set_index(whole["cell"].astype("int64"))["records"]


def _cell_truth(path: Path, period: Filters, res: int, field: str, *, domain_only: bool) -> pd.Series:
    """True records per (res cell, value of ``field``): of the release's cells (res-6 cell in its domain), or of the
    whole H3 cell with ``domain_only=False`` (what the exact readers count)."""
    from pipelines.build.release import cell_domain

    grid = cells.grid
    column, _ = CELL_SPLITS[field]
    where, params = period.where(side="dest")
    truth = truth_of(path, compose("""
        SELECT dest_county_fips AS county, {cell6} AS cell6, {column} AS v,
            count(*) AS n
        FROM records WHERE dest_res >= 6 AND {where} GROUP BY ALL""",
        cell6=grid.sql_cell_to_parent("dest_cell", 6), column=ident(column), where=where), params)
    if domain_only:
        truth = truth.merge(cell_domain(), on=["county", "cell6"])
    else:
        truth[f"cell{res}"] = [grid.cell_to_parent(int(c), res) for c in truth["cell6"]]
    return truth.groupby([f"cell{res}", "v"])["n"].sum()


def total_minus_shown_parts(
    path: Path, field: str, viewer: Viewer = PARTNER, *, res_levels: tuple[int, ...] = (4, 5, 6), domain_only: bool = True
) -> Pairs:
    """A map cell's total minus its parts shown one record type (source kind) at a time: the parts left hidden.

    For each cell shown whole with no filter, the attacker reads the same cell
    under each single value of ``field`` (``record_types`` or ``source_kinds``).
    When some parts are not shown whole (hidden under k, rolled up or absent),
    the total minus the shown parts is the hidden parts' count; when every
    part is shown, their sum is the cell's total (also where the total itself
    is not shown whole: rolled up to protect a neighbour). Both are scored against the
    true counts (:func:`_cell_truth`). Exact parts would give both away exactly.
    """
    _, values = CELL_SPLITS[field]
    out: Pairs = []
    for total, truth, under in _cell_reads(path, field, viewer, res_levels=res_levels, domain_only=domain_only):
        parts = {v: under((v,)) for v in values}
        for cell in set(total.index).union(*(part.index for part in parts.values())):
            shown = {v: float(part[cell]) for v, part in parts.items() if cell in part.index}
            hidden = [v for v in values if v not in shown]
            if hidden and cell in total.index:
                hidden_true = sum(truth.get((cell, v), 0) for v in hidden)
                out.append((float(total[cell]) - sum(shown.values()), float(hidden_true)))
            elif not hidden:  # the total too, shown or not
                out.append((sum(shown.values()), float(sum(truth.get((cell, v), 0) for v in values))))
    return out
