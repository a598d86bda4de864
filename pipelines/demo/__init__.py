"""Deterministic, realistic, dirty and labelled demo data (``python -m pipelines demo``).

No public record-level trafficking data exists, and none may be committed, so
Routes generates its own: exports from nine fictional agencies, each in its own
format, columns and codes, with the mapping profile for each, a source registry,
planned operations for deconfliction, and ``ground_truth.json`` saying exactly
what was planted. The same ``seed`` and ``records`` give the same bytes.

Layout of ``out_dir`` (docs/ARCHITECTURE.md, "Demo data layout")::

    sources.csv            source_id,name,kind,task_force,contact
    profiles/<source>.toml one mapping profile per source
    files/<source>/...     the exports (CSV, XLSX, JSON, GeoJSON, Parquet, TSV, JSONL)
    operations.csv         operation_id,agency_source_id,kind,lat,lon,radius_m,start,end,contact
    ground_truth.json      what was planted (below)

The sources (``pipelines/demo/_agencies.py``; all fictional, ``example.org`` contacts):

===============  ===============  ==================================================
source_id        kind             export
===============  ===============  ==================================================
``nhth``         hotline          CSV per year; dates ``%Y-%m-%d %H:%M``; ``;`` lists
``sdpd``         law_enforcement  XLSX (sheet ``Export``, capped), US dates, penal-code
                                  offence codes, split suspect names
``harbor_ngo``   ngo              JSON array; nested ``origin`` / ``destination``;
                                  a hashed client id and no identifiers
``sac_httf``     law_enforcement  GeoJSON points of task-force operations
``calfusion``    fusion           Parquet per year; typed timestamps and numbers
``fresno_so``    law_enforcement  TSV per year, Latin-1 with a UTF-8 BOM and CRLF,
                                  Spanish headers; 2019 is also sent a second time
``oakland_pd``   law_enforcement  CSV; ``%Y%m%d`` dates; a later corrections file
``lapd``         law_enforcement  JSON Lines per year; points; LAPD-style crime codes
``sbsd``         law_enforcement  CSV; one free-text location column
===============  ===============  ==================================================

What it looks like: yearly volumes follow the hotline's published California
cases (1,323 in 2016, 1,305 in 2017, 1,656 in 2018, 1,507 in 2019; a synthetic
gentle trend after), split by month with a summer peak, 2016-01 to 2026-10; the
hotline's rows per year are proportional to those counts (about equal to them at
60,000 records). Types: about 3/4 sex, 1/10 labour, 1/20 both, the rest unknown.
Destinations follow population, weighted up along I-5, US-101, SR-99, I-10, I-15
and I-80; labour weighs up farm counties; indicators match the type (labour:
agriculture, construction, domestic work; sex: motels, massage businesses, online
ads, truck stops). Local agencies cover their task force's counties; the hotline
and the fusion centre cover the state. Emerging hot spots (Redding, Santa Maria,
Bakersfield) rise quarter by quarter over the last four quarters.

Ground truth (``ground_truth.json``)
-----------------------------------
``seed``, ``records`` (requested), ``rows_written`` (all rows of all files),
``dirt_rate``, ``as_of`` (the demo's today, 2026-11-01), ``period`` [first, last month]

``file_order``
    the files in the order to ingest them (relative paths).
``files``
    per relative path (``files/<source>/<name>``): ``source_id``, ``profile``
    (relative path), ``format``, ``encoding``, ``rows`` (data rows),
    ``loaded`` (new valid records), ``updated``, ``duplicates``, ``quarantined``,
    ``quarantine_reasons`` {code: n} (each bad row is bad in exactly one way, so
    its first reason is its only reason), and informational ``swapped_latlon``,
    ``injected_text`` (HTML / formula strings in contact or case number),
    ``origin_only`` (valid rows with an origin but no destination).
    ``rows = loaded + updated + duplicates + quarantined``.
``shared_subjects``
    list of {``subject_id``, ``sources`` [ids], ``identifier_kinds`` [phone, email,
    vehicle_plate, ad_handle, subject_name+dob], ``typed_forms`` {kind: [raw strings
    as typed, one per row; for subject_name+dob "<name> / <dob>"]},
    ``record_ids`` {source_id: [record ids]}, ``place``}. Those rows are always
    loaded. Background subjects never share an identifier across agencies.
``planted_flows``
    list of {``name``, ``origin_county_fips`` [..], ``origin_places``,
    ``dest_county_fips`` [..], ``dest_places``, ``records`` (loaded rows carrying
    it), ``by_source`` {source_id: n}, ``expected_corridor``}.
``planted_corridors``
    routes expected busiest (the planted flows' corridors).
``planted_circuits``
    list of {``name``, ``shape`` (``loop``: back to the first place; ``path``),
    ``places`` (names in the order travelled), ``county_fips`` (the same, one
    county each), ``subjects`` (how many follow it), ``subject_ids`` (their
    entries in ``shared_subjects``, which carry ``circuit``), ``sources``,
    ``hop_days`` [min, max) between arriving at one place and the next,
    ``noise_days_before`` [min, max)}. Each subject carries one phone, typed in
    its own style at each sighting by an agency covering the place (never the
    agency of the sighting before); a loop subject starts at its own place of the
    loop (subject *j* at place *j* mod n) and returns there; a stay sometimes has
    a second sighting 1-4 days on; one noise sighting lies at a place off the
    route, long before. ``w.CIRCUITS`` says which are followed by fewer subjects
    than the default minimum and must not be found.
``operations``
    ``conflicting_pairs`` [[op_a, op_b], ...] (different agencies, overlapping
    times, centres within 500 m and circles overlapping), ``near_misses`` (close in
    space but not in time, or at the same time 1.5 km or more apart) and the rule.
``emerging_hot_spots``
    list of {``county_fips``, ``county``, ``place``, ``cell_res6`` (H3, int),
    ``rise_from`` (month), ``extra_share_by_quarter`` (of all records, on top of the
    place's usual share), ``loaded_by_quarter`` {quarter: n, last 8 quarters, county}}.
``volumes``
    rows of the hotline per year beside the published counts, loaded rows per
    source, trafficking-type mix of loaded rows.

Valid rows have a record id, a destination in California (text a gazetteer can
resolve, or a point inside its county) or an origin, dates between 1990 and the
as-of date in the profile's formats, codes the profile maps (after trimming and
ignoring case), and a non-negative integer victim count. A swapped lat/lon is
valid (ingest corrects it).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pyarrow as pa
from tqdm import tqdm

from geo import reference
from pipelines.demo import _world as w
from pipelines.demo._agencies import (
    REASONS,
    RESENT_SOURCE,
    RESENT_YEAR,
    SOURCES,
    UPDATE_FILE,
    UPDATE_SOURCE,
    profile_toml,
)
from pipelines.demo._render import KINDS, Rows, combo_offsets, combos, render_rows
from pipelines.demo._write import JsonText, open_writer
from routes import settings
from routes.contract.vocabularies import RECORD_TYPES
from routes.errors import ConfigError

#: The XLSX source's rows are capped (a sheet holds ~1 M rows; agencies export less).
XLSX_CAP = 100_000
#: Months are grouped into chunks of about this many records (never across years).
CHUNK_TARGET = 250_000
N_SHARED = 24
EXT = {"csv": "csv", "tsv": "tsv", "xlsx": "xlsx", "json": "json", "jsonl": "jsonl",
       "geojson": "geojson", "parquet": "parquet"}


# ------------------------------------------------------------------- planning

def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    rest = total - out.sum()
    out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def _chunks(records: int) -> list[list[tuple[int, int]]]:
    """Chunks of (month index, records), consecutive months within one year."""
    months = w.month_list()
    counts = _largest_remainder(records, w.month_weights())
    chunks: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for i, (year, _) in enumerate(months):
        if current and (months[current[0][0]][0] != year
                        or sum(c for _, c in current) >= CHUNK_TARGET):
            chunks.append(current)
            current = []
        current.append((i, int(counts[i])))
    chunks.append(current)
    return chunks


@dataclass
class Plan:
    """Everything fixed before the chunks are drawn."""

    cum_source: np.ndarray  # (58 counties, S) cumulative P(source | county)
    coverage: np.ndarray  # (58, S) 1 at home
    expected_rows: np.ndarray  # per source
    subject_base: np.ndarray
    subject_count: np.ndarray
    phone_blocks: list[tuple[int, ...]]
    flow_cum: np.ndarray
    flow_dest: list[np.ndarray]  # cumulative over places
    flow_origin: list[tuple[np.ndarray, np.ndarray]]  # entities, cumulative


def _dest_county_share(places: w.Places) -> np.ndarray:
    n_c = len(w.counties()[0])
    share = np.zeros(n_c)
    np.add.at(share, places.county_idx, 0.88 * places.w_sex / places.w_sex.sum()
              + 0.12 * places.w_labor / places.w_labor.sum())
    return share


def _plan(records: int) -> Plan:
    places = w.build_places()
    fips, _, _ = w.counties()
    tf_of = dict(zip(reference.load_task_forces()["county_fips"],
                     reference.load_task_forces()["task_force"], strict=True))
    n_s = len(SOURCES)
    coverage = np.array([[1.0 if not s.home or tf_of[f] in s.home else s.away for s in SOURCES]
                         for f in fips])
    target = np.array([s.share for s in SOURCES])
    for i, s in enumerate(SOURCES):
        if s.fmt == "xlsx" and target[i] * records > XLSX_CAP:
            excess = target[i] - XLSX_CAP / records
            target[i] -= excess
            others = np.array([j != i for j in range(n_s)])
            target[others] += excess * target[others] / target[others].sum()
    p_c = _dest_county_share(places)
    weights = target.copy()
    for _ in range(200):
        prob = coverage * weights
        prob /= prob.sum(axis=1, keepdims=True)
        weights *= target / (p_c @ prob)
    prob = coverage * weights
    prob /= prob.sum(axis=1, keepdims=True)
    expected = records * (p_c @ prob)
    subject_count = np.maximum(20, (expected * np.array([s.subject_rate for s in SOURCES])
                                    / 6).astype(int))
    subject_base = np.concatenate([[0], np.cumsum(subject_count)[:-1]])
    blocks = [tuple(range(3 * i, 3 * i + 3)) for i in range(n_s)]

    flow_dest, flow_origin = [], []
    for flow in w.FLOWS:
        p = np.zeros(places.n)
        for name, q in flow.dests.items():
            p[places.index(name)] = q
        flow_dest.append(np.cumsum(p / p.sum()))
        ents = np.array([w.origin_index(name) for name in flow.origins])
        weights = np.array(list(flow.origins.values()))
        flow_origin.append((ents, np.cumsum(weights / weights.sum())))
    return Plan(cum_source=np.cumsum(prob, axis=1), coverage=coverage, expected_rows=expected,
                subject_base=subject_base, subject_count=subject_count, phone_blocks=blocks,
                flow_cum=np.cumsum([f.share for f in w.FLOWS]), flow_dest=flow_dest,
                flow_origin=flow_origin)


@dataclass
class Occurrence:
    subject: int
    source: int
    month: int
    dest: int
    kinds: tuple[str, ...]
    style: int
    day: int = -1  # days since 1970 when planted to the day; -1: drawn in the month
    circuit: int = -1  # index into ``w.CIRCUITS``; -1: a shared subject


def _plan_shared(seed: int, plan: Plan) -> list[Occurrence]:
    """Shared subjects: each in 2-3 agencies' files, 1-2 rows each, recent months."""
    rng = np.random.default_rng([seed, 7777])
    places = w.build_places()
    n_months = len(w.month_list())
    p = places.w_sex / places.w_sex.sum()
    carriers = [i for i, s in enumerate(SOURCES) if s.id_kinds]
    out: list[Occurrence] = []
    for k in range(N_SHARED):
        dest = int(rng.choice(places.n, p=p))
        cty = places.county_idx[dest]
        eligible = [i for i in carriers if plan.coverage[cty, i] == 1.0]
        chosen, common = [], []
        for _ in range(100):
            m = min(len(eligible), 2 + int(rng.random() < 0.35))
            chosen = sorted(int(x) for x in rng.choice(eligible, size=m, replace=False))
            common = [kd for kd in KINDS if all(kd in SOURCES[i].id_kinds for i in chosen)]
            if common:
                break
        n_kinds = min(len(common), 1 + int(rng.random() < 0.4))
        kinds = tuple(sorted(rng.choice(common, size=n_kinds, replace=False),
                             key=KINDS.index))
        style = 0
        for src in chosen:
            for _ in range(1 + int(rng.random() < 0.4)):
                month = int(rng.integers(n_months - 36, n_months))
                out.append(Occurrence(k, src, month, dest, kinds, k + style))
                style += 1
    return out


#: Circuit sightings: days between arriving at one place and the next.
CIRCUIT_HOP_DAYS = (6, 28)
#: A noise sighting of a circuit subject lies this many days before its first
#: circuit sighting (farther than any move window), at a place off the circuit.
CIRCUIT_NOISE_DAYS = (120, 400)


def _month_of_day(day: int) -> int:
    """The index into ``w.month_list()`` of the month holding ``day`` (days since 1970)."""
    starts = [w.month_start_day(y, m) for y, m in w.month_list()]
    return int(np.searchsorted(starts, day, side="right")) - 1


def _plan_circuits(seed: int, plan: Plan) -> list[Occurrence]:
    """Circuit subjects: one phone each, seen place after place along ``w.CIRCUITS``.

    Each sighting is by a phone-carrying agency that covers the place (never the
    one of the sighting before), typed in a style of its own; a stay sometimes
    gets a second sighting a few days later; every subject also has one noise
    sighting elsewhere, long before. Subjects are numbered after the shared ones.
    """
    rng = np.random.default_rng([seed, 9191])
    places = w.build_places()
    months = w.month_list()
    carriers = [i for i, s in enumerate(SOURCES) if "phone" in s.id_kinds]
    first_day = w.month_start_day(*months[-30])
    last_start = w.month_start_day(*months[-1]) - 200
    pop = places.population / places.population.sum()
    out: list[Occurrence] = []
    number = N_SHARED
    for c, circuit in enumerate(w.CIRCUITS):
        stops = [places.index(name) for name in circuit.places]
        for j in range(circuit.subjects):
            order = stops[j % len(stops):] + stops[:j % len(stops)] if circuit.shape == "loop" else stops
            if circuit.shape == "loop":
                order = [*order, order[0]]
            day = int(rng.integers(first_day + CIRCUIT_NOISE_DAYS[1], last_start))
            sightings = []
            for dest in order:
                sightings.append((day, dest))
                if rng.random() < 0.3:
                    sightings.append((day + int(rng.integers(1, 5)), dest))
                day += int(rng.integers(*CIRCUIT_HOP_DAYS))
            on_route = {places.county_idx[d] for d in stops}
            while True:
                noise = int(rng.choice(places.n, p=pop))
                if places.county_idx[noise] not in on_route:
                    break
            sightings.insert(0, (sightings[0][0] - int(rng.integers(*CIRCUIT_NOISE_DAYS)), noise))
            previous = -1
            for k, (when, dest) in enumerate(sightings):
                cty = places.county_idx[dest]
                eligible = [i for i in carriers if plan.coverage[cty, i] == 1.0 and i != previous]
                previous = int(eligible[int(rng.integers(0, len(eligible)))])
                out.append(Occurrence(number, previous, _month_of_day(when), dest, ("phone",),
                                      number * 7 + k, day=when, circuit=c))
            number += 1
    return out


# -------------------------------------------------------------------- drawing

def _cum_sample(rng: np.random.Generator, cum: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


@dataclass
class Core:
    n: int
    month: np.ndarray
    day: np.ndarray
    secs: np.ndarray
    delay: np.ndarray
    ttype: np.ndarray
    flow: np.ndarray
    dest: np.ndarray
    src: np.ndarray
    origin: np.ndarray
    rtype: np.ndarray
    victims: np.ndarray
    minor: np.ndarray
    combo: np.ndarray
    subject: np.ndarray
    kinds: np.ndarray
    style: np.ndarray
    point: np.ndarray
    messy: np.ndarray
    forced: np.ndarray  # occurrence index, -1
    pick: np.ndarray  # spare uniform ints for pools


def _draw(chunk: list[tuple[int, int]], forced: list[Occurrence], plan: Plan,
          rng: np.random.Generator, messy_rate: float) -> Core:
    places, origins = w.build_places(), w.build_origins()
    months = w.month_list()
    n_reg = sum(c for _, c in chunk)
    n = n_reg + len(forced)
    month = np.concatenate([np.repeat([m for m, _ in chunk], [c for _, c in chunk]),
                            np.array([o.month for o in forced], dtype=int)]).astype(int)
    starts = np.array([w.month_start_day(y, m) for y, m in months])
    dims = np.array([w.days_in_month(y, m) for y, m in months])
    day = starts[month] + (rng.random(n) * dims[month]).astype(int)
    planted_day = np.array([o.day for o in forced], dtype=int)
    day[n_reg:] = np.where(planted_day >= 0, planted_day, day[n_reg:])
    secs = ((18 * 3600 + rng.normal(0, 5 * 3600, n)) % 86400).astype(int)
    delay = np.minimum(rng.geometric(1 / 6, n) - 1, 120)
    ttype = np.searchsorted(np.cumsum(w.TYPE_MIX), rng.random(n) * 0.999999, side="right")
    flow = np.searchsorted(plan.flow_cum, rng.random(n), side="right")
    flow[flow >= len(w.FLOWS)] = -1
    flow[n_reg:] = -1

    dest = np.zeros(n, dtype=int)
    for mid in np.unique(month[:n_reg]):
        y, m = months[mid]
        sel = (month == mid) & (flow < 0)
        sel[n_reg:] = False
        lab = sel & (ttype == w.LABOR)
        sx = sel & ~lab
        for mask, weights in ((sx, places.w_sex), (lab, places.w_labor)):
            cum = np.cumsum(weights)
            dest[mask] = _cum_sample(rng, cum / cum[-1], int(mask.sum()))
        extra = w.hot_share(y, m)
        if extra:
            hot = np.flatnonzero(places.hot)
            moved = sel & (rng.random(n) < extra * len(hot))
            dest[moved] = hot[rng.integers(0, len(hot), int(moved.sum()))]
    for f, cum in enumerate(plan.flow_dest):
        sel = flow == f
        dest[sel] = _cum_sample(rng, cum, int(sel.sum()))
    dest[n_reg:] = [o.dest for o in forced]

    cum = plan.cum_source[places.county_idx[dest]]
    src = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(SOURCES) - 1)
    src[n_reg:] = [o.source for o in forced]

    # origins: local, elsewhere in CA, other states, abroad, the border crossings
    rates = np.array([s.origin_rate for s in SOURCES])
    has = rng.random(n) < rates[src]
    u = rng.random(n)
    pop_cum = np.cumsum(places.population) / places.population.sum()
    origin = dest.copy()
    ca = (u >= 0.25) & (u < 0.5)
    origin[ca] = _cum_sample(rng, pop_cum, int(ca.sum()))
    st = (u >= 0.5) & (u < 0.62)
    st_cum = np.cumsum([q for *_, q in w.OUT_OF_STATE])
    origin[st] = origins.state0 + _cum_sample(rng, st_cum / st_cum[-1], int(st.sum()))
    ab = (u >= 0.62) & (u < 0.9)
    ab_cum = np.cumsum([q for _, q in w.ABROAD])
    origin[ab] = origins.abroad0 + _cum_sample(rng, ab_cum / ab_cum[-1], int(ab.sum()))
    bd = u >= 0.9
    calexico = places.index("Calexico")
    origin[bd] = np.where(rng.random(int(bd.sum())) < 0.7, origins.san_ysidro, calexico)
    for f, (ents, fcum) in enumerate(plan.flow_origin):
        sel = flow == f
        origin[sel] = ents[_cum_sample(rng, fcum, int(sel.sum()))]
        has[sel] = True
    origin[~has] = -1

    rt_cum = np.array([np.cumsum([s.rt_weights.get(t, 0.0) for t in RECORD_TYPES])
                       for s in SOURCES])
    rt_cum /= rt_cum[:, -1:]
    rtype = np.minimum((rng.random(n)[:, None] > rt_cum[src]).sum(axis=1), 3)
    victims = rng.choice(np.arange(1, 7), n, p=[0.68, 0.16, 0.08, 0.04, 0.025, 0.015])
    minor = rng.random(n) < np.where(ttype == w.LABOR, 0.05, 0.12)
    starts_c, probs = combo_offsets()
    combo = np.zeros(n, dtype=int)
    for t in range(4):
        sel = ttype == t
        combo[sel] = starts_c[t] + rng.choice(len(probs[t]), int(sel.sum()), p=probs[t])
    crossing = (origin >= origins.abroad0) | (origin == origins.san_ysidro) | (origin == calexico)
    combo[crossing] += len(combos()) // 2

    rates = np.array([s.subject_rate for s in SOURCES])
    has_sub = rng.random(n) < rates[src]
    subject = plan.subject_base[src] + (rng.random(n) * plan.subject_count[src]).astype(np.int64)
    subject[~has_sub] = -1
    kinds = rng.random((n, len(KINDS))) < 0.7
    style = rng.integers(0, 60, (n, 6))
    forced_ix = np.full(n, -1)
    forced_ix[n_reg:] = np.arange(len(forced))
    subject[n_reg:] = -1
    return Core(n=n, month=month, day=day, secs=secs, delay=delay, ttype=ttype, flow=flow,
                dest=dest, src=src, origin=origin, rtype=rtype, victims=victims, minor=minor,
                combo=combo, subject=subject, kinds=kinds, style=style,
                point=rng.integers(0, w.POINTS_PER_PLACE, n), messy=rng.random(n) < messy_rate,
                forced=forced_ix, pick=rng.integers(0, 1 << 30, (n, 2)))


# -------------------------------------------------------------------- tallies

def _new_tally(source_id: str, fmt: str, latin1: bool) -> dict[str, Any]:
    return {"source_id": source_id, "profile": f"profiles/{source_id}.toml", "format": fmt,
            "encoding": "latin-1 (with a UTF-8 byte-order mark), CRLF" if latin1 else "utf-8",
            "rows": 0, "loaded": 0, "updated": 0, "duplicates": 0, "quarantined": 0,
            "quarantine_reasons": {}, "swapped_latlon": 0, "injected_text": 0,
            "origin_only": 0}


def _take_rows(col, order: np.ndarray):
    if isinstance(col, JsonText):
        return JsonText(col.array.take(pa.array(order, pa.int64())))
    return col.take(pa.array(order, pa.int64()))


class _Files:
    """Open writers per (source, file name); per-year files close at a year's end."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.open: dict[str, Any] = {}
        self.tallies: dict[str, dict[str, Any]] = {}
        self.per_year: set[str] = set()

    def rel(self, src, year: int) -> str:
        name = f"{src.file_stem}_{year}" if src.per_year else src.file_stem
        return f"files/{src.source_id}/{name}.{EXT[src.fmt]}"

    def writer(self, src, year: int):
        rel = self.rel(src, year)
        if rel not in self.open:
            path = self.out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            self.open[rel] = open_writer(src.fmt, path, [h for h, _ in src.columns],
                                         sheet=src.sheet, latin1=src.latin1,
                                         name=src.source_id,
                                         numeric=(src.header("victims"),))
            self.tallies[rel] = _new_tally(src.source_id, src.fmt, src.latin1)
            if src.per_year:
                self.per_year.add(rel)
        return rel, self.open[rel]

    def close_year_files(self) -> None:
        for rel in [r for r in self.open if r in self.per_year]:
            self.open.pop(rel).close()

    def close_all(self) -> None:
        for rel in list(self.open):
            self.open.pop(rel).close()


# ------------------------------------------------------------------ generation

def generate_demo(out_dir: Path, *, records: int, seed: int = 7,
                  dirt_rate: float = 0.03) -> dict:
    """Write the demo exports, profiles, registry and ground truth into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Folder to write (its ``files/`` and ``profiles/`` are replaced).
    records : int
        About how many records to generate (rows written differ by the planted
        duplicates, shared-subject rows and the file sent twice).
    seed : int
        The same seed and size give byte-identical files.
    dirt_rate : float
        Share of rows planted bad (quarantined); duplicates, swapped coordinates,
        injected text and stray case scale with it.

    Returns
    -------
    dict
        The ground truth, as written to ``ground_truth.json``.
    """
    if records < 100:
        raise ConfigError(f"records must be at least 100, got {records!r}")
    if not 0.0 <= dirt_rate <= 0.3:
        raise ConfigError(f"dirt_rate must be between 0 and 0.3, got {dirt_rate!r}")
    out_dir = Path(out_dir)
    for sub in ("files", "profiles"):
        if (out_dir / sub).exists():
            shutil.rmtree(out_dir / sub)
    (out_dir / "profiles").mkdir(parents=True, exist_ok=True)

    plan = _plan(records)
    occurrences = _plan_shared(seed, plan) + _plan_circuits(seed, plan)
    months = w.month_list()
    places = w.build_places()
    files = _Files(out_dir)
    serial = np.zeros(len(SOURCES), dtype=np.int64)
    flow_loaded = np.zeros((len(w.FLOWS), len(SOURCES)), dtype=np.int64)
    county_month = np.zeros((len(w.counties()[0]), len(months)), dtype=np.int64)
    source_loaded = np.zeros(len(SOURCES), dtype=np.int64)
    type_loaded = np.zeros(4, dtype=np.int64)
    hotline_rows: Counter[int] = Counter()
    shared_rows: list[tuple[Occurrence, str, dict[str, str]]] = []
    update_rows: list[list[Any]] = []
    upd = [i for i, s in enumerate(SOURCES) if s.source_id == UPDATE_SOURCE][0]
    upd_target = min(5000, max(3, round(plan.expected_rows[upd] * max(dirt_rate, 0.003))))
    upd_p = min(1.0, 1.5 * upd_target / max(plan.expected_rows[upd], 1))
    messy_rate = min(0.3, 2 * dirt_rate)

    chunks = _chunks(records)
    prev_year = None
    for ci, chunk in enumerate(tqdm(chunks, desc="demo", unit="chunk",
                                    disable=settings.quiet())):
        year = months[chunk[0][0]][0]
        if prev_year is not None and year != prev_year:
            files.close_year_files()
        prev_year = year
        month_set = {m for m, _ in chunk}
        forced = [o for o in occurrences if o.month in month_set]
        rng = np.random.default_rng([seed, ci])
        core = _draw(chunk, forced, plan, rng, messy_rate)
        for s, src in enumerate(SOURCES):
            ix = np.flatnonzero(core.src == s)
            if len(ix) == 0:
                continue
            dirty = dirt_rate if not (src.source_id == RESENT_SOURCE and year == RESENT_YEAR) else 0.0
            rows, meta = _source_rows(src, s, core, ix, serial[s], forced, rng, dirty,
                                      dirt_rate)
            serial[s] += len(ix)
            cols = render_rows(src, rows, reasons=src.reasons(),
                               phone_block=plan.phone_blocks[s])
            order = np.sort(np.concatenate([np.arange(len(ix)), np.flatnonzero(meta["dup"])]),
                            kind="stable")
            out = {h: _take_rows(c, order) for h, c in cols.items()}
            rel, writer = files.writer(src, year)
            writer.write(out)

            good = rows.reason < 0
            t = files.tallies[rel]
            t["rows"] += len(order)
            t["loaded"] += int(good.sum())
            t["duplicates"] += int(meta["dup"].sum())
            t["quarantined"] += int((~good).sum())
            reasons = src.reasons()
            for code, cnt in Counter(reasons[i] for i in rows.reason[~good]).items():
                t["quarantine_reasons"][code] = t["quarantine_reasons"].get(code, 0) + cnt
            t["swapped_latlon"] += int(rows.swapped.sum())
            t["injected_text"] += int((rows.inject > 0).sum())
            t["origin_only"] += int(rows.origin_only.sum())

            flows = core.flow[ix]
            for f in range(len(w.FLOWS)):
                flow_loaded[f, s] += int((good & (flows == f)).sum())
            with_dest = good & ~rows.origin_only
            np.add.at(county_month, (places.county_idx[rows.dest[with_dest]],
                                     core.month[ix][with_dest]), 1)
            source_loaded[s] += int(good.sum())
            np.add.at(type_loaded, rows.ttype[good], 1)
            if src.kind == "hotline":
                hotline_rows[year] += len(order)

            f_local = core.forced[ix]
            if (f_local >= 0).any():
                _collect_shared(src, cols, f_local, forced, shared_rows)
            if s == upd:
                cand = np.flatnonzero(good & (f_local < 0) & ~meta["dup"]
                                      & (rng.random(len(ix)) < upd_p))
                cand = cand[: max(0, upd_target - len(update_rows))]
                if len(cand):
                    columns = [_take_rows(c, cand).to_pylist() for c in cols.values()]
                    update_rows.extend([list(r) for r in zip(*columns, strict=True)])
    files.close_all()
    _write_update_file(files, update_rows)
    _write_resent_copy(files)
    for src in SOURCES:
        (out_dir / "profiles" / f"{src.source_id}.toml").write_text(profile_toml(src),
                                                                    encoding="utf-8")
    _write_sources(out_dir)
    operations = _write_operations(out_dir, seed)
    truth = _ground_truth(records=records, seed=seed, dirt_rate=dirt_rate, files=files,
                          flow_loaded=flow_loaded, county_month=county_month,
                          source_loaded=source_loaded, type_loaded=type_loaded,
                          hotline_rows=hotline_rows, shared_rows=shared_rows,
                          operations=operations)
    (out_dir / "ground_truth.json").write_text(
        json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


def _source_rows(src, s: int, core: Core, ix: np.ndarray, serial0: int,
                 forced: list[Occurrence], rng: np.random.Generator, dirty: float,
                 dirt_rate: float) -> tuple[Rows, dict[str, np.ndarray]]:
    """Select one source's rows, plant its dirt and set typing styles."""
    n = len(ix)
    f_local = core.forced[ix]
    eligible = f_local < 0
    reasons = src.reasons()
    bad = eligible & (rng.random(n) < dirty)
    reason = np.where(bad, rng.integers(0, len(reasons), n), -1)
    good = reason < 0
    dup = eligible & good & (rng.random(n) < dirty / 3)
    swapped = (eligible & good & (rng.random(n) < dirty / 3)) if src.point_location \
        else np.zeros(n, bool)
    origin = core.origin[ix]
    origin_only = (eligible & good & (origin >= 0) & (rng.random(n) < 0.02)) \
        if src.kind == "ngo" else np.zeros(n, bool)
    inject = np.where(good & (rng.random(n) < dirt_rate / 2),
                      1 + (rng.random(n) < 0.3).astype(int), 0)
    if not src.has("case"):
        inject[inject == 2] = 1
    if not src.has("contact"):
        inject[:] = 0

    style = core.style[ix].copy()
    style[:, 0] = np.array(src.phone_styles)[style[:, 0] % len(src.phone_styles)]
    style[:, 2] = np.array(src.plate_styles)[style[:, 2] % len(src.plate_styles)]
    messy = core.messy[ix]
    default_name = {"first_last": 0, "last_comma_first": 1, "split": 1}[src.name_style]
    messy_name = {"first_last": (3, 4), "last_comma_first": (2, 4), "split": (0, 0)}[src.name_style]
    style[:, 4] = np.where(messy, np.array(messy_name)[style[:, 4] % 2], default_name)
    style[:, 1] = np.where(messy | (style[:, 1] % 3 == 0), style[:, 1] % 4, 0)
    style[:, 3] = style[:, 3] % 4
    subject = core.subject[ix].copy()
    kinds = core.kinds[ix] & (subject >= 0)[:, None]
    shared = np.full(n, -1)
    for j in np.flatnonzero(f_local >= 0):
        occ = forced[f_local[j]]
        shared[j] = occ.subject
        kinds[j] = [k in occ.kinds for k in KINDS]
        st = occ.style
        style[j, 0] = st % 6
        style[j, 1] = st % 4
        style[j, 2] = st % 4
        style[j, 3] = st % 4
        style[j, 4] = (0, 1, 4, 3, 2)[st % 5] if src.name_style != "split" else st % 2
        messy[j] = False
    n_contacts = max(1, len(src.contacts))
    narrative = np.where(rng.random(n) < 0.4, core.pick[ix, 0] % max(1, len(src.narratives)), -1)
    if not src.narratives:
        narrative[:] = -1
    rows = Rows(
        n=n, serial=serial0 + np.arange(n, dtype=np.int64), day=core.day[ix],
        secs=core.secs[ix], report_delay=core.delay[ix], ttype=core.ttype[ix],
        rtype=core.rtype[ix], dest=core.dest[ix], point=core.point[ix], origin=origin,
        victims=core.victims[ix], minor=core.minor[ix], combo=core.combo[ix],
        subject=subject, shared=shared, kinds=kinds, style=style,
        contact=core.pick[ix, 1] % n_contacts, narrative=narrative, messy=messy,
        reason=reason, swapped=swapped, inject=inject, origin_only=origin_only, rng=rng)
    return rows, {"dup": dup}


def _collect_shared(src, cols, f_local, forced, shared_rows) -> None:
    idx = np.flatnonzero(f_local >= 0)
    values = {h: _take_rows(c, idx).to_pylist() for h, c in cols.items()}
    role_header = {role: h for h, role in src.columns}
    for pos, j in enumerate(idx):
        occ = forced[f_local[j]]
        typed: dict[str, str] = {}
        for kind in occ.kinds:
            if kind == "subject_name+dob":
                if "first" in role_header:
                    name = f"{values[role_header['first']][pos]} {values[role_header['last']][pos]}"
                else:
                    name = values[role_header["name"]][pos]
                typed[kind] = f"{name} / {values[role_header['dob']][pos]}"
            else:
                role = {"phone": "phone", "email": "email", "vehicle_plate": "plate",
                        "ad_handle": "handle"}[kind]
                typed[kind] = values[role_header[role]][pos]
        shared_rows.append((occ, str(values[role_header["record_id"]][pos]), typed))


def _write_update_file(files: _Files, update_rows: list[list[Any]]) -> None:
    src = next(s for s in SOURCES if s.source_id == UPDATE_SOURCE)
    rel = f"files/{src.source_id}/{UPDATE_FILE}"
    headers = [h for h, _ in src.columns]
    vi, ci = headers.index(src.header("victims")), headers.index(src.header("contact"))
    for row in update_rows:
        row[vi] = str(int(row[vi]) + 1)
        others = [c for c in src.contacts if c != row[ci]]
        row[ci] = others[len(row[ci]) % len(others)] if others else f"{row[ci]} (reassigned)"
    writer = open_writer(src.fmt, files.out_dir / rel, headers)
    if update_rows:
        writer.write({h: pa.array([r[i] for r in update_rows], pa.string())
                      for i, h in enumerate(headers)})
    writer.close()
    tally = _new_tally(src.source_id, src.fmt, src.latin1)
    tally.update(rows=len(update_rows), updated=len(update_rows))
    files.tallies[rel] = tally


def _write_resent_copy(files: _Files) -> None:
    src = next(s for s in SOURCES if s.source_id == RESENT_SOURCE)
    rel = files.rel(src, RESENT_YEAR)
    if rel not in files.tallies:
        return
    copy_rel = rel.replace(f"_{RESENT_YEAR}.", f"_{RESENT_YEAR}_resent.")
    shutil.copyfile(files.out_dir / rel, files.out_dir / copy_rel)
    tally = _new_tally(src.source_id, src.fmt, src.latin1)
    rows = files.tallies[rel]["rows"]
    tally.update(rows=rows, duplicates=rows)
    files.tallies[copy_rel] = tally


def _write_sources(out_dir: Path) -> None:
    with open(out_dir / "sources.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["source_id", "name", "kind", "task_force", "contact"])
        for s in SOURCES:
            writer.writerow([s.source_id, s.name, s.kind, s.task_force, s.contact])


# ----------------------------------------------------------------- operations

OP_KINDS = ("raid", "surveillance", "undercover")
CONFLICT_M = 500.0


def _offset(lat: float, lon: float, dist_m: float, bearing: float) -> tuple[float, float]:
    dlat = dist_m * math.cos(bearing) / 111_320
    dlon = dist_m * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _dist_m(a: dict, b: dict) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def _write_operations(out_dir: Path, seed: int) -> dict:
    """Planned operations: planted conflicts, near misses, and unrelated ones."""
    rng = np.random.default_rng([seed, 4242])
    places = w.build_places()
    agencies = [s for s in SOURCES if s.kind in ("law_enforcement", "fusion")]
    big = np.argsort(-places.population, kind="stable")[:60]
    base = np.datetime64("2026-11-02T00:00")
    ops: list[dict] = []

    def new_op(agency, lat, lon, start, hours, radius=None) -> dict:
        op = {"operation_id": f"OP-{len(ops) + 1:04d}", "agency_source_id": agency.source_id,
              "kind": OP_KINDS[int(rng.integers(0, 3))], "lat": lat, "lon": lon,
              "radius_m": int(radius if radius is not None else rng.integers(100, 400)),
              "start": start, "end": start + np.timedelta64(int(hours * 60), "m"),
              "contact": agency.contacts[int(rng.integers(0, len(agency.contacts)))]}
        ops.append(op)
        return op

    def spot():
        p = int(big[rng.integers(0, len(big))])
        k = int(rng.integers(0, w.POINTS_PER_PLACE))
        return float(places.point_lat[p, k]), float(places.point_lng[p, k])

    def when():
        return base + np.timedelta64(int(rng.integers(0, 55 * 24)) * 60, "m")

    def two_agencies():
        i, j = rng.choice(len(agencies), 2, replace=False)
        return agencies[int(i)], agencies[int(j)]

    planted, near = [], []
    for _ in range(6):  # conflicts: overlapping in time, centres 50-250 m apart
        a, b = two_agencies()
        lat, lon = spot()
        start = when()
        op_a = new_op(a, lat, lon, start, 6)
        blat, blon = _offset(lat, lon, float(rng.uniform(50, 250)), float(rng.uniform(0, 6.28)))
        op_b = new_op(b, blat, blon, start + np.timedelta64(90, "m"), 5)
        planted.append([op_a["operation_id"], op_b["operation_id"]])
    for _ in range(3):  # near misses in space: same time, edges 1.5-3 km apart
        a, b = two_agencies()
        lat, lon = spot()
        start = when()
        op_a = new_op(a, lat, lon, start, 6)
        gap = op_a["radius_m"] + 400 + float(rng.uniform(1500, 3000))
        blat, blon = _offset(lat, lon, gap, float(rng.uniform(0, 6.28)))
        op_b = new_op(b, blat, blon, start, 6)
        near.append([op_a["operation_id"], op_b["operation_id"]])
    for _ in range(3):  # near misses in time: same place, the next day
        a, b = two_agencies()
        lat, lon = spot()
        start = when()
        op_a = new_op(a, lat, lon, start, 4)
        op_b = new_op(b, lat, lon, op_a["end"] + np.timedelta64(20, "h"), 4)
        near.append([op_a["operation_id"], op_b["operation_id"]])
    a = agencies[0]  # one agency overlapping itself is not a conflict
    lat, lon = spot()
    start = when()
    op_a = new_op(a, lat, lon, start, 5)
    blat, blon = _offset(lat, lon, 120, 1.0)
    new_op(a, blat, blon, start + np.timedelta64(60, "m"), 5)
    for _ in range(30):  # unrelated
        agency = agencies[int(rng.integers(0, len(agencies)))]
        lat, lon = spot()
        new_op(agency, lat, lon, when(), float(rng.integers(2, 10)))

    conflicts, ambiguous = [], []
    for i, a_op in enumerate(ops):
        for b_op in ops[i + 1:]:
            if a_op["agency_source_id"] == b_op["agency_source_id"]:
                continue
            if not (a_op["start"] < b_op["end"] and b_op["start"] < a_op["end"]):
                continue
            d = _dist_m(a_op, b_op)
            edge_gap = d - a_op["radius_m"] - b_op["radius_m"]
            if d <= CONFLICT_M and edge_gap <= 0:
                conflicts.append([a_op["operation_id"], b_op["operation_id"]])
            elif d <= CONFLICT_M or edge_gap <= CONFLICT_M:
                ambiguous.append([a_op["operation_id"], b_op["operation_id"]])
    ambiguous_ids = {x for pair in ambiguous for x in pair[1:]}
    ops = [op for op in ops if op["operation_id"] not in ambiguous_ids]
    kept = {op["operation_id"] for op in ops}
    conflicts = [p for p in conflicts if p[0] in kept and p[1] in kept]

    with open(out_dir / "operations.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        cols = ["operation_id", "agency_source_id", "kind", "lat", "lon", "radius_m",
                "start", "end", "contact"]
        writer.writerow(cols)
        for op in ops:
            writer.writerow([op["operation_id"], op["agency_source_id"], op["kind"],
                             op["lat"], op["lon"], op["radius_m"], str(op["start"]),
                             str(op["end"]), op["contact"]])
    return {"conflicting_pairs": conflicts, "planted_conflicts": planted,
            "near_misses": [p for p in near if p[0] in kept and p[1] in kept],
            "rule": "different agencies, overlapping [start, end), centres within 500 m "
                    "(every planted pair's circles also overlap; no pair is borderline)"}


# --------------------------------------------------------------- ground truth

def _ground_truth(*, records, seed, dirt_rate, files: _Files, flow_loaded, county_month,
                  source_loaded, type_loaded, hotline_rows, shared_rows, operations) -> dict:
    months = w.month_list()
    fips, county_names, _ = w.counties()
    places = w.build_places()
    origins = w.build_origins()
    order = []
    for src in SOURCES:
        order += sorted(r for r in files.tallies if r.startswith(f"files/{src.source_id}/"))
    for tally in files.tallies.values():
        tally["quarantine_reasons"] = {r: tally["quarantine_reasons"][r] for r in REASONS
                                       if r in tally["quarantine_reasons"]}

    subjects: dict[int, dict] = {}
    for occ, record_id, typed in shared_rows:
        place = (w.CIRCUITS[occ.circuit].places[0] if occ.circuit >= 0
                 else places.name[occ.dest])
        entry = subjects.setdefault(occ.subject, {
            "subject_id": f"S{occ.subject + 1:03d}", "sources": [],
            "identifier_kinds": list(occ.kinds), "typed_forms": defaultdict(list),
            "record_ids": defaultdict(list), "place": place})
        if occ.circuit >= 0:
            entry["circuit"] = w.CIRCUITS[occ.circuit].name
        sid = SOURCES[occ.source].source_id
        if sid not in entry["sources"]:
            entry["sources"].append(sid)
        entry["record_ids"][sid].append(record_id)
        for kind, raw in typed.items():
            entry["typed_forms"][kind].append(raw)
    shared = []
    for k in sorted(subjects):
        entry = subjects[k]
        entry["sources"] = sorted(entry["sources"])
        entry["typed_forms"] = dict(entry["typed_forms"])
        entry["record_ids"] = {s: entry["record_ids"][s] for s in entry["sources"]}
        if len(entry["sources"]) >= 2:
            shared.append(entry)

    flows = []
    for f, flow in enumerate(w.FLOWS):
        o_fips = sorted({origins.county_fips[w.origin_index(n)] or "" for n in flow.origins})
        d_fips = sorted({places.county_fips[places.index(n)] for n in flow.dests})
        flows.append({
            "name": flow.name, "origin_county_fips": o_fips,
            "origin_places": list(flow.origins), "dest_county_fips": d_fips,
            "dest_places": list(flow.dests), "records": int(flow_loaded[f].sum()),
            "by_source": {s.source_id: int(flow_loaded[f, i]) for i, s in enumerate(SOURCES)
                          if flow_loaded[f, i]},
            "expected_corridor": flow.expected_corridor})

    circuits = []
    for c, circuit in enumerate(w.CIRCUITS):
        members = sorted({occ.subject for occ, _, _ in shared_rows if occ.circuit == c})
        circuits.append({
            "name": circuit.name, "shape": circuit.shape, "places": list(circuit.places),
            "county_fips": [places.county_fips[places.index(n)] for n in circuit.places],
            "subjects": len(members),
            "subject_ids": [f"S{k + 1:03d}" for k in members],
            "sources": sorted({SOURCES[occ.source].source_id for occ, _, _ in shared_rows
                               if occ.circuit == c}),
            "hop_days": list(CIRCUIT_HOP_DAYS), "noise_days_before": list(CIRCUIT_NOISE_DAYS)})

    quarter_of = [f"{y}-Q{(m - 1) // 3 + 1}" for y, m in months]
    last_q = sorted(set(quarter_of))[-8:]
    hot = []
    for name, spot_fips in w.HOT_SPOTS:
        c = fips.index(spot_fips)
        by_q: Counter[str] = Counter()
        for mi, q in enumerate(quarter_of):
            if q in last_q:
                by_q[q] += int(county_month[c, mi])
        p = places.index(name)
        hot.append({"county_fips": spot_fips, "county": county_names[c], "place": name,
                    "cell_res6": int(h3.str_to_int(h3.latlng_to_cell(
                        float(places.lat[p]), float(places.lng[p]), 6))),
                    "rise_from": f"{w.HOT_FROM[0]}-{w.HOT_FROM[1]:02d}",
                    "extra_share_by_quarter": list(w.HOT_SHARES),
                    "loaded_by_quarter": {q: by_q[q] for q in last_q}})

    total_types = max(1, int(type_loaded.sum()))
    return {
        "seed": seed, "records": records,
        "rows_written": sum(t["rows"] for t in files.tallies.values()),
        "dirt_rate": dirt_rate, "as_of": w.AS_OF.isoformat(),
        "period": [f"{months[0][0]}-{months[0][1]:02d}", f"{months[-1][0]}-{months[-1][1]:02d}"],
        "file_order": order,
        "files": {rel: files.tallies[rel] for rel in order},
        "shared_subjects": shared,
        "planted_flows": flows,
        "planted_corridors": list(w.PLANTED_CORRIDORS),
        "planted_circuits": circuits,
        "operations": operations,
        "emerging_hot_spots": hot,
        "volumes": {
            "hotline_rows_by_year": {str(y): hotline_rows[y] for y in sorted(hotline_rows)},
            "hotline_published": {str(y): n for y, n in w.PUBLISHED_HOTLINE.items()},
            "loaded_by_source": {s.source_id: int(source_loaded[i])
                                 for i, s in enumerate(SOURCES)},
            "type_mix_loaded": {t: round(int(type_loaded[i]) / total_types, 4)
                                for i, t in enumerate(w.TYPES)},
        },
    }
