"""Colour-blind-safe colour scales with fixed breaks, and their legends as data.

A map's colours must mean the same thing while a user changes filters, or two
views cannot be compared. So a scale's breaks are computed once from the
*unfiltered* statewide data (:func:`quantile_scale` or :func:`fixed_scale`) and
then reused for every filtered view; a page offers "rescale to this view" as an
explicit option.

Palettes are viridis and cividis (sequential; readable with every common form of
colour blindness and in greyscale) and purple-orange (diverging, for change
maps). A hidden count ("fewer than 11") is a neutral grey that no palette uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from maps.wording import hidden_words

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]

#: Sequential palettes, dark to light (matplotlib's, sampled at 7 stops).
PALETTES: dict[str, tuple[RGB, ...]] = {
    "viridis": (
        (68, 1, 84), (68, 57, 131), (49, 104, 142), (33, 145, 140),
        (53, 183, 121), (144, 215, 67), (253, 231, 37),
    ),
    "cividis": (
        (0, 34, 78), (42, 63, 109), (87, 93, 109), (125, 124, 120),
        (165, 156, 116), (210, 192, 96), (254, 232, 56),
    ),
    # single-hue, light to dark (matplotlib's Blues): the pale county fill under cells
    "blues": (
        (13, 87, 161), (37, 117, 183), (69, 148, 199), (106, 174, 214),
        (154, 200, 224), (193, 217, 237), (217, 232, 245),
    ),
    # diverging: orange (fewer) - near white (no change) - purple (more)
    "puor": (
        (127, 59, 8), (190, 99, 10), (239, 158, 60), (254, 215, 162),
        (246, 246, 247),
        (206, 205, 228), (152, 141, 190), (93, 55, 144), (45, 0, 75),
    ),
}

#: The colour of a suppressed cell or county: neutral grey, half transparent,
#: drawn with a dark dashed-looking outline (see ``maps.layers``).
SUPPRESSED_RGBA: RGBA = (150, 150, 150, 150)
#: The outline that marks suppressed shapes.
SUPPRESSED_LINE_RGBA: RGBA = (90, 90, 90, 220)
#: Colour of "no data" (nothing recorded).
EMPTY_RGBA: RGBA = (0, 0, 0, 0)


@dataclass(frozen=True)
class LegendEntry:
    """One row of a legend: a swatch and what it means."""

    label: str
    rgba: RGBA


@dataclass(frozen=True)
class Legend:
    """A legend as data: pages and exports draw it their own way."""

    title: str
    entries: tuple[LegendEntry, ...]
    note: str = ""


@dataclass(frozen=True)
class ColourScale:
    """A classed colour scale: ``len(colours) == len(breaks) + 1``.

    A value ``v`` gets ``colours[i]`` where ``i`` is the number of breaks ``<= v``.

    Parameters
    ----------
    breaks
        Increasing class boundaries.
    colours
        One colour per class, RGB.
    unit
        What the values are (``"records"``, ``"per 100,000 residents"``), for legends.
    basis
        What the breaks were computed from (``"statewide, all filters off"``).
    """

    breaks: tuple[float, ...]
    colours: tuple[RGB, ...]
    unit: str = "records"
    basis: str = ""
    alpha: int = 200
    diverging: bool = False

    def rgba_of(self, values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
        """An ``(n, 4)`` uint8 array of colours; missing values get :data:`SUPPRESSED_RGBA`.

        >>> s = ColourScale(breaks=(10.0,), colours=((0, 0, 0), (255, 255, 255)))
        >>> s.rgba_of([5, 20, None]).tolist()
        [[0, 0, 0, 200], [255, 255, 255, 200], [150, 150, 150, 150]]
        """
        arr = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        idx = np.searchsorted(np.asarray(self.breaks, dtype=float), arr, side="right")
        idx = np.clip(idx, 0, len(self.colours) - 1)
        table = np.array([(*c, self.alpha) for c in self.colours], dtype=np.uint8)
        out = table[idx]
        out[np.isnan(arr)] = SUPPRESSED_RGBA
        return out

    def legend(self, title: str, *, suppressed: bool = True, hidden: str | None = None) -> Legend:
        """The scale as a :class:`Legend` with one entry per class (and one for hidden counts, reading ``hidden``)."""
        entries: list[LegendEntry] = []
        bounds = [None, *self.breaks, None]
        for i, colour in enumerate(self.colours):
            lo, hi = bounds[i], bounds[i + 1]
            if lo is None and hi is None:
                label = "any"
            elif lo is None:
                label = f"under {_fmt(hi)}"
            elif hi is None:
                label = f"{_fmt(lo)} or more"
            else:
                label = f"{_fmt(lo)} to under {_fmt(hi)}"
            entries.append(LegendEntry(label, (*colour, self.alpha)))
        if suppressed:
            entries.append(LegendEntry(hidden_words(hidden), SUPPRESSED_RGBA))
        if self.basis.startswith("this view"):
            note = f"{self.unit}; scale fitted to this view"
        elif self.basis:
            note = f"{self.unit}; scale fixed on {self.basis}"
        else:
            note = self.unit
        return Legend(title=title, entries=tuple(entries), note=note)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2g}" if abs(value) < 1 else f"{value:,.1f}"


def palette(name: str, *, n: int = 7, reverse: bool = False) -> tuple[RGB, ...]:
    """``n`` colours sampled evenly from the palette ``name``.

    >>> palette("viridis", n=2)
    ((68, 1, 84), (253, 231, 37))
    """
    if name not in PALETTES:
        raise ValueError(f"no palette named {name!r}; palettes: {', '.join(PALETTES)}")
    stops = np.array(PALETTES[name], dtype=float)
    pos = np.linspace(0, len(stops) - 1, n)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(stops) - 1)
    frac = (pos - lo)[:, None]
    colours = np.rint(stops[lo] * (1 - frac) + stops[hi] * frac).astype(int)
    out = tuple((int(r), int(g), int(b)) for r, g, b in colours)
    return tuple(reversed(out)) if reverse else out


def _nice(value: float) -> float:
    """Round ``value`` to 1, 2 or 5 times a power of ten (for readable breaks)."""
    if value <= 0:
        return 0.0
    exp = math.floor(math.log10(value))
    base = value / 10**exp
    nice = 1 if base < 1.5 else 2 if base < 3.5 else 5 if base < 7.5 else 10
    return float(nice * 10**exp)


def fixed_scale(
    max_value: float | None,
    *,
    n: int = 6,
    minimum: float = 0.0,
    palette_name: str = "viridis",
    unit: str = "records",
    basis: str = "",
) -> ColourScale:
    """A scale with ``n`` classes on log-spaced, rounded breaks from ``minimum`` to ``max_value``.

    Counts are heavily skewed (a few dense cells, many sparse ones), so breaks are
    spaced geometrically; each is rounded to a "nice" number.

    >>> fixed_scale(1000, n=4, minimum=10).breaks
    (20.0, 100.0, 200.0)
    """
    top = float(max_value) if max_value is not None and pd.notna(max_value) else 100.0
    top = max(top, 1.0)
    low = max(float(minimum), 1.0)
    if top <= low:
        top = low * 10
    raw = np.geomspace(low, top, n + 1)[1:-1]
    breaks = sorted({_nice(float(b)) for b in raw})
    colours = palette(palette_name, n=len(breaks) + 1, reverse=True)
    return ColourScale(tuple(breaks), colours, unit=unit, basis=basis)


def quantile_scale(
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    n: int = 6,
    palette_name: str = "viridis",
    unit: str = "records",
    basis: str = "",
) -> ColourScale:
    """A scale whose breaks are the quantiles of ``values`` (missing values ignored).

    >>> quantile_scale([1, 2, 3, 4, 5, 6, 7, 8], n=2).breaks
    (4.5,)
    """
    arr = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").dropna().to_numpy(float)
    if arr.size == 0:
        return fixed_scale(100, n=n, palette_name=palette_name, unit=unit, basis=basis)
    qs = np.quantile(arr, np.linspace(0, 1, n + 1)[1:-1])
    breaks = tuple(sorted({_round_sig(float(q)) for q in qs}))
    colours = palette(palette_name, n=len(breaks) + 1, reverse=True)
    return ColourScale(breaks, colours, unit=unit, basis=basis)


def _round_sig(value: float, digits: int = 2) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def diverging_scale(max_abs_change: float | None, *, unit: str = "change in records", basis: str = "") -> ColourScale:
    """A symmetric purple-orange scale for change maps (orange fewer, purple more).

    >>> diverging_scale(100).breaks
    (-50.0, -20.0, -5.0, 5.0, 20.0, 50.0)
    """
    top = float(max_abs_change) if max_abs_change is not None and pd.notna(max_abs_change) else 0.0
    top = max(top, 10.0)
    steps = [_nice(top / 2), _nice(top / 5), _nice(top / 20)]
    positive = sorted({s for s in steps if s > 0})
    breaks = tuple([-s for s in reversed(positive)] + positive)
    colours = palette("puor", n=len(breaks) + 1)
    return ColourScale(breaks, colours, unit=unit, basis=basis, diverging=True)


def heatmap_scale(
    statewide_values: Sequence[float] | np.ndarray | pd.Series,
    *,
    period_fraction: float = 1.0,
    unit: str = "records",
    view_values: Sequence[float] | np.ndarray | pd.Series | None = None,
    n: int = 6,
    palette_name: str = "viridis",
    minimum: float = 0.0,
) -> ColourScale:
    """The heatmap's scale: fixed on unfiltered statewide data, or rescaled to the view.

    Parameters
    ----------
    statewide_values
        The measure per cell with every filter off, over all months.
    period_fraction
        The viewed period's share of all months: the fixed breaks scale with it,
        so a one-month view and the whole period use comparable colours and every
        month of "play" uses the same scale.
    view_values
        When given, the scale is rescaled to these values (the user's choice).
    minimum
        The smallest value a map can show (k for counts): no class lies below it.

    >>> heatmap_scale([10, 20, 40, 80], period_fraction=0.5, n=2).breaks
    (15.0,)
    """
    if view_values is not None:
        return quantile_scale(view_values, n=n, unit=unit, basis="this view (rescaled)", palette_name=palette_name)
    values = pd.to_numeric(pd.Series(statewide_values, dtype="object"), errors="coerce").dropna()
    months = "all months" if period_fraction >= 1 else "the same length of period"
    basis = f"all records statewide, filters off, scaled to {months}"
    scaled = values.to_numpy(float) * float(period_fraction)
    scaled = scaled[scaled >= minimum]
    if scaled.size < 2 * n:
        top = float(scaled.max()) if scaled.size else None
        return fixed_scale(top, n=n, minimum=minimum, unit=unit, palette_name=palette_name, basis=basis)
    scale = quantile_scale(scaled, n=n, unit=unit, palette_name=palette_name, basis=basis)
    return scale
