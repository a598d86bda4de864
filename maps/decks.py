"""Whole maps: ``pydeck.Deck`` objects for California, ready for ``st.pydeck_chart``.

Every deck is built with ``map_provider=None``: nothing is fetched from the
internet. The base layers are the county outlines and schematic highways; a tile
basemap is added only when ``ROUTES_TILE_URL`` is configured.

Tooltips are plain text (``{"text": "{tip}"}``): the browser sets them with
``innerText``, so a value such as ``<img src=x onerror=alert(1)>`` coming from an
agency's data shows as those characters and never runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from geo import reference
from maps import layers as L
from maps import moves_maps
from maps.colours import ColourScale
from maps.wording import hidden_words, rate_text

#: The plain-text tooltip every deck uses; each pickable row carries ``tip``.
TOOLTIP = {
    "text": "{tip}",
    "style": {
        "backgroundColor": "#1f2a33",
        "color": "#fbfbf9",
        "fontSize": "13px",
        "whiteSpace": "pre-line",
        "maxWidth": "320px",
    },
}

#: California fills a map about 900 x 560 pixels (the Heatmap explorer at 1366 x 768).
CALIFORNIA_VIEW = {"latitude": 37.25, "longitude": -119.45, "zoom": 4.75}
#: Finest resolution drawn statewide (finer ones need a region or county filter).
STATEWIDE_MAX_RES = 7


def view_for_counties(
    county_fips: Iterable[str] | None = None,
    *,
    regions: Iterable[str] | None = None,
    width_px: int = 900,
    height_px: int = 560,
) -> pdk.ViewState:
    """A view fitting the given counties, or else the counties of ``regions`` (all of California when both are empty).

    >>> view_for_counties(["06075"]).zoom > 8
    True
    """
    fips = list(county_fips or [])
    if not fips and regions:
        table = reference.load_regions()
        fips = table.loc[table["region"].isin(list(regions)), "county_fips"].tolist()
    bounds = _county_bounds()
    chosen = bounds[bounds.index.isin(fips)] if fips else bounds
    if chosen.empty:
        return pdk.ViewState(**CALIFORNIA_VIEW, pitch=0, bearing=0)
    west, south, east, north = chosen["minx"].min(), chosen["miny"].min(), chosen["maxx"].max(), chosen["maxy"].max()
    return pdk.ViewState(**_fit_bounds(west, south, east, north, width_px=width_px, height_px=height_px), pitch=0, bearing=0)


@cache
def _county_bounds() -> pd.DataFrame:
    """Each county's bounding box (``minx``, ``miny``, ``maxx``, ``maxy``) by FIPS code, read once."""
    counties = reference.load_counties()
    return counties.geometry.bounds.set_index(counties["county_fips"])


def _fit_bounds(west: float, south: float, east: float, north: float, *, width_px: int, height_px: int) -> dict[str, float]:
    def merc_y(lat: float) -> float:
        s = math.sin(math.radians(lat))
        return math.log((1 + s) / (1 - s)) / 2

    span_x = max(east - west, 0.01) / 360
    span_y = max(merc_y(north) - merc_y(south), 0.0002) / (2 * math.pi)
    zoom = min(math.log2(width_px / 512 / span_x), math.log2(height_px / 512 / span_y)) - 0.3
    return {"latitude": (south + north) / 2, "longitude": (west + east) / 2, "zoom": round(min(zoom, 11.0), 2)}


class CompactDeck(pdk.Deck):
    """A ``pydeck.Deck`` whose JSON (what ``st.pydeck_chart`` sends) is not indented.

    pydeck indents by two spaces, one number per line: for county outlines that is
    three quarters of the bytes the browser downloads and parses before the first
    frame. Same content, same keys (sorted, camel-cased, as pydeck writes them).
    """

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def make_deck(
    layers: Sequence[pdk.Layer],
    *,
    view_state: pdk.ViewState | None = None,
    base: bool = True,
    labels: bool = True,
    height: int = 560,
) -> pdk.Deck:
    """A deck with the offline base layers under ``layers``, no basemap provider, text tooltips.

    The names (counties, places, highways) are placed for the view's zoom without
    overlaps (:mod:`maps.labels`). ``labels=False`` leaves them out: a ``TextLayer`` is two more
    shaders for a browser to compile before the first frame (about half a second
    with software WebGL), worth it where routes matter, not on a county choropleth.
    """
    view = view_state or pdk.ViewState(**CALIFORNIA_VIEW, pitch=0, bearing=0)
    under = L.base_layers(labels=labels, zoom=float(view.zoom)) if base else []
    over = under[-3:] if base and labels else []  # the labels (counties, places, highways) go on top
    return CompactDeck(
        layers=[*under[: len(under) - len(over)], *layers, *over],
        initial_view_state=view,
        map_provider=None,
        tooltip=TOOLTIP,
        height=height,
    )


#: H3 resolutions as a zoom-like control: name and average cell area.
RES_NAMES = {
    4: ("statewide", "1,770 km²"),
    5: ("regional", "250 km²"),
    6: ("county", "36 km²"),
    7: ("city", "5 km²"),
    8: ("neighbourhood", "0.7 km²"),
    9: ("street", "0.1 km²"),
}
_MEASURE_WORDS = {"records": "records", "victims": "victims", "per_capita": "records per 100,000 residents of the county"}


def _fmt_count(value: object, hidden: str | None = None) -> str:
    if value is None or pd.isna(value):
        return hidden_words(hidden)
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.1f}"


def _fmt_rate(value: object, hidden: str | None = None) -> str:
    """A rate per 100,000 always with one decimal, so it never reads as a count (a hidden one reads ``hidden``).

    >>> _fmt_rate(1.0), _fmt_rate(12.345), _fmt_rate(None)
    ('1.0', '12.3', 'fewer than 11')
    """
    return rate_text(value, hidden, decimals=1)


def _county_names() -> dict[str, str]:
    return reference.load_regions().set_index("county_fips")["county"].to_dict()


def cell_tips(counts: pd.DataFrame, *, measure: str = "records", hidden: str | None = None) -> list[str]:
    """Plain-text tooltips for :func:`query.cells.cell_counts` rows (a hidden count reads ``hidden``).

    >>> import pandas as pd
    >>> row = pd.DataFrame({"level": ["cell"], "hex": ["872830828ffffff"], "res": [7],
    ...     "county_fips": ["06075"], "records": [12], "victims": [20], "per_100k": [1.4],
    ...     "rolled_up": [False], "suppressed": [False]})
    >>> print(cell_tips(row)[0])
    res-7 cell, San Francisco
    12 records · 20 victims · 1.4 per 100,000 residents
    """
    names = _county_names()
    tips = []
    for row in counts.itertuples(index=False):
        county = names.get(row.county_fips, "several counties") if row.county_fips else "several counties"
        if row.level == "county":
            head = f"{county} County: records not shown in a cell"
            why = "(located less precisely than this resolution, or in cells under k)"
        else:
            head = f"res-{row.res} cell, {county}"
            why = "(small neighbouring cells rolled up into this larger one)" if row.rolled_up else ""
        if row.suppressed:
            body = f"records: {hidden_words(hidden)}"
        else:
            body = (f"{_fmt_count(row.records, hidden)} records · {_fmt_count(row.victims, hidden)} victims · "
                    f"{_fmt_rate(row.per_100k, hidden)} per 100,000 residents")
        tips.append("\n".join(part for part in (head, body, why) if part))
    return tips


def heatmap_deck(
    counts: pd.DataFrame,
    *,
    scale: ColourScale,
    county_scale: ColourScale | None = None,
    measure: str = "records",
    view_state: pdk.ViewState | None = None,
    layer_id: str = "cells",
    hidden: str | None = None,
) -> pdk.Deck:
    """The Heatmap explorer's map: H3 cells on a fixed scale over county outlines.

    Parameters
    ----------
    counts
        :func:`query.cells.cell_counts` output: cell rows are drawn as hexagons
        coloured by ``value`` (hidden ones grey with a dark outline); county
        rows (records too coarse for the resolution, and rolled-up small cells)
        as a pale county fill beneath, never as if they were exact.
    scale
        The fixed scale of the cells (computed on unfiltered statewide data unless
        the user rescales).
    county_scale
        The scale of the county fill (defaults to ``scale``).
    hidden
        How a hidden count reads (the page's :func:`query.release.hidden_text`; default "fewer than 11").
    """
    drawn = heatmap_layers(counts, scale=scale, county_scale=county_scale, measure=measure, layer_id=layer_id, hidden=hidden)
    return make_deck(drawn, view_state=view_state)


def heatmap_layers(
    counts: pd.DataFrame,
    *,
    scale: ColourScale,
    county_scale: ColourScale | None = None,
    measure: str = "records",
    layer_id: str = "cells",
    hidden: str | None = None,
) -> list[pdk.Layer]:
    """The data layers of :func:`heatmap_deck` (no base layers), bottom to top."""
    counts = counts.assign(tip=cell_tips(counts, measure=measure, hidden=hidden))
    is_cell = counts["level"].eq("cell")
    cells, coarse = counts[is_cell], counts[~is_cell]
    value_column = "value"
    drawn: list[pdk.Layer] = []
    if not coarse.empty:
        drawn.append(
            L.county_fill_layer(
                coarse, scale=county_scale or scale, value_column=value_column,
                layer_id=f"{layer_id}-county", opacity=0.35,
            )
        )
        drawn.append(L.county_line_layer(coarse, layer_id=f"{layer_id}-county-lines", opacity=0.35))
    rolled = cells["rolled_up"].fillna(False).astype(bool) & ~cells["suppressed"].fillna(False).astype(bool) \
        if "rolled_up" in cells.columns else pd.Series(False, index=cells.index)
    if rolled.any():  # outlines beneath the exact cells: a large low-count parent must not dominate
        drawn += L.by_resolution(L.rolled_up_hexagon_layer(cells[rolled], scale=scale, value_column=value_column,
                                                           layer_id=f"{layer_id}-rolled-up"))
    drawn += L.by_resolution(L.suppressed_hexagon_layer(cells, layer_id=f"{layer_id}-suppressed", hidden=hidden))
    drawn += L.by_resolution(L.hexagon_layer(cells[~rolled], scale=scale, value_column=value_column, layer_id=layer_id))
    return drawn


#: How a playback deck's layer id names the month group it belongs to: ``cells@m3``.
PLAYBACK_GROUP_MARK = "@m"


@dataclass(frozen=True)
class PlaybackDeck:
    """A heatmap deck holding every played month's layers, and which layers each month shows.

    ``deck`` has the base layers once and, for each distinct month map, its
    :func:`heatmap_layers` with ids ending in ``@m<group>`` (only the first month's
    visible). ``groups[i]`` is the group month ``i`` shows: months whose maps are
    the same (the release's months of one quarter) share one group.
    """

    deck: pdk.Deck
    groups: tuple[int, ...]


def heatmap_playback_deck(
    monthly: Sequence[pd.DataFrame],
    *,
    scale: ColourScale,
    county_scale: ColourScale | None = None,
    measure: str = "records",
    view_state: pdk.ViewState | None = None,
    hidden: str | None = None,
) -> PlaybackDeck:
    """One deck for playing months in the browser: each month's map drawn as :func:`heatmap_deck` draws it.

    ``monthly`` holds one :func:`query.cells.cell_counts` frame per month, in
    playing order. The browser steps by switching which group's layers are
    visible (``ui/deck_map_frontend``): no data is sent or rebuilt per month.
    """
    groups: list[int] = []
    seen: dict[str, int] = {}
    drawn: list[pdk.Layer] = []
    for frame in monthly:
        key = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy().tobytes().hex() \
            if len(frame) else "empty"
        if key not in seen:
            group = seen[key] = len(seen)
            for layer in heatmap_layers(frame, scale=scale, county_scale=county_scale, measure=measure,
                                        hidden=hidden, layer_id="cells"):
                layer.id = f"{layer.id}{PLAYBACK_GROUP_MARK}{group}"
                layer.visible = group == 0
                drawn.append(layer)
        groups.append(seen[key])
    return PlaybackDeck(deck=make_deck(drawn, view_state=view_state), groups=tuple(groups))


def percent_change(before: object, after: object) -> str:
    """The relative change beside the absolute one; "new" where nothing came before.

    >>> [percent_change(b, a) for b, a in ((20, 30), (40, 30), (0, 12), (0, 0))]
    ['+50 %', '-25 %', 'new', '±0 %']
    """
    b, a = float(before or 0), float(after or 0)  # type: ignore[arg-type]
    if b == 0:
        return "new" if a > 0 else "±0 %"
    pct = (a - b) / b * 100
    return "±0 %" if round(pct) == 0 else f"{pct:+.0f} %"


def change_tips(change: pd.DataFrame, *, measure: str = "records", hidden: str | None = None) -> list[str]:
    """Plain-text tooltips for :func:`query.cells.cell_change` rows (a hidden count reads ``hidden``)."""
    names = _county_names()
    unit = _MEASURE_WORDS.get(measure, measure)
    tips = []
    for row in change.itertuples(index=False):
        county = names.get(row.county_fips, "several counties") if row.county_fips else "several counties"
        if row.suppressed:
            body = f"change not shown: a count in one of the periods reads {hidden_words(hidden)!r}"
        else:
            sign = "+" if (row.change or 0) > 0 else ""
            body = f"{_fmt_count(row.before, hidden)} → {_fmt_count(row.after, hidden)} ({sign}{_fmt_count(row.change, hidden)} {unit}"
            body += f", {percent_change(row.before, row.after)})"
        tips.append(f"res-{row.res} cell, {county}\n{body}")
    return tips


def change_deck(
    change: pd.DataFrame,
    *,
    scale: ColourScale,
    measure: str = "records",
    view_state: pdk.ViewState | None = None,
    layer_id: str = "change",
    hidden: str | None = None,
) -> pdk.Deck:
    """A change map: cells coloured on a diverging scale by ``change`` (hidden ones grey, reading ``hidden``)."""
    change = change.assign(tip=change_tips(change, measure=measure, hidden=hidden))
    drawn = [
        *L.by_resolution(L.suppressed_hexagon_layer(change, layer_id=f"{layer_id}-suppressed", hidden=hidden)),
        *L.by_resolution(L.hexagon_layer(change, scale=scale, value_column="change", layer_id=layer_id)),
    ]
    return make_deck(drawn, view_state=view_state)


def choropleth_deck(
    counties: pd.DataFrame,
    *,
    scale: ColourScale,
    value_column: str = "value",
    view_state: pdk.ViewState | None = None,
    layer_id: str = "counties",
) -> pdk.Deck:
    """Counties coloured by ``value_column`` (rates per 100,000 residents, changes…)."""
    layer = L.county_fill_layer(counties, scale=scale, value_column=value_column, layer_id=layer_id, opacity=0.8)
    return make_deck([layer, L.county_line_layer(counties, layer_id=f"{layer_id}-lines", opacity=0.8)], view_state=view_state)


def edge_tips(edges: pd.DataFrame, *, hidden: str | None = None) -> list[str]:
    """Plain-text tooltips for flow edges (:func:`query.flows.flow_edges` rows; a hidden count reads ``hidden``)."""
    tips = []
    for row in edges.to_dict("records"):
        head = f"{row.get('origin_name') or row.get('origin_id')} → {row.get('dest_name') or row.get('dest_id')}"
        if row.get("suppressed"):
            tips.append(f"{head}\nrecords: {hidden_words(hidden)}")
            continue
        lines = [head, f"{_fmt_count(row.get('records'), hidden)} records · {_fmt_count(row.get('victims'), hidden)} victims"]
        parts = [f"{name} {_fmt_count(row.get(name), hidden)}" for name in ("tips", "confirmed", "services") if name in row]
        if parts:
            lines.append(" · ".join(parts))
        if row.get("sources") is not None and not pd.isna(row.get("sources")):
            lines.append(f"reported by {_fmt_count(row.get('sources'))} agencies")
        if row.get("rolled_up"):
            lines.append(f"(small flows rolled up to {row.get('level')} level)")
        tips.append("\n".join(lines))
    return tips


def location_tips(locations: pd.DataFrame, *, hidden: str | None = None) -> list[str]:
    """Plain-text tooltips for location circles (:func:`query.flows.location_totals` rows; hidden: ``hidden``)."""
    return [
        f"{row.get('name') or row.get('location_id')}\n"
        f"incoming {_fmt_count(row.get('incoming'), hidden)} · outgoing {_fmt_count(row.get('outgoing'), hidden)} · "
        f"internal {_fmt_count(row.get('internal'), hidden)}"
        for row in locations.to_dict("records")
    ]


def corridor_frame(segments: pd.DataFrame, *, hidden: str | None = None) -> pd.DataFrame:
    """Corridor segments with ``path`` (``[[lng, lat], …]``) and ``tip`` for :func:`maps.layers.corridor_layer`."""
    paths = [
        [[float(a), float(b)], [float(c), float(d)]]
        for a, b, c, d in zip(segments["from_lng"], segments["from_lat"], segments["to_lng"], segments["to_lat"], strict=True)
    ]
    tips = [
        f"{row.get('route')} (schematic segment, {float(row.get('length_km') or 0):.0f} km)\n"
        + (f"load (flow records): {hidden_words(hidden)}" if row.get("suppressed")
           else f"load: {_fmt_count(row.get('load'), hidden)} flow records")
        for row in segments.to_dict("records")
    ]
    return segments.assign(path=paths, tip=tips)


def focus_edges(edges: pd.DataFrame, *, mode: str = "all", location: str | None = None, other: str | None = None) -> pd.DataFrame:
    """The edges to draw for a location filter.

    ``mode`` is ``all``, ``incoming`` (edges arriving at ``location``),
    ``outgoing`` (leaving it) or ``between`` (both directions between ``location``
    and ``other``).

    >>> e = pd.DataFrame({"origin_id": ["a", "b", "a"], "dest_id": ["b", "a", "c"]})
    >>> focus_edges(e, mode="between", location="a", other="b").index.tolist()
    [0, 1]
    """
    if mode == "all" or not location:
        return edges
    if mode == "incoming":
        return edges[edges["dest_id"].eq(location)]
    if mode == "outgoing":
        return edges[edges["origin_id"].eq(location)]
    if mode == "between":
        pair = {location, other}
        return edges[edges["origin_id"].isin(pair) & edges["dest_id"].isin(pair) & edges["origin_id"].ne(edges["dest_id"])]
    raise ValueError(f"mode {mode!r} is not all, incoming, outgoing or between")


def flows_deck(
    *,
    edges: pd.DataFrame | None = None,
    locations: pd.DataFrame | None = None,
    corridors: pd.DataFrame | None = None,
    edge_scale: ColourScale | None = None,
    corridor_scale: ColourScale | None = None,
    count_column: str = "records",
    top_n: int = 25,
    from_columns: tuple[str, str] = ("origin_lat", "origin_lng"),
    to_columns: tuple[str, str] = ("dest_lat", "dest_lng"),
    view_state: pdk.ViewState | None = None,
    focus_segment: int | None = None,
    focus_flows: pd.DataFrame | None = None,
    hidden: str | None = None,
    moves: pd.DataFrame | None = None,
    circuit: pd.Series | None = None,
) -> pdk.Deck:
    """The Flows and corridors map: arcs, then corridor loads, then location circles.

    ``moves`` (:func:`query.moves.observed_moves` rows) are drawn as arcs of their
    own colour (:data:`maps.moves_maps.MOVE_RGBA`) beside or instead of the
    reported journeys (``edges``); ``circuit`` (a row of
    :func:`query.moves.circuits`) is drawn on top, in order: numbered stops and
    directed segments (:func:`maps.moves_maps.circuit_layers`).

    A hidden count reads ``hidden`` in the tooltips (the page's
    :func:`query.release.hidden_text`; default "fewer than 11").

    Corridors are drawn over the arcs, so a pointer on a corridor picks the
    corridor and not a faint arc beneath it. With ``focus_segment`` (a
    ``segment_id`` of ``corridors``) that segment is outlined and ``focus_flows``
    (the flows routed over it, :func:`query.flows.segment_flows`) are drawn in the
    focus colour over the others, which all fade.

    Internal flows (same origin and destination) are not drawn as arcs: they are
    in the location circles. Rows need the columns of :mod:`query.flows`.
    """

    def moving(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[(frame[from_columns[0]] != frame[to_columns[0]]) | (frame[from_columns[1]] != frame[to_columns[1]])]
        out = out.dropna(subset=[*from_columns, *to_columns])
        return out.assign(tip=edge_tips(out, hidden=hidden))

    drawn: list[pdk.Layer] = []
    in_focus = focus_segment is not None
    if edges is not None and not edges.empty:
        drawn.append(
            L.arc_layer(
                moving(edges), count_column=count_column, top_n=0 if in_focus else top_n,
                scale=edge_scale, from_columns=from_columns, to_columns=to_columns,
            )
        )
    if moves is not None and not moves.empty:
        drawn.append(moves_maps.move_arc_layer(moves, top_n=0 if in_focus else top_n, hidden=hidden))
    if corridors is not None and not corridors.empty and corridor_scale is not None:
        frame = corridor_frame(corridors, hidden=hidden)
        chosen = frame[frame["segment_id"].eq(focus_segment)] if in_focus and "segment_id" in frame else frame.iloc[:0]
        if not chosen.empty:
            drawn.append(L.focus_path_layer(chosen))
        drawn.append(L.corridor_layer(frame, scale=corridor_scale))
    if in_focus and focus_flows is not None and not focus_flows.empty:
        drawn.append(
            L.arc_layer(
                moving(focus_flows), count_column=count_column, top_n=len(focus_flows), scale=edge_scale,
                from_columns=from_columns, to_columns=to_columns, layer_id="flows-focus", rgba=L.FOCUS_RGBA,
            )
        )
    if locations is not None and not locations.empty:
        placed = locations.dropna(subset=["lat", "lng"])
        drawn.append(L.location_layer(placed.assign(tip=location_tips(placed, hidden=hidden))))
    if circuit is not None:
        drawn.extend(moves_maps.circuit_layers(circuit))
    view = view_state or pdk.ViewState(**CALIFORNIA_VIEW, pitch=0, bearing=0)
    return make_deck(drawn, view_state=view)


__all__ = [
    "CALIFORNIA_VIEW",
    "STATEWIDE_MAX_RES",
    "TOOLTIP",
    "choropleth_deck",
    "corridor_frame",
    "edge_tips",
    "focus_edges",
    "location_tips",
    "flows_deck",
    "RES_NAMES",
    "cell_tips",
    "change_deck",
    "heatmap_deck",
    "make_deck",
    "view_for_counties",
]
