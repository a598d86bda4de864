"""Gather everything one briefing shows, through the query layer, as its audience.

Every read uses the audience's :class:`~query.viewer.Viewer`. The map layers and
the county table are read *statewide* for the period and the rows of the place
picked out, so a briefing shows exactly what the statewide map shows (the same
cells rolled up, the same counts hidden) and its colour scales are computed on
statewide values: two places' briefings of the same period compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from geo import reference
from maps.colours import ColourScale, fixed_scale
from query import briefing_reads, cells, flows, moves, release, trends
from query.filters import Filters
from query.suppression import FilterIsolationError
from query.viewer import Viewer
from routes import settings, warehouse
from routes.errors import RoutesError

#: H3 resolution of the heatmap: a region at res 6 (36 km2), a county at res 7 (5 km2).
RES_FOR_KIND = {"region": 6, "county": 7}
#: How many rows the "top" tables and the drawn flows keep.
TOP_FLOWS = 15
TOP_CORRIDORS = 8
TOP_PAIRS = 8
#: How many circuits through the place a briefing lists (the Flows page's first ones, same ranks).
TOP_CIRCUITS = 5
#: Corridor segments within this distance of the place belong to its map.
CORRIDOR_BUFFER_M = 3_000

#: The headline rows: column of :func:`query.trends.headline_figures` → label.
HEADLINE_LABELS = {
    "records": "Records (all types)",
    "victims": "Victims",
    "minors": "Records involving a minor",
    "tips": "Tips",
    "incidents": "Incidents",
    "recoveries": "Recoveries",
    "services": "Service intakes",
}


@dataclass(frozen=True)
class Place:
    """The region or county a briefing covers."""

    kind: str
    key: str
    name: str
    counties: tuple[str, ...]


@dataclass
class BriefingData:
    """What a briefing shows; every count already protected by the query layer."""

    place: Place
    start: date
    end: date
    data_as_of: date | None
    k: int
    res: int
    headline: pd.DataFrame
    headline_basis: str
    counties: pd.DataFrame
    cells: pd.DataFrame
    cell_scale: ColourScale
    flows: pd.DataFrame
    flow_scale: ColourScale
    corridors: pd.DataFrame
    corridor_scale: ColourScale
    pairs: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: :func:`query.moves.circuits` through the place's counties (empty when none or not built).
    circuits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(moves.CIRCUIT_COLUMNS)))
    #: Why :attr:`circuits` is empty, when it is.
    circuits_note: str = ""


def resolve_place(*, region: str | None, county: str | None) -> Place:
    """The :class:`Place` of exactly one of ``region`` (``"Region IV"``) or ``county`` (FIPS)."""
    if (region is None) == (county is None):
        raise ValueError(f"give exactly one of region= or county=; got region={region!r}, county={county!r}")
    dims = reference.county_dimensions()
    if region is not None:
        members = dims.loc[dims["region"] == region, "county_fips"]
        if members.empty:
            valid = ", ".join(sorted(dims["region"].dropna().unique()))
            raise ValueError(f"unknown region {region!r}; regions: {valid}")
        return Place("region", region, f"Cal OES Mutual Aid {region}", tuple(sorted(members)))
    row = dims[dims["county_fips"] == county]
    if row.empty:
        raise ValueError(f"unknown county {county!r}; give a 5-digit FIPS code such as '06037' (Los Angeles)")
    return Place("county", str(county), f"{row['county'].iloc[0]} County", (str(county),))


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def collect(viewer: Viewer, place: Place, *, start: date, end: date) -> BriefingData:
    """Read everything a briefing of ``place`` over ``start``..``end`` shows, as ``viewer``."""
    start, end = start.replace(day=1), end.replace(day=1)
    if start > end:
        raise ValueError(f"the period starts after it ends: {start:%Y-%m} > {end:%Y-%m}; swap --from and --to")
    period = Filters(start=start, end=end)
    res = RES_FOR_KIND[place.kind]
    notes: list[str] = []
    with warehouse.open_snapshot() as con:
        protected = release.protection_note(viewer, con=con)
        notes += [protected] if protected else []
        dates = briefing_reads.snapshot_dates(viewer, con=con)
        headline, basis = _headline(viewer, place, period, con=con, notes=notes)
        counties = _county_table(viewer, place, period, con=con)
        state_cells = cells.cell_counts(viewer, period, res=res, con=con)
        edges = flows.flow_edges(viewer, period, level="county", con=con)
        segments = flows.corridor_loads(viewer, period, con=con)
        pairs = flows.coordination_pairs(viewer, period, level="county", con=con)
        through, circuits_note = _circuits_of(viewer, place, con=con)
    k = viewer.k
    visible = state_cells.loc[state_cells["level"].eq("cell"), "value"]
    cell_scale = fixed_scale(_max(visible), n=6, minimum=k, unit="records per cell",
                             basis="every cell statewide in the period")
    flow_scale = fixed_scale(_max(edges["records"]), n=5, minimum=k, palette_name="cividis",
                             unit="flow records", basis="every county flow statewide in the period")
    corridor_scale = fixed_scale(_max(segments["load"]), n=5, minimum=k, palette_name="cividis",
                                 unit="flow records along a segment", basis="every segment statewide in the period")
    return BriefingData(
        place=place, start=start, end=end, data_as_of=dates["data_as_of"], k=viewer.k, res=res,
        headline=headline, headline_basis=basis, counties=counties,
        cells=_cells_of(state_cells, place), cell_scale=cell_scale,
        flows=_flows_of(edges, place), flow_scale=flow_scale,
        corridors=_corridors_of(segments, place), corridor_scale=corridor_scale,
        pairs=_pairs_of(pairs, place), notes=notes, circuits=through, circuits_note=circuits_note,
    )


def _max(values: pd.Series) -> float:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return float(numbers.max()) if len(numbers) else 100.0


def top_corridors(corridors: pd.DataFrame, *, n: int = TOP_CORRIDORS) -> pd.DataFrame:
    """The busiest shown routes in the place: per route and county, the peak segment load.

    Returns ``route``, ``county``, ``load`` (the busiest segment's), ``length_km``
    (of the route's shown segments there), busiest first.
    """
    shown = corridors[~corridors["suppressed"].astype(bool) & corridors["county"].astype(str).ne("")]
    if shown.empty:
        return pd.DataFrame(columns=["route", "county", "load", "length_km"])
    out = shown.groupby(["route", "county"], as_index=False).agg(load=("load", "max"), length_km=("length_km", "sum"))
    out["load"] = out["load"].astype("Int64")
    out["length_km"] = out["length_km"].round(0)
    return out.sort_values(["load", "route"], ascending=[False, True], kind="stable").head(n).reset_index(drop=True)


# --------------------------------------------------------------------------- headline


def _headline(
    viewer: Viewer, place: Place, period: Filters, *, con: object, notes: list[str]
) -> tuple[pd.DataFrame, str]:
    """Headline rows: ``measure``, ``label``, ``current``, ``previous``, ``change``, ``change_pct``,
    ``year_before``, ``yoy_change``, ``yoy_change_pct``."""
    local = Filters(start=period.start, end=period.end, counties=place.counties)
    try:
        figures = trends.headline_figures(viewer, local, con=con)  # type: ignore[arg-type]
    except FilterIsolationError:
        notes.append(
            "Headline figures are the sum of the counties whose counts are shown: a total for "
            "exactly this area could reveal a county under k by subtraction."
        )
        return _headline_from_counties(viewer, place, period, con=con), "sum of the counties shown"
    rows = []
    by_period = figures.set_index("period")
    for column, label in HEADLINE_LABELS.items():
        rows.append({
            "measure": column, "label": label,
            "current": by_period.at["current", column],
            "previous": by_period.at["previous", column],
            "change": by_period.at["previous", f"{column}_change"],
            "change_pct": by_period.at["previous", f"{column}_change_pct"],
            "year_before": by_period.at["year_before", column],
            "yoy_change": by_period.at["year_before", f"{column}_change"],
            "yoy_change_pct": by_period.at["year_before", f"{column}_change_pct"],
        })
    return _typed(pd.DataFrame(rows)), "all records in the area"


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("current", "previous", "change", "year_before", "yoy_change"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Float64").round().astype("Int64")
    for column in ("change_pct", "yoy_change_pct"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Float64")
    return frame


def _headline_from_counties(viewer: Viewer, place: Place, period: Filters, *, con: object) -> pd.DataFrame:
    """Records of the place as the sum of its counties in the statewide county table.

    Only counties whose current, previous and year-before counts are all shown
    count, so every figure is a sum of numbers published anyway.
    """
    frames = {
        against: trends.counties_ranked_by_change(viewer, period, against=against, con=con)  # type: ignore[arg-type]
        .set_index("county_fips").reindex(list(place.counties))
        for against in ("previous", "year_before")
    }
    prev, yoy = frames["previous"], frames["year_before"]
    shown = prev["records"].notna() & prev["records_before"].notna() & yoy["records_before"].notna()
    current = int(prev.loc[shown, "records"].sum())
    previous = int(prev.loc[shown, "records_before"].sum())
    year_before = int(yoy.loc[shown, "records_before"].sum())
    hidden = release.hidden_text(viewer)
    label = "Records" if bool(shown.all()) else f"Records in the counties shown (the others read “{hidden}”)"
    frame = pd.DataFrame([{
        "measure": "records", "label": label,
        "current": current, "previous": previous, "change": current - previous,
        "change_pct": round((current - previous) / previous * 100, 1) if previous else pd.NA,
        "year_before": year_before, "yoy_change": current - year_before,
        "yoy_change_pct": round((current - year_before) / year_before * 100, 1) if year_before else pd.NA,
    }])
    return _typed(frame)


# --------------------------------------------------------------------------- counties


def _county_table(viewer: Viewer, place: Place, period: Filters, *, con: object) -> pd.DataFrame:
    """The place's counties as the statewide county table shows them."""
    rates = trends.county_rates(viewer, period, con=con)  # type: ignore[arg-type]
    ranked = trends.counties_ranked_by_change(viewer, period, against="previous", con=con)  # type: ignore[arg-type]
    out = rates[rates["county_fips"].isin(place.counties)][
        ["county_fips", "county", "task_force", "records", "victims", "rate_per_100k", "suppressed"]
    ].merge(ranked[["county_fips", "records_before", "change", "change_pct"]], on="county_fips", how="left")
    return out.sort_values("county", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- map layers


def _cells_of(state_cells: pd.DataFrame, place: Place) -> pd.DataFrame:
    return state_cells[state_cells["county_fips"].isin(place.counties)].reset_index(drop=True)


def _flows_of(edges: pd.DataFrame, place: Place) -> pd.DataFrame:
    """Shown county-level flows into, out of or within the place, busiest first."""
    inside = set(place.counties)
    touches = edges["origin_id"].isin(inside) | edges["dest_id"].isin(inside)
    keep = edges[touches & edges["level"].eq("county") & ~edges["suppressed"].astype(bool)]
    keep = keep[keep["origin_id"] != keep["dest_id"]]
    keep = keep.assign(direction=[
        "within" if o in inside and d in inside else "incoming" if d in inside else "outgoing"
        for o, d in zip(keep["origin_id"], keep["dest_id"], strict=True)
    ])
    return keep.sort_values("records", ascending=False, kind="stable").head(TOP_FLOWS).reset_index(drop=True)


def _place_shape(place: Place) -> BaseGeometry:
    counties = reference.load_counties()
    return counties[counties["county_fips"].isin(place.counties)].to_crs(3310).union_all()


def _corridors_of(segments: pd.DataFrame, place: Place) -> pd.DataFrame:
    """Segments crossing the place (within :data:`CORRIDOR_BUFFER_M`), with the county they lie in."""
    if segments.empty:
        return segments.assign(county="", geometry=None)
    lines = gpd.GeoDataFrame(
        segments,
        geometry=[LineString([(a, b), (c, d)]) for a, b, c, d in zip(
            segments["from_lng"], segments["from_lat"], segments["to_lng"], segments["to_lat"], strict=True)],
        crs=4326,
    )
    area = _place_shape(place).buffer(CORRIDOR_BUFFER_M)
    projected = lines.to_crs(3310)
    keep = lines[projected.intersects(area).to_numpy()].copy()
    counties = reference.load_counties()[["name", "geometry"]]
    mids = projected[projected.intersects(area).to_numpy()].geometry.interpolate(0.5, normalized=True)
    located = gpd.sjoin(gpd.GeoDataFrame(geometry=mids.to_crs(4326)), counties, how="left", predicate="within")
    keep["county"] = located.groupby(level=0)["name"].first().reindex(keep.index).fillna("").to_numpy()
    return pd.DataFrame(keep).reset_index(drop=True)


def _pairs_of(pairs: pd.DataFrame, place: Place) -> pd.DataFrame:
    inside = set(place.counties)
    keep = pairs[(pairs["origin_id"].isin(inside) | pairs["dest_id"].isin(inside)) & ~pairs["suppressed"].astype(bool)]
    return keep.head(TOP_PAIRS).reset_index(drop=True)


# --------------------------------------------------------------------------- circuits


def _circuits_of(viewer: Viewer, place: Place, *, con: object) -> tuple[pd.DataFrame, str]:
    """The top circuits through the place's counties, as the Flows page reads them with those counties chosen."""
    try:
        frame = moves.circuits(viewer, Filters(counties=place.counties), limit=TOP_CIRCUITS, con=con)  # type: ignore[arg-type]
    except release.ReleaseNotBuiltError:
        return pd.DataFrame(columns=list(moves.CIRCUIT_COLUMNS)), "Circuits are not in this warehouse's release yet."
    except RoutesError as error:  # e.g. the own-records scope built without identifiers
        return pd.DataFrame(columns=list(moves.CIRCUIT_COLUMNS)), str(error)
    return frame, "" if len(frame) else f"No released circuit passes through {place.name}."


def circuits_explained() -> str:
    """What a circuit is, in one line under the briefing's circuits (one line keeps page 2's other tables whole)."""
    return ("Counties that several subjects (linked by shared identifiers, none shown) were seen in, in this order, "
            f"each within {settings.moves_window_days()} days of the last, over all years.")


def circuits_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The circuits as the briefing's CSV holds them: places in order, a hidden count empty with ``suppressed``.

    >>> f = pd.DataFrame({"rank": [1, 2], "shape": ["loop", "path"],
    ...                   "place_names": [["Kern", "Fresno", "Tulare", "Kern"], ["Kern", "Fresno", "Merced"]],
    ...                   "subjects": pd.array([24, pd.NA], dtype="Int64")})
    >>> print(circuits_csv(f).to_csv(index=False).strip())
    rank,shape,places_in_order,subjects,suppressed
    1,loop,Kern → Fresno → Tulare → Kern,24,False
    2,path,Kern → Fresno → Merced,,True
    """
    return pd.DataFrame({
        "rank": frame["rank"].astype(int).tolist(),
        "shape": frame["shape"].tolist(),
        "places_in_order": [" → ".join(names) for names in frame["place_names"]],
        "subjects": pd.array(frame["subjects"], dtype="Int64"),
        "suppressed": frame["subjects"].isna().tolist(),
    })
