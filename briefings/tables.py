"""A briefing's tables as CSV and its map layers as GeoJSON.

CSV cells that a spreadsheet would run as a formula are neutralised
by the one writer all of Routes uses (:mod:`routes.safe_output`): any cell whose text starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading ``'``. That includes negative
numbers (a change of ``-12`` is written ``'-12``): the CSV is for reading and
pasting, and the GeoJSON keeps every number as a number.

Suppressed counts are empty cells in CSV and ``null`` in GeoJSON, with
``suppressed`` true: never zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from routes import safe_output
from routes.safe_output import FORMULA_PREFIXES, neutralise_cell

__all__ = ["FORMULA_PREFIXES", "layers_geojson", "neutralise_cell", "write_csv", "write_geojson", "write_tables"]

#: The columns each CSV keeps, in order (only those present are written).
CSV_COLUMNS: dict[str, list[str]] = {
    "headline": ["label", "current", "previous", "change", "change_pct", "year_before", "yoy_change", "yoy_change_pct"],
    "counties": ["county_fips", "county", "task_force", "records", "victims", "rate_per_100k", "records_before",
                 "change", "change_pct", "suppressed"],
    "corridors": ["route", "county", "load", "length_km"],
    "flows": ["origin_name", "dest_name", "direction", "records", "victims", "suppressed"],
    "coordination_pairs": ["origin_name", "origin_task_force_name", "dest_name", "dest_task_force_name",
                           "records", "victims"],
    "cells": ["level", "hex", "res", "county_fips", "records", "victims", "rolled_up", "suppressed"],
    "circuits": ["rank", "shape", "places_in_order", "subjects", "suppressed"],
}

#: The properties each GeoJSON layer keeps.
GEOJSON_PROPERTIES: dict[str, list[str]] = {
    "cells": ["hex", "res", "county_fips", "records", "victims", "rolled_up", "suppressed"],
    "flows": ["origin_name", "dest_name", "direction", "records", "victims", "suppressed"],
    "corridors": ["segment_id", "route", "county", "length_km", "load", "victims", "suppressed"],
}


def write_csv(frame: pd.DataFrame, path: Path, *, columns: Iterable[str] | None = None) -> Path:
    """Write ``frame`` (the ``columns`` present, in order) to ``path`` with every cell neutralised."""
    safe_output.write_csv(frame, Path(path), columns=columns)
    return Path(path)


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: Path, *, stem: str) -> dict[str, Path]:
    """Write each table of ``tables`` (names of :data:`CSV_COLUMNS`) as ``<stem>_<name>.csv``."""
    written = {}
    for name, frame in tables.items():
        written[name] = write_csv(frame, Path(out_dir) / f"{stem}_{name}.csv", columns=CSV_COLUMNS.get(name))
    return written


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def layers_geojson(layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, Any]:
    """One FeatureCollection of the map layers; each feature's ``layer`` says which."""
    features = []
    for name, frame in layers.items():
        keep = [c for c in GEOJSON_PROPERTIES.get(name, []) if c in frame.columns]
        for geometry, row in zip(frame.geometry, frame[keep].astype("object").itertuples(index=False, name=None), strict=True):
            features.append({
                "type": "Feature",
                "geometry": geometry.__geo_interface__,
                "properties": {"layer": name, **{c: _json_value(v) for c, v in zip(keep, row, strict=True)}},
            })
    return {"type": "FeatureCollection", "features": features}


def write_geojson(layers: Mapping[str, gpd.GeoDataFrame], path: Path, *, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write :func:`layers_geojson` to ``path`` (with ``metadata`` as a top-level member)."""
    collection = layers_geojson(layers)
    if metadata:
        collection["briefing"] = dict(metadata)
    path = Path(path)
    path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path
