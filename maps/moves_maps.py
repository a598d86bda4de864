"""Observed moves and circuits on a map, and circuits as a table (issue 22).

Pure functions over the frames of :mod:`query.moves` (already protected for the
viewer): arcs of observed moves in one colour of their own, so that they read
apart from the reported journeys' arcs when both are drawn; a circuit as
numbered stops joined by directed segments (an arrow head on each, the loop
closed back on its first stop); and the table of circuits the Flows page and the
briefings both show. Nothing here reads data or knows a token: only counts and
places.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import pydeck as pdk

from geo.flow_places import area_places
from maps import layers as L
from maps.colours import Legend, LegendEntry
from maps.wording import count_text, hidden_words

__all__ = [
    "CIRCUIT_CASING_RGBA",
    "CIRCUIT_RGBA",
    "MOVE_RGBA",
    "circuit_label",
    "circuit_layers",
    "circuit_legend",
    "circuit_stops",
    "circuits_table",
    "leg_curve",
    "evidence_legend",
    "move_arc_layer",
    "move_tips",
]

#: Observed moves: one orange, far from the cividis blues and yellows of reported journeys.
MOVE_RGBA = (230, 97, 1, 230)
#: The circuit drawn in order: magenta, apart from both kinds of arcs and the corridors' blues.
CIRCUIT_RGBA = (197, 27, 138, 255)
#: The dark casing under the circuit's segments and arrow heads: it keeps the magenta apart from
#: the many orange move arcs beneath it (issue 22: at the statewide view the circuit was lost in them).
CIRCUIT_CASING_RGBA = (31, 42, 51, 235)
#: Widths in screen pixels: the circuit's segments, and its casing.
CIRCUIT_WIDTH_PX = 6
CIRCUIT_CASING_PX = 11
#: Drawn over everything whatever its height: arcs rise above the map, and with the depth test
#: they hid the flat circuit beneath them even though it is drawn last.
ON_TOP = {"depthCompare": "always"}
#: Where along a segment its arrow head sits (0 = the stop it leaves, 1 = the stop it reaches).
ARROW_AT = 0.62
#: Half the length of an arrow head, in kilometres: a share of its segment, within these bounds
#: (the head about 5 to 8 pixels long at the statewide view, 20 to 36 zoomed to a few counties).
ARROW_SHARE = 0.07
ARROW_KM = (10.0, 18.0)
#: How much of an arrow head's casing shows around it, in kilometres.
ARROW_CASING_KM = 3.5
#: Each leg bows to its right (a quadratic curve) by this share of its length at its middle, so
#: two legs along one line in opposite directions lie apart (issue 23: Kern → Sacramento ran over
#: San Joaquin → Fresno, and zoomed in the two read as one), as the flow arcs do.
LEG_BOW = 0.12
#: Straight steps a leg's curve is drawn with.
LEG_STEPS = 16
_KM_PER_DEG_LAT = 111.32


def move_tips(moves: pd.DataFrame, *, hidden: str | None = None) -> list[str]:
    """Plain-text tooltips for :func:`query.moves.observed_moves` rows (a hidden count reads ``hidden``).

    >>> row = pd.DataFrame({"origin_name": ["Fresno"], "dest_name": ["Kern"], "moves": [12], "suppressed": [False]})
    >>> print(move_tips(row)[0])
    Fresno → Kern (observed moves)
    12 moves: a subject seen in one, then next in the other
    """
    tips = []
    for row in moves.to_dict("records"):
        head = f"{row.get('origin_name') or row.get('origin_id')} → {row.get('dest_name') or row.get('dest_id')} (observed moves)"
        count = hidden_words(hidden) if row.get("suppressed") else count_text(row.get("moves"), hidden)
        tips.append(f"{head}\n{count} moves: a subject seen in one, then next in the other")
    return tips


def move_arc_layer(moves: pd.DataFrame, *, top_n: int = 25, hidden: str | None = None) -> pdk.Layer:
    """Arcs of observed moves in :data:`MOVE_RGBA`, width by moves; hidden and internal moves not drawn."""
    shown = moves.dropna(subset=["origin_lat", "origin_lng", "dest_lat", "dest_lng"])
    shown = shown[shown["origin_id"].ne(shown["dest_id"])]
    shown = shown.assign(tip=move_tips(shown, hidden=hidden))
    return L.arc_layer(shown, count_column="moves", top_n=top_n, layer_id="moves", rgba=MOVE_RGBA)


def circuit_stops(places: Sequence[str]) -> pd.DataFrame:
    """The stops of a circuit in travel order: ``stop`` (1, 2, …), ``place``, ``name``, ``lat``, ``lng``.

    A loop's places end where they began (:func:`query.moves.circuits`); its last
    place is the first stop again, not a new one.

    >>> circuit_stops(["06067", "06077", "06067"])[["stop", "name"]].values.tolist()
    [[1, 'Sacramento'], [2, 'San Joaquin']]
    """
    ordered = [str(p) for p in places]
    if len(ordered) > 1 and ordered[0] == ordered[-1]:
        ordered = ordered[:-1]
    counties = area_places()
    counties = counties[counties["kind"] == "county"].set_index("id")
    rows = [
        {"stop": i, "place": p, "name": str(counties.at[p, "name"]) if p in counties.index else p,
         "lat": float(counties.at[p, "lat"]), "lng": float(counties.at[p, "lng"])}
        for i, p in enumerate(ordered, start=1) if p in counties.index
    ]
    return pd.DataFrame(rows, columns=["stop", "place", "name", "lat", "lng"])


def _segments(stops: pd.DataFrame, *, loop: bool) -> list[tuple[int, int]]:
    n = len(stops)
    pairs = [(i, i + 1) for i in range(n - 1)]
    return [*pairs, (n - 1, 0)] if loop and n > 2 else pairs


def _leg_frame(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, tuple[float, float]]:
    """Kilometres per degree of longitude and latitude about a leg, and its curve's control point (km)."""
    kx, ky = _KM_PER_DEG_LAT * math.cos(math.radians((a[1] + b[1]) / 2)), _KM_PER_DEG_LAT
    dx, dy = (b[0] - a[0]) * kx, (b[1] - a[1]) * ky
    # a quadratic curve's middle lies half way to its control point: twice the bow, to the right of travel
    control = ((a[0] + b[0]) / 2 * kx + 2 * LEG_BOW * dy, (a[1] + b[1]) / 2 * ky - 2 * LEG_BOW * dx)
    return kx, ky, control


def _on_leg(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """The point ``t`` of the way along a leg's curve and the direction of travel there, both in km."""
    kx, ky, (qx, qy) = _leg_frame(a, b)
    ax, ay, bx, by = a[0] * kx, a[1] * ky, b[0] * kx, b[1] * ky
    point = ((1 - t) ** 2 * ax + 2 * (1 - t) * t * qx + t**2 * bx, (1 - t) ** 2 * ay + 2 * (1 - t) * t * qy + t**2 * by)
    heading = (2 * (1 - t) * (qx - ax) + 2 * t * (bx - qx), 2 * (1 - t) * (qy - ay) + 2 * t * (by - qy))
    return point, heading


def leg_curve(a: tuple[float, float], b: tuple[float, float]) -> list[list[float]]:
    """A leg from ``a`` to ``b`` (``(lng, lat)``) as :data:`LEG_STEPS` + 1 points, bowing to its right.

    >>> curve = leg_curve((-120.0, 36.0), (-120.0, 37.0))  # due north: bows east
    >>> curve[0], curve[-1], curve[8][0] > -120.0
    ([-120.0, 36.0], [-120.0, 37.0], True)
    """
    kx, ky, _ = _leg_frame(a, b)
    inner = [_on_leg(a, b, i / LEG_STEPS)[0] for i in range(1, LEG_STEPS)]
    return [[float(a[0]), float(a[1])], *([round(x / kx, 5), round(y / ky, 5)] for x, y in inner), [float(b[0]), float(b[1])]]


def _arrow_head(a: tuple[float, float], b: tuple[float, float], *, grow_km: float = 0.0) -> list[list[float]]:
    """A triangle on the leg from ``a`` to ``b`` (``(lng, lat)``), :data:`ARROW_AT` of the way along its
    curve (:func:`leg_curve`), pointing the way of travel.

    Its half-length is :data:`ARROW_SHARE` of the segment within :data:`ARROW_KM`;
    ``grow_km`` makes it that much larger on every side (its casing).
    """
    kx, ky, _ = _leg_frame(a, b)
    length = math.hypot((b[0] - a[0]) * kx, (b[1] - a[1]) * ky) or 1.0
    half = min(max(length * ARROW_SHARE, ARROW_KM[0]), ARROW_KM[1]) + grow_km
    (cx, cy), (hx, hy) = _on_leg(a, b, ARROW_AT)
    ux, uy = hx / (math.hypot(hx, hy) or 1.0), hy / (math.hypot(hx, hy) or 1.0)
    tip = (cx + ux * (half + grow_km), cy + uy * (half + grow_km))
    left = (cx - ux * half - uy * half * 0.8, cy - uy * half + ux * half * 0.8)
    right = (cx - ux * half + uy * half * 0.8, cy - uy * half - ux * half * 0.8)
    return [[round(x / kx, 5), round(y / ky, 5)] for x, y in (tip, left, right)]


def circuit_layers(circuit: pd.Series | dict, *, layer_id: str = "circuit") -> list[pdk.Layer]:
    """A circuit drawn in order: segments, an arrow head on each, stop circles, stop numbers.

    ``circuit`` is a row of :func:`query.moves.circuits` (``places``, ``shape``,
    ``rank``). Stops are numbered 1, 2, … in travel order at the county
    centroids; a loop's last segment closes back on stop 1. Each leg bows to its
    right (:func:`leg_curve`: one ``s`` → ``t`` row per step, with ``leg``, its two
    stop numbers), so legs along one line in opposite directions never overlap. Segments and arrow
    heads sit on a dark casing, and every layer is drawn over the arcs whatever
    their height (:data:`ON_TOP`), so the circuit reads above many move arcs.
    Segments are ``LineLayer`` lines (one straight step each), the corridors'
    shader, not a ``PathLayer``'s, which software WebGL compiles slowest.
    """
    places = list(circuit["places"])
    loop = str(circuit["shape"]) == "loop"
    stops = circuit_stops(places)
    if stops.empty:
        return []
    lnglat = list(zip(stops["lng"], stops["lat"], strict=True))
    pairs = _segments(stops, loop=loop)
    names = stops["name"].tolist()
    tips = [f"circuit {int(circuit['rank'])}: stop {i + 1} {names[i]} → stop {j + 1} {names[j]}" for i, j in pairs]
    # each leg drawn as its curve's straight steps, one row each, with the leg's stops and tip
    segments = pd.DataFrame(L._stretches([leg_curve(lnglat[i], lnglat[j]) for i, j in pairs],
                                         {"leg": [[i + 1, j + 1] for i, j in pairs], "tip": tips}))
    heads = pd.DataFrame({"polygon": [_arrow_head(lnglat[i], lnglat[j]) for i, j in pairs], "tip": tips})
    casings = pd.DataFrame({"polygon": [_arrow_head(lnglat[i], lnglat[j], grow_km=ARROW_CASING_KM) for i, j in pairs]})
    dots = stops.assign(
        position=[[float(g), float(a)] for g, a in lnglat],
        label=stops["stop"].astype(str),
        tip=[f"circuit {int(circuit['rank'])}: stop {s} {n}" for s, n in zip(stops["stop"], names, strict=True)],
    )[["position", "label", "tip"]]
    colour, casing = list(CIRCUIT_RGBA), list(CIRCUIT_CASING_RGBA)
    return [
        pdk.Layer("LineLayer", segments[["s", "t"]], id=f"{layer_id}-casing", get_source_position="s",
                  get_target_position="t", get_color=casing, get_width=CIRCUIT_CASING_PX,
                  width_units=L.PIXELS, pickable=False, parameters=ON_TOP),
        pdk.Layer("SolidPolygonLayer", casings, id=f"{layer_id}-arrow-casing", get_polygon="polygon",
                  get_fill_color=casing, pickable=False, parameters=ON_TOP),
        pdk.Layer("LineLayer", segments, id=f"{layer_id}-segments", get_source_position="s",
                  get_target_position="t", get_color=colour, get_width=CIRCUIT_WIDTH_PX,
                  width_units=L.PIXELS, pickable=True, parameters=ON_TOP),
        pdk.Layer("SolidPolygonLayer", heads, id=f"{layer_id}-arrows", get_polygon="polygon",
                  get_fill_color=colour, pickable=True, parameters=ON_TOP),
        pdk.Layer("ScatterplotLayer", dots, id=f"{layer_id}-stops", get_position="position", get_radius=12,
                  radius_units=L.PIXELS, get_fill_color=colour, stroked=True, get_line_color=casing,
                  line_width_units=L.PIXELS, get_line_width=3, pickable=True, parameters=ON_TOP),
        pdk.Layer("TextLayer", dots, id=f"{layer_id}-numbers", get_position="position", get_text="label",
                  get_size=14, size_units=L.PIXELS, get_color=[255, 255, 255, 255], font_weight=700,
                  get_text_anchor=L._literal("middle"), get_alignment_baseline=L._literal("center"),
                  pickable=False, parameters=ON_TOP),
    ]


def circuit_label(row: pd.Series | dict) -> str:
    """One circuit in a sentence: ``"1. loop: Sacramento → San Joaquin → Sacramento"``.

    >>> circuit_label({"rank": 2, "shape": "path", "place_names": ["Kern", "Fresno", "Kings"]})
    '2. path: Kern → Fresno → Kings'
    """
    return f"{int(row['rank'])}. {row['shape']}: " + " → ".join(str(n) for n in row["place_names"])


def circuits_table(frame: pd.DataFrame, *, hidden: str, arrow: str = "→") -> pd.DataFrame:
    """The rows of :func:`query.moves.circuits` as a table: places in order, counts worded.

    Dwell times are in the own-records scope only (the release has none): without
    them the column is left out rather than shown empty. ``arrow`` joins the
    places (a PDF font without "→" passes "›").

    >>> f = pd.DataFrame({"rank": [1], "shape": ["loop"], "place_names": [["Fresno", "Kern", "Fresno"]],
    ...                   "subjects": pd.array([pd.NA], dtype="Int64"), "median_dwell_days": [None]})
    >>> circuits_table(f, hidden="fewer than 11").to_dict("records")[0]
    {'Rank': 1, 'Shape': 'loop', 'Places in order': 'Fresno → Kern → Fresno', 'Subjects': 'fewer than 11'}
    >>> circuits_table(f.assign(median_dwell_days=[[12.0, 30.4]]), hidden="x")["Median days in each place"].tolist()
    ['12, 30']
    """
    def dwell(days: object) -> str:
        if not isinstance(days, list | tuple) or not days:
            return ""
        return ", ".join(f"{d:.0f}" for d in days)

    out = pd.DataFrame({
        "Rank": frame["rank"].astype(int).tolist(),
        "Shape": frame["shape"].tolist(),
        "Places in order": [f" {arrow} ".join(names) for names in frame["place_names"]],
        "Subjects": [count_text(v, hidden) for v in frame["subjects"]],
    })
    days = [dwell(d) for d in frame["median_dwell_days"]] if "median_dwell_days" in frame else []
    if any(days):
        out["Median days in each place"] = days
    return out


def evidence_legend(*, reported: bool, observed: bool) -> Legend:
    """Which arcs are which when the map shows reported journeys, observed moves, or both."""
    entries = []
    if reported:
        entries.append(LegendEntry("reported journey (point source → destination; blue to yellow by records)",
                                   (59, 82, 139, 230)))
    if observed:
        entries.append(LegendEntry("observed move (a subject seen in one place, then next in another)", MOVE_RGBA))
    return Legend(title="Evidence", entries=tuple(entries),
                  note="arc width by count; moves under k are not drawn")


def circuit_legend(row: pd.Series | dict) -> Legend:
    """The legend of the circuit drawn: its stops in order."""
    stops = circuit_stops(list(row["places"]))
    closing = " → back to 1" if str(row["shape"]) == "loop" else ""
    order = " → ".join(f"{s} {n}" for s, n in zip(stops["stop"], stops["name"], strict=True)) + closing
    return Legend(title=f"Circuit {int(row['rank'])} ({row['shape']})", entries=(LegendEntry(order, CIRCUIT_RGBA),),
                  note="numbered stops in travel order; each segment's arrow points to the next stop")
