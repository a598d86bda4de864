"""Observed moves and circuits: where the same subject turns up next, protected.

Two readers over the tables of ``pipelines/build/moves.py``:

- :func:`observed_moves`: origin → destination counts of moves (two successive
  sightings of one subject in different places), named as
  :func:`query.flows.flow_edges` names its ends;
- :func:`circuits`: the recurring county sequences (loops and paths).

Privacy rules (the same for every page, export and CLI command):

- A viewer who reads the protected release (every viewer but an analyst or lead
  in the own-records scope, :func:`query.release.reads_release`) reads only
  ``release_moves`` and ``release_circuits`` (``pipelines/build/release_moves.py``):
  noisy counts, bounded contribution per subject, circuits chosen by a noisy
  threshold. Without them the reader raises
  :class:`query.release.ReleaseNotBuiltError`; it never falls back to exact counts.
  ``sources``, ``corroborated_share`` and ``median_dwell_days`` are not released
  (``<NA>``/``None``).
- An analyst or lead in its own-records scope reads exact counts of its own task
  force's records; a count of moves or subjects under k is hidden (``<NA>``,
  ``suppressed``), and a circuit followed by fewer than k subjects is not listed.
- No answer holds a token, an identifier or a record id.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from geo import reference
from geo.flow_places import area_places
from query import release, scope
from query.filters import Filters
from query.viewer import Viewer
from routes import warehouse
from routes.contract.sql import compose, ident
from routes.errors import TablesNotBuilt

__all__ = ["MOVE_COLUMNS", "CIRCUIT_COLUMNS", "observed_moves", "circuits"]

#: Release tables (written by ``pipelines/build/release_moves.py``).
RELEASE_MOVES_TABLE = "release_moves"
RELEASE_CIRCUITS_TABLE = "release_circuits"

#: Levels the readers answer (cell levels read as county, as released flows do).
_LEVELS = ("county", "region")
_CELL_LEVELS = ("res4", "res5", "res6")

MOVE_COLUMNS = (
    "level", "origin_id", "origin_kind", "origin_name", "origin_lat", "origin_lng",
    "dest_id", "dest_kind", "dest_name", "dest_lat", "dest_lng",
    "moves", "sources", "corroborated_share", "suppressed",
)
CIRCUIT_COLUMNS = (
    "rank", "circuit_id", "shape", "places", "place_names", "n_places", "subjects", "sources", "median_dwell_days",
)


class MovesNotBuiltError(TablesNotBuilt):
    """The own-records scope has no moves (the warehouse was built without identifiers)."""


def _level(level: str) -> str:
    if level in _CELL_LEVELS:
        return "county"
    if level not in _LEVELS:
        raise ValueError(f"unknown moves level {level!r}; use one of {_LEVELS + _CELL_LEVELS}")
    return level


def _dims() -> pd.DataFrame:
    dims = reference.county_dimensions()[["county_fips", "task_force"]]
    return dims.merge(reference.load_regions()[["county_fips", "region"]], on="county_fips")


def _selected_counties(filters: Filters) -> set[str] | None:
    """The counties the filter's geography selects, or ``None`` when it selects all."""
    if not (filters.counties or filters.regions or filters.task_forces):
        return None
    dims = _dims()
    keep = set(filters.counties)
    keep |= set(dims.loc[dims["region"].isin(filters.regions), "county_fips"])
    keep |= set(dims.loc[dims["task_force"].isin(filters.task_forces), "county_fips"])
    return keep


def _dest_selected(dest: pd.Series, level: str, filters: Filters) -> pd.Series:
    counties = _selected_counties(filters)
    if counties is None:
        return pd.Series(True, index=dest.index)
    if level == "county":
        return dest.isin(counties)
    dims = _dims()
    regions = set(dims.loc[dims["county_fips"].isin(counties), "region"])
    return dest.isin(regions)


def _period_bounds(filters: Filters, *, years: bool) -> tuple[object, object]:
    wide = release.widen_to_years(filters) if years else filters
    return wide.start, wide.end


def _named(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    places = area_places()
    places = places[places["kind"] == level]
    for side, key in (("origin", "origin_id"), ("dest", "dest_id")):
        named = places.rename(columns={"id": key, "kind": f"{side}_kind", "name": f"{side}_name",
                                       "lat": f"{side}_lat", "lng": f"{side}_lng"})
        frame = frame.merge(named, on=key, how="left")
        frame[f"{side}_kind"] = level
    return frame


def _hide(frame: pd.DataFrame, hidden: np.ndarray) -> pd.DataFrame:
    frame["suppressed"] = hidden
    frame["moves"] = pd.array(np.where(hidden, np.nan, frame["moves"].to_numpy(dtype=float)),
                              dtype="Float64").round().astype("Int64")
    frame["sources"] = pd.array(np.where(hidden, np.nan, frame["sources"].to_numpy(dtype=float)),
                                dtype="Float64").round().astype("Int64")
    frame["corroborated_share"] = pd.array(
        np.where(hidden, np.nan, frame["corroborated_share"].to_numpy(dtype=float)), dtype="Float64"
    ).round(3)
    return frame


def _released_moves(con: duckdb.DuckDBPyConnection, filters: Filters, level: str, k: int) -> pd.DataFrame:
    release.check_filters(filters, what="moves")
    if filters.record_types or filters.trafficking_types:
        raise release.ReleaseFilterError(
            "the protected moves have no breakdown by record or trafficking type; remove the type filter"
        )
    release.require(con, RELEASE_MOVES_TABLE)
    start, end = _period_bounds(filters, years=True)
    frame = con.execute(
        compose(
            "SELECT origin AS origin_id, destination AS dest_id, sum(moves)::BIGINT AS moves "
            "FROM {moves} WHERE level = ? AND (? IS NULL OR period >= ?) AND (? IS NULL OR period <= ?) "
            "GROUP BY ALL",
            moves=ident(RELEASE_MOVES_TABLE),
        ),
        [level, start, start, end, end],
    ).df()
    frame = frame[_dest_selected(frame["dest_id"], level, filters)].reset_index(drop=True)
    frame = frame[frame["moves"] > 0].reset_index(drop=True)
    frame["sources"] = np.nan
    frame["corroborated_share"] = np.nan
    return _hide(frame, (frame["moves"] < k).to_numpy(dtype=bool))


def _exact_moves(con: duckdb.DuckDBPyConnection, filters: Filters, level: str, k: int) -> pd.DataFrame:
    if not warehouse.has_table(con, "moves"):
        raise MovesNotBuiltError(
            "this scope has no observed moves (built without identifiers); choose the all-agencies scope "
            "or run `python -m pipelines build`"
        )
    start, end = filters.start, filters.end
    frame = con.execute(
        "SELECT origin AS origin_id, destination AS dest_id, sum(moves)::BIGINT AS moves, "
        "sum(tokens)::BIGINT AS _tokens, max(sources)::BIGINT AS sources, "
        "sum(corroborated_share * moves) / nullif(sum(moves), 0) AS corroborated_share "
        "FROM moves WHERE level = ? AND (? IS NULL OR month >= ?) AND (? IS NULL OR month <= ?) GROUP BY ALL",
        [level, start, start, end, end],
    ).df()
    frame = frame[_dest_selected(frame["dest_id"], level, filters)].reset_index(drop=True)
    # months count a subject once each: a small per-month count of subjects stays small summed, so hide on both
    hidden = ((frame["moves"] < k) | (frame["_tokens"] < k)).to_numpy(dtype=bool)
    return _hide(frame.drop(columns="_tokens"), hidden)


def observed_moves(
    viewer: Viewer, filters: Filters | None = None, *, level: str = "county",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Moves per origin → destination at ``level`` (``county`` or ``region``), protected for ``viewer``.

    Returns
    -------
    pandas.DataFrame
        :data:`MOVE_COLUMNS`: ``level``, the ends as :func:`query.flows.flow_edges`
        names them (``origin_id``/``_kind``/``_name``/``_lat``/``_lng``, the same
        for ``dest``), ``moves`` (``<NA>`` when hidden), ``sources``,
        ``corroborated_share`` (``<NA>`` from the release), ``suppressed``;
        most moves first. Geographic filters apply to the destination.
    """
    filters = filters or Filters()
    level = _level(level)
    with scope.reading(viewer, con) as c:
        if release.reads_release(viewer):
            frame = _released_moves(c, filters, level, viewer.k)
        else:
            frame = _exact_moves(c, filters, level, viewer.k)
    frame["level"] = level
    frame = _named(frame, level)
    frame = frame.sort_values(["suppressed", "moves", "origin_id", "dest_id"], ascending=[True, False, True, True],
                              na_position="last", kind="stable")
    return frame[list(MOVE_COLUMNS)].reset_index(drop=True)


def _names(places: list[str]) -> list[str]:
    names = area_places()
    lookup = dict(zip(names.loc[names["kind"] == "county", "id"], names.loc[names["kind"] == "county", "name"],
                      strict=True))
    return [str(lookup.get(p, p)) for p in places]


def _through(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    counties = _selected_counties(filters)
    if counties is None:
        return frame
    through = np.array([bool(counties & set(ps)) for ps in frame["places"]], dtype=bool)
    return frame.loc[through]


def _rank(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    frame = frame.assign(_loop=(frame["shape"] == "loop").astype(int))
    frame = frame.sort_values([*by, "n_places", "_loop", "circuit_id"], ascending=[False] * len(by) + [False, False, True],
                              kind="stable")
    frame = frame.drop(columns="_loop").reset_index(drop=True)
    frame["rank"] = np.arange(1, len(frame) + 1)
    return frame


def circuits(
    viewer: Viewer, filters: Filters | None = None, *, limit: int = 10,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The top ``limit`` circuits through the filter's counties (all when none), protected for ``viewer``.

    Returns
    -------
    pandas.DataFrame
        :data:`CIRCUIT_COLUMNS`: ``rank`` (1 = first), ``circuit_id``, ``shape``
        (``loop``/``path``), ``places`` (county FIPS in travel order; a loop ends
        where it began), ``place_names`` (same order), ``n_places``, ``subjects``
        (released, ``<NA>`` when under k: the circuit passed the release's noisy
        threshold but its count reads "fewer than k"; exact and at least k in
        the own-records scope, where fewer-followed circuits are not listed), ``sources``,
        ``median_dwell_days`` (per distinct county; ``None`` from the release).
        From the release, ranked by released subjects (then longer, loops first);
        in the own-records scope, as the build ranks.
    """
    filters = filters or Filters()
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit!r}")
    with scope.reading(viewer, con) as c:
        if release.reads_release(viewer):
            release.check_filters(filters, what="moves")
            release.require(c, RELEASE_CIRCUITS_TABLE)
            frame = c.execute(
                compose("SELECT circuit_id, shape, places, n_places, subjects FROM {circuits}",
                        circuits=ident(RELEASE_CIRCUITS_TABLE))
            ).df()
            frame["sources"] = pd.array([pd.NA] * len(frame), dtype="Int64")
            frame["median_dwell_days"] = None
            by = ["subjects"]
        else:
            if not warehouse.has_table(c, "circuits"):
                raise MovesNotBuiltError(
                    "this scope has no circuits (built without identifiers); choose the all-agencies scope "
                    "or run `python -m pipelines build`"
                )
            frame = c.execute(
                "SELECT circuit_id, shape, places, n_places, tokens AS subjects, cross_source_tokens, sources, "
                "median_dwell_days FROM circuits WHERE tokens >= ? ORDER BY rank", [viewer.k]
            ).df()
            by = ["cross_source_tokens", "subjects", "sources"]
    frame["places"] = frame["places"].map(lambda ps: [str(p) for p in ps])
    if "median_dwell_days" in frame and not frame.empty and frame["median_dwell_days"].notna().any():
        frame["median_dwell_days"] = frame["median_dwell_days"].map(
            lambda ds: None if ds is None else [float(d) for d in ds]
        )
    frame = _rank(_through(frame, filters), by).head(limit)
    frame["place_names"] = frame["places"].map(_names)
    subjects = frame["subjects"].to_numpy(dtype=float)
    # a released count under k reads as hidden (the circuit passed the noisy threshold; its count is not shown)
    frame["subjects"] = pd.array(np.where(subjects < viewer.k, np.nan, subjects), dtype="Float64").round().astype("Int64")
    frame["sources"] = frame["sources"].astype("Int64")
    return frame[list(CIRCUIT_COLUMNS)].reset_index(drop=True)
