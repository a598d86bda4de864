"""Scoring the geocoder on a labelled set of real text (issue 19): the real-text set and the fresh holdout.

A row holds a ``phrase`` and its labels. ``kind`` is ``ca_place`` (names a
Californian place; ``expected_county_fips`` is its county), ``ca_no_place`` (in
California but names no place the gazetteer can know; a rejection is right, a
county other than the label is wrong; an empty label means no single county is
right) or ``outside`` (``expected_state`` / ``expected_country``: a state or
country outside California).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo.geocode import geocode_locations

#: The issue's targets.
RIGHT_COUNTY_MIN = 0.97  # of phrases naming a Californian place
WRONG_COUNTY_MAX = 0.01  # of all Californian phrases


@dataclass(frozen=True)
class Scores:
    places: int  # phrases naming a Californian place
    right: int  # ... placed in the labelled county
    rejected: int  # ... given an error
    californian: int  # all Californian phrases
    wrong: int  # ... placed in a county other than the label
    outside: int  # phrases naming somewhere outside California
    outside_ok: int  # ... rejected as a destination and kept at state/country as an origin

    @property
    def right_share(self) -> float:
        return self.right / self.places

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.californian


def score(frame: pd.DataFrame) -> Scores:
    """Score the geocoder on rows of a labelled set (columns and kinds: the module docstring)."""
    dest = geocode_locations(frame["phrase"], role="destination")
    orig = geocode_locations(frame["phrase"], role="origin")
    kind = frame["kind"]
    placed = dest["county_fips"].notna()
    right = placed & (dest["county_fips"] == frame["expected_county_fips"])
    californian = kind.isin(["ca_place", "ca_no_place"])
    outside = kind == "outside"
    kept = (orig["country"] == frame["expected_country"]) & (
        orig["state"].fillna("") == frame["expected_state"]
    ) & orig["precision"].isin(["state", "country"])
    outside_ok = outside & dest["error"].notna() & dest["county_fips"].isna() & kept
    places = kind == "ca_place"
    return Scores(
        places=int(places.sum()),
        right=int((places & right).sum()),
        rejected=int((places & ~placed).sum()),
        californian=int(californian.sum()),
        wrong=int((californian & placed & ~right).sum()),
        outside=int(outside.sum()),
        outside_ok=int(outside_ok.sum()),
    )
