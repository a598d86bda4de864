"""The emerging hot-spot patterns: their keys, legend order and definitions.

Computed by ``pipelines/build_hotspots.py``; shown by ``query/trends.py`` and the maps.
Kept apart from the build so that showing a legend does not import the statistics
(esda, libpysal, scipy: over a second of a cold app start).
"""

from __future__ import annotations

#: Every pattern, in legend order, with its one-line definition.
PATTERNS: dict[str, str] = {
    "new_hot_spot": "hot in the final period for the first time",
    "consecutive_hot_spot": "hot in an unbroken run of recent periods, never before",
    "intensifying_hot_spot": "hot in ≥ 90 % of periods, clustering growing",
    "persistent_hot_spot": "hot in ≥ 90 % of periods, no trend",
    "diminishing_hot_spot": "hot in ≥ 90 % of periods, clustering weakening",
    "sporadic_hot_spot": "hot now, and on and off before",
    "oscillating_hot_spot": "hot now, cold in some earlier period",
    "historical_hot_spot": "hot in ≥ 90 % of periods, but not now",
    "new_cold_spot": "cold in the final period for the first time",
    "consecutive_cold_spot": "cold in an unbroken run of recent periods, never before",
    "intensifying_cold_spot": "cold in ≥ 90 % of periods, getting colder",
    "persistent_cold_spot": "cold in ≥ 90 % of periods, no trend",
    "diminishing_cold_spot": "cold in ≥ 90 % of periods, warming",
    "sporadic_cold_spot": "cold now, and on and off before",
    "oscillating_cold_spot": "cold now, hot in some earlier period",
    "historical_cold_spot": "cold in ≥ 90 % of periods, but not now",
    "no_pattern": "no significant pattern",
}
