"""The protected release of observed moves and circuits (called by ``pipelines/build/release.py``).

The unit of privacy here is a *subject* (linked identifiers, ``pipelines/build/moves.py``),
not a record: one subject's sightings make several moves and may make a circuit.
Each subject's contribution is bounded before measuring, with choices made from
that subject's own sightings only.

``release_moves`` (``level``, ``period`` (year start), ``origin``, ``destination``, ``moves``)
    For every ordered pair of distinct counties and every year of the records
    (a fixed domain: absent pairs are measured too), the number of distinct
    subjects who moved from origin to destination that year, each subject
    counted in at most :data:`MOVES_PER_SUBJECT` pair-years (its first ones in
    time). L2 sensitivity √:data:`MOVES_PER_SUBJECT`; OpenDP's discrete Gaussian
    at σ from :data:`MOVES_RHO`; released values clamped at 0. Region rows are
    sums of the released county rows (post-processing). ``moves`` in the release
    is therefore *subjects moving*, not sightings: a subject who goes back and
    forth counts once per pair and year.

``release_circuits`` (``circuit_id``, ``shape``, ``places``, ``n_places``, ``subjects``)
    Which sequences exist is itself data-dependent, so the released set comes from
    noisy counts: each subject contributes to at most :data:`CIRCUITS_PER_SUBJECT`
    sequence (its longest loop, else its longest path; ties by the earliest), the
    number of subjects per sequence gets discrete Gaussian noise at
    σ = :data:`CIRCUIT_SCALE` and only sequences whose noisy count reaches
    :data:`CIRCUIT_THRESHOLD` are released, with that noisy count. This is
    Gaussian partition selection: it costs ρ = C/(2σ²) plus δ, the chance that a
    sequence no one else follows is released, ≤ Pr[Z ≥ (τ−1)/σ] (:func:`circuit_delta`,
    ≈ 2·10⁻⁸). A sequence followed by one subject is released with that chance only.

Noise is kept in ``release_noise`` and reused where a cell's true value did not
change, as the rest of the release does; each measurement's charge goes to
``release_ledger`` (``moves_county``, ``circuits_threshold``), so
``python -m pipelines release report`` counts them.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd

from geo import reference
from pipelines.build import moves as build_moves
from pipelines.build.matches import MAX_CASES_PER_TOKEN
from pipelines.build.release import draw_noise
from routes import settings, warehouse

#: Each subject counts in at most this many (origin, destination, year) cells.
MOVES_PER_SUBJECT = 4
#: ρ spent on the moves cube per build.
MOVES_RHO = 0.25
#: Each subject supports at most this many candidate circuits.
CIRCUITS_PER_SUBJECT = 1
#: σ of the circuits' noisy subject counts, and the release threshold on them.
CIRCUIT_SCALE = 1.0
CIRCUIT_THRESHOLD = 7

MEASUREMENT_MOVES = "moves_county"
MEASUREMENT_CIRCUITS = "circuits_threshold"


def moves_scale() -> float:
    """σ of the moves cube: Δ₂ = √MOVES_PER_SUBJECT at ρ = MOVES_RHO."""
    return math.sqrt(MOVES_PER_SUBJECT / (2 * MOVES_RHO))


def circuits_rho() -> float:
    """ρ of the circuit counts: Δ₂² / (2σ²) with Δ₂ = √CIRCUITS_PER_SUBJECT."""
    return CIRCUITS_PER_SUBJECT / (2 * CIRCUIT_SCALE**2)


def circuit_delta() -> float:
    """δ of the threshold: the chance one subject's own sequences pass it (union over C of them)."""
    return CIRCUITS_PER_SUBJECT * (1 - NormalDist().cdf((CIRCUIT_THRESHOLD - 1 - 0.5) / CIRCUIT_SCALE))


def _sightings(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every subject's county sightings, ordered (subject, source_id, seen_at, county)."""
    con.execute(build_moves._IDENTIFIERS_SQL, [MAX_CASES_PER_TOKEN])
    build_moves._link_identifiers(con)
    con.execute(build_moves._SIGHTINGS_SQL)
    for table in ("_move_ids", "_move_edges", "_move_labels"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    rows = con.execute(
        "SELECT subject, source_id, seen_at, county FROM _sightings WHERE county IS NOT NULL "
        "ORDER BY subject, seen_at, source_id, record_id"
    ).df()
    con.execute("DROP TABLE IF EXISTS _sightings")
    return rows


def _subject_moves(rows: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """(subject, year, origin, destination): each subject's first MOVES_PER_SUBJECT distinct pair-years."""
    frame = rows.copy()
    frame["prev"] = frame.groupby("subject")["county"].shift()
    frame["prev_at"] = frame.groupby("subject")["seen_at"].shift()
    gap = (pd.to_datetime(frame["seen_at"]) - pd.to_datetime(frame["prev_at"])).dt.days
    moved = frame[frame["prev"].notna() & (frame["prev"] != frame["county"]) & (gap <= window_days)]
    moved = moved.assign(year=pd.to_datetime(moved["seen_at"]).dt.year)
    cells = moved.drop_duplicates(["subject", "year", "prev", "county"])
    cells = cells.groupby("subject", sort=False).head(MOVES_PER_SUBJECT)
    return cells.rename(columns={"prev": "origin", "county": "destination"})[["subject", "year", "origin", "destination"]]


def _noise(con: duckdb.DuckDBPyConnection, name: str, keys: pd.Series, true: np.ndarray, scale: float
           ) -> tuple[np.ndarray, int]:
    """Noise per key (stored noise reused where the true value did not change); cells redrawn."""
    old = con.execute("SELECT key, true_value, noise FROM release_noise WHERE measurement = ?", [name]).df()
    old = old.set_index("key")
    previous_true = keys.map(old["true_value"]).to_numpy(dtype=float, na_value=np.nan)
    previous_noise = keys.map(old["noise"]).to_numpy(dtype=float, na_value=np.nan)
    reuse = previous_true == true
    noise = np.where(reuse, np.nan_to_num(previous_noise), 0).astype(np.int64)
    redraw = ~reuse
    noise[redraw] = draw_noise(int(redraw.sum()), scale)
    con.execute("DELETE FROM release_noise WHERE measurement = ?", [name])
    stored = pd.DataFrame({"measurement": name, "key": keys.to_numpy(), "true_value": true, "noise": noise})
    con.register("_release_noise_rows", stored)
    con.execute("INSERT INTO release_noise SELECT * FROM _release_noise_rows")
    con.unregister("_release_noise_rows")
    return noise, int(redraw.sum())


def _hash(values: pd.Series) -> pd.Series:
    return pd.util.hash_pandas_object(values, index=False).astype(np.int64)


def _moves_release(con: duckdb.DuckDBPyConnection, cells: pd.DataFrame, years: list[int]) -> tuple[pd.DataFrame, dict]:
    counties = sorted(reference.county_dimensions()["county_fips"].astype(str))
    domain = pd.MultiIndex.from_product([years, counties, counties], names=["year", "origin", "destination"])
    domain = domain.to_frame(index=False)
    domain = domain[domain["origin"] != domain["destination"]].reset_index(drop=True)
    counts = cells.groupby(["year", "origin", "destination"]).size().rename("true").reset_index()
    domain = domain.merge(counts, on=["year", "origin", "destination"], how="left")
    true = domain["true"].fillna(0).to_numpy(dtype=np.int64)
    keys = _hash(domain["year"].astype(str) + "|" + domain["origin"] + "|" + domain["destination"])
    noise, redrawn = _noise(con, MEASUREMENT_MOVES, keys, true, moves_scale())
    domain["moves"] = np.maximum(true + noise, 0)
    domain["period"] = [date(int(y), 1, 1) for y in domain["year"]]
    county = domain.assign(level="county")[["level", "period", "origin", "destination", "moves"]]
    regions = reference.load_regions().set_index("county_fips")["region"]
    region = county.assign(origin=county["origin"].map(regions), destination=county["destination"].map(regions))
    region = region[region["origin"] != region["destination"]]
    region = region.groupby(["period", "origin", "destination"], as_index=False)["moves"].sum().assign(level="region")
    out = pd.concat([county, region[county.columns]], ignore_index=True)
    out = out[out["moves"] > 0].reset_index(drop=True)
    charge = {"measurement": MEASUREMENT_MOVES, "cells": len(domain), "redrawn": redrawn, "scale": moves_scale(),
              "rho": MOVES_RHO if redrawn else 0.0}
    return out, charge


def _one_sequence(rows: pd.DataFrame, window_days: int) -> dict[tuple[str, tuple[str, ...]], set[int]]:
    """Sequence → subjects, each subject giving its longest loop (else path); ties by the earliest."""
    chosen: dict[int, tuple[int, int, tuple[str, tuple[str, ...]]]] = {}
    for subject, visits in build_moves._chains(rows, window_days):
        for key, _dwell, _sources in build_moves._occurrences(visits):
            score = (int(key[0] == "loop"), len(key[1]))
            best = chosen.get(subject)
            if best is None or score > best[:2]:  # strictly better: the earliest keeps a tie
                chosen[subject] = (*score, key)
    support: dict[tuple[str, tuple[str, ...]], set[int]] = {}
    for subject, (_loop, _n, key) in chosen.items():
        support.setdefault(key, set()).add(subject)
    return support


def _circuits_release(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, window_days: int
                      ) -> tuple[pd.DataFrame, dict]:
    support = _one_sequence(rows, window_days)
    keys = list(support)
    frame = pd.DataFrame({
        "shape": [k[0] for k in keys], "seq": [list(k[1]) for k in keys],
        "true": [len(support[k]) for k in keys],
    })
    frame["circuit_id"] = [hashlib.sha256(f"{s}|{'>'.join(p)}".encode()).hexdigest()[:16]
                           for s, p in zip(frame["shape"], frame["seq"], strict=True)]
    hashed = _hash(frame["circuit_id"]) if len(frame) else pd.Series([], dtype=np.int64)
    true = frame["true"].to_numpy(dtype=np.int64)
    noise, redrawn = _noise(con, MEASUREMENT_CIRCUITS, hashed, true, CIRCUIT_SCALE)
    frame["subjects"] = true + noise
    frame = frame[frame["subjects"] >= CIRCUIT_THRESHOLD].reset_index(drop=True)
    frame["places"] = [[*p, p[0]] if s == "loop" else p for s, p in zip(frame["shape"], frame["seq"], strict=True)]
    frame["n_places"] = frame["seq"].map(len)
    out = frame[["circuit_id", "shape", "places", "n_places", "subjects"]]
    charge = {"measurement": MEASUREMENT_CIRCUITS, "cells": len(keys), "redrawn": redrawn, "scale": CIRCUIT_SCALE,
              "rho": circuits_rho() if redrawn else 0.0}
    return out, charge


def build(con: duckdb.DuckDBPyConnection, years: list[int]) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Measure the moves cube and the circuits for ``years``; the tables and the ledger charges (not written)."""
    empty_moves = pd.DataFrame({"level": pd.Series(dtype=str), "period": pd.Series(dtype=object),
                                "origin": pd.Series(dtype=str), "destination": pd.Series(dtype=str),
                                "moves": pd.Series(dtype=np.int64)})
    empty_circuits = pd.DataFrame({"circuit_id": pd.Series(dtype=str), "shape": pd.Series(dtype=str),
                                   "places": pd.Series(dtype=object), "n_places": pd.Series(dtype=np.int64),
                                   "subjects": pd.Series(dtype=np.int64)})
    if not years or not warehouse.has_table(con, "record_identifiers"):
        return {"release_moves": empty_moves, "release_circuits": empty_circuits}, []
    window = settings.moves_window_days()
    rows = _sightings(con)
    if rows.empty:  # no identifiers seen: nothing to measure, nothing charged
        return {"release_moves": empty_moves, "release_circuits": empty_circuits}, []
    moves, c1 = _moves_release(con, _subject_moves(rows, window), years)
    circuits, c2 = _circuits_release(con, rows, window)
    return {"release_moves": moves if len(moves) else empty_moves,
            "release_circuits": circuits if len(circuits) else empty_circuits}, [c1, c2]
