"""maps/statewide_maps.py: decks offline, suppressed counties distinct, tooltips plain text."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from maps import statewide_maps as sm
from maps.colours import SUPPRESSED_LINE_RGBA, SUPPRESSED_RGBA
from pipelines.build.hotspots import PATTERNS

HOSTILE = "<img src=x onerror=alert(1)>"


def _rates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "county_fips": ["06037", "06003", "06059"],
            "county": ["Los Angeles", "Alpine", HOSTILE],
            "region": ["Region I", "Region IV", "Region I"],
            "population": [10_000_000, 1_129, 3_000_000],
            "records": pd.array([1008, None, 40], dtype="Int64"),
            "rate_per_100k": pd.array([10.08, None, 1.33], dtype="Float64"),
            "suppressed": [False, True, False],
            "start": date(2025, 1, 1),
            "end": date(2025, 12, 1),
        }
    )


def _features(deck_json: str, layer_id: str) -> list[dict]:
    layer = next(layer for layer in json.loads(deck_json)["layers"] if layer["id"] == layer_id)
    return layer["data"]["features"]


def test_county_rate_deck_is_offline_and_draws_suppressed_counties_grey() -> None:
    deck, legend = sm.county_rate_deck(_rates())
    assert deck.map_provider is None
    features = {f["properties"]["county_fips"]: f["properties"] for f in _features(deck.to_json(), "county-rates")}
    assert features["06003"]["fill"][:3] == list(SUPPRESSED_RGBA[:3])  # the suppressed grey
    lines = next(layer for layer in json.loads(deck.to_json())["layers"] if layer["id"] == "county-rates-lines")
    assert lines["@@type"] == "LineLayer" and lines["data"][-1]["c"] == list(SUPPRESSED_LINE_RGBA)  # Alpine, on top
    assert "fewer than 11" in features["06003"]["tip"] and "Alpine" in features["06003"]["tip"]
    assert "suppressed" not in features["06003"]["tip"]  # the one wording of a hidden release value
    exact, _ = sm.county_rate_deck(_rates(), hidden="suppressed")  # an exact view's wording, when the page says so
    assert "suppressed" in {f["properties"]["county_fips"]: f["properties"] for f in _features(exact.to_json(), "county-rates")}["06003"]["tip"]
    assert features["06037"]["fill"] != list(SUPPRESSED_RGBA)
    assert HOSTILE in features["06059"]["tip"]  # carried as text; the tooltip sets innerText
    assert legend.entries[-1].rgba == SUPPRESSED_RGBA


def test_region_deck_fits_the_region() -> None:
    rates = _rates()
    deck, legend = sm.region_deck(rates.iloc[:1], rates.iloc[1:])
    assert deck.map_provider is None and deck.initial_view_state.zoom > 5
    assert "neighbouring counties pale" in legend.note


def _spots() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hex": ["86283082fffffff", "862830827ffffff"],
            "pattern": ["persistent_hot_spot", "no_pattern"],
            "label": ["Persistent hot spot", "No pattern"],
            "definition": [PATTERNS["persistent_hot_spot"], PATTERNS["no_pattern"]],
            "records": pd.array([120, None], dtype="Int64"),
            "suppressed": [False, True],
            "hot_steps": [24, 0], "cold_steps": [0, 0], "n_steps": [24, 24],
            "trend_z": [0.3, 0.0], "trend_p": [0.7, 1.0],
            "first_period": date(2024, 1, 1), "last_period": date(2025, 12, 1),
        }
    )


def test_hot_spot_deck_colours_patterns_and_hides_no_pattern_on_request() -> None:
    deck = sm.hot_spot_deck(_spots())
    assert deck.map_provider is None
    layer = next(layer for layer in json.loads(deck.to_json())["layers"] if layer["id"] == "hot-spots")
    assert [row["fill"] for row in layer["data"]] == [list(sm.HOT_SPOT_RGBA["persistent_hot_spot"]), list(sm.HOT_SPOT_RGBA["no_pattern"])]
    assert "120 records" in layer["data"][0]["tip"] and "fewer than 11" in layer["data"][1]["tip"]
    assert layer["@@type"] == "SolidPolygonLayer" and len(layer["data"][0]["polygon"]) == 6  # the hexagon's corners
    assert "TextLayer" not in {spec["@@type"] for spec in json.loads(deck.to_json())["layers"]}
    only = json.loads(sm.hot_spot_deck(_spots(), show_no_pattern=False).to_json())
    assert len(next(layer for layer in only["layers"] if layer["id"] == "hot-spots")["data"]) == 1
    assert set(sm.HOT_SPOT_RGBA) == set(PATTERNS)


def test_hot_spot_legend_lists_the_patterns_present_in_order() -> None:
    legend = sm.hot_spot_legend(_spots())
    assert [e.label for e in legend.entries] == ["Persistent hot spot (1 cell)", "No pattern (1 cell)"]


def test_tables_spell_hidden_values_fewer_than_k() -> None:
    rates = _rates()
    table = sm.rates_table(rates)
    assert table.iloc[0]["County"] == "Los Angeles" and table.iloc[-1]["Records"] == "fewer than 11"
    assert sm.rates_table(rates, hidden="suppressed").iloc[-1]["Records"] == "suppressed"
    ranked = rates.assign(rank=pd.array([1, None, 2], dtype="Int64"), records_before=pd.array([953, None, 40], dtype="Int64"),
                          change=pd.array([55, None, 0], dtype="Int64"), change_pct=pd.array([5.8, None, 0.0], dtype="Float64"))
    shown = sm.ranking_table(ranked)
    assert shown["Records"].tolist() == ["1,008", "fewer than 11", "40"]
    assert shown["Change"].tolist() == ["+55", "—", "+0"]


def test_headline_metrics_show_change_only_between_visible_figures() -> None:
    headline = pd.DataFrame(
        {
            "period": ["current", "previous", "year_before"],
            "start": [date(2025, 1, 1), date(2024, 1, 1), date(2024, 1, 1)],
            "end": [date(2025, 12, 1), date(2024, 12, 1), date(2024, 12, 1)],
            "records": pd.array([120, 100, 100], dtype="Int64"),
            "records_change": pd.array([None, 20, 20], dtype="Int64"),
            "records_change_pct": pd.array([None, 20.0, 20.0], dtype="Float64"),
            "minors": pd.array([None, 12, 12], dtype="Int64"),
            "minors_change": pd.array([None, None, None], dtype="Int64"),
            "minors_change_pct": pd.array([None, None, None], dtype="Float64"),
        }
    )
    records, minors = sm.headline_metrics(headline, columns=("records", "minors"))
    assert (records.value, records.delta) == ("120", "+20 (+20.0 %)")
    assert minors.value == "fewer than 11" and minors.delta is None and "fewer than 11" in minors.help
