"""Small-cell protection: no count under k ever leaves the query layer.

Every aggregate a query-layer function returns passes through one of these
functions before it is returned. Count columns are recognised by name
(:data:`COUNT_COLUMNS`); a suppressed value becomes ``<NA>`` and the row's
``suppressed`` flag is set, so a page draws it as "suppressed", never as zero.

The rules, in the order they apply
----------------------------------
1. **Primary suppression.** Any count from 1 to k-1 is hidden (``<NA>``). A row
   whose ``records`` is hidden is hidden whole (``suppressed=True``). Zero is
   shown as zero: it is not a small cell.
2. **Complementary suppression** (:func:`suppress_small_counts`,
   :func:`protect_breakdown`). The rows of a frame are the parts of a total that
   may be published elsewhere (a statewide headline, a margin of a table). So in
   every group sharing a total (by default the whole frame; ``margins`` names
   others), the hidden values of each count column must add up to 0 or to at
   least k. While they add up to 1..k-1 (for instance exactly one part is hidden),
   the next-smallest visible positive value of that group is hidden too (ties:
   the first row). Then "total minus the visible parts" gives only a sum of at
   least k over two or more parts, never a suppressed value.
3. **H3 roll-up** (:func:`roll_up_cells`). A map cell under k is not dropped: its
   records move to its H3 parent, level by level up to ``min_res``, then to its
   county. A rolled-up row holds only the records *not shown* in finer cells (the
   residual), so nothing is counted twice. At every level the residual of a parent
   obeys rule 2 among its children (if it is 1..k-1 the smallest visible sibling
   joins it); the residual of each county obeys it among the cells of that county;
   the county rows still under k are returned with ``suppressed=True`` and rule 2
   applies to them statewide.
4. **Filters may not isolate records** (:func:`guard_filters`). Two selections
   whose difference is a count under k (``counties=[A, B]`` minus
   ``counties=[B]``, or the state minus "every county but A") would reveal it. For
   each filter dimension a query narrows, the values of that dimension (counties,
   months, types, …) under the query's other filters are grouped into *atoms*:
   each value with k or more records is its own atom; the values under k are
   bundled (with the next-smallest values when their sum is still under k) within
   the same task force, else region, else statewide, until the bundle holds k or
   more. A selection must take each atom whole or not at all; otherwise
   :class:`FilterIsolationError` names the values to add. Any two allowed
   selections then differ by whole atoms only, each of k records or more (or none).
   Indicators (a record may carry several) are checked one edit at a time: adding
   or removing any one selected indicator, or the whole indicator filter, must
   change the count by 0 or by k or more.

Known limits: rule 4 protects one dimension at a time with the others held fixed;
it does not claim to defeat every combination of many queries across several
dimensions at once (no deterministic rule without noise can). The audit log keeps
the record of who asked what.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd

from query.aggregates import count_source, fresh_build
from query.filters import Filters
from routes.contract.sql import compose, ident, join
from routes.errors import AccessDenied

#: Columns that count people or records and so fall under the k rule.
COUNT_COLUMNS = (
    "records", "victims", "incoming", "outgoing", "internal", "load",
    "tips", "incidents", "recoveries", "services", "minors", "moves", "subjects",
)

_RES_SHIFT = 52


class FilterIsolationError(AccessDenied):
    """A filter combination would let a count under k be worked out by subtraction."""


def count_columns_of(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that the k rule covers."""
    return [c for c in frame.columns if c in COUNT_COLUMNS]


def _primary(columns: Sequence[str]) -> str | None:
    return "records" if "records" in columns else (columns[0] if columns else None)


def _complement(values: np.ndarray, hidden: np.ndarray, k: int) -> np.ndarray:
    """Hide next-smallest visible values until the hidden ones sum to 0 or >= k."""
    hidden = hidden.copy()
    while True:
        total = values[hidden].sum()
        if total == 0 or total >= k:
            return hidden
        candidates = np.flatnonzero(~hidden & (values > 0))
        if candidates.size == 0:
            return hidden
        hidden[candidates[np.argmin(values[candidates])]] = True


def _group_indices(frame: pd.DataFrame, margin: Sequence[str]) -> list[np.ndarray]:
    if not margin:
        return [np.arange(len(frame))]
    keys = frame[list(margin)].astype("object").where(frame[list(margin)].notna(), "\0na")
    return [np.asarray(ix) for ix in keys.groupby(list(margin), sort=False).indices.values()]


def protect_breakdown(
    frame: pd.DataFrame,
    *,
    k: int,
    margins: Sequence[Sequence[str]] = ((),),
    count_columns: Sequence[str] | None = None,
    complementary: bool = True,
) -> pd.DataFrame:
    """Primary and complementary suppression (rules 1 and 2 of this module).

    Parameters
    ----------
    frame
        Raw counts, one row per part.
    k
        The small-cell threshold.
    margins
        Groups of rows whose totals may be published: each entry lists the columns
        that define a group; ``()`` is the whole frame. For a county x month table
        whose county and month totals are both shown, pass
        ``margins=[["county_fips"], ["month"]]``.
    count_columns
        The columns to protect; defaults to those in :data:`COUNT_COLUMNS`.
    complementary
        ``False`` for released (noise-protected) counts: only values under k are
        hidden (they read "fewer than k"), **0 included**; hiding a released value
        of k or more to protect another would make it read "fewer than k" falsely,
        and noise, not complements, is what protects released counts from
        differencing. A released 0 is hidden too: the release cannot tell no
        record from a few, so "0" would claim a certainty it does not have, and
        two released zeros subtracted "recovered" a true small count as 0 (the
        "one more record type" attack of ``tests/test_release_attacks.py``).
        Post-processing: it costs no privacy budget.

    Returns
    -------
    pandas.DataFrame
        A copy with hidden counts as ``<NA>`` (``Int64``) and a ``suppressed`` flag
        (the row's ``records``, or first count column, is hidden).

    Examples
    --------
    Exactly one part under k: the next-smallest part is hidden too, so the total
    minus the visible parts never gives the small one.

    >>> f = pd.DataFrame({"county": ["a", "b", "c"], "records": [3, 40, 15]})
    >>> protect_breakdown(f, k=11)["records"].tolist()
    [<NA>, 40, <NA>]
    >>> protect_breakdown(f, k=11, complementary=False)["records"].tolist()
    [<NA>, 40, 15]
    >>> protect_breakdown(pd.DataFrame({"records": [0, 12]}), k=11, complementary=False)["records"].tolist()
    [<NA>, 12]
    """
    out = frame.copy()
    columns = list(count_columns) if count_columns is not None else count_columns_of(out)
    primary = _primary(columns)
    if primary is None:
        out["suppressed"] = False
        return out
    raw = {c: pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan) for c in columns}
    hidden = {c: np.isnan(raw[c]) | ((raw[c] > 0) & (raw[c] < k)) for c in columns}
    values = {c: np.nan_to_num(raw[c], nan=0.0) for c in columns}
    groups = [_group_indices(out, m) for m in margins] if complementary else []
    if not complementary:  # released: every value under k, 0 included; a row under k is hidden whole
        for c in columns:
            hidden[c] |= raw[c] < k
        for c in columns:
            hidden[c] |= hidden[primary]
    for _ in range(50 if complementary else 0):
        before = sum(int(h.sum()) for h in hidden.values())
        for c in columns:
            for margin_groups in groups:
                for ix in margin_groups:
                    hidden[c][ix] = _complement(values[c][ix], hidden[c][ix], k)
        for c in columns:
            hidden[c] |= hidden[primary]
        if sum(int(h.sum()) for h in hidden.values()) == before:
            break
    for c in columns:
        out[c] = pd.array(np.where(hidden[c], np.nan, raw[c]), dtype="Float64").round().astype("Int64")
    out["suppressed"] = hidden[primary]
    return out


def suppress_small_counts(
    frame: pd.DataFrame,
    *,
    k: int,
    count_columns: Sequence[str] | None = None,
    margins: Sequence[Sequence[str]] = ((),),
    complementary: bool = True,
) -> pd.DataFrame:
    """Blank every count under ``k``, then protect the frame's totals by complement.

    A row whose ``records`` is under k is suppressed whole. Each other count column
    under k is blanked on its own. Then rule 2 of this module applies over
    ``margins`` (default: the whole frame is one total), so no hidden value can be
    recovered as "total minus the visible rows". See :func:`protect_breakdown`.

    >>> f = pd.DataFrame({"cell": [1, 2, 3], "records": [12, 3, 30], "victims": [20, 4, 40]})
    >>> out = suppress_small_counts(f, k=11)
    >>> out[["records", "victims", "suppressed"]].to_dict("list")
    {'records': [None, None, 30], 'victims': [None, None, 40], 'suppressed': [True, True, False]}
    """
    return protect_breakdown(frame, k=k, margins=margins, count_columns=count_columns, complementary=complementary)


def max_visible_count_below_k(frame: pd.DataFrame, *, k: int) -> int | None:
    """The largest count under k still visible in ``frame`` (``None`` when safe).

    Tests and the CLI use it as an assertion that nothing leaked.

    >>> max_visible_count_below_k(pd.DataFrame({"records": [12, None, 0]}), k=11) is None
    True
    """
    worst: int | None = None
    for column in count_columns_of(frame):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        leaked = values[(values > 0) & (values < k)]
        if leaked.size:
            worst = max(worst or 0, int(leaked.max()))
    return worst


# --------------------------------------------------------------------------- roll-up


def _cells_res(cells: np.ndarray) -> np.ndarray:
    return (cells >> _RES_SHIFT) & 0xF


def _cells_to_parent(cells: np.ndarray, res: int) -> np.ndarray:
    keep = np.int64(~(0xF << _RES_SHIFT) & 0x7FFFFFFFFFFFFFFF)
    unused = np.int64((1 << (3 * (15 - res))) - 1)
    return (cells & keep) | np.int64(res << _RES_SHIFT) | unused


def _absorb_smallest(
    units: pd.DataFrame, *, group: str, small: str, k: int
) -> pd.Series:
    """For groups whose small units sum to 1..k-1, mark the smallest others too.

    ``units`` has columns ``group``, ``n`` and boolean ``small``; returns the new
    ``small`` mask (same index).
    """
    small_mask = units[small].to_numpy().copy()
    residual = units.loc[small_mask].groupby(group)["n"].sum()
    short = residual[(residual > 0) & (residual < k)]
    if short.empty:
        return pd.Series(small_mask, index=units.index)
    pool = units.loc[~small_mask & units[group].isin(short.index) & (units["n"] > 0)]
    pool = pool.sort_values([group, "n"], kind="stable")
    before = pool.groupby(group)["n"].cumsum() - pool["n"]
    deficit = pool[group].map(k - short)
    take = pool.index[(before < deficit).to_numpy()]
    out = pd.Series(small_mask, index=units.index)
    out.loc[take] = True
    return out


def roll_up_cells(frame: pd.DataFrame, *, k: int, min_res: int) -> pd.DataFrame:
    """Roll map cells under ``k`` up to their H3 parents, then to their county.

    Parameters
    ----------
    frame
        One row per cell (or per cell and county, for cells that straddle a county
        line): ``cell`` (BIGINT H3 id; ``<NA>`` for records located to a county
        only), optional ``county_fips``, and count columns (:data:`COUNT_COLUMNS`;
        ``records`` decides). Cells may be at several resolutions.
    k
        The small-cell threshold.
    min_res
        The coarsest H3 resolution a cell rolls up to before its county.

    Returns
    -------
    pandas.DataFrame
        Columns ``level`` (``'cell'`` or ``'county'``), ``cell`` and ``res``
        (``<NA>`` for county rows), ``county_fips`` (the county of a county row; of
        a cell row when the cell lies in one county), the count columns,
        ``rolled_up`` (the row stands for finer cells not shown on their own: the
        residual of a parent or of a county) and ``suppressed`` (still under k
        at county level, or hidden by complement; counts ``<NA>``).

    Examples
    --------
    >>> from geo import grid
    >>> c = grid.latlng_to_cell(37.77, -122.41, 9)
    >>> f = pd.DataFrame({"cell": [c], "county_fips": ["06075"], "records": [4]})
    >>> out = roll_up_cells(f, k=11, min_res=6)
    >>> out[["level", "county_fips", "suppressed"]].to_dict("records")
    [{'level': 'county', 'county_fips': '06075', 'suppressed': True}]
    """
    columns = count_columns_of(frame)
    primary = _primary(columns)
    if primary is None:
        raise ValueError(f"roll_up_cells needs a count column of {COUNT_COLUMNS!r}; got {list(frame.columns)!r}")
    if "cell" not in frame.columns:
        raise ValueError(f"roll_up_cells needs a 'cell' column; got {list(frame.columns)!r}")
    work = pd.DataFrame({c: pd.to_numeric(frame[c], errors="coerce").fillna(0).astype("int64") for c in columns})
    work["county_fips"] = frame["county_fips"].astype("object") if "county_fips" in frame.columns else None
    cells = pd.to_numeric(frame["cell"], errors="coerce")
    has_cell = cells.notna().to_numpy() & (cells.fillna(0).to_numpy() > 0)
    work["cell"] = np.where(has_cell, cells.fillna(0).astype("int64").to_numpy(), 0)
    work["orig_res"] = np.where(has_cell, _cells_res(work["cell"].to_numpy()), -1)
    work["res"] = work["orig_res"]
    pending = work[has_cell].copy()
    to_county = [work[~has_cell]]
    shown: list[pd.DataFrame] = []
    max_res = int(pending["res"].max()) if len(pending) else min_res
    for res in range(max_res, min_res - 1, -1):
        at = pending[pending["res"] == res]
        pending = pending[pending["res"] != res]
        if at.empty:
            continue
        units = at.groupby("cell", as_index=False)[primary].sum().rename(columns={primary: "n"})
        units["small"] = units["n"] < k
        if res > min_res:
            units["parent"] = _cells_to_parent(units["cell"].to_numpy(), res - 1)
            units["small"] = _absorb_smallest(units, group="parent", small="small", k=k).to_numpy()
        move = at["cell"].isin(units.loc[units["small"], "cell"])
        shown.append(at[~move])
        moving = at[move].copy()
        if res > min_res:
            moving["cell"] = _cells_to_parent(moving["cell"].to_numpy(), res - 1)
            moving["res"] = res - 1
            pending = pd.concat([pending, moving], ignore_index=True)
        else:
            to_county.append(moving)
    cell_rows = pd.concat(shown, ignore_index=True) if shown else work.iloc[0:0]
    county_rows = pd.concat(to_county, ignore_index=True)
    cell_rows, county_rows = _protect_county_residuals(cell_rows, county_rows, primary=primary, k=k)
    return _assemble(cell_rows, county_rows, columns=columns, primary=primary, k=k)


def _protect_county_residuals(
    cell_rows: pd.DataFrame, county_rows: pd.DataFrame, *, primary: str, k: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Within each county, a residual of 1..k-1 absorbs the smallest cells there."""
    for _ in range(1000):
        residual = county_rows.groupby("county_fips", dropna=False)[primary].sum()
        short = residual[(residual > 0) & (residual < k)]
        candidates = cell_rows[cell_rows["county_fips"].isin(short.index)]
        if short.empty or candidates.empty:
            break
        totals = cell_rows.groupby("cell")[primary].sum()
        by_cell = candidates.assign(n=candidates["cell"].map(totals))
        smallest = by_cell.sort_values(["n", "cell"], kind="stable").drop_duplicates("county_fips")
        absorb = cell_rows["cell"].isin(smallest["cell"])
        county_rows = pd.concat([county_rows, cell_rows[absorb]], ignore_index=True)
        cell_rows = cell_rows[~absorb]
    return cell_rows, county_rows


def _assemble(
    cell_rows: pd.DataFrame, county_rows: pd.DataFrame, *, columns: list[str], primary: str, k: int
) -> pd.DataFrame:
    agg = {c: "sum" for c in columns}
    by_cell = cell_rows.groupby("cell", as_index=False)
    cells = by_cell.agg({**agg, "res": "first", "orig_res": "max"})
    # a cell's county: its first row's when its rows name one county, else None
    # (vectorised; the same values and dtype as aggregating
    # ``lambda s: s.iloc[0] if s.nunique() == 1 else None`` per cell)
    first = by_cell["county_fips"].first(skipna=False)["county_fips"].to_numpy(dtype=object)
    single = by_cell["county_fips"].nunique()["county_fips"].to_numpy() == 1
    cells["county_fips"] = pd.Series(list(np.where(single, first, None)), index=cells.index)
    cells["level"] = "cell"
    cells["rolled_up"] = cells["orig_res"] > cells["res"]
    counties = county_rows.groupby("county_fips", as_index=False, dropna=False).agg(agg)
    counties["level"] = "county"
    counties["cell"] = pd.NA
    counties["res"] = pd.NA
    counties["rolled_up"] = True
    counties = counties[counties[primary] > 0]
    out = pd.concat([cells.drop(columns="orig_res"), counties], ignore_index=True)
    out["cell"] = out["cell"].astype("Int64")
    out["res"] = out["res"].astype("Int64")
    out = out[["level", "cell", "res", "county_fips", *columns, "rolled_up"]]
    return protect_breakdown(out, k=k, count_columns=columns)


# --------------------------------------------------------------------- the guard


def _atoms(units: pd.DataFrame, *, k: int, hierarchy: Sequence[str]) -> pd.Series:
    """Atom id per unit (index of ``units``); see rule 4 of this module.

    ``units`` has a column ``n`` and the grouping columns in ``hierarchy`` (finest
    first). A unit with n >= k is its own atom. In each group of the finest level,
    the units under k are bundled into one atom, with the smallest other atoms of
    the group while the bundle is still under k; a bundle the group cannot fill
    waits for the next level up (the last level is the whole frame). Groups are
    visited in sorted key order (a missing key sorts first), other atoms are
    taken smallest first (ties: the lower atom id), as
    :func:`_atoms_reference` does with pandas; this one works on arrays.
    """
    n = units["n"].to_numpy(dtype="int64", na_value=0)
    atom = np.arange(len(units), dtype="int64")
    pending = (n >= 1) & (n <= k - 1)
    for level in [*hierarchy, None]:
        if not pending.any():
            break
        if level is None:
            groups = [np.arange(len(units))]
        else:
            keys = units[level].astype("object").where(units[level].notna(), "\0").to_numpy()
            uniques, codes = np.unique(keys.astype(str), return_inverse=True)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
            groups = [order[bounds[i]:bounds[i + 1]] for i in range(len(uniques))]
        for ix in groups:
            members = ix[pending[ix]]
            if members.size == 0:
                continue
            total = int(n[members].sum())
            chosen = set(atom[members].tolist())
            if total < k:
                group_atoms = atom[ix]
                outside = ~np.isin(group_atoms, list(chosen))
                ids, inverse = np.unique(group_atoms[outside], return_inverse=True)
                sizes = np.bincount(inverse, weights=n[ix][outside], minlength=len(ids)).astype("int64")
                positive = sizes > 0
                ids, sizes = ids[positive], sizes[positive]
                for j in np.argsort(sizes, kind="stable"):
                    if total >= k:
                        break
                    chosen.add(int(ids[j]))
                    total += int(sizes[j])
            if total >= k or level is None:
                atom[np.isin(atom, list(chosen))] = min(chosen)
                pending[members] = False
    return pd.Series(atom, index=units.index)


def _atoms_reference(units: pd.DataFrame, *, k: int, hierarchy: Sequence[str]) -> pd.Series:
    """The first (pandas) version of :func:`_atoms`, kept for tests to compare with."""
    n = units["n"]
    atom = pd.Series(np.arange(len(units)), index=units.index)
    pending = n.between(1, k - 1)
    for level in [*hierarchy, None]:
        if level is None:
            keys = pd.Series("", index=units.index)
        else:
            keys = units[level].astype("object").where(units[level].notna(), "\0")
        for _key, ix in keys.groupby(keys).groups.items():
            members = pending.loc[ix]
            members = members[members].index
            if len(members) == 0:
                continue
            total = int(n.loc[members].sum())
            chosen = set(atom.loc[members])
            if total < k:
                others = atom.loc[ix][~atom.loc[ix].isin(chosen)]
                sizes = n.loc[others.index].groupby(others).sum()
                for candidate, size in sizes[sizes > 0].sort_values(kind="stable").items():
                    if total >= k:
                        break
                    chosen.add(candidate)
                    total += int(size)
            if total >= k or level is None:
                atom[atom.isin(chosen)] = min(chosen)
                pending.loc[members] = False
    return atom


#: How a unit without a value (a record with no county, no type, …) is named in messages.
NO_VALUE = "(no value)"


def _value_names(values: pd.Series) -> list[str]:
    """Printable names of ``values``: missing ones (None, NaN, NaT) as :data:`NO_VALUE`."""
    return [NO_VALUE if pd.isna(v) else str(v) for v in values.astype("object")]


def _check_atoms(units: pd.DataFrame, atom: pd.Series, *, k: int, dimension: str) -> None:
    """Raise when the selection takes part of an atom, or part of a unit next to a selected one.

    Atoms are checked in ascending id order; the message names the unselected
    values of the first atom that fails.
    """
    n = units["n"].to_numpy(dtype="int64", na_value=0)
    n_in = units["n_in"].to_numpy(dtype="int64", na_value=0)
    ids, inverse = np.unique(atom.to_numpy(dtype="int64"), return_inverse=True)
    n_all = np.bincount(inverse, weights=n, minlength=len(ids))
    n_sel = np.bincount(inverse, weights=n_in, minlength=len(ids))
    rest = n - n_in
    partial = (n_in > 0) & (rest >= 1) & (rest <= k - 1)
    bad = ((n_sel > 0) & (n_sel < n_all)) | (np.bincount(inverse, weights=partial, minlength=len(ids)) > 0)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    in_atom = (inverse == first) & (n_in < n)
    missing = _value_names(units["value"][in_atom])
    raise FilterIsolationError(
        f"the {dimension} selection would let a count under {k} be worked out by "
        f"comparing it with a neighbouring selection; add {sorted(missing)!r} to it "
        f"or remove the {dimension} filter"
    )


def _cleared(filters: Filters, drop: Sequence[str]) -> Filters:
    """``filters`` without the fields named in ``drop`` (the guarded dimension)."""
    cleared: dict[str, object] = {name: (None if name in ("start", "end") else ()) for name in drop}
    return replace(filters, **cleared)  # type: ignore[arg-type]


def guard_filters(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    k: int,
    side: str = "dest",
) -> None:
    """Refuse a filter combination that could isolate records (rule 4 of this module).

    Parameters
    ----------
    con
        A warehouse connection. Counts come from the trend pre-aggregates when
        they are built and current (``query/aggregates.py``), else from
        ``records``: the same numbers either way.
    filters
        A :class:`query.filters.Filters`.
    k
        The small-cell threshold.
    side
        ``'dest'`` or ``'origin'``: which side the geographic filters apply to.

    Raises
    ------
    FilterIsolationError
        The selection takes part of an atom; the message names the values to add.
    """
    if not isinstance(filters, Filters):
        raise TypeError(f"guard_filters needs a Filters, not {type(filters).__name__!r}")
    # a verdict depends only on the records: remember it per trend build (while current)
    build = fresh_build(con) if side == "dest" else None
    key = (build, filters, int(k), side)
    if build is not None:
        with _VERDICTS_LOCK:
            known = _VERDICTS.get(key, _UNKNOWN)
            if known is not _UNKNOWN:
                _VERDICTS.move_to_end(key)
        if known is not _UNKNOWN:
            if known is not None:
                raise FilterIsolationError(known)
            return
    try:
        _guard_all(con, filters, k=k, side=side)
    except FilterIsolationError as exc:
        _remember(build, key, str(exc))
        raise
    _remember(build, key, None)


#: Guard verdicts per (trend build id, filters, k, side): ``None`` (allowed) or the refusal.
_VERDICTS: OrderedDict[tuple[object, ...], str | None] = OrderedDict()
_VERDICTS_LOCK = threading.Lock()
_VERDICTS_MAX = 4096
_UNKNOWN = object()


def _remember(build: str | None, key: tuple[object, ...], verdict: str | None) -> None:
    if build is None:
        return
    with _VERDICTS_LOCK:
        _VERDICTS[key] = verdict
        _VERDICTS.move_to_end(key)
        while len(_VERDICTS) > _VERDICTS_MAX:
            _VERDICTS.popitem(last=False)


def _guard_all(con: duckdb.DuckDBPyConnection, filters: Filters, *, k: int, side: str) -> None:
    geo = ("regions", "counties", "task_forces")
    if any(getattr(filters, name) for name in geo):
        _guard_dimension(
            con, filters, k=k, side=side, drop=geo, dimension="county",
            value=f"{side}_county_fips", hierarchy=(f"{side}_task_force", f"{side}_region"),
        )
    for name, column in (
        ("trafficking_types", "trafficking_type"),
        ("record_types", "record_type"),
        ("source_kinds", "source_kind"),
    ):
        if getattr(filters, name):
            _guard_dimension(con, filters, k=k, side=side, drop=(name,), dimension=name, value=column, hierarchy=())
    if filters.start or filters.end:
        _guard_dimension(con, filters, k=k, side=side, drop=("start", "end"), dimension="period", value="month", hierarchy=())
    if filters.indicators:
        _guard_indicators(con, filters, k=k, side=side)


def _guard_dimension(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    k: int,
    side: str,
    drop: Sequence[str],
    dimension: str,
    value: str,
    hierarchy: Sequence[str],
) -> None:
    context_filters = _cleared(filters, drop)
    source = count_source(con, [filters, context_filters], side=side)
    context, context_params = source.where(context_filters, side=side)
    full, full_params = source.where(filters, side=side)
    groups = join((compose(", any_value({h}) AS {h}", h=ident(h)) for h in hierarchy), "")
    sql = compose(
        "SELECT {value} AS value, {records} AS n, {n_in} AS n_in{groups} "
        "FROM {table} WHERE {context} GROUP BY {value} ORDER BY value",
        value=ident(value), records=source.records, n_in=source.count_filtered(full), groups=groups,
        table=ident(source.table), context=context,
    )
    units = con.execute(sql, [*full_params, *context_params]).df()
    if units.empty:
        return
    atom = _atoms(units, k=k, hierarchy=list(hierarchy))
    _check_atoms(units, atom, k=k, dimension=dimension)


def _guard_indicators(con: duckdb.DuckDBPyConnection, filters: Filters, *, k: int, side: str) -> None:
    chosen = tuple(filters.indicators)
    neighbours = [replace(filters, indicators=())]
    neighbours += [
        replace(filters, indicators=tuple(i for i in chosen if i != drop))
        for drop in chosen
        if len(chosen) > 1
    ]
    # every count in one scan: the selection itself first, then each neighbour; each of them
    # is the first neighbour's condition (no indicator filter) and some indicators, so the
    # scan reads only the rows that condition keeps
    source = count_source(con, [filters, *neighbours], side=side)
    wheres = [source.where(f, side=side) for f in (filters, *neighbours)]
    columns = join((source.count_filtered(w) for w, _ in wheres), ", ")
    widest, widest_params = wheres[1]
    row = con.execute(
        compose("SELECT {columns} FROM {table} WHERE {widest}", columns=columns, table=ident(source.table),
                widest=widest),
        [*(p for _, params in wheres for p in params), *widest_params],
    ).fetchall()[0]
    base, counts = int(row[0]), [int(c) for c in row[1:]]
    for neighbour, count in zip(neighbours, counts, strict=True):
        if 0 < abs(count - base) < k:
            raise FilterIsolationError(
                f"the indicator selection {list(chosen)!r} differs from "
                f"{list(neighbour.indicators) or 'no indicator filter'!r} by fewer than {k} "
                "records, which would let a small count be worked out; choose other indicators "
                "or remove the indicator filter"
            )
