"""Benchmark the geocoder: 1 M rows holding 50,000 distinct messy strings.

Run ``python -m bench.bench_geocode`` (or ``python bench/bench_geocode.py``). The
strings are generated from a fixed seed out of the shipped gazetteer: place names
in several formats, typos, ZIPs and ZIP+4, street addresses, coordinates (some
swapped), county forms, out-of-state places and junk; rows repeat them with a
Zipf-like skew, as agency exports do.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo import reference  # noqa: E402
from geo._gazetteer import load_gazetteer  # noqa: E402
from geo.geocode import clear_cache, geocode_locations  # noqa: E402

_OUTSIDE = ["Reno, NV", "Las Vegas", "Phoenix AZ", "Tijuana, Mexico", "Portland, OR",
            "Guatemala", "Manila, Philippines", "Houston TX", "Yuma, AZ", "El Salvador"]
_JUNK = ["unknown", "asdf", "n/a", "see narrative", "qwerty", "???", "hotel room", "TBD"]
_STREETS = ["Main St", "Harbor Blvd", "1st Ave", "Oak Dr", "Broadway", "El Camino Real",
            "Mission St", "Sunset Blvd", "Olive Ave", "Pacific Coast Hwy"]
_FORMATS = ["{p}", "{p}, CA", "{p} ca", "{P}", "{p}, California", "near {p}", "I-5 near {p}",
            "Motel 6, {p}", "{p}, CA {z}", "truck stop off hwy 99 in {p}", "{p} {z}",
            "massage parlor in {p}", "{p} area"]


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 5:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(3)
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + "aeiou"[int(rng.integers(5))] + word[i + 1:]


def make_strings(n_distinct: int, *, seed: int = 42) -> list[str]:
    """``n_distinct`` distinct messy location strings (fixed seed)."""
    rng = np.random.default_rng(seed)
    places = reference.load_places()
    zips = reference.load_zips()
    counties = reference.load_regions()["county"].tolist()
    names = places["name"].tolist() + zips["city"].str.title().tolist()
    zip_list = zips["zip"].tolist()
    out: set[str] = set()
    while len(out) < n_distinct:
        roll = rng.random()
        p = names[int(rng.integers(len(names)))]
        z = zip_list[int(rng.integers(len(zip_list)))]
        if roll < 0.45:
            fmt = _FORMATS[int(rng.integers(len(_FORMATS)))]
            text = fmt.format(p=p, P=p.upper(), z=z)
        elif roll < 0.55:
            text = _typo(p, rng) + ("" if rng.random() < 0.5 else ", CA")
        elif roll < 0.65:
            text = z if rng.random() < 0.5 else f"{z}-{int(rng.integers(10000)):04d}"
        elif roll < 0.8:
            street = _STREETS[int(rng.integers(len(_STREETS)))]
            text = f"{int(rng.integers(1, 20000))} {street}, {p}, CA {z}"
        elif roll < 0.9:
            row = places.iloc[int(rng.integers(len(places)))]
            lat = row["lat"] + rng.normal(0, 0.01)
            lng = row["lng"] + rng.normal(0, 0.01)
            text = f"{lng:.5f}, {lat:.5f}" if rng.random() < 0.1 else f"{lat:.5f}, {lng:.5f}"
        elif roll < 0.95:
            county = counties[int(rng.integers(len(counties)))]
            text = [f"{county} County", f"County of {county}", f"{county} Co."][int(rng.integers(3))]
            text += f" #{int(rng.integers(1000))}" if rng.random() < 0.5 else ""
        elif roll < 0.98:
            text = f"{_OUTSIDE[int(rng.integers(len(_OUTSIDE)))]} {int(rng.integers(100000))}"
        else:
            text = f"{_JUNK[int(rng.integers(len(_JUNK)))]} {int(rng.integers(100000))}"
        out.add(text)
    return sorted(out)


#: Issue 19's budget: 1 M rows with 50 k distinct strings in at most this many seconds.
BUDGET_S = 10.0


def floor_seconds(column: pd.Series) -> float:
    """The machine's floor for the same job, timed in the same run: every row's string
    factorised to its distinct value and each distinct value answered by one dict lookup
    (a gazetteer that already knew every string exactly), the answers spread back over
    the rows. No geocoder can do less."""
    answers = {text: ("06037", "place") for text in column.unique()}
    started = time.perf_counter()
    codes, uniques = pd.factorize(column)
    looked_up = np.asarray([answers[text] for text in uniques], dtype=object)
    looked_up.take(codes, axis=0)
    return time.perf_counter() - started


def run(n_rows: int = 1_000_000, n_distinct: int = 50_000) -> dict:
    """Geocode ``n_rows`` rows drawn from ``n_distinct`` strings; return timings."""
    started = time.perf_counter()
    load_gazetteer()
    build_s = time.perf_counter() - started
    rng = np.random.default_rng(7)
    strings = list(rng.permutation(np.asarray(make_strings(n_distinct), dtype=object)))
    weights = 1.0 / np.arange(1, n_distinct + 1) ** 0.6
    picks = rng.choice(n_distinct, size=n_rows, p=weights / weights.sum())
    picks[:n_distinct] = np.arange(n_distinct)  # every distinct string appears
    column = pd.Series(np.asarray(strings, dtype=object)[picks])
    clear_cache()
    started = time.perf_counter()
    result = geocode_locations(column)
    total_s = time.perf_counter() - started
    placed = int(result["error"].isna().sum())
    floor_s = floor_seconds(column)
    return {
        "rows": n_rows,
        "distinct": n_distinct,
        "gazetteer_build_s": round(build_s, 2),
        "geocode_s": round(total_s, 2),
        "floor_s": round(floor_s, 3),
        "ratio_to_floor": round(total_s / floor_s, 1),
        "budget_s": BUDGET_S,
        "within_budget": total_s <= BUDGET_S,
        "distinct_per_s": round(n_distinct / total_s),
        "rows_per_s": round(n_rows / total_s),
        "placed_share": round(placed / n_rows, 3),
        "precision_counts": result["precision"].value_counts().to_dict(),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
