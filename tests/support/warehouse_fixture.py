"""A small synthetic warehouse for tests of the query layer, build, app and exports.

It writes rows straight into the schema of ``routes/warehouse.py`` (bypassing
ingest, which has its own tests), from a fixed seed, with known properties:

- ``n`` records spread over real California places (ZIP centroids), months from
  ``2024-01`` to ``2025-12``, all four trafficking types and record types;
- half the records carry an origin; a fifth of those are out of state
  (``origin_state`` NV/AZ or ``origin_country`` MX) with no cell;
- one sparse county (Alpine, ``06003``) holds exactly 3 records, so small-cell
  protection has something to hide;
- four sources in different task forces.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo import grid, reference
from routes import warehouse

#: The period of the briefings exported from the built warehouse (conftest's partner_files, le_files).
BRIEFING_PERIOD = ("2025-01", "2025-12")

SOURCES = pd.DataFrame(
    {
        "source_id": ["hotline", "lapd", "sdsheriff", "ngo_bay"],
        "name": ["Hotline", "Los Angeles PD", "San Diego Sheriff", "Bay Area NGO"],
        "kind": ["hotline", "law_enforcement", "law_enforcement", "ngo"],
        "task_force": ["sacramento", "la", "san_diego", "alameda"],
        "contact": ["hotline desk", "Det. A <a@example.org>", "Sgt. B", "Intake"],
    }
)
SPARSE_COUNTY = "06003"
SPARSE_RECORDS = 3


def make_records(n: int = 3000, *, seed: int = 1) -> pd.DataFrame:
    """Synthetic ``records`` rows (all columns of the schema)."""
    rng = np.random.default_rng(seed)
    zips = reference.load_zips()
    zips = zips[zips["zip_type"] == "STANDARD"].dropna(subset=["county_fips", "lat"])
    zips = zips[zips["county_fips"] != SPARSE_COUNTY].reset_index(drop=True)
    dims = reference.county_dimensions().set_index("county_fips")
    weights = zips["county_fips"].map(dims["population"]).astype(float)
    pick = rng.choice(len(zips), size=n - SPARSE_RECORDS, p=(weights / weights.sum()).to_numpy())
    dest = zips.iloc[pick].reset_index(drop=True)
    counties = reference.load_counties().set_index("county_fips")
    alpine = counties.geometry[SPARSE_COUNTY].representative_point()
    sparse = pd.DataFrame(
        {
            "county_fips": [SPARSE_COUNTY] * SPARSE_RECORDS,
            "lat": [alpine.y] * SPARSE_RECORDS,
            "lng": [alpine.x] * SPARSE_RECORDS,
        }
    )
    dest = pd.concat([dest[["county_fips", "lat", "lng"]], sparse], ignore_index=True)
    src = SOURCES.iloc[rng.integers(0, len(SOURCES), n)].reset_index(drop=True)
    months = pd.date_range("2024-01-01", "2025-12-01", freq="MS")
    occurred = months[rng.integers(0, len(months), n)] + pd.to_timedelta(
        rng.integers(0, 27, n), unit="D"
    )
    frame = pd.DataFrame(
        {
            "source_id": src["source_id"],
            "record_id": [f"R{i:06d}" for i in range(n)],
            "batch_id": "fixture-batch",
            "source_kind": src["kind"],
            "source_task_force": src["task_force"],
            "record_type": rng.choice(["tip", "incident", "recovery", "service"], n),
            "occurred_at": occurred,
            "reported_at": occurred,
            "month": occurred.to_period("M").to_timestamp().date,
            "trafficking_type": rng.choice(
                ["sex", "labor", "both", "unknown"], n, p=[0.75, 0.1, 0.05, 0.1]
            ),
            "victim_count": rng.integers(1, 4, n).astype("int32"),
            "minor_involved": rng.random(n) < 0.1,
            "indicators": [
                list(rng.choice(["motel", "online_ads", "drugs", "agriculture"], k, replace=False))
                for k in rng.integers(0, 3, n)
            ],
            "case_number": [f"C-{i}" for i in range(n)],
            "contact": src["contact"],
        }
    )
    _add_side(frame, "dest", dest, precision=rng.choice(["point", "zip", "place"], n))
    has_origin = rng.random(n) < 0.5
    origin = dest.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    _add_side(frame, "origin", origin, precision=np.full(n, "zip"))
    out_of_state = has_origin & (rng.random(n) < 0.2)
    for col in [c for c in frame.columns if c.startswith("origin_")]:
        frame.loc[~has_origin, col] = None
    frame["origin_state"] = np.where(has_origin, "CA", None)  # type: ignore[call-overload]  # numpy's stubs lack a None scalar
    frame["origin_country"] = np.where(has_origin, "US", None)  # type: ignore[call-overload]
    states = rng.choice(["NV", "AZ", "MX"], n)
    for col in ("origin_county_fips", "origin_region", "origin_task_force", "origin_cell", "origin_res"):
        frame.loc[out_of_state, col] = None
    frame.loc[out_of_state, "origin_precision"] = np.where(states[out_of_state] == "MX", "country", "state")
    frame.loc[out_of_state, "origin_state"] = np.where(states[out_of_state] == "MX", None, states[out_of_state])  # type: ignore[call-overload]
    frame.loc[out_of_state, "origin_country"] = np.where(states[out_of_state] == "MX", "MX", "US")
    frame["content_hash"] = frame["record_id"]
    frame["validated_at"] = datetime(2026, 1, 1)
    frame["updated_at"] = datetime(2026, 1, 1)
    return frame


def _add_side(frame: pd.DataFrame, side: str, places: pd.DataFrame, *, precision: np.ndarray) -> None:
    dims = reference.county_dimensions().set_index("county_fips")
    frame[f"{side}_lat"] = places["lat"].to_numpy()
    frame[f"{side}_lng"] = places["lng"].to_numpy()
    frame[f"{side}_precision"] = precision
    frame[f"{side}_confidence"] = 0.9
    frame[f"{side}_matched"] = "fixture"
    frame[f"{side}_county_fips"] = places["county_fips"].to_numpy()
    frame[f"{side}_region"] = places["county_fips"].map(dims["region"]).to_numpy()
    frame[f"{side}_task_force"] = places["county_fips"].map(dims["task_force"]).to_numpy()
    res = np.array([grid.PRECISION_MAX_RES[p] for p in precision], dtype="int64")
    cells = np.zeros(len(places), dtype="int64")
    for r in np.unique(res):
        mask = res == r
        cells[mask] = grid.latlngs_to_cells(
            places["lat"].to_numpy()[mask], places["lng"].to_numpy()[mask], int(r)
        )
    frame[f"{side}_cell"] = cells
    frame[f"{side}_res"] = res.astype("int8")


def make_small_warehouse(path: Path, *, n: int = 3000, seed: int = 1, is_demo: bool = True) -> pd.DataFrame:
    """Write a synthetic warehouse at ``path``; return the records it holds."""
    records = make_records(n, seed=seed)
    with warehouse.write_snapshot(path=path) as con:
        con.register("src", SOURCES.assign(added_at=datetime(2026, 1, 1)))
        con.execute("INSERT INTO sources SELECT source_id, name, kind, task_force, contact, added_at FROM src")
        con.register("recs", records)
        con.execute("INSERT INTO records BY NAME SELECT * FROM recs")
        con.execute(
            "INSERT INTO batches VALUES ('fixture-batch', 'hotline', 'fixture.csv', 'x', NULL, "
            "?, ?, ?, ?, 0, 0, 0)",
            [datetime(2026, 1, 1), datetime(2026, 1, 1), n, n],
        )
        if is_demo:
            warehouse.mark_demo(con)
        else:
            warehouse.set_meta(con, "is_demo", "false")
        warehouse.set_meta(con, "data_as_of", date(2025, 12, 31).isoformat())
    return records


def add_quarantined_batch(path: Path) -> None:
    """Add one LAPD file to the warehouse at ``path``: batch ``b-la`` (5 rows read, 2 loaded, 3 quarantined).

    Its three quarantined rows give first reasons ``bad_date`` twice and
    ``outside_california`` once (the second row also ``bad_count``); each raw row
    holds a case id and a 64-character ``Phone``. What the Data intake page and its
    readers report (``query/intake.py``).
    """
    with warehouse.write_snapshot(path=path) as con:
        con.execute(
            "INSERT INTO batches VALUES ('b-la', 'lapd', 'lapd.csv', 'y', 'p.toml', ?, ?, 5, 2, 0, 0, 3)",
            [datetime(2026, 1, 2), datetime(2026, 1, 2)],
        )
        for n, reasons in enumerate([["bad_date"], ["bad_date", "bad_count"], ["outside_california"]]):
            con.execute(
                "INSERT INTO quarantine VALUES ('lapd', 'b-la', ?, ?, ?, ?)",
                [n + 1, reasons, json.dumps({"CaseID": f"Q{n}", "Phone": "ab" * 32}), datetime(2026, 1, 2)],
            )


def make_built_warehouse(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the settings at ``root``, write the fixture warehouse and build its derived tables."""
    from pipelines.build import build_warehouse

    monkeypatch.setenv("ROUTES_WAREHOUSE", str(root / "warehouse" / "routes.duckdb"))
    monkeypatch.setenv("ROUTES_CONTROL", str(root / "warehouse" / "control.sqlite"))
    monkeypatch.setenv("ROUTES_KEY_FILE", str(root / "secrets" / "routes.key"))
    monkeypatch.setenv("ROUTES_QUIET", "1")
    monkeypatch.delenv("ROUTES_K", raising=False)
    path = root / "warehouse" / "routes.duckdb"
    make_small_warehouse(path)
    build_warehouse(warehouse_path=path)
