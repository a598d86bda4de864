"""The briefing map as a 300-dpi PNG, drawn offline with matplotlib and geopandas.

Layers, bottom to top: neighbouring counties (pale), the place's counties (their
records too coarse for a cell or rolled up to the county as a pale fill), H3
heatmap cells, schematic highways, corridor loads, flow arcs, county outlines
and names. Around them: a legend, a scale bar and a north arrow. Projection:
California Albers (EPSG:3310), so the scale bar is true everywhere on the map.

Colour scales come with the data (:class:`briefings._collect.BriefingData`): they
are computed on statewide values, so two places' maps of the same period
compare. Suppressed cells are grey with a hatch, never blank or zero.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import h3
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Patch, Rectangle  # noqa: E402
from shapely.geometry import LineString, Polygon  # noqa: E402

from geo import reference  # noqa: E402
from maps.colours import SUPPRESSED_LINE_RGBA, SUPPRESSED_RGBA, ColourScale  # noqa: E402
from maps.wording import hidden_words  # noqa: E402

if TYPE_CHECKING:
    from briefings._collect import BriefingData

#: Projected CRS of the map (California Albers, metres).
MAP_CRS = 3310
#: Output resolution.
DPI = 300
#: Figure size in inches (fits the width of a letter page inside its margins).
FIGSIZE = (7.3, 5.0)
HIGHWAY_COLOUR = "#96603c"
COUNTY_LINE = "#5f6973"


def _rgba(colour: tuple[int, ...] | np.ndarray) -> tuple[float, float, float, float]:
    values = [int(v) for v in colour]
    if len(values) == 3:
        values.append(255)
    r, g, b, a = (v / 255 for v in values[:4])
    return (r, g, b, a)


def class_labels(scale: ColourScale, *, k: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Legend rows of a count scale for values of ``k`` or more (smaller ones are never shown).

    >>> s = ColourScale(breaks=(10.0, 20.0), colours=((0, 0, 0), (1, 1, 1), (2, 2, 2)))
    >>> [label for label, _ in class_labels(s, k=11)]
    ['11 to 19', '20 or more']
    """
    breaks = list(scale.breaks)
    first = sum(1 for b in breaks if b <= k)
    rows = []
    for i in range(first, len(scale.colours)):
        lo = k if i == first else breaks[i - 1]
        hi = breaks[i] if i < len(breaks) else None
        label = f"{lo:,.0f} or more" if hi is None else f"{lo:,.0f} to {math.ceil(hi) - 1:,.0f}"
        rows.append((label, _rgba((*scale.colours[i], 230))))
    return rows


def _hexagons(cells: pd.DataFrame) -> gpd.GeoDataFrame:
    shown = cells[cells["level"].eq("cell")]
    polygons = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(str(x))]) for x in shown["hex"]]
    return gpd.GeoDataFrame(shown.reset_index(drop=True), geometry=polygons, crs=4326).to_crs(MAP_CRS)


def _extent(shape: object, *, aspect: float) -> tuple[float, float, float, float]:
    west, south, east, north = shape.bounds  # type: ignore[attr-defined]
    pad = 0.06 * max(east - west, north - south)
    west, south, east, north = west - pad, south - pad, east + pad, north + pad
    width, height = east - west, north - south
    if width / height < aspect:
        grow = (height * aspect - width) / 2
        west, east = west - grow, east + grow
    else:
        grow = (width / aspect - height) / 2
        south, north = south - grow, north + grow
    return west, south, east, north


def _arc(x0: float, y0: float, x1: float, y1: float, *, bend: float = 0.18, n: int = 30) -> np.ndarray:
    """Points of a quadratic curve from (x0, y0) to (x1, y1), bowing to its right."""
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = x1 - x0, y1 - y0
    cx, cy = mx + bend * dy, my - bend * dx
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * np.array([x0, y0]) + 2 * (1 - t) * t * np.array([cx, cy]) + t**2 * np.array([x1, y1])


def _project_points(lat: pd.Series, lng: pd.Series) -> np.ndarray:
    points = gpd.GeoSeries(gpd.points_from_xy(lng.astype(float), lat.astype(float)), crs=4326).to_crs(MAP_CRS)
    return np.column_stack([points.x, points.y])


def _nice_length_km(span_km: float) -> float:
    target = span_km / 5
    exp = 10 ** math.floor(math.log10(target))
    for step in (1, 2, 5, 10):
        if step * exp >= target:
            return step * exp
    return 10 * exp


def _scale_bar(ax: plt.Axes, extent: tuple[float, float, float, float]) -> None:
    west, south, east, north = extent
    length_km = _nice_length_km((east - west) / 1000)
    x0, y0 = west + 0.04 * (east - west), south + 0.05 * (north - south)
    half = length_km * 1000 / 2
    height = 0.012 * (north - south)
    ax.add_patch(Rectangle((x0, y0), half, height, facecolor="#222222", edgecolor="#222222", lw=0.6, zorder=30))
    ax.add_patch(Rectangle((x0 + half, y0), half, height, facecolor="white", edgecolor="#222222", lw=0.6, zorder=30))
    for frac, text in ((0, "0"), (0.5, f"{length_km / 2:g}"), (1, f"{length_km:g} km")):
        ax.text(x0 + frac * 2 * half, y0 + 2.2 * height, text, ha="center", va="bottom", fontsize=5.5, zorder=30)


def _north_arrow(ax: plt.Axes) -> None:
    ax.annotate(
        "N", xy=(0.955, 0.95), xytext=(0.955, 0.84), xycoords="axes fraction",
        ha="center", va="center", fontsize=8, fontweight="bold", zorder=30,
        arrowprops={"arrowstyle": "-|>", "color": "#222222", "lw": 1.2},
    )


def _legend(fig: plt.Figure, data: BriefingData, *, drew_flows: bool, drew_corridors: bool) -> None:
    handles: list[Artist] = []
    labels: list[str] = []

    def head(text: str) -> None:
        handles.append(Patch(facecolor="none", edgecolor="none"))
        labels.append(text)

    head(f"Records per H3 cell (res {data.res})")
    for label, colour in class_labels(data.cell_scale, k=data.k):
        handles.append(Patch(facecolor=colour, edgecolor="white", lw=0.4))
        labels.append(label)
    handles.append(Patch(facecolor=_rgba(SUPPRESSED_RGBA), edgecolor=_rgba(SUPPRESSED_LINE_RGBA), hatch="////", lw=0.6))
    labels.append(hidden_words(k=data.k))
    handles.append(Patch(facecolor=(0.80, 0.80, 0.88, 0.6), edgecolor=COUNTY_LINE, lw=0.6))
    labels.append("county-level records (too coarse\nfor a cell, or rolled up)")
    if drew_corridors:
        head("Corridor load (flow records)")
        for label, colour in class_labels(data.corridor_scale, k=data.k):
            handles.append(Line2D([], [], color=colour, lw=3))
            labels.append(label)
    if drew_flows:
        head("Flows (busiest shown)")
        handles.append(Line2D([], [], color="#5d3790", lw=1.6))
        labels.append("arc: point source → destination\n(bows right; width = records)")
    head("Base")
    handles.append(Line2D([], [], color=COUNTY_LINE, lw=0.7))
    labels.append("county boundary")
    handles.append(Line2D([], [], color=HIGHWAY_COLOUR, lw=0.8))
    labels.append("highway (schematic)")
    legend = fig.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(0.735, 0.985), fontsize=5.6, frameon=False,
        handlelength=1.8, handleheight=1.0, labelspacing=0.45, borderaxespad=0,
    )
    for text, handle in zip(legend.get_texts(), handles, strict=True):
        if isinstance(handle, Patch) and handle.get_facecolor()[-1] == 0 and handle.get_edgecolor()[-1] == 0:
            text.set_fontweight("bold")
    fig.text(
        0.735, 0.03,
        f"Scales fixed on statewide values for the period,\nso maps of two areas compare.\n"
        f"Counts under {data.k} are not shown.",
        fontsize=5.2, color="#333333", va="bottom",
    )


def draw_map(data: BriefingData, path: Path, *, dpi: int = DPI) -> Path:
    """Draw the briefing map of ``data`` into the PNG ``path`` (``dpi`` dots per inch)."""
    counties = reference.load_counties().to_crs(MAP_CRS)
    mine = counties[counties["county_fips"].isin(data.place.counties)]
    fig = plt.figure(figsize=FIGSIZE, dpi=dpi)
    ax = fig.add_axes((0.01, 0.01, 0.71, 0.98))
    aspect = (FIGSIZE[0] * 0.71) / (FIGSIZE[1] * 0.98)
    extent = _extent(mine.union_all(), aspect=aspect)
    west, south, east, north = extent
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(Rectangle((west, south), east - west, north - south, facecolor="#f4f6f7", edgecolor="#888888", lw=0.6, zorder=0))
    counties.plot(ax=ax, facecolor="#e9ecee", edgecolor="#b5bcc2", lw=0.4, zorder=1)
    mine.plot(ax=ax, facecolor="white", edgecolor="none", zorder=2)
    _draw_county_fill(ax, data, mine)
    _draw_cells(ax, data)
    highways = reference.load_highways().to_crs(MAP_CRS)
    highways.plot(ax=ax, color=HIGHWAY_COLOUR, lw=0.6, alpha=0.7, zorder=5)
    drew_corridors = _draw_corridors(ax, data)
    drew_flows = _draw_flows(ax, data)
    mine.boundary.plot(ax=ax, color=COUNTY_LINE, lw=0.8, zorder=9)
    for _, row in mine.iterrows():
        point = row.geometry.representative_point()
        ax.text(point.x, point.y, str(row["name"]), fontsize=5.5, ha="center", va="center", color="#1f2a33",
                zorder=12, bbox={"boxstyle": "round,pad=0.15", "fc": (1, 1, 1, 0.6), "ec": "none"})
    _scale_bar(ax, extent)
    _north_arrow(ax)
    _legend(fig, data, drew_flows=drew_flows, drew_corridors=drew_corridors)
    path = Path(path)
    fig.savefig(path, dpi=dpi, facecolor="white")
    plt.close(fig)
    return path


def _n(count: int, word: str) -> str:
    """``count`` and ``word``, plural unless one.

    >>> _n(1, "flow"), _n(3, "flow"), _n(0, "county")
    ('1 flow', '3 flows', '0 counties')
    """
    if count == 1:
        return f"1 {word}"
    return f"{count} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def describe(data: BriefingData) -> str:
    """The map of :func:`draw_map` in words: the PDF's alternate text for it.

    It says what is drawn, in the order of the legend, from the same rows the
    drawing uses; the only count it names is the busiest flow's, which the flows
    table prints too.
    """
    counties = reference.load_counties()
    names = counties.loc[counties["county_fips"].isin(data.place.counties), "name"].astype(str).tolist()
    parts = [f"Map of {data.place.name} ({_n(len(names), 'county')}: "
             f"{', '.join(sorted(names))}), outlined and named, with neighbouring counties in pale grey."]
    cells = data.cells[data.cells["level"].eq("cell")]
    hidden = int(cells["suppressed"].astype(bool).sum())
    if cells.empty:
        parts.append(f"No H3 cell (resolution {data.res}) is drawn.")
    else:
        parts.append(f"H3 cells (resolution {data.res}): {len(cells) - hidden} shaded by records, darker for more; "
                     f"{hidden} with {hidden_words(k=data.k)} records grey and hatched.")
    county_level = data.cells[data.cells["level"].eq("county")]
    if not county_level.empty:
        grey = int(county_level["suppressed"].astype(bool).sum())
        parts.append(f"Shaded as a whole (records too coarse for a cell, or rolled up): {_n(len(county_level), 'county')}, "
                     f"{grey} of them grey and hatched ({hidden_words(k=data.k)} records).")
    shown = data.corridors[~data.corridors["suppressed"].astype(bool)] if not data.corridors.empty else data.corridors
    if not shown.empty:
        parts.append(f"Corridors: {_n(len(shown), 'highway segment')} coloured and widened by the flow records routed along them.")
    if not data.flows.empty:
        top = data.flows.iloc[0]
        parts.append(f"Flows: {_n(len(data.flows), 'purple arc')} from a point source (orange dot) to a destination, "
                     f"wider for more records; the busiest runs from {top['origin_name']} to {top['dest_name']} "
                     f"({int(top['records']):,} records).")
    else:
        parts.append("No flow is drawn.")
    parts.append("Highways are schematic brown lines. A legend at the right explains the colours; "
                 "a scale bar and a north arrow are on the map.")
    return " ".join(parts)


def _draw_county_fill(ax: plt.Axes, data: BriefingData, mine: gpd.GeoDataFrame) -> None:
    rows = data.cells[data.cells["level"].eq("county")]
    if rows.empty:
        return
    shown = mine[mine["county_fips"].isin(rows.loc[~rows["suppressed"].astype(bool), "county_fips"])]
    hidden = mine[mine["county_fips"].isin(rows.loc[rows["suppressed"].astype(bool), "county_fips"])]
    if not shown.empty:
        shown.plot(ax=ax, facecolor=(0.80, 0.80, 0.88, 0.6), edgecolor="none", zorder=3)
    if not hidden.empty:
        hidden.plot(ax=ax, facecolor=_rgba((*SUPPRESSED_RGBA[:3], 60)), edgecolor=(0.55, 0.55, 0.55, 0.5),
                    hatch="////", lw=0, zorder=3)


def _draw_cells(ax: plt.Axes, data: BriefingData) -> None:
    hexes = _hexagons(data.cells)
    if hexes.empty:
        return
    suppressed = hexes["suppressed"].astype(bool).to_numpy()
    if (~suppressed).any():
        colours = data.cell_scale.rgba_of(hexes.loc[~suppressed, "value"])
        colours[:, 3] = 230
        hexes[~suppressed].plot(ax=ax, color=[_rgba(c) for c in colours], edgecolor="white", lw=0.15, zorder=4)
    if suppressed.any():
        hexes[suppressed].plot(
            ax=ax, facecolor=_rgba(SUPPRESSED_RGBA), edgecolor=_rgba(SUPPRESSED_LINE_RGBA),
            hatch="////", lw=0.4, zorder=4,
        )


def _draw_corridors(ax: plt.Axes, data: BriefingData) -> bool:
    segments = data.corridors
    if segments.empty:
        return False
    shown = segments[~segments["suppressed"].astype(bool)]
    if shown.empty:
        return False
    loads = pd.to_numeric(shown["load"], errors="coerce").astype(float)
    colours = data.corridor_scale.rgba_of(loads)
    biggest = max(_scale_top(data.corridor_scale), float(loads.max()))
    start = _project_points(shown["from_lat"], shown["from_lng"])
    end = _project_points(shown["to_lat"], shown["to_lng"])
    for (x0, y0), (x1, y1), load, colour in zip(start, end, loads, colours, strict=True):
        width = 1.0 + 3.5 * math.sqrt(load / biggest)
        ax.plot([x0, x1], [y0, y1], color=_rgba((*colour[:3], 235)), lw=width, solid_capstyle="round", zorder=6)
    return True


def _scale_top(scale: ColourScale) -> float:
    return float(scale.breaks[-1]) * 2 if scale.breaks else 1.0


def _draw_flows(ax: plt.Axes, data: BriefingData) -> bool:
    edges = data.flows
    if edges.empty:
        return False
    start = _project_points(edges["origin_lat"], edges["origin_lng"])
    end = _project_points(edges["dest_lat"], edges["dest_lng"])
    records = pd.to_numeric(edges["records"], errors="coerce").astype(float).to_numpy()
    biggest = max(float(records.max()), 1.0)
    for (x0, y0), (x1, y1), count in zip(start, end, records, strict=True):
        points = _arc(x0, y0, x1, y1)
        width = 0.6 + 2.4 * math.sqrt(count / biggest)
        ax.plot(points[:, 0], points[:, 1], color="#5d3790", lw=width, alpha=0.8, zorder=7, solid_capstyle="round")
        ax.add_patch(FancyArrowPatch(
            tuple(points[-4]), tuple(points[-1]), arrowstyle="-|>", mutation_scale=4 + 3 * width,
            color="#5d3790", lw=0, zorder=8,
        ))
        ax.plot([x0], [y0], marker="o", ms=2.2, color="#be630a", zorder=8)
    return True


def layer_shapes(data: BriefingData) -> dict[str, gpd.GeoDataFrame]:
    """The map's data layers in WGS84 (for GeoJSON): ``cells``, ``flows``, ``corridors``."""
    hexes = _hexagons(data.cells).to_crs(4326)
    flows = gpd.GeoDataFrame(
        data.flows,
        geometry=[LineString([(a, b), (c, d)]) for a, b, c, d in zip(
            data.flows["origin_lng"], data.flows["origin_lat"], data.flows["dest_lng"], data.flows["dest_lat"], strict=True)],
        crs=4326,
    )
    corridors = gpd.GeoDataFrame(
        data.corridors.drop(columns=["geometry"], errors="ignore"),
        geometry=[LineString([(a, b), (c, d)]) for a, b, c, d in zip(
            data.corridors["from_lng"], data.corridors["from_lat"], data.corridors["to_lng"], data.corridors["to_lat"], strict=True)],
        crs=4326,
    )
    return {"cells": hexes, "flows": flows, "corridors": corridors}
