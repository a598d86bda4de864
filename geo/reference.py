"""Shipped reference data behind one accessor.

Everything lives in ``data/reference/`` (vendored by ``python -m pipelines vendor``
from the public extracts; see ``data/reference/SOURCES.md``). Loaders are cached:
the files are small and immutable while the process runs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import geopandas as gpd
import pandas as pd

from routes import settings
from routes.errors import ReferenceDataError

#: Reference files by short name.
FILES: dict[str, str] = {
    "counties": "ca_counties.geojson",
    "zips": "ca_zips.csv",
    "places": "ca_places.csv",
    "population": "ca_county_population_census_v2019.csv",
    "regions": "ca_regions.csv",
    "highways": "ca_highways_schematic.geojson",
}

#: Typed in by hand for Routes, not vendored from the extracts (like ``world_centroids.csv``).
LANDMARKS_FILE = "ca_landmarks.csv"

_DTYPES = {"fips": str, "county_fips": str, "zip": str}


def get_path(name: str) -> Path:
    """Return the path of the shipped reference file ``name``.

    >>> get_path("counties").name
    'ca_counties.geojson'
    """
    if name not in FILES:
        raise ReferenceDataError(
            f"no reference file named {name!r}; valid names: {', '.join(sorted(FILES))}"
        )
    path = settings.REFERENCE_DIR / FILES[name]
    if not path.exists():
        raise ReferenceDataError(
            f"reference file {str(path)!r} is missing; run `python -m pipelines vendor`"
        )
    return path


@cache
def load_counties() -> gpd.GeoDataFrame:
    """The 58 county polygons with ``county_fips``, ``name``, ``region`` (WGS84)."""
    counties = gpd.read_file(get_path("counties"))
    counties = counties.rename(columns={"fips": "county_fips"})
    counties["county_fips"] = counties["county_fips"].astype(str).str.zfill(5)
    regions = load_regions()[["county_fips", "region"]]
    return counties.merge(regions, on="county_fips", how="left").sort_values("county_fips")


@cache
def load_regions() -> pd.DataFrame:
    """County to Cal OES Mutual Aid Region: ``county_fips``, ``county``, ``region``."""
    regions = pd.read_csv(get_path("regions"), dtype=_DTYPES)
    return regions.rename(
        columns={"fips": "county_fips", "mutual_aid_region": "region"}
    )


@cache
def load_population() -> pd.DataFrame:
    """County population: ``county_fips``, ``name``, ``population`` (2019 estimate)."""
    pop = pd.read_csv(get_path("population"), dtype=_DTYPES)
    pop = pop.rename(columns={"fips": "county_fips", "popestimate2019": "population"})
    return pop[["county_fips", "name", "population"]]


@cache
def load_zips() -> pd.DataFrame:
    """The ZIP gazetteer: ``zip``, ``zip_type``, ``city``, ``county_fips``, ``lat``, ``lng``."""
    zips = pd.read_csv(get_path("zips"), dtype=_DTYPES)
    return zips.rename(columns={"lon": "lng"})


@cache
def load_places() -> pd.DataFrame:
    """The place gazetteer: ``name``, ``county_fips``, ``lat``, ``lng``, ``population``."""
    places = pd.read_csv(get_path("places"), dtype=_DTYPES)
    return places.rename(columns={"lon": "lng"})


@cache
def load_landmarks() -> pd.DataFrame:
    """Landmarks the place gazetteer lacks (ports of entry, checkpoints, bases, campuses):
    ``name``, ``county_fips``, ``lat``, ``lng``, ``aliases`` (``;``-separated)."""
    return pd.read_csv(settings.REFERENCE_DIR / LANDMARKS_FILE, dtype=_DTYPES, keep_default_na=False)


@cache
def load_highways() -> gpd.GeoDataFrame:
    """The highway layer configured by ``ROUTES_HIGHWAYS`` (schematic by default)."""
    path = settings.highways_path()
    if not path.exists():
        raise ReferenceDataError(f"highway layer {str(path)!r} does not exist")
    return gpd.read_file(path)


@cache
def load_task_forces() -> pd.DataFrame:
    """Task forces as sets of counties: ``task_force``, ``name``, ``county_fips``.

    Every county belongs to exactly one task force (the configuration is
    validated by ``pipelines vendor`` and by the tests).
    """
    path = settings.task_forces_path()
    if not path.exists():
        raise ReferenceDataError(f"task-force configuration {str(path)!r} does not exist")
    return pd.read_csv(path, dtype=_DTYPES)


@cache
def county_dimensions() -> pd.DataFrame:
    """One row per county: ``county_fips``, ``county``, ``region``, ``task_force``, ``population``."""
    regions = load_regions()[["county_fips", "county", "region"]]
    tf = load_task_forces()[["county_fips", "task_force"]]
    pop = load_population()[["county_fips", "population"]]
    return regions.merge(tf, on="county_fips", how="left").merge(pop, on="county_fips", how="left")
