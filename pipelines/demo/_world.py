"""The synthetic world behind the demo: calendar, places, origins, flows, subjects.

Everything here derives from the shipped reference data and fixed constants, so
it is the same for every seed; the seed only drives the draws in
:mod:`pipelines.demo`. Strings that end up in files are rendered once into
``pyarrow`` pools and taken by index per chunk (fast and deterministic).
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import shapely

from geo import reference
from routes.contract.vocabularies import TRAFFICKING_TYPES

#: The demo's "today": no date in any file reaches it; planned operations follow it.
AS_OF = dt.date(2026, 11, 1)
FIRST_MONTH = (2016, 1)
LAST_MONTH = (2026, 10)
EPOCH = dt.date(1970, 1, 1)

#: Hotline cases in California per year: published for 2016-2019 (Polaris), a
#: synthetic gentle trend afterwards. 2026 covers ten months.
YEAR_WEIGHTS = {
    2016: 1323, 2017: 1305, 2018: 1656, 2019: 1507, 2020: 1450, 2021: 1520,
    2022: 1580, 2023: 1640, 2024: 1700, 2025: 1760, 2026: 1820 * 10 / 12,
}
PUBLISHED_HOTLINE = {2016: 1323, 2017: 1305, 2018: 1656, 2019: 1507}

TYPES = TRAFFICKING_TYPES  # index order: SEX, LABOR, BOTH, UNKNOWN below
#: About three quarters sex, a tenth labour, a twentieth both, the rest unknown.
TYPE_MIX = np.array([0.75, 0.10, 0.05, 0.10])
SEX, LABOR, BOTH, UNKNOWN = range(4)

INDICATORS = (
    "online_ads", "motel", "massage_business", "street", "truck_stop", "drugs",
    "weapons", "gang", "debt_bondage", "cross_border", "agriculture",
    "construction", "domestic_work", "restaurant",
)

#: Indicator combinations per trafficking type (venue consistent with type).
COMBOS: dict[int, list[tuple[tuple[str, ...], float]]] = {
    SEX: [
        (("online_ads", "motel"), 0.25), (("online_ads",), 0.12),
        (("massage_business",), 0.10), (("motel", "drugs"), 0.08), (("street",), 0.08),
        (("street", "gang"), 0.06), (("truck_stop",), 0.06),
        (("online_ads", "motel", "weapons"), 0.04),
        (("massage_business", "debt_bondage"), 0.06), (("motel",), 0.10),
        (("online_ads", "gang"), 0.05),
    ],
    LABOR: [
        (("agriculture", "debt_bondage"), 0.30), (("agriculture",), 0.20),
        (("construction",), 0.10), (("domestic_work",), 0.12), (("restaurant",), 0.12),
        (("agriculture", "truck_stop"), 0.04), (("massage_business", "debt_bondage"), 0.06),
        (("construction", "debt_bondage"), 0.06),
    ],
    BOTH: [
        (("massage_business", "debt_bondage"), 0.30), (("agriculture", "motel"), 0.20),
        (("restaurant", "online_ads"), 0.20), (("domestic_work", "online_ads"), 0.15),
        (("motel", "debt_bondage"), 0.15),
    ],
    UNKNOWN: [
        ((), 0.50), (("motel",), 0.20), (("online_ads",), 0.15), (("truck_stop",), 0.15),
    ],
}

#: Routes along which destinations are denser.
CORRIDOR_ROUTES = ("I-5", "US-101", "SR-99", "I-10", "I-15", "I-80")
#: Farm counties: labour destinations weigh these up.
AG_COUNTIES = {
    "06019": 6.0, "06107": 6.0, "06029": 5.0, "06031": 5.0, "06039": 4.0,
    "06047": 4.0, "06099": 4.0, "06077": 4.0, "06053": 5.0, "06025": 5.0,
    "06065": 2.5, "06111": 3.0, "06083": 3.0, "06055": 2.0, "06097": 2.0,
}
#: Emerging hot spots: from HOT_FROM, each draws an extra share of the month's
#: records, rising quarter by quarter (on top of its usual share, about 0.2-1 %).
HOT_SPOTS = (("Redding", "06089"), ("Santa Maria", "06083"), ("Bakersfield", "06029"))
HOT_FROM = (2025, 11)
HOT_SHARES = (0.008, 0.016, 0.024, 0.032)

@dataclass(frozen=True)
class Flow:
    """A planted route: origins and destinations as {place name: weight}."""

    name: str
    share: float  # of all records
    expected_corridor: str
    origins: dict[str, float]
    dests: dict[str, float]


#: Planted flows, each strong enough to be a top county-to-county flow.
FLOWS = (
    Flow(
        name="central_valley_to_bay_area", share=0.05, expected_corridor="SR-99",
        origins={"Fresno": 0.30, "Clovis": 0.10, "Modesto": 0.2, "Turlock": 0.1,
                 "Visalia": 0.2, "Tulare": 0.1},
        dests={"Oakland": 0.35, "Hayward": 0.15, "San Jose": 0.3, "San Francisco": 0.2},
    ),
    Flow(
        name="los_angeles_to_i15", share=0.04, expected_corridor="I-15",
        origins={"Los Angeles": 0.7, "Long Beach": 0.15, "Pomona": 0.15},
        dests={"Victorville": 0.45, "Hesperia": 0.30, "Barstow": 0.25},
    ),
    Flow(
        name="border_to_los_angeles", share=0.05, expected_corridor="I-5",
        origins={"San Ysidro": 0.7, "Calexico": 0.3},
        dests={"Los Angeles": 0.7, "Long Beach": 0.15, "Compton": 0.15},
    ),
    Flow(
        name="sacramento_to_i80", share=0.03, expected_corridor="I-80",
        origins={"Sacramento": 0.8, "Elk Grove": 0.2},
        dests={"Roseville": 0.4, "Auburn": 0.3, "Truckee": 0.3},
    ),
)
PLANTED_CORRIDORS = ("I-5", "SR-99", "I-15", "I-80")


@dataclass(frozen=True)
class Circuit:
    """Subjects whose one phone turns up place after place, each sighting by an agency
    that covers the place, typed its own way."""

    name: str
    shape: str  # "loop" (back to the first place) or "path"
    places: tuple[str, ...]  # in the order travelled, each in a different county
    subjects: int


#: Planted circuits. The first two are followed by more subjects than
#: ``ROUTES_CIRCUIT_MIN_TOKENS`` (default 5) and must rank first and second; the
#: third by fewer, and must not be listed. Loop subjects start at different places.
CIRCUITS = (
    Circuit(name="i5_sr99_loop", shape="loop",
            places=("Sacramento", "Stockton", "Fresno", "Bakersfield"), subjects=10),
    Circuit(name="i10_path", shape="path",
            places=("Los Angeles", "Ontario", "Palm Springs"), subjects=7),
    Circuit(name="north_bay_loop_below_threshold", shape="loop",
            places=("Santa Rosa", "Napa", "Vallejo"), subjects=3),
)

OUT_OF_STATE = (
    ("Las Vegas, NV", "NV", 0.25), ("Reno, NV", "NV", 0.1), ("Phoenix, AZ", "AZ", 0.2),
    ("Portland, OR", "OR", 0.1), ("Seattle, WA", "WA", 0.1), ("Houston, TX", "TX", 0.15),
    ("Atlanta, GA", "GA", 0.05), ("New York, NY", "NY", 0.05),
)
ABROAD = (
    ("Mexico", 0.40), ("Guatemala", 0.12), ("Honduras", 0.10), ("El Salvador", 0.10),
    ("China", 0.08), ("Philippines", 0.06), ("Thailand", 0.05), ("Vietnam", 0.05),
    ("South Korea", 0.04),
)
#: San Ysidro is a ZIP "city" (92173) inside San Diego, not a gazetteer place.
SAN_YSIDRO = ("San Ysidro", "06073", "92173", 32.5626, -117.043)

STREETS = ("Main St", "Broadway", "Oak Ave", "Pacific Ave", "Industrial Way",
           "Motel Dr", "Center St", "Olive Ave", "Grand Ave", "Park Blvd")
NICKNAMES = {"Los Angeles": ("L.A.", "LA, CA"), "San Francisco": ("SF", "S.F.")}

#: Destination text variants (columns of the location pool).
LOC_VARIANTS = ("clean", "ca", "zip", "zip4", "addr", "county", "cityzip", "nick",
                "upper", "lower", "spaces")
LOC_CLEAN_P = np.array([0.25, 0.25, 0.08, 0.03, 0.12, 0.07, 0.12, 0.08])
LOC_MESSY = (8, 9, 10)
POINTS_PER_PLACE = 24
#: Place names the geocoder reads as somewhere else or will not guess (checked against
#: geo.geocode by tests/test_demo.py): "London" is also the English capital; "Oak Park" is
#: also a Sacramento neighbourhood and "San Joaquin" also the county, so both are refused.
EXCLUDED_PLACES = frozenset({"London", "Oak Park", "San Joaquin"})


def stable_hash(text: str) -> int:
    """A process-independent hash (``hash()`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def month_list() -> list[tuple[int, int]]:
    """Every (year, month) of the demo period, in order."""
    out = []
    year, month = FIRST_MONTH
    while (year, month) <= LAST_MONTH:
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def month_start_day(year: int, month: int) -> int:
    """Days since 1970-01-01 of the first day of a month."""
    return (dt.date(year, month, 1) - EPOCH).days


def days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return (nxt - dt.date(year, month, 1)).days


def month_weights() -> np.ndarray:
    """Relative volume per month: the year's weight split with a summer peak."""
    months = month_list()
    season = np.array([1 + 0.22 * np.cos(2 * np.pi * (m - 7) / 12) for _, m in months])
    weights = np.empty(len(months))
    for year in sorted({y for y, _ in months}):
        sel = np.array([y == year for y, _ in months])
        weights[sel] = YEAR_WEIGHTS[year] * season[sel] / season[sel].sum()
    return weights


def hot_share(year: int, month: int) -> float:
    """The extra share of a month's records each emerging hot spot draws (0 before)."""
    offset = (year - HOT_FROM[0]) * 12 + month - HOT_FROM[1]
    if offset < 0:
        return 0.0
    return HOT_SHARES[min(offset // 3, len(HOT_SHARES) - 1)]


@dataclass
class Places:
    """Destination places: only those a gazetteer can resolve to one county."""

    name: list[str]
    county_fips: np.ndarray
    county_idx: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    population: np.ndarray
    zips: list[str | None]
    point_lat: np.ndarray  # (n, POINTS_PER_PLACE)
    point_lng: np.ndarray
    w_sex: np.ndarray
    w_labor: np.ndarray
    hot: np.ndarray  # bool: emerging hot-spot places
    loc_pool: pa.Array  # n * len(LOC_VARIANTS) strings
    city_pool: pa.Array  # n * 4: clean, upper, lower, spaces
    addr_pool: pa.Array  # n * 3 street addresses
    zip_pool: pa.Array  # n * 2: zip, zip+4 ("" when the place has none)
    county_name_pool: pa.Array  # n: "Fresno County"

    @property
    def n(self) -> int:
        return len(self.name)

    def index(self, name: str) -> int:
        return self.name.index(name)


@cache
def counties() -> tuple[list[str], list[str], np.ndarray]:
    """County FIPS, county names and populations, ordered by FIPS."""
    dims = reference.county_dimensions().sort_values("county_fips")
    return (list(dims["county_fips"]), list(dims["county"]),
            dims["population"].to_numpy(dtype=float))


def _county_of_points(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """County FIPS of each point by point-in-polygon ('' outside every county)."""
    gdf = reference.load_counties()
    out = np.full(len(lat), "", dtype=object)
    for fips, geom in zip(gdf["county_fips"], gdf.geometry, strict=True):
        inside = shapely.contains_xy(geom, lng, lat)
        out[inside & (out == "")] = fips
    return out


def _distance_to_corridors_km(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    hw = reference.load_highways()
    lines = [g for r, g in zip(hw["route"], hw.geometry, strict=True) if r in CORRIDOR_ROUTES]
    union = shapely.union_all(lines)
    pts = shapely.points(lng, lat)
    return shapely.distance(pts, union) * 100.0  # degrees to ~km at these latitudes


@cache
def build_places() -> Places:
    """The destination gazetteer of the demo, with pre-rendered text pools."""
    places = reference.load_places().copy()
    lower = places["name"].str.lower()
    places = places[lower.map(lower.value_counts()) == 1]
    places = places[(places["population"] >= 1000) & places["name"].map(str.isascii)]
    places = places[~places["name"].str.contains(r"[(),]| - ", regex=True)]
    places = places[~places["name"].isin(EXCLUDED_PLACES)]
    pip = _county_of_points(places["lat"].to_numpy(), places["lng"].to_numpy())
    places = places[pip == places["county_fips"].to_numpy()]
    places = places.sort_values(["county_fips", "name"]).reset_index(drop=True)
    fips_list, county_names, _ = counties()
    fips_pos = {f: i for i, f in enumerate(fips_list)}

    zips = reference.load_zips()
    zips = zips[(zips["zip_type"] == "STANDARD") & zips["lat"].notna()]
    zip_pip = _county_of_points(zips["lat"].to_numpy(), zips["lng"].to_numpy())
    zips = zips[zip_pip == zips["county_fips"].to_numpy()]
    zip_by_key: dict[tuple[str, str], str] = {}
    for z, city, fips in sorted(zip(zips["zip"], zips["city"], zips["county_fips"], strict=True)):
        zip_by_key.setdefault((str(city).lower(), fips), z)

    n = len(places)
    names = list(places["name"])
    fips = places["county_fips"].to_numpy(dtype=object)
    lat = places["lat"].to_numpy(dtype=float)
    lng = places["lng"].to_numpy(dtype=float)
    pop = places["population"].to_numpy(dtype=float)
    place_zips = [zip_by_key.get((nm.lower(), f)) for nm, f in zip(names, fips, strict=True)]

    # Jittered points, each checked to fall in the place's own county.
    rng = np.random.default_rng(20261101)
    sd = np.clip(0.002 * np.sqrt(pop / 1e4), 0.003, 0.04)
    plat = lat[:, None] + rng.normal(0, 1, (n, POINTS_PER_PLACE)) * sd[:, None]
    plng = lng[:, None] + rng.normal(0, 1, (n, POINTS_PER_PLACE)) * sd[:, None] * 1.2
    plat, plng = np.round(plat, 5), np.round(plng, 5)
    got = _county_of_points(plat.ravel(), plng.ravel()).reshape(n, POINTS_PER_PLACE)
    bad = got != fips[:, None]
    plat[bad] = np.broadcast_to(np.round(lat, 5)[:, None], bad.shape)[bad]
    plng[bad] = np.broadcast_to(np.round(lng, 5)[:, None], bad.shape)[bad]

    corridor_km = _distance_to_corridors_km(lat, lng)
    w_sex = pop ** 0.95 * np.where(corridor_km < 8, 2.0, 1.0)
    ag = np.array([AG_COUNTIES.get(f, 0.6) for f in fips])
    w_labor = pop ** 0.7 * ag * np.where(corridor_km < 8, 1.3, 1.0)
    hot = np.array([(nm, f) in HOT_SPOTS for nm, f in zip(names, fips, strict=True)])

    loc, city, addr, zp, cname = [], [], [], [], []
    for i, nm in enumerate(names):
        z = place_zips[i]
        county = county_names[fips_pos[fips[i]]] + " County"
        h = stable_hash(nm)
        plus4 = f"{z}-{1000 + h % 9000:04d}" if z else None
        streets = [f"{100 + (h >> (4 * k)) % 9800} {STREETS[(h + k) % len(STREETS)]}"
                   for k in range(3)]
        ca = f"{nm}, CA"
        nick = NICKNAMES.get(nm, (ca,))[h % len(NICKNAMES.get(nm, (ca,)))]
        loc += [nm, ca, z or ca, plus4 or ca,
                f"{streets[0]}, {nm}, CA {z}" if z else f"{streets[0]}, {nm}, CA",
                county, f"{nm}, CA {z}" if z else ca, nick,
                f"{nm.upper()} CA", f" {nm.lower()}, ca", f"{nm} ,  CA "]
        city += [nm, nm.upper(), nm.lower(), f" {nm}  "]
        addr += streets
        zp += [z or "", plus4 or ""]
        cname.append(county)
    return Places(
        name=names, county_fips=fips, county_idx=np.array([fips_pos[f] for f in fips]),
        lat=lat, lng=lng, population=pop, zips=place_zips, point_lat=plat, point_lng=plng,
        w_sex=w_sex, w_labor=w_labor, hot=hot,
        loc_pool=pa.array(loc, pa.string()), city_pool=pa.array(city, pa.string()),
        addr_pool=pa.array(addr, pa.string()), zip_pool=pa.array(zp, pa.string()),
        county_name_pool=pa.array(cname, pa.string()),
    )


@dataclass
class Origins:
    """Point sources: CA places, San Ysidro, other states, countries.

    Entity ``e``: ``e < places.n`` is a place; then San Ysidro; then
    :data:`OUT_OF_STATE`; then :data:`ABROAD`. ``pool`` holds 4 typed forms each.
    """

    pool: pa.Array
    county_fips: list[str | None]
    state: list[str]
    country: list[str]
    san_ysidro: int
    state0: int
    abroad0: int

    @property
    def n(self) -> int:
        return len(self.state)


@cache
def build_origins() -> Origins:
    places = build_places()
    forms: list[str] = []
    fips: list[str | None] = []
    state: list[str] = []
    country: list[str] = []
    for nm, f in zip(places.name, places.county_fips, strict=True):
        forms += [f"{nm}, CA", nm, f"{nm.upper()} CA", f" {nm.lower()}, ca "]
        fips.append(f)
        state.append("CA")
        country.append("US")
    sy_name, sy_fips, sy_zip = SAN_YSIDRO[:3]
    forms += [f"{sy_name}, CA {sy_zip}", f"{sy_name} CA {sy_zip}",
              f"{sy_name.upper()}, CA {sy_zip}", f"{sy_name}, CA {sy_zip}"]
    fips.append(sy_fips)
    state.append("CA")
    country.append("US")
    for text, st, _ in OUT_OF_STATE:
        forms += [text, text.upper(), text.replace(",", ""), f" {text} "]
        fips.append(None)
        state.append(st)
        country.append("US")
    for text, _ in ABROAD:
        forms += [text, text.upper(), text.lower(), f"{text} "]
        fips.append(None)
        state.append("")
        country.append(text)
    n_places = places.n
    return Origins(pool=pa.array(forms, pa.string()), county_fips=fips, state=state,
                   country=country, san_ysidro=n_places, state0=n_places + 1,
                   abroad0=n_places + 1 + len(OUT_OF_STATE))


def origin_index(name: str) -> int:
    """Entity index of a named origin (a place, or San Ysidro)."""
    if name == SAN_YSIDRO[0]:
        return build_origins().san_ysidro
    return build_places().index(name)


# --------------------------------------------------------------------- subjects

FIRST = ("Maria", "Jose", "Ana", "Luis", "Carmen", "Juan", "Rosa", "Carlos", "Elena",
         "Miguel", "Lucia", "Jorge", "Sofia", "Pedro", "Isabel", "Ramon", "Linh", "Wei",
         "Mei", "Jin", "Grace", "David", "Michael", "Jessica", "Ashley", "Brandon",
         "Tyler", "Kayla", "Marcus", "Tanisha", "Andre", "Crystal", "Kevin", "Brittany",
         "Anthony", "Destiny", "Jasmine", "Darnell", "Nicole", "Ricardo")
LAST = ("Garcia", "Hernandez", "Lopez", "Martinez", "Gonzalez", "Perez", "Sanchez",
        "Ramirez", "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Cruz", "Morales",
        "Pena", "Nunez", "Nguyen", "Tran", "Le", "Chen", "Wang", "Li", "Kim", "Park",
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Davis", "Miller", "Wilson",
        "Moore", "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris")
#: Accents a Latin-1 system keeps (the sheriff's file).
ACCENTS = {"Maria": "María", "Jose": "José", "Lucia": "Lucía", "Ramon": "Ramón",
           "Sofia": "Sofía", "Pena": "Peña", "Nunez": "Núñez", "Perez": "Pérez",
           "Lopez": "López", "Martinez": "Martínez", "Gonzalez": "González",
           "Hernandez": "Hernández", "Sanchez": "Sánchez", "Ramirez": "Ramírez",
           "Gomez": "Gómez", "Diaz": "Díaz"}
HANDLE_A = ("velvet", "luxe", "sweet", "golden", "cali", "bay", "valley", "sunset",
            "cherry", "silk", "vip", "candy", "diamond", "honey", "star", "royal")
HANDLE_B = ("rose", "lily", "doll", "angel", "kitty", "queen", "baby", "bunny",
            "girl", "spa", "dream", "kiss")
NAME_SPACE = len(FIRST) * len(LAST)
#: Shared (planted) subjects: names used by nobody else.
SHARED_FIRST = ("Delfina", "Octavio", "Marisol", "Esteban", "Yesenia", "Rigoberto",
                "Araceli", "Thanh", "Xiomara", "Cornelius", "Latrice", "Desmond",
                "Genoveva", "Baltazar", "Anneliese", "Quinton", "Rosalind", "Evaristo",
                "Jacinta", "Leopoldo", "Wilhelmina", "Fitzgerald", "Imelda", "Porfirio")
SHARED_LAST = ("Quintanilla", "Villasenor", "Arriaga", "Bustamante", "Zavaleta",
               "Echeverria", "Pham-Ly", "Okonkwo", "Whitfield", "Abernathy", "Castellon",
               "Ledesma", "Montenegro", "Sepulveda", "Valladares", "Yarbrough",
               "Covarrubias", "Dunleavy", "Escamilla", "Fairbanks", "Galarza", "Hollister",
               "Iturralde", "Jurado")
SHARED_HANDLE = ("midnight_orchid", "pearl_harbor_vip", "ivory_lotus", "foxglove_ca",
                 "amber_nights", "platinum_peach", "satin_sky", "opal_dreams")
#: Background phones: 555-01xx numbers, area codes dealt out to sources so that
#: background subjects of two agencies never share a phone. Shared subjects use
#: :data:`SHARED_AREA_CODES` only.
AREA_CODES = ("213", "310", "323", "408", "415", "424", "442", "510", "530", "562",
              "619", "626", "628", "650", "657", "661", "669", "707", "714", "747",
              "760", "805", "818", "831", "858", "909", "925", "949", "951", "279")
SHARED_AREA_CODES = ("916", "209", "559")
PLATE_LETTERS = pa.array(
    [a + b + c for a in "ABCDEFGHJKLMNPRSTUVWXYZ" for b in "ABCDEFGHJKLMNPRSTUVWXYZ"
     for c in "ABCDEFGHJKLMNPRSTUVWXYZ"], pa.string())
DOB_BASE = month_start_day(1962, 1)
