"""Pure functions that turn query-layer frames into pydeck layers.

Each function takes a :class:`pandas.DataFrame` as the query layer returns it (or
nothing, for the base layers) and returns one ``pydeck.Layer`` with a stable
``id``. Every pickable layer's rows carry a plain-text ``tip`` that the deck's
tooltip shows with ``innerText`` (see :mod:`maps.decks`), so text from the data
is never parsed as HTML.

Cells travel as H3 hex strings (``hex``): JavaScript numbers cannot hold a 64-bit
cell id exactly, so the integer never reaches the browser.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any

import h3
import numpy as np
import pandas as pd
import pydeck as pdk
import shapely.geometry

from geo import reference
from maps import labels as map_labels
from maps.colours import (
    SUPPRESSED_LINE_RGBA,
    SUPPRESSED_RGBA,
    ColourScale,
    Legend,
    LegendEntry,
)
from maps.wording import hidden_words
from routes import settings

#: Outline colour of the 58 counties (the base layer).
COUNTY_LINE_RGBA = (95, 105, 115, 200)
#: Colour of the schematic highway lines.
HIGHWAY_RGBA = (150, 95, 60, 170)
#: Arcs outside the top N: drawn, but faded.
FADED_ALPHA = 40
#: What is in focus (a selected corridor segment and the flows routed over it): the legend's accent.
FOCUS_RGBA = (214, 39, 40, 235)
#: Arcs rise to the side so that A→B and B→A never draw on top of each other:
#: a constant tilt turns the two directions to opposite sides of their chord.
ARC_TILT_DEG = 22
#: Colours of location circles by their balance of flows.
LOCATION_RGBA = {
    "incoming": (93, 55, 144, 190),   # purple: mostly a destination
    "outgoing": (190, 99, 10, 190),   # orange: mostly a point source
    "internal": (60, 120, 110, 190),  # teal: mostly internal
    "mixed": (120, 120, 120, 170),
}


def _literal(text: str) -> str:
    """A string prop passed as a value: pydeck turns bare strings into accessors."""
    return f"'{text}'"


#: The ``*_units`` value for sizes in screen pixels.
PIXELS = _literal("pixels")


def _rgba_lists(colours: np.ndarray) -> list[list[int]]:
    return [[int(v) for v in row] for row in colours]


def _tip_column(frame: pd.DataFrame, tip: Sequence[str] | pd.Series | None) -> list[str]:
    if tip is not None:
        return [str(t) for t in tip]
    if "tip" in frame.columns:
        return [str(t) for t in frame["tip"]]
    return [""] * len(frame)


# --------------------------------------------------------------------------- base


#: Decimal places of the coordinates sent to the browser (4: about 10 m, finer than
#: the simplified outlines; fewer bytes for the page to send and parse).
COORD_DECIMALS = 4
#: Stroke of a county fill (drawn by :func:`county_line_layer` over the fill).
COUNTY_FILL_LINE_RGBA = (255, 255, 255, 160)


def _rounded(coords: Any) -> Any:
    if isinstance(coords[0], (int, float)):
        return [round(float(v), COORD_DECIMALS) for v in coords]
    return [_rounded(c) for c in coords]


@cache
def _county_features() -> dict[str, Any]:
    counties = reference.load_counties()
    simple = counties.geometry.simplify(0.005, preserve_topology=True)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": geom.geom_type, "coordinates": _rounded(shapely.geometry.mapping(geom)["coordinates"])},
            "properties": {"county_fips": fips, "name": name},
        }
        for fips, name, geom in zip(counties["county_fips"], counties["name"], simple, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


@cache
def _county_segments() -> dict[str, tuple[tuple[list[float], list[float]], ...]]:
    """Each county's outline as straight segments (``LineLayer`` rows), by FIPS code."""
    out: dict[str, tuple[tuple[list[float], list[float]], ...]] = {}
    for feature in _county_features()["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        out[feature["properties"]["county_fips"]] = tuple(
            (a, b) for polygon in polygons for ring in polygon for a, b in zip(ring[:-1], ring[1:], strict=True) if a != b
        )
    return out


def _line_layer(rows: list[dict[str, Any]], *, layer_id: str, rgba: Sequence[int] | None, width: float,
                opacity: float = 1.0) -> pdk.Layer:
    """Straight segments ``s`` → ``t``, in screen pixels; colour ``c`` per row unless ``rgba`` is given.

    A ``LineLayer`` rather than a ``PathLayer`` (or a stroked ``GeoJsonLayer``, which
    draws with one): its shader is a fraction of the size, and a browser without a
    GPU (software WebGL) compiles it in a fraction of the time, which is most of
    the time to a map's first frame.
    """
    return pdk.Layer(
        "LineLayer",
        rows,
        id=layer_id,
        get_source_position="s",
        get_target_position="t",
        get_color=list(rgba) if rgba is not None else "c",
        width_units=PIXELS,
        get_width=width,
        opacity=opacity,
        pickable=False,
    )


def hexagon_outline(hex_id: str) -> list[list[float]]:
    """An H3 cell's boundary as ``[lng, lat]`` pairs (a ``SolidPolygonLayer`` polygon)."""
    return [[round(lng, COORD_DECIMALS), round(lat, COORD_DECIMALS)] for lat, lng in h3.cell_to_boundary(hex_id)]


def county_outline_layer(*, line_rgba: Sequence[int] = COUNTY_LINE_RGBA) -> pdk.Layer:
    """The 58 county outlines: the base layer of every map (not pickable)."""
    rows = [{"s": a, "t": b} for segments in _county_segments().values() for a, b in segments]
    return _line_layer(rows, layer_id="county-outlines", rgba=line_rgba, width=1)


def county_line_layer(counties: pd.DataFrame, *, layer_id: str, opacity: float = 1.0) -> pdk.Layer:
    """The outlines of the counties of a :func:`county_fill_layer`, drawn over it.

    White, except the suppressed counties' (``suppressed`` true): dark grey, so a
    suppressed county reads as grey with a dark outline, never as a colour of the scale.
    """
    segments = _county_segments()
    flags = counties["suppressed"].fillna(False).astype(bool) if "suppressed" in counties else pd.Series(False, index=counties.index)
    rows = [
        {"s": a, "t": b, "c": list(SUPPRESSED_LINE_RGBA if suppressed else COUNTY_FILL_LINE_RGBA)}
        for fips, suppressed in sorted(zip(counties["county_fips"], flags, strict=True), key=lambda fs: fs[1])
        for a, b in segments.get(fips, ())
    ]
    return _line_layer(rows, layer_id=layer_id, rgba=None, width=1, opacity=opacity)


@cache
def _highway_rows() -> list[dict[str, Any]]:
    highways = reference.load_highways()
    paths: list[dict[str, Any]] = []
    for _, row in highways.iterrows():
        route = str(row.get("route", "highway"))
        geoms = getattr(row.geometry, "geoms", [row.geometry])
        for geom in geoms:
            coords = [[round(x, 4), round(y, 4)] for x, y, *_ in geom.coords]
            paths.append({"path": coords, "route": route, "tip": f"{route} (schematic line)"})
    return paths


def highway_layer() -> pdk.Layer:
    """The highways as thin brown lines; they are schematic (straight lines between towns)."""
    rows = [{"s": a, "t": b} for path in _highway_rows() for a, b in zip(path["path"][:-1], path["path"][1:], strict=True)
            if a != b]
    return _line_layer(rows, layer_id="highways", rgba=HIGHWAY_RGBA, width=1.5)


#: How each kind of name is drawn: layer id, colour, halo (colour or none; a pale one keeps county
#: names legible over dark cells), largest size (pixels).
LABEL_STYLES: dict[str, tuple[str, list[int], list[int] | None, float]] = {
    "county": ("county-labels", [90, 98, 112, 210], [251, 251, 249, 170], map_labels.COUNTY_MAX_PX),
    "place": ("place-labels", [31, 42, 51, 235], [251, 251, 249, 230], map_labels.PLACE_MAX_PX),
    "highway": ("highway-labels", [120, 70, 40, 230], [251, 251, 249, 230], map_labels.HIGHWAY_PX),
}


@cache
def _label_data(kind: str, zoom: float) -> list[dict[str, Any]]:
    """Rows of one kind's names: ``position``, ``label``, ``z`` (pixels at each band of
    :data:`maps.labels.ZOOM_BANDS`, 0 where not drawn) and ``s``: the metres that make the
    band of ``zoom``'s size at ``zoom`` (0 where the name is not drawn in that band)."""
    band = map_labels.band_of_zoom(zoom)
    return [
        {"position": [label.lng, label.lat], "label": label.text,
         "s": round(label.bands.get(band, 0) * map_labels.metres_per_pixel(zoom, label.lat)),
         "z": [label.bands.get(b, 0) for b in map_labels.ZOOM_BANDS]}
        for label in reversed(map_labels.label_rows()) if label.kind == kind  # deck.gl draws later rows on top
    ]


def label_layer(kind: str, *, zoom: float) -> pdk.Layer:
    """The names of one ``kind`` (``place``, ``county``, ``highway``) placed for the map's starting ``zoom``.

    Each row holds its font size at every zoom band (``z``, :mod:`maps.labels`). A
    renderer that follows the zoom (the synchronised maps, the HTML briefing) draws
    ``z`` by band. deck.gl itself (``st.pydeck_chart``, which runs no script of ours)
    draws the band of the starting ``zoom``, sized in metres (``s``) so that they have
    the band's size at the start: zoomed out they shrink with the map, zoomed in they
    grow with it up to the kind's largest size, so names that do not overlap at the
    start never do.
    """
    layer_id, colour, halo, largest_px = LABEL_STYLES[kind]
    props: dict[str, Any] = {}
    if halo is not None:
        # a halo (same shader, same font atlas), not a background box: the box is a shader of its
        # own, about a quarter second more to compile in software WebGL
        props = {"outline_width": 3, "outline_color": halo, "font_settings": {"sdf": True}}
    return pdk.Layer(
        "TextLayer",
        _label_data(kind, round(float(zoom), 2)),
        id=layer_id,
        get_position="position",
        get_text="label",
        get_size="s",
        size_units=_literal("meters"),
        size_max_pixels=largest_px,
        get_color=colour,
        character_set=_literal("auto"),
        font_family=_literal("sans-serif"),
        pickable=False,
        **props,
    )


def _css_rgba(rgba: Sequence[int]) -> str:
    r, g, b, a = (list(rgba) + [255])[:4]
    return f"rgba({r},{g},{b},{a / 255:.2f})"


def html_labels() -> dict[str, Any]:
    """Every name with its size per zoom band, for a page that draws them as HTML text over a deck.

    ``{"bands": [4, …, 12], "kinds": [{"kind", "color", "shadow", "rows": [[lng, lat, text, [px per band]], …]}]}``:
    colours and halo as :func:`label_layer` draws them (CSS), counties first, so places and
    highway names are over them; a size of 0 means the name is not drawn at that band.
    """
    kinds = []
    for kind, (_layer_id, colour, halo, _largest) in LABEL_STYLES.items():
        shadow = ",".join(f"{o} 2px {_css_rgba(halo)}" for o in ("-1px -1px", "1px -1px", "-1px 1px", "1px 1px")) if halo else ""
        rows = [[*row["position"], row["label"], row["z"]] for row in _label_data(kind, float(map_labels.ZOOM_BANDS[0]))]
        kinds.append({"kind": kind, "color": _css_rgba(colour), "shadow": shadow, "rows": rows})
    return {"bands": list(map_labels.ZOOM_BANDS), "kinds": kinds}


def highway_label_layer(*, zoom: float = 4.75) -> pdk.Layer:
    """Route names (``I-5``, ``US-101``) at one point along each schematic highway."""
    return label_layer("highway", zoom=zoom)


def place_label_layer(*, zoom: float = 4.75) -> pdk.Layer:
    """Names of the gazetteer's places, appearing by zoom, largest first, never overlapping (drawn locally)."""
    return label_layer("place", zoom=zoom)


def county_label_layer(*, zoom: float = 4.75) -> pdk.Layer:
    """County names in grey capitals at a point inside each county, from zoom ~6."""
    return label_layer("county", zoom=zoom)


def tile_layer(url: str) -> pdk.Layer:
    """A basemap from a configured tile URL (only when ``ROUTES_TILE_URL`` is set).

    Vector tiles (``.pbf``/``.mvt``) draw as an ``MVTLayer``; raster tiles as a
    ``TileLayer`` of bitmaps.
    """
    if url.split("?")[0].endswith((".pbf", ".mvt")):
        return pdk.Layer(
            "MVTLayer", data=url, id="basemap", get_line_color=[200, 200, 200],
            get_fill_color=[238, 238, 238], line_width_min_pixels=1, pickable=False,
        )
    return pdk.Layer("TileLayer", data=url, id="basemap", min_zoom=0, max_zoom=19, tile_size=256)


def base_layers(*, labels: bool = True, zoom: float = 4.75) -> list[pdk.Layer]:
    """County outlines and schematic highways, over a tile basemap only when configured;
    with ``labels``, the names placed for the starting ``zoom`` (:func:`label_layer`)."""
    layers: list[pdk.Layer] = []
    url = settings.tile_url()
    if url:
        layers.append(tile_layer(url))
    layers += [county_outline_layer(), highway_layer()]
    if labels:
        layers += [county_label_layer(zoom=zoom), place_label_layer(zoom=zoom), highway_label_layer(zoom=zoom)]
    return layers


def base_legend_entries() -> tuple[LegendEntry, ...]:
    """Legend rows for the base layers."""
    return (
        LegendEntry("county boundary", COUNTY_LINE_RGBA),
        LegendEntry("highway (schematic, not a road map)", HIGHWAY_RGBA),
    )


# ------------------------------------------------------------------------ hexagons


def hexagon_layer(
    cells: pd.DataFrame,
    *,
    scale: ColourScale,
    value_column: str = "value",
    layer_id: str = "cells",
) -> pdk.Layer:
    """Visible (not suppressed) H3 cells coloured by ``value_column`` on a fixed scale.

    ``cells`` needs ``hex`` (H3 string) and ``value_column``; rows flagged
    ``suppressed`` are left to :func:`suppressed_hexagon_layer`.
    """
    shown = cells
    if "suppressed" in cells.columns:
        shown = cells[~cells["suppressed"].fillna(False).astype(bool)]
    tips = _tip_column(shown, None)
    data = pd.DataFrame(
        {
            "hex": shown["hex"].astype(str).to_list(),
            "fill": _rgba_lists(scale.rgba_of(shown[value_column])),
            "tip": tips,
        }
    )
    return pdk.Layer(
        "H3HexagonLayer",
        data,
        id=layer_id,
        get_hexagon="hex",
        get_fill_color="fill",
        stroked=True,
        get_line_color=[255, 255, 255, 120],
        line_width_units=PIXELS,
        get_line_width=0.5,
        extruded=False,
        pickable=True,
        auto_highlight=True,
        highlight_color=[255, 140, 0, 200],
    )


def by_resolution(layer: pdk.Layer) -> list[pdk.Layer]:
    """An ``H3HexagonLayer`` as one layer per H3 resolution, each drawn as flat columns.

    deck.gl draws H3 cells of one resolution finer than 5 as instanced hexagonal
    columns (its ``ColumnLayer``); cells of resolution 5 or coarser, or of mixed
    resolutions, as polygons with a ``PathLayer`` outline. That path shader is the
    slowest of the map's to compile in software WebGL (about half a second of the
    GPU process's time before the first frame, measured in headless Chromium), and
    the heatmap's rolled-up parents (res 4 and 5) brought it to every page. Cells
    of one resolution drawn as columns (``high_precision=False``) look the same at
    California's latitudes and share the column shader.

    The rows of the finest resolution keep the layer's ``id`` (what a click reports);
    the others go in layers ``<id>-res<r>`` drawn beneath it.
    """
    rows = list(layer.data or [])
    groups: dict[int, list[Any]] = {}
    for row in rows:
        groups.setdefault(h3.get_resolution(row["hex"]), []).append(row)
    if not groups:
        groups[-1] = []
    finest = max(groups)
    out = []
    for res in sorted(groups):
        part = copy.copy(layer)  # its own attribute dict: the original is left as it was
        part.data = groups[res]
        part.high_precision = False
        if res != finest:
            part.id = f"{layer.id}-res{res}"
        out.append(part)
    return out


def rolled_up_hexagon_layer(
    cells: pd.DataFrame, *, scale: ColourScale, value_column: str = "value", layer_id: str = "cells-rolled-up",
) -> pdk.Layer:
    """Cells rolled up into a coarser parent, drawn as an outline in the scale's colour and not filled.

    A rolled-up parent is large and its count is small: filled, it would outweigh the
    exact cells around it, and a pale fill under them would blend into colours the
    legend lacks.
    """
    data = pd.DataFrame(
        {
            "hex": cells["hex"].astype(str).to_list(),
            "line": _rgba_lists(scale.rgba_of(cells[value_column])),
            "tip": _tip_column(cells, None),
        }
    )
    return pdk.Layer(
        "H3HexagonLayer", data, id=layer_id, get_hexagon="hex", filled=False, stroked=True,
        get_line_color="line", line_width_units=PIXELS, get_line_width=2.5, extruded=False,
        pickable=True, auto_highlight=True,
    )


def suppressed_hexagon_layer(
    cells: pd.DataFrame, *, layer_id: str = "cells-suppressed", hidden: str | None = None
) -> pdk.Layer:
    """Hidden cells (``suppressed``: "fewer than 11"): grey with a dark outline, never a gap or zero."""
    shown = cells[cells["suppressed"].fillna(False).astype(bool)] if "suppressed" in cells else cells.iloc[:0]
    tips = _tip_column(shown, None) if "tip" in shown.columns else [f"records: {hidden_words(hidden)}"] * len(shown)
    data = pd.DataFrame({"hex": shown["hex"].astype(str).to_list(), "tip": tips})
    return pdk.Layer(
        "H3HexagonLayer",
        data,
        id=layer_id,
        get_hexagon="hex",
        get_fill_color=list(SUPPRESSED_RGBA),
        stroked=True,
        get_line_color=list(SUPPRESSED_LINE_RGBA),
        line_width_units=PIXELS,
        get_line_width=1.5,
        extruded=False,
        pickable=True,
    )


# ------------------------------------------------------------------------ counties


def county_fill_layer(
    counties: pd.DataFrame,
    *,
    scale: ColourScale,
    value_column: str = "value",
    layer_id: str = "counties",
    opacity: float = 0.55,
) -> pdk.Layer:
    """A choropleth of counties: ``counties`` has ``county_fips``, ``value_column``, ``tip``
    and optionally ``suppressed`` (drawn grey; :func:`county_line_layer` of the same
    rows, drawn over it, outlines them: white, dark for the suppressed ones)."""
    features = _county_features()
    by_fips = counties.set_index("county_fips")
    colours = scale.rgba_of(counties[value_column])
    colour_of = dict(zip(counties["county_fips"], _rgba_lists(colours), strict=True))
    out = []
    for feature in features["features"]:
        fips = feature["properties"]["county_fips"]
        if fips not in by_fips.index:
            continue
        row = by_fips.loc[fips]
        suppressed = bool(row.get("suppressed", False)) if hasattr(row, "get") else False
        out.append(
            {
                "type": "Feature",
                "geometry": feature["geometry"],
                "properties": {
                    "county_fips": fips,
                    "fill": [*SUPPRESSED_RGBA[:3], 90] if suppressed else colour_of[fips],
                    "tip": str(row.get("tip", feature["properties"]["name"])),
                },
            }
        )
    return pdk.Layer(
        "GeoJsonLayer",
        {"type": "FeatureCollection", "features": out},
        id=layer_id,
        stroked=False,
        filled=True,
        opacity=opacity,
        get_fill_color="properties.fill",
        pickable=True,
        auto_highlight=True,
    )


# --------------------------------------------------------------------------- flows


def arc_layer(
    edges: pd.DataFrame,
    *,
    count_column: str = "records",
    top_n: int = 25,
    scale: ColourScale | None = None,
    from_columns: tuple[str, str] = ("origin_lat", "origin_lng"),
    to_columns: tuple[str, str] = ("dest_lat", "dest_lng"),
    layer_id: str = "flows",
    max_width_px: float = 8.0,
    rgba: Sequence[int] | None = None,
) -> pdk.Layer:
    """Flow arcs, width and colour by count; the ``top_n`` largest opaque, the rest faded.

    Arcs are tilted by :data:`ARC_TILT_DEG`, so opposite directions between the
    same two places bow to opposite sides instead of overlapping; each arc is
    paler at its point source and full colour at its destination. Suppressed edges
    (``suppressed``) are not drawn. ``rgba`` draws every arc in that one colour
    (the flows in focus) instead of by the scale.
    """
    shown = edges
    if "suppressed" in edges.columns:
        shown = edges[~edges["suppressed"].fillna(False).astype(bool)]
    counts = pd.to_numeric(shown[count_column], errors="coerce").fillna(0).to_numpy(float)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(counts), dtype=int)
    rank[order] = np.arange(len(counts))
    top = rank < top_n
    biggest = counts.max() if len(counts) else 1.0
    if scale is None:
        scale = _default_scale(counts)
    colours = scale.rgba_of(counts)
    if rgba is not None:
        colours[:] = np.asarray(rgba, dtype=colours.dtype)
    target = colours.copy()
    target[:, 3] = np.where(top, 230, FADED_ALPHA)
    source = colours.copy()
    source[:, 3] = np.where(top, 90, FADED_ALPHA // 2)
    width = 1.0 + (max_width_px - 1.0) * np.sqrt(counts / max(biggest, 1.0))
    data = pd.DataFrame(
        {
            "from": [[float(g), float(a)] for a, g in zip(shown[from_columns[0]], shown[from_columns[1]], strict=True)],
            "to": [[float(g), float(a)] for a, g in zip(shown[to_columns[0]], shown[to_columns[1]], strict=True)],
            "source_rgba": _rgba_lists(source),
            "target_rgba": _rgba_lists(target),
            "width": np.round(np.where(top, width, np.minimum(width, 2.0)), 2).tolist(),
            "tip": _tip_column(shown, None),
        }
    )
    return pdk.Layer(
        "ArcLayer",
        data,
        id=layer_id,
        get_source_position="from",
        get_target_position="to",
        get_source_color="source_rgba",
        get_target_color="target_rgba",
        get_width="width",
        width_units=PIXELS,
        get_tilt=ARC_TILT_DEG,
        get_height=0.5,
        great_circle=False,
        pickable=True,
        auto_highlight=True,
    )


def _default_scale(counts: np.ndarray) -> ColourScale:
    from maps.colours import fixed_scale

    return fixed_scale(float(counts.max()) if len(counts) else 100.0, n=5, palette_name="cividis")


def location_layer(
    locations: pd.DataFrame,
    *,
    layer_id: str = "locations",
    max_radius_px: float = 28.0,
) -> pdk.Layer:
    """Circles at places, area by total flows, colour by what dominates there.

    ``locations`` has ``lat``, ``lng``, ``incoming``, ``outgoing``, ``internal``
    (any may be ``<NA>`` when suppressed) and ``tip``. A place is "incoming" when
    more than half its flows arrive there, and so on; otherwise "mixed".
    """
    parts = locations.reindex(columns=["incoming", "outgoing", "internal"])
    parts = parts.apply(pd.to_numeric, errors="coerce").fillna(0)
    total = parts.sum(axis=1).to_numpy(float)
    biggest = max(float(total.max()) if len(total) else 1.0, 1.0)
    dominant = []
    for inc, out, internal, tot in zip(parts["incoming"], parts["outgoing"], parts["internal"], total, strict=True):
        share = {"incoming": inc, "outgoing": out, "internal": internal}
        kind = max(share, key=lambda k: share[k])
        dominant.append(kind if tot and share[kind] / tot > 0.5 else "mixed")
    suppressed = locations.get("suppressed", pd.Series(False, index=locations.index)).fillna(False).astype(bool)
    fill = [list(SUPPRESSED_RGBA) if s else list(LOCATION_RGBA[d]) for d, s in zip(dominant, suppressed, strict=True)]
    data = pd.DataFrame(
        {
            "position": [[float(g), float(a)] for a, g in zip(locations["lat"], locations["lng"], strict=True)],
            "radius": np.round(3 + (max_radius_px - 3) * np.sqrt(total / biggest), 2).tolist(),
            "fill": fill,
            "tip": _tip_column(locations, None),
        }
    )
    return pdk.Layer(
        "ScatterplotLayer",
        data,
        id=layer_id,
        get_position="position",
        get_radius="radius",
        radius_units=PIXELS,
        get_fill_color="fill",
        stroked=True,
        get_line_color=[255, 255, 255, 220],
        line_width_units=PIXELS,
        get_line_width=1,
        pickable=True,
        auto_highlight=True,
    )


def corridor_layer(
    segments: pd.DataFrame,
    *,
    scale: ColourScale,
    load_column: str = "load",
    path_column: str = "path",
    layer_id: str = "corridors",
    max_width_px: float = 12.0,
) -> pdk.Layer:
    """Highway segments with their load: width and colour by load.

    ``segments`` has ``path`` (a list of ``[lng, lat]``), ``load`` (``<NA>`` when
    suppressed: drawn thin and grey) and ``tip``. Drawn as straight ``LineLayer``
    segments (``s`` → ``t``; a longer path becomes one row per stretch, each with
    the segment's colour, width, ``tip`` and ``segment_id``): the line shader is on
    every map already, a ``PathLayer``'s is the slowest to compile in software WebGL.
    """
    load = pd.to_numeric(segments[load_column], errors="coerce")
    biggest = max(float(load.max()) if load.notna().any() else 1.0, 1.0)
    width = np.where(load.isna(), 1.5, 2.0 + (max_width_px - 2.0) * np.sqrt(load.fillna(0) / biggest))
    rows = {
        "colour": _rgba_lists(scale.rgba_of(load)),
        "width": np.round(width, 2).tolist(),
        "tip": _tip_column(segments, None),
    }
    if "segment_id" in segments.columns:  # what a click on the map hands back to the page
        rows["segment_id"] = pd.to_numeric(segments["segment_id"]).astype(int).tolist()
    data = _stretches([_as_path(p) for p in segments[path_column]], rows)
    return pdk.Layer(
        "LineLayer",
        data,
        id=layer_id,
        get_source_position="s",
        get_target_position="t",
        get_color="colour",
        get_width="width",
        width_units=PIXELS,
        pickable=True,
        auto_highlight=True,
    )


def _stretches(paths: Sequence[list[list[float]]], columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One ``{"s", "t", …}`` row per straight stretch of each path, with that path's ``columns`` values.

    >>> _stretches([[[0, 0], [1, 1], [2, 1]]], {"tip": ["a"]})
    [{'s': [0, 0], 't': [1, 1], 'tip': 'a'}, {'s': [1, 1], 't': [2, 1], 'tip': 'a'}]
    """
    out = []
    for i, path in enumerate(paths):
        extra = {name: values[i] for name, values in columns.items()}
        out += [{"s": a, "t": b, **extra} for a, b in zip(path[:-1], path[1:], strict=True)]
    return out


def focus_path_layer(segments: pd.DataFrame, *, path_column: str = "path", layer_id: str = "corridor-focus") -> pdk.Layer:
    """The corridor segment in focus: a wide red casing under the loads (not pickable; a ``LineLayer``, as they are)."""
    data = _stretches([_as_path(p) for p in segments[path_column]], {})
    return pdk.Layer(
        "LineLayer", data, id=layer_id, get_source_position="s", get_target_position="t",
        get_color=list(FOCUS_RGBA), get_width=14, width_units=PIXELS, pickable=False,
    )


def _as_path(value: Any) -> list[list[float]]:
    if hasattr(value, "coords"):
        return [[float(x), float(y)] for x, y, *_ in value.coords]
    if isinstance(value, str):
        import json

        value = json.loads(value)
    return [[float(p[0]), float(p[1])] for p in value]


# --------------------------------------------------------------------------- legends


def location_legend(*, hidden: str | None = None) -> Legend:
    """The legend of :func:`location_layer` (a hidden place's circle reads ``hidden``)."""
    return Legend(
        title="Places (circle area = flows)",
        entries=(
            LegendEntry("mostly incoming (destination)", LOCATION_RGBA["incoming"]),
            LegendEntry("mostly outgoing (point source)", LOCATION_RGBA["outgoing"]),
            LegendEntry("mostly internal", LOCATION_RGBA["internal"]),
            LegendEntry("mixed", LOCATION_RGBA["mixed"]),
            LegendEntry(hidden_words(hidden), SUPPRESSED_RGBA),
        ),
    )


def arc_legend(scale: ColourScale, *, top_n: int) -> Legend:
    """The legend of :func:`arc_layer`: its colour classes and how to read direction."""
    base = scale.legend("Flows (arc colour and width)", suppressed=False)
    note = (
        f"the {top_n} largest flows opaque, the rest faded; each arc is pale at its point "
        "source and darkest at its destination, and bows to its right, so A→B and B→A "
        "never overlap; flows under k are not drawn"
    )
    return Legend(base.title, base.entries, note=note)


def focus_legend(route: str) -> Legend:
    """The legend of a selected corridor segment and the flows routed over it."""
    return Legend(
        title="In focus",
        entries=(LegendEntry(f"selected {route} segment", FOCUS_RGBA),),
        note="red arcs: the flows routed over it (listed below the map); click another segment to change it, "
        "or the map's empty space to clear it",
    )


__all__ = [
    "arc_layer",
    "arc_legend",
    "base_layers",
    "base_legend_entries",
    "by_resolution",
    "corridor_layer",
    "county_fill_layer",
    "county_label_layer",
    "county_line_layer",
    "county_outline_layer",
    "focus_legend",
    "focus_path_layer",
    "hexagon_layer",
    "hexagon_outline",
    "label_layer",
    "highway_label_layer",
    "html_labels",
    "highway_layer",
    "location_layer",
    "location_legend",
    "rolled_up_hexagon_layer",
    "place_label_layer",
    "suppressed_hexagon_layer",
    "tile_layer",
]
