"""The shipped reference data (geo/reference.py, pipelines/vendor_reference.py)."""

from __future__ import annotations

import pytest
import shapely

from geo import reference
from pipelines.vendor_reference import validate_reference
from routes.errors import ReferenceDataError


def test_58_valid_counties_with_unique_fips() -> None:
    counties = reference.load_counties()
    assert len(counties) == 58
    assert counties["county_fips"].is_unique
    assert counties["county_fips"].str.fullmatch(r"06\d{3}").all()
    assert shapely.is_valid(counties.geometry.values).all()
    assert counties["region"].notna().all()


def test_every_zip_and_place_county_exists() -> None:
    fips = set(reference.load_counties()["county_fips"])
    assert set(reference.load_zips()["county_fips"].dropna()) <= fips
    assert set(reference.load_places()["county_fips"]) <= fips


def test_population_sums_to_published_total() -> None:
    pop = reference.load_population()
    assert len(pop) == 58
    assert int(pop["population"].sum()) == 39_512_223


def test_each_county_in_one_task_force_and_one_region() -> None:
    dims = reference.county_dimensions()
    assert len(dims) == 58
    assert dims["task_force"].notna().all()
    assert set(dims["region"]) == {f"Region {r}" for r in ("I", "II", "III", "IV", "V", "VI")}


def test_validate_reference_passes_on_shipped_copy() -> None:
    assert validate_reference()["counties"] == 58


def test_unknown_reference_name_lists_valid_ones() -> None:
    with pytest.raises(ReferenceDataError, match="valid names: counties"):
        reference.get_path("countys")
