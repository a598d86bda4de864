"""Maps and display tables of the Statewide and Region pages (no streamlit).

- :func:`county_rate_deck`: counties coloured by records per 100,000 residents;
  hidden counties grey with a dark outline (never a colour of the scale).
- :func:`hot_spot_deck`: H3 cells coloured by emerging hot-spot pattern (warm
  colours hot, blues cold: a blue-orange contrast every common form of colour
  blindness keeps), with :func:`hot_spot_legend`.
- :func:`region_deck`: one region's counties by rate, its neighbours paler,
  fitted to the region.
- :func:`ranking_table`, :func:`rates_table`, :func:`headline_metrics`: frames
  ready for ``st.dataframe`` / ``st.metric``, hidden counts spelled as the
  page's viewer reads them (``hidden``: :func:`query.release.hidden_text`,
  by default "fewer than 11").

Every pickable row carries a plain-text ``tip`` (shown with ``innerText`` by
:data:`maps.decks.TOOLTIP`), so text from the data never runs as HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydeck as pdk

from maps import decks
from maps import layers as L
from maps.colours import (
    SUPPRESSED_RGBA,
    ColourScale,
    Legend,
    LegendEntry,
    quantile_scale,
)
from maps.wording import count_text, hidden_words, period_text, rate_text
from routes.contract.vocabularies import HOTSPOT_PATTERNS

__all__ = [
    "HOT_SPOT_RGBA",
    "Metric",
    "county_rate_deck",
    "county_rate_scale",
    "flows_table",
    "headline_metrics",
    "hot_spot_deck",
    "hot_spot_legend",
    "ranking_table",
    "rates_table",
    "region_deck",
]

#: Fill of each emerging hot-spot pattern: hot in oranges and reds (darker = more
#: sustained), cold in blues, the changing ones (sporadic, oscillating, historical)
#: paler; "no pattern" is a faint grey so the analysed area still shows.
HOT_SPOT_RGBA: dict[str, tuple[int, int, int, int]] = {
    "new_hot_spot": (253, 208, 162, 220),
    "consecutive_hot_spot": (253, 174, 107, 220),
    "intensifying_hot_spot": (166, 54, 3, 235),
    "persistent_hot_spot": (217, 72, 1, 230),
    "diminishing_hot_spot": (241, 105, 19, 220),
    "sporadic_hot_spot": (254, 230, 206, 220),
    "oscillating_hot_spot": (221, 170, 200, 220),
    "historical_hot_spot": (190, 170, 150, 210),
    "new_cold_spot": (198, 219, 239, 220),
    "consecutive_cold_spot": (158, 202, 225, 220),
    "intensifying_cold_spot": (8, 69, 148, 235),
    "persistent_cold_spot": (33, 113, 181, 230),
    "diminishing_cold_spot": (66, 146, 198, 220),
    "sporadic_cold_spot": (222, 235, 247, 220),
    "oscillating_cold_spot": (150, 200, 190, 220),
    "historical_cold_spot": (150, 165, 180, 210),
    "no_pattern": (200, 200, 200, 60),
}

# --------------------------------------------------------------------------- counties


def county_rate_scale(rates: pd.DataFrame, *, basis: str = "the counties shown") -> ColourScale:
    """Five quantile classes of the visible rates per 100,000 residents (viridis)."""
    visible = pd.to_numeric(rates["rate_per_100k"], errors="coerce").dropna()
    return quantile_scale(visible[visible > 0], n=5, unit="records per 100,000 residents", basis=basis)


def _county_tips(rates: pd.DataFrame, hidden: str | None = None) -> list[str]:
    tips = []
    for row in rates.itertuples():
        period = period_text(getattr(row, "start", None), getattr(row, "end", None))
        if bool(row.suppressed):
            tips.append(f"{row.county} County\nrecords: {hidden_words(hidden)}\n{period}")
        else:
            tips.append(
                f"{row.county} County ({row.region})\n{rate_text(row.rate_per_100k, hidden)} per 100,000 residents\n"
                f"{count_text(row.records, hidden)} records · population {int(row.population):,}\n{period}"
            )
    return tips


def county_rate_deck(
    rates: pd.DataFrame,
    *,
    scale: ColourScale | None = None,
    view_state: pdk.ViewState | None = None,
    height: int = 480,
    hidden: str | None = None,
) -> tuple[pdk.Deck, Legend]:
    """The choropleth of records per 100,000 residents, and its legend (a hidden county reads ``hidden``).

    Parameters
    ----------
    rates
        :func:`query.trends.county_rates` output.
    scale
        A scale to reuse; by default :func:`county_rate_scale` of ``rates``.
    """
    scale = scale or county_rate_scale(rates)
    frame = rates.assign(tip=_county_tips(rates, hidden))
    drawn = [
        L.county_fill_layer(frame, scale=scale, value_column="rate_per_100k", layer_id="county-rates", opacity=0.85),
        L.county_line_layer(frame, layer_id="county-rates-lines", opacity=0.85),
    ]
    deck = decks.make_deck(drawn, view_state=view_state, height=height, labels=False)
    return deck, scale.legend("Records per 100,000 residents", hidden=hidden)


def region_deck(
    members: pd.DataFrame,
    neighbours: pd.DataFrame,
    *,
    scale: ColourScale | None = None,
    height: int = 440,
    hidden: str | None = None,
) -> tuple[pdk.Deck, Legend]:
    """One region's counties by rate, its neighbours paler, the view fitted to the region (hidden: ``hidden``)."""
    both = pd.concat([members, neighbours], ignore_index=True)
    scale = scale or county_rate_scale(both, basis="the region and its neighbours")
    drawn = [
        L.county_fill_layer(neighbours.assign(tip=_county_tips(neighbours, hidden)), scale=scale,
                            value_column="rate_per_100k", layer_id="neighbour-rates", opacity=0.3),
        L.county_fill_layer(members.assign(tip=_county_tips(members, hidden)), scale=scale,
                            value_column="rate_per_100k", layer_id="region-rates", opacity=0.9),
        L.county_line_layer(neighbours, layer_id="neighbour-rates-lines", opacity=0.3),
        L.county_line_layer(members, layer_id="region-rates-lines", opacity=0.9),
    ]
    view = decks.view_for_counties(list(both["county_fips"]), width_px=760, height_px=height)
    legend = scale.legend("Records per 100,000 residents", hidden=hidden)
    note = f"{legend.note}; the region's counties solid, neighbouring counties pale"
    return decks.make_deck(drawn, view_state=view, height=height), Legend(legend.title, legend.entries, note=note)


# --------------------------------------------------------------------------- hot spots


def _hot_spot_tips(spots: pd.DataFrame, *, step: str, hidden: str | None = None) -> list[str]:
    tips = []
    for row in spots.itertuples():
        records = f"records: {hidden_words(hidden)}" if bool(row.suppressed) else f"{int(row.records):,} records"
        trend = "rising" if row.trend_z > 0 else "falling" if row.trend_z < 0 else "flat"
        tips.append(
            f"{row.label}\n{row.definition}\n{records} over "
            f"{period_text(row.first_period, row.last_period)}\n"
            f"hot in {row.hot_steps}, cold in {row.cold_steps} of {row.n_steps} {step}s; "
            f"clustering {trend} (Mann-Kendall p = {row.trend_p:.3f})"
        )
    return tips


def hot_spot_deck(
    spots: pd.DataFrame,
    *,
    step: str = "month",
    show_no_pattern: bool = True,
    view_state: pdk.ViewState | None = None,
    height: int = 480,
    hidden: str | None = None,
) -> pdk.Deck:
    """H3 cells coloured by their emerging hot-spot pattern (a hidden count reads ``hidden``).

    Parameters
    ----------
    spots
        :func:`query.trends.emerging_hot_spots` output.
    step
        The analysis' time step, for the tooltips.
    show_no_pattern
        Draw the analysed cells with no pattern as a faint grey.
    """
    shown = spots if show_no_pattern else spots[spots["pattern"] != "no_pattern"]
    fill = [list(HOT_SPOT_RGBA.get(p, SUPPRESSED_RGBA)) for p in shown["pattern"]]
    hexes = shown["hex"].astype(str).to_list()
    data = pd.DataFrame(
        {
            "hex": hexes,
            "polygon": [L.hexagon_outline(h) for h in hexes],
            "fill": fill,
            "tip": _hot_spot_tips(shown, step=step, hidden=hidden),
        }
    )
    # the hexagons as plain polygons: an H3HexagonLayer draws with a ColumnLayer,
    # whose shader a browser without a GPU takes about a second to compile
    layer = pdk.Layer(
        "SolidPolygonLayer",
        data,
        id="hot-spots",
        get_polygon="polygon",
        get_fill_color="fill",
        extruded=False,
        pickable=True,
        auto_highlight=True,
        highlight_color=[255, 140, 0, 200],
    )
    return decks.make_deck([layer], view_state=view_state, height=height, labels=False)


def hot_spot_legend(spots: pd.DataFrame, *, definitions: dict[str, str] | None = None) -> Legend:
    """The patterns present in ``spots`` (in the standard order) with their cell counts."""
    counts = spots["pattern"].value_counts()
    entries = tuple(
        LegendEntry(f"{key.replace('_', ' ').capitalize()} ({int(counts[key]):,} cell{'' if int(counts[key]) == 1 else 's'})",
                    HOT_SPOT_RGBA[key])
        for key in HOTSPOT_PATTERNS
        if key in counts.index
    )
    note = "Gi* hot and cold spots per period (FDR 5 %), trend by Mann-Kendall; hover a cell for its definition"
    return Legend("Emerging hot spots", entries or (LegendEntry("no cells analysed", HOT_SPOT_RGBA["no_pattern"]),), note=note)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Metric:
    """One ``st.metric``: label, value and delta as text (``None`` when not shown)."""

    label: str
    value: str
    delta: str | None
    help: str


_METRIC_LABELS = {
    "records": "Records", "victims": "Victims", "minors": "Involving a minor", "tips": "Tips",
    "incidents": "Incidents", "recoveries": "Recoveries", "services": "Service intakes",
}


#: Record type -> (headline column, words for a header).
RECORD_TYPE_TEXT = {
    "tip": ("tips", "tips"), "incident": ("incidents", "incidents"),
    "recovery": ("recoveries", "recoveries"), "service": ("services", "service intakes"),
}


def records_text(record_types: Sequence[str] = ()) -> str:
    """What "records" means under a record-type filter (all types when it is empty).

    >>> records_text(())
    'records (tips, incidents, recoveries, service intakes)'
    >>> records_text(("tip",))
    'records (tips only)'
    """
    chosen = [t for t in RECORD_TYPE_TEXT if t in record_types] or list(RECORD_TYPE_TEXT)
    words = ", ".join(RECORD_TYPE_TEXT[t][1] for t in chosen)
    return f"records ({words}{' only' if len(chosen) == 1 else ''})"


def metric_columns(
    record_types: Sequence[str] = (), *, base: Sequence[str] = ("records", "victims", "minors"),
    unfiltered: Sequence[str] | None = None,
) -> list[str]:
    """The headline figures to show: ``base``, then one per chosen record type.

    With no record-type filter, every type (or ``unfiltered``); with one type, none
    (its count is the records figure); never a type the filter leaves out, which
    would read as a 0 that is no finding.

    >>> metric_columns(("tip", "recovery"))
    ['records', 'victims', 'minors', 'tips', 'recoveries']
    >>> metric_columns(("tip",), base=("records", "victims"))
    ['records', 'victims']
    """
    if not record_types:
        return [*base, *(unfiltered if unfiltered is not None else [c for c, _ in RECORD_TYPE_TEXT.values()])]
    chosen = [RECORD_TYPE_TEXT[t][0] for t in RECORD_TYPE_TEXT if t in record_types]
    return [*base, *(chosen if len(chosen) > 1 else [])]


def headline_metrics(
    headline: pd.DataFrame, *, against: str = "previous", columns: Sequence[str] | None = None, hidden: str | None = None
) -> list[Metric]:
    """:func:`query.trends.headline_figures` as metrics with change against ``against`` (hidden: ``hidden``)."""
    if headline.empty:
        return []
    rows = headline.set_index("period")
    current, other = rows.loc["current"], rows.loc[against]
    when = period_text(other["start"], other["end"])
    out = []
    for column in columns or list(_METRIC_LABELS):
        change, pct = other[f"{column}_change"], other[f"{column}_change_pct"]
        if pd.isna(change):
            shown_hidden = pd.isna(current[column]) or pd.isna(other[column])
            delta = None
            note = f"change not shown: a figure reads {hidden_words(hidden)!r}" if shown_hidden else "no earlier figure to compare"
        else:
            delta = f"{int(change):+,}" + ("" if pd.isna(pct) else f" ({float(pct):+.1f} %)")
            note = f"against {count_text(other[column], hidden)} in {when}"
        out.append(Metric(_METRIC_LABELS.get(column, column), count_text(current[column], hidden), delta, note))
    return out


def ranking_table(ranked: pd.DataFrame, *, hidden: str | None = None) -> pd.DataFrame:
    """:func:`query.trends.counties_ranked_by_change` for display (hidden values read ``hidden``)."""
    return pd.DataFrame(
        {
            "Rank": [("" if pd.isna(r) else str(int(r))) for r in ranked["rank"]],
            "County": ranked["county"].astype(str),
            "Region": ranked["region"].astype(str),
            "Records": [count_text(v, hidden) for v in ranked["records"]],
            "Before": [count_text(v, hidden) for v in ranked["records_before"]],
            "Change": ["—" if pd.isna(v) else f"{int(v):+,}" for v in ranked["change"]],
            "Change %": ["—" if pd.isna(v) else f"{float(v):+.1f} %" for v in ranked["change_pct"]],
            "Per 100k": [rate_text(v, hidden) for v in ranked["rate_per_100k"]],
        }
    )


def rates_table(rates: pd.DataFrame, *, hidden: str | None = None) -> pd.DataFrame:
    """:func:`query.trends.county_rates` rows for display (hidden values read ``hidden``)."""
    order = np.argsort(-pd.to_numeric(rates["rate_per_100k"], errors="coerce").fillna(-1).to_numpy(), kind="stable")
    rows = rates.iloc[order]
    return pd.DataFrame(
        {
            "County": rows["county"].astype(str),
            "Region": rows["region"].astype(str),
            "Records": [count_text(v, hidden) for v in rows["records"]],
            "Per 100k": [rate_text(v, hidden) for v in rows["rate_per_100k"]],
            "Population": [f"{int(v):,}" for v in rows["population"]],
        }
    )


def flows_table(edges: pd.DataFrame, *, side: str | None = None, hidden: str | None = None) -> pd.DataFrame:
    """Flow edges (or coordination pairs) for display: hidden counts read ``hidden`` ("fewer than 11").

    ``side`` (``origin`` or ``dest``) keeps only the place at that end, for a
    table of one place's flows in or out; by default both ends are shown, with
    the pairs' task forces, rank and ``rolled_up`` when the frame has them.
    """
    ends = {"origin": "From", "dest": "To"}
    out = pd.DataFrame(index=range(len(edges)))
    if "rank" in edges.columns:
        out["Rank"] = ["" if pd.isna(v) else str(int(v)) for v in edges["rank"]]
    for end in [side] if side else list(ends):
        out[ends[end]] = edges[f"{end}_name"].astype(str).to_list()
    if side is None:
        for end, label in (("origin", "From task force"), ("dest", "To task force")):
            if f"{end}_task_force_name" in edges.columns:
                out[label] = edges[f"{end}_task_force_name"].fillna("").astype(str).to_list()
    columns = {"records": "Records", "victims": "Victims", "tips": "Tips", "confirmed": "Confirmed", "services": "Services"}
    for column, label in columns.items():
        if column in edges.columns:
            out[label] = [count_text(v, hidden) for v in edges[column]]
    if "sources" in edges.columns:
        out["Agencies"] = ["" if pd.isna(v) else str(int(v)) for v in edges["sources"]]
    if "share" in edges.columns:  # flows over a corridor segment: the part routed over it
        out["Share over the segment"] = ["" if pd.isna(v) else f"{float(v):.0%}" for v in edges["share"]]
    if side is None and "rolled_up" in edges.columns:
        out["Rolled up"] = edges["rolled_up"].astype(bool).to_list()
    return out
