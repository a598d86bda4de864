"""The Flows and corridors map (no streamlit): its deck and legends in one call, and the words around it.

- :func:`flows_view`: reported journeys, observed moves, corridor loads, places and
  a circuit on one map (:func:`maps.decks.flows_deck`), with its legends in the
  order the page shows them;
- :func:`focus_counties`, :func:`picked_segment`: which counties' flows load the
  corridors, and the corridor segment a click picked;
- :func:`route_shifts_table`: :func:`query.flows.route_shifts` rows as a table.
"""

from __future__ import annotations

import math

import pandas as pd
import pydeck as pdk

from geo import reference
from maps import colours, decks, layers, moves_maps
from maps.colours import Legend
from maps.wording import count_text

__all__ = ["BUILD_NOTE", "LEVELS", "MODES", "flows_view", "focus_counties", "picked_segment", "route_shifts_table"]

#: The groupings of places, as the page names them (:func:`query.flows.levels_for` says which a filter allows).
LEVELS = {
    "region": "Cal OES region", "task_force": "task force", "county": "county",
    "res4": "H3 res 4 (~1,770 km²)", "res5": "H3 res 5 (~250 km²)", "res6": "H3 res 6 (~36 km²)",
}
#: Which flows a place in focus shows.
MODES = {"all": "all flows", "incoming": "arriving at", "outgoing": "leaving from", "between": "between two places"}
#: What the page says when the flow tables are not built.
BUILD_NOTE = (
    "The flow tables are not built yet. Run `python -m pipelines build` "
    "(or `make demo`) to derive flows and corridors from the records."
)


def _counties_of(level: str, place: str | None) -> list[str] | None:
    """The county codes of a place at a grouping (``None`` for H3 cells, which have none)."""
    if not place:
        return None
    if level == "county":
        return [place]
    if level in ("region", "task_force"):
        dims = reference.county_dimensions()
        return dims.loc[dims[level].eq(place), "county_fips"].tolist()
    return None


def focus_counties(level: str, mode: str, place: str | None, other: str | None) -> tuple[list[str] | None, list[str] | None]:
    """Origin and destination counties of the flows in focus (``None``: any), so the corridors carry only those.

    >>> focus_counties("county", "incoming", "06019", None), focus_counties("county", "all", "06019", None)
    ((None, ['06019']), (None, None))
    """
    if mode == "incoming":
        return None, _counties_of(level, place)
    if mode == "outgoing":
        return _counties_of(level, place), None
    if mode == "between" and place and other:
        return _counties_of(level, place), _counties_of(level, other)
    return None, None


def picked_segment(picked: list[dict] | None, corridors: pd.DataFrame | None) -> pd.Series | None:
    """The corridor row of a click on the map, if that segment is still drawn.

    >>> picked_segment([{"segment_id": 7}], pd.DataFrame({"segment_id": [7], "route": ["I-5"]}))["route"]
    'I-5'
    """
    if not picked or corridors is None or "segment_id" not in picked[0]:
        return None
    rows = corridors[corridors["segment_id"].eq(int(picked[0]["segment_id"]))]
    return rows.iloc[0] if len(rows) else None


def flows_view(
    edges: pd.DataFrame, *, drawn: pd.DataFrame, locations: pd.DataFrame, corridors: pd.DataFrame | None,
    reported: bool, observed: bool, moves: pd.DataFrame | None, circuit: pd.Series | None,
    segment: pd.Series | None, over: pd.DataFrame | None, top_n: int, k: int, view_state: pdk.ViewState | None,
    hidden: str | None,
) -> tuple[pdk.Deck, list[Legend]]:
    """The Flows and corridors map and its legends.

    ``edges`` are every flow at the grouping (they fix the arcs' scale), ``drawn``
    the ones in focus; ``reported``/``observed`` say which evidence is drawn
    (reported journeys, observed ``moves``). ``segment`` is the corridor segment
    clicked and ``over`` the flows routed over it (:func:`query.flows.segment_flows`).
    Counts under ``k`` are hidden, so no class starts below it.
    """
    edge_scale = colours.fixed_scale(edges["records"].max() if len(edges) else None, n=5, minimum=k,
                                     palette_name="cividis", unit="flow records")
    corridor_scale = None
    if corridors is not None and len(corridors):
        corridor_scale = colours.fixed_scale(corridors["load"].max(), n=4, minimum=k, palette_name="blues",
                                             unit="flow records along the segment")
    deck = decks.flows_deck(
        edges=drawn if reported else None, locations=locations if reported else None, corridors=corridors,
        edge_scale=edge_scale, corridor_scale=corridor_scale, top_n=top_n, view_state=view_state,
        focus_segment=None if segment is None else int(segment["segment_id"]), focus_flows=over, hidden=hidden,
        moves=moves, circuit=circuit,
    )
    legends: list[Legend] = []
    if segment is not None:
        legends.append(layers.focus_legend(str(segment["route"])))
    if observed:
        legends.append(moves_maps.evidence_legend(reported=reported, observed=observed))
    if circuit is not None:
        legends.append(moves_maps.circuit_legend(circuit))
    if reported:
        legends += [layers.arc_legend(edge_scale, top_n=top_n), layers.location_legend(hidden=hidden)]
    if corridor_scale is not None:
        legends.append(corridor_scale.legend("Corridor load (line width and colour)", suppressed=True, hidden=hidden))
    return deck, legends


def route_shifts_table(changed: pd.DataFrame, *, hidden: str) -> pd.DataFrame:
    """Route shifts as the page lists them: change, from, to, recent and baseline counts, rate ratio (blank when unknown).

    >>> row = {"shift": "new", "origin_name": "Kern", "dest_name": "Fresno", "recent": 14, "baseline": None,
    ...        "rate_ratio": float("nan")}
    >>> route_shifts_table(pd.DataFrame([row]), hidden="fewer than 11").iloc[0].tolist()
    ['new', 'Kern', 'Fresno', '14', 'fewer than 11', '']
    """
    return pd.DataFrame({
        "Change": changed["shift"].tolist(),
        "From": changed["origin_name"].tolist(),
        "To": changed["dest_name"].tolist(),
        "Recent": [count_text(v, hidden) for v in changed["recent"]],
        "Baseline": [count_text(v, hidden) for v in changed["baseline"]],
        "Rate ratio": ["" if math.isnan(v) else f"{v:.2f}" for v in changed["rate_ratio"].astype(float)],
    })
