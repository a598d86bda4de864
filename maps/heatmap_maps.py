"""Maps of the Heatmap explorer (no streamlit): each view's deck and its legends in one call.

- :func:`single_view`: one period's cells on the fixed statewide scale (or
  rescaled to the view), the county fill beneath;
- :func:`side_view`: two periods side by side on one scale (the later period's);
- :func:`playback_view`: every played month in one deck (:func:`maps.decks.heatmap_playback_deck`),
  on one month's scale;
- :func:`change_view`: the change between two periods on a diverging scale.

Each returns ``(deck, legends)``; a page draws the deck and then each legend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import pydeck as pdk

from maps import colours, decks
from maps.colours import ColourScale, Legend

__all__ = [
    "DIMENSION_LABELS",
    "MEASURE_LABELS",
    "MEASURE_WHAT",
    "change_view",
    "heatmap_scales",
    "playback_view",
    "side_view",
    "single_view",
]

#: The measures a heatmap shows, as the page names them.
MEASURE_LABELS = {"records": "Records", "victims": "Victims", "per_capita": "Per 100,000 residents"}
#: What each measure counts, for the page header ("records" is worded by the record-type filter).
MEASURE_WHAT = {
    "records": "records (tips, incidents, recoveries, service intakes) at their destination",
    "victims": "victims (sum of victim counts) at the records' destination",
    "per_capita": "records per 100,000 residents of the county each cell lies in",
}
#: The tabs of a cell's breakdown (:data:`query.cells.BREAKDOWN_DIMENSIONS`).
DIMENSION_LABELS = {
    "trafficking_type": "Type", "record_type": "Record type", "source_kind": "Source kind",
    "indicator": "Indicators", "month": "Month",
}


def _unit(measure: str) -> str:
    return MEASURE_LABELS[measure].lower()


def heatmap_scales(
    statewide: Sequence[float] | pd.Series, counts: pd.DataFrame, *, measure: str, k: int,
    period_fraction: float, rescale: bool,
) -> tuple[ColourScale, ColourScale]:
    """The cells' scale and the county fill's scale of ``counts`` (:func:`query.cells.cell_counts` rows).

    The cells' breaks come from every record statewide (``statewide``,
    :func:`query.cells.scale_values`) scaled to ``period_fraction`` of all months,
    so colours stay comparable while filters change; with ``rescale``, from the
    cells of ``counts``. A count under ``k`` is hidden, so no class starts below it
    (rates per 100,000 residents start at 0).
    """
    cells = counts[counts["level"].eq("cell")]
    scale = colours.heatmap_scale(
        statewide, period_fraction=period_fraction, minimum=k if measure != "per_capita" else 0.0,
        unit=_unit(measure), view_values=cells["value"] if rescale else None,
    )
    county_scale = colours.heatmap_scale(
        [], view_values=counts.loc[counts["level"].eq("county"), "value"],
        unit=_unit(measure), n=4, palette_name="blues",
    )
    return scale, county_scale


def _legends(scale: ColourScale, county_scale: ColourScale, *, measure: str, hidden: str | None) -> list[Legend]:
    return [
        scale.legend(f"{MEASURE_LABELS[measure]} per cell", hidden=hidden),
        county_scale.legend("County fill: records not in a cell", suppressed=False),
    ]


def single_view(
    counts: pd.DataFrame, *, statewide: Sequence[float] | pd.Series, measure: str, k: int, period_fraction: float,
    rescale: bool, view_state: pdk.ViewState | None, hidden: str | None,
) -> tuple[pdk.Deck, list[Legend]]:
    """One period's heatmap (:func:`maps.decks.heatmap_deck`) and its two legends (cells, county fill)."""
    scale, county_scale = heatmap_scales(statewide, counts, measure=measure, k=k, period_fraction=period_fraction,
                                         rescale=rescale)
    deck = decks.heatmap_deck(counts, scale=scale, county_scale=county_scale, measure=measure, view_state=view_state,
                              hidden=hidden)
    return deck, _legends(scale, county_scale, measure=measure, hidden=hidden)


def side_view(
    before: pd.DataFrame, after: pd.DataFrame, *, statewide: Sequence[float] | pd.Series, measure: str, k: int,
    period_fraction: float, rescale: bool, view_state: pdk.ViewState | None, hidden: str | None,
) -> tuple[list[pdk.Deck], list[Legend]]:
    """Two periods' heatmaps on the later period's scales (so one legend reads both), and the legends."""
    scale, county_scale = heatmap_scales(statewide, after, measure=measure, k=k, period_fraction=period_fraction,
                                         rescale=rescale)
    pair = [decks.heatmap_deck(frame, scale=scale, county_scale=county_scale, measure=measure, view_state=view_state,
                               hidden=hidden) for frame in (before, after)]
    return pair, _legends(scale, county_scale, measure=measure, hidden=hidden)


def playback_view(
    monthly: pd.DataFrame, months: Sequence[date], *, statewide: Sequence[float] | pd.Series, measure: str, k: int,
    month_fraction: float, rescale: bool, view_state: pdk.ViewState | None, hidden: str | None,
) -> tuple[decks.PlaybackDeck, list[Legend]]:
    """Every month of ``months`` in one deck, on one month's scale, and the legends.

    ``monthly`` is :func:`query.cells.cell_counts_by_month`'s ``counts`` (a ``month``
    column); a month without rows is drawn empty. ``month_fraction`` is one month's
    share of all months, so a month's colours match the single-month map's.
    """
    scale, county_scale = heatmap_scales(statewide, monthly, measure=measure, k=k, period_fraction=month_fraction,
                                         rescale=rescale)
    by_month = {m: frame.drop(columns="month") for m, frame in monthly.groupby("month", sort=False)}
    empty = monthly.drop(columns="month").iloc[:0]
    playback = decks.heatmap_playback_deck(
        [by_month.get(m, empty) for m in months], scale=scale, county_scale=county_scale, measure=measure,
        view_state=view_state, hidden=hidden,
    )
    return playback, _legends(scale, county_scale, measure=measure, hidden=hidden)


def change_view(
    change: pd.DataFrame, *, measure: str, view_state: pdk.ViewState | None, hidden: str | None,
) -> tuple[pdk.Deck, list[Legend]]:
    """The change map (:func:`maps.decks.change_deck`) on a diverging scale as wide as the largest change, and its legend."""
    scale = colours.diverging_scale(change["change"].abs().max(), unit=f"change in {_unit(measure)}")
    deck = decks.change_deck(change, scale=scale, measure=measure, view_state=view_state, hidden=hidden)
    return deck, [scale.legend("Change per cell", hidden=hidden)]
