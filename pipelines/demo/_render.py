"""Render one source's rows of a chunk into its columns (vectorised).

:class:`Rows` carries the drawn facts for one source's rows of a chunk (indices
into the world's pools) and the planted dirt; :func:`render_rows` turns them into
``{header: pyarrow.Array}`` in the source's own formats and codes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.demo import _world as w
from pipelines.demo._agencies import Source
from pipelines.demo._write import JsonText
from routes.contract.vocabularies import RECORD_TYPES

KINDS = ("phone", "email", "vehicle_plate", "ad_handle", "subject_name+dob")
BAD_DATES = ("31/31/2019", "2019-13-45", "45/13/2021", "2020-02-30", "99/99/9999",
             "2021-00-00", "32-Foo-2020")
BAD_COUNTS = ("-1", "-2", "several", "two")
OUTSIDE = ("Reno, NV", "Las Vegas, NV", "Phoenix, AZ", "Las Vegas NV 89109",
           "Henderson, NV", "Yuma, AZ")
INJECT_CONTACT = (
    "<script>alert(1)</script>", "<b>Det. Ruiz</b>",
    '=HYPERLINK("http://example.org/case","Det. Ruiz")', "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
)
INJECT_CASE = ("=1+1", "<b>2021-0042</b>", "@SUM(A1:A9)", "<img src=x onerror=alert(1)>")
#: Planted subjects (shared ones, then the circuits'); phones stay unique below 58.
N_SHARED_MAX = 56


@dataclass
class Rows:
    """One source's rows in a chunk: facts as integer codes, and planted dirt."""

    n: int
    serial: np.ndarray  # per-source running number
    day: np.ndarray  # occurred, days since 1970
    secs: np.ndarray
    report_delay: np.ndarray
    ttype: np.ndarray
    rtype: np.ndarray  # index into RECORD_TYPES
    dest: np.ndarray  # place index
    point: np.ndarray  # 0..POINTS_PER_PLACE-1
    origin: np.ndarray  # origin entity, -1 none
    victims: np.ndarray
    minor: np.ndarray
    combo: np.ndarray  # combination index (cross-border variant included)
    subject: np.ndarray  # background subject number, -1 none
    shared: np.ndarray  # shared subject number, -1 none
    kinds: np.ndarray  # (n, len(KINDS)) bool: which identifiers are filled
    style: np.ndarray  # (n, 6) int: typing styles per identifier / name
    contact: np.ndarray
    narrative: np.ndarray  # -1 none
    messy: np.ndarray  # bool: stray case and whitespace
    reason: np.ndarray  # -1 valid, else index into the source's REASONS
    swapped: np.ndarray  # bool: lat/lon swapped (valid)
    inject: np.ndarray  # 0 none, 1 contact, 2 case number
    origin_only: np.ndarray  # bool: destination left blank on purpose (valid)
    rng: np.random.Generator


def _s(values) -> pa.Array:
    return pa.array(values, pa.string())


def _take(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    return pool.take(pa.array(idx, pa.int64()))


def _mask_set(arr: pa.Array, mask: np.ndarray, values: pa.Array | list) -> pa.Array:
    """Replace ``arr`` where ``mask`` with ``values`` (one per masked row)."""
    if not mask.any():
        return arr
    if not isinstance(values, pa.Array):
        values = pa.array(values, arr.type)
    return pc.replace_with_mask(arr, pa.array(mask), values.cast(arr.type))


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str], n: int) -> list[str]:
    return [options[i] for i in rng.integers(0, len(options), n)]


POOL_FIRST_DAY = w.month_start_day(1960, 1)
POOL_DAYS = w.month_start_day(2033, 1) - POOL_FIRST_DAY


MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")


@cache
def _day_pool(fmt: str) -> pa.Array:
    """Every day from 1960 to 2032 formatted with ``fmt`` (``%Y %m %d %b`` and text).

    >>> _day_pool("%d-%b-%Y")[int(w.month_start_day(2021, 3)) - POOL_FIRST_DAY + 13].as_py()
    '14-Mar-2021'
    """
    days = (np.arange(POOL_DAYS) + POOL_FIRST_DAY).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    fields = {
        "%Y": pc.cast(pa.array(days.astype("datetime64[Y]").astype(int) + 1970), pa.string()),
        "%m": pc.utf8_lpad(pc.cast(pa.array(months.astype(int) % 12 + 1), pa.string()), 2, "0"),
        "%d": pc.utf8_lpad(pc.cast(pa.array((days - months).astype(int) + 1), pa.string()),
                           2, "0"),
        "%b": _take(_s(MONTH_ABBR), months.astype(int) % 12),
    }
    parts: list[pa.Array | str] = []
    for token in re.split(r"(%.)", fmt):
        if token.startswith("%"):
            if token not in fields:
                raise ValueError(f"unsupported directive {token!r} in demo date format {fmt!r}")
            parts.append(fields[token])
        elif token:
            parts.append(token)
    return pc.binary_join_element_wise(*parts, "")


@cache
def _minute_pool() -> pa.Array:
    return _s([f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)])


def _strftime(days: np.ndarray, secs: np.ndarray, fmt: str) -> pa.Array:
    """Dates as text: pooled per day (Arrow's strftime is slow), ``%H:%M`` appended."""
    date_fmt, sep, time_fmt = fmt.partition(" ")
    if sep and time_fmt != "%H:%M":
        raise ValueError(f"unsupported demo date format {fmt!r}")
    text = _take(_day_pool(date_fmt), np.asarray(days) - POOL_FIRST_DAY)
    if sep:
        text = pc.binary_join_element_wise(text, _take(_minute_pool(), np.asarray(secs) // 60), " ")
    return text


# ------------------------------------------------------------------ identifiers

@cache
def _phone_pool() -> pa.Array:
    out = []
    for area in (*w.AREA_CODES, *w.SHARED_AREA_CODES):
        for line in range(100, 200):
            ln = f"{line:04d}"
            out += [f"({area}) 555-{ln}", f"{area}.555.{ln}", f"+1 {area} 555 {ln}",
                    f"{area}-555-{ln}", f"{area}555{ln}", f"1-{area}-555-{ln}"]
    return _s(out)


@cache
def _name_pools(latin1: bool) -> tuple[pa.Array, pa.Array, pa.Array, list[str], list[str]]:
    """Full-name pool (5 styles), e-mail local parts (lower, Title), first/last lists."""
    firsts = [*w.FIRST, *w.SHARED_FIRST]
    lasts = [*w.LAST, *w.SHARED_LAST]
    if latin1:
        firsts = [w.ACCENTS.get(f, f) for f in firsts]
        lasts = [w.ACCENTS.get(x, x) for x in lasts]
    full, lower, title = [], [], []
    for f in firsts:
        for x in lasts:
            full += [f"{f} {x}", f"{x.upper()}, {f.upper()}", f"{x}, {f}",
                     f"{f.upper()} {x.upper()}", f"{f.lower()} {x.lower()}"]
    for f in (*w.FIRST, *w.SHARED_FIRST):
        for x in (*w.LAST, *w.SHARED_LAST):
            lower.append(f"{f.lower()}.{x.lower()}")
            title.append(f"{f}.{x}")
    return _s(full), _s(lower), _s(title), firsts, lasts


@cache
def _handle_pool() -> pa.Array:
    return _s([f"{a}_{b}" for a in w.HANDLE_A for b in w.HANDLE_B] + list(w.SHARED_HANDLE))


N_HANDLE_BG = len(w.HANDLE_A) * len(w.HANDLE_B)
N_FIRST_BG, N_LAST_BG = len(w.FIRST), len(w.LAST)


@dataclass
class SharedSubject:
    """A planted subject known to several agencies."""

    number: int

    @property
    def first(self) -> int:
        return N_FIRST_BG + self.number % len(w.SHARED_FIRST)

    @property
    def last(self) -> int:
        # the shift by ``number // 24`` keeps (first, last) unique past 24 subjects
        k = len(w.SHARED_LAST)
        return N_LAST_BG + (self.number * 5 + self.number // k) % k

    @property
    def dob(self) -> int:
        return w.month_start_day(1975, 1) + (self.number * 523) % 9000

    @property
    def phone(self) -> int:  # index of (area, line) in the phone pool / 6
        area = len(w.AREA_CODES) + self.number % len(w.SHARED_AREA_CODES)
        return area * 100 + 42 + self.number

    @property
    def plate(self) -> tuple[int, int, int]:
        return 8, 1000 + self.number * 37, self.number * 41 % 1000

    @property
    def handle(self) -> tuple[int, str]:
        k = len(w.SHARED_HANDLE)
        suffix = ["", "2", "_ca"][self.number // k] if self.number < 3 * k else f"_{self.number}"
        return N_HANDLE_BG + self.number % k, suffix


def _identifier_parts(r: Rows, phone_block: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per-row identity numbers: background subjects by formula, shared by table."""
    s = np.maximum(r.subject, 0)
    sh = r.shared >= 0
    k = np.maximum(r.shared, 0)
    subs = [SharedSubject(int(i)) for i in range(N_SHARED_MAX)]
    pick = lambda attr: np.array([getattr(x, attr) for x in subs])  # noqa: E731
    name_bg = s % (N_FIRST_BG * N_LAST_BG)
    first = np.where(sh, pick("first")[k], name_bg % N_FIRST_BG)
    last = np.where(sh, pick("last")[k], name_bg // N_FIRST_BG)
    gen = s // (N_FIRST_BG * N_LAST_BG)
    # for a given name, one-to-one in ``gen``: (name, dob) never repeats
    dob = np.where(sh, pick("dob")[k], w.DOB_BASE + (gen * 7919 + name_bg * 131) % 14000)
    block = np.array(phone_block)
    phone_bg = block[s % len(block)] * 100 + (s // len(block)) % 100
    phone = np.where(sh, pick("phone")[k], phone_bg)
    plates = np.array([x.plate for x in subs])
    # an affine permutation of the plate space (7 digits x 1000 x 23**3 letters;
    # the multiplier shares no factor with it) spreads plates and stays one-to-one
    space = 7 * 1000 * len(w.PLATE_LETTERS)
    t = (s.astype(np.int64) * 1_000_003 + 12_345) % space
    digit = np.where(sh, plates[k, 0], 1 + t % 7)
    letters = np.where(sh, plates[k, 1], t // 7000)
    numbers = np.where(sh, plates[k, 2], (t // 7) % 1000)
    handles = [x.handle for x in subs]
    hbase = np.where(sh, np.array([h[0] for h in handles])[k], s % N_HANDLE_BG)
    # (base, number) is one-to-one with the subject: no two subjects share a handle
    hnum = s // N_HANDLE_BG
    return {"hnum": hnum, "first": first, "last": last, "gen": gen, "dob": dob, "phone": phone,
            "digit": digit, "letters": letters, "numbers": numbers, "hbase": hbase,
            "hsuffix_shared": np.array([h[1] for h in handles], dtype=object)[k]}


def render_identifiers(src: Source, r: Rows, phone_block: tuple[int, ...]) -> dict[str, pa.Array]:
    """Identifier columns by role (``phone``, ``email``, ``plate``, ``handle``,
    ``name``/``first``/``last``, ``dob``), "" where a row carries none."""
    p = _identifier_parts(r, phone_block)
    sh = r.shared >= 0
    full, lower, title, firsts, lasts = _name_pools(src.latin1)
    n_last = len(lasts)
    out: dict[str, pa.Array] = {}
    empty = pa.array([""] * r.n, pa.string())

    def only(kind: str, arr: pa.Array) -> pa.Array:
        return pc.if_else(pa.array(r.kinds[:, KINDS.index(kind)]), arr, empty)

    if src.has("phone"):
        out["phone"] = only("phone", _take(_phone_pool(), p["phone"] * 6 + r.style[:, 0]))
    if src.has("email"):
        combo = p["first"] * n_last + p["last"]
        num = pc.cast(pa.array(p["gen"]), pa.string())
        num = pc.if_else(pa.array(sh), pa.array([""] * r.n, pa.string()), num)
        lo = pc.binary_join_element_wise(_take(lower, combo), num, "@example.org", "")
        ti = pc.binary_join_element_wise(_take(title, combo), num, "@Example.org", "")
        email = pc.choose(pa.array(r.style[:, 1] % 4, pa.int8()), lo, ti,
                          pc.utf8_upper(lo), pc.binary_join_element_wise(" ", lo, " ", ""))
        out["email"] = only("email", email)
    if src.has("plate"):
        digit = pc.cast(pa.array(p["digit"]), pa.string())
        letters = _take(w.PLATE_LETTERS, p["letters"])
        nums = pc.utf8_lpad(pc.cast(pa.array(p["numbers"]), pa.string()), 3, "0")
        plain = pc.binary_join_element_wise(digit, letters, nums, "")
        plate = pc.choose(
            pa.array(r.style[:, 2] % 4, pa.int8()), plain,
            pc.binary_join_element_wise(digit, letters, " ", nums, ""),
            pc.utf8_lower(plain), pc.binary_join_element_wise(digit, letters, nums, "-"))
        out["plate"] = only("vehicle_plate", plate)
    if src.has("handle"):
        base = _take(_handle_pool(), p["hbase"])
        suffix = pc.if_else(pa.array(sh), pa.array(list(p["hsuffix_shared"]), pa.string()),
                            pc.cast(pa.array(p["hnum"]), pa.string()))
        plain = pc.binary_join_element_wise(base, suffix, "")
        handle = pc.choose(pa.array(r.style[:, 3] % 4, pa.int8()), plain,
                           pc.binary_join_element_wise("@", plain, ""), pc.utf8_upper(plain),
                           pc.binary_join_element_wise(plain, " ", ""))
        out["handle"] = only("ad_handle", handle)
    if src.has("name") or src.has("first"):
        if src.has("first"):
            upper = r.style[:, 4] != 0
            f = _take(_s(firsts), p["first"])
            x = _take(_s(lasts), p["last"])
            out["first"] = only("subject_name+dob", pc.if_else(pa.array(upper), pc.utf8_upper(f), f))
            out["last"] = only("subject_name+dob", pc.if_else(pa.array(upper), pc.utf8_upper(x), x))
        else:
            idx = (p["first"] * n_last + p["last"]) * 5 + r.style[:, 4]
            out["name"] = only("subject_name+dob", _take(full, idx))
        if src.has("dob"):
            out["dob"] = only("subject_name+dob",
                              _strftime(p["dob"], np.zeros(r.n, int), src.dob_fmt))
    return out


# ---------------------------------------------------------------- the columns

@cache
def _code_pool(codes: tuple[tuple[str, str], ...], contract: tuple[str, ...]):
    """Codes as a pool (clean, lower, leading space, trailing space per code), with
    each contract value's first position and number of synonym codes."""
    flat: list[str] = []
    start: list[int] = []
    count: list[int] = []
    for value in contract:
        mine = [c for c, v in codes if v == value] or [next(iter(codes))[0]]
        start.append(len(flat))
        count.append(len(mine))
        flat += mine
    pool = _s([v for c in flat for v in (c, c.lower(), f" {c}", f"{c} ")])
    return pool, np.array(start), np.array(count)


def _codes(rng, codes: dict[str, str], contract: tuple[str, ...], values: np.ndarray,
           messy: np.ndarray) -> pa.Array:
    pool, start, count = _code_pool(tuple(codes.items()), contract)
    pick = start[values] + (rng.random(len(values)) * count[values]).astype(int)
    variant = np.where(messy, rng.integers(1, 4, len(values)), 0)
    return _take(pool, pick * 4 + variant)


@cache
def combos() -> list[tuple[str, ...]]:
    """Every indicator combination; the second half adds ``cross_border``."""
    base = [c for t in range(4) for c, _ in w.COMBOS[t]]
    return base + [(*c, "cross_border") for c in base]


@cache
def combo_offsets() -> tuple[np.ndarray, list[np.ndarray]]:
    """Start of each trafficking type's combos, and their probabilities."""
    starts, probs, at = [], [], 0
    for t in range(4):
        starts.append(at)
        p = np.array([q for _, q in w.COMBOS[t]])
        probs.append(p / p.sum())
        at += len(p)
    return np.array(starts), probs


_INDICATOR_POOLS: dict[str, pa.Array] = {}


def _indicator_pool(src: Source) -> pa.Array:
    """Each combination rendered clean and messy, in the source's codes."""
    if src.source_id not in _INDICATOR_POOLS:
        _INDICATOR_POOLS[src.source_id] = _render_indicator_pool(src)
    return _INDICATOR_POOLS[src.source_id]


def _render_indicator_pool(src: Source) -> pa.Array:
    out = []
    for combo in combos():
        codes = [src.indicator_codes[i] for i in combo]
        if src.fmt == "json":
            out += [json.dumps(codes), json.dumps(codes)]  # a JSON list: no case games
        else:
            sep = src.list_sep
            out += [sep.join(codes),
                    (f" {sep.strip()} " if sep.strip() else sep).join(c.lower() for c in codes)]
    return _s(out)


def render_rows(src: Source, r: Rows, *, reasons: tuple[str, ...],
                phone_block: tuple[int, ...]) -> dict[str, pa.Array | JsonText]:
    """The source's columns for ``r``, in file order."""
    places, origins = w.build_places(), w.build_origins()
    rng = r.rng
    reason = np.array([reasons[i] if i >= 0 else "" for i in r.reason], dtype=object)
    is_ = lambda code: reason == code  # noqa: E731
    no_loc = is_("missing_location")
    no_dest = no_loc | r.origin_only
    typed = src.typed
    idents = render_identifiers(src, r, phone_block) if src.id_kinds else {}
    out: dict[str, pa.Array | JsonText] = {}

    # dates: occurred carries the planted date faults (reported when none)
    date_role = "occurred" if src.has("occurred") else "reported"
    occ_day = r.day.copy()
    fut, old = is_("future_date"), is_("too_old_date")
    occ_day[fut] = w.month_start_day(2031, 1) + rng.integers(0, 365, fut.sum())
    occ_day[old] = w.month_start_day(1975, 1) + rng.integers(0, 365 * 13, old.sum())
    rep_day = np.minimum(r.day + r.report_delay, w.month_start_day(2026, 11) - 1)
    rep_secs = (r.secs + 3600 * 9) % 86400

    for header, role in src.columns:
        if role == "record_id":
            text = pc.utf8_lpad(pc.cast(pa.array(r.serial + src.id_base), pa.string()),
                                src.id_width, "0")
            arr = pc.binary_join_element_wise(src.id_prefix, text, "")
            arr = _mask_set(arr, is_("missing_record_id"), [""] * int(is_("missing_record_id").sum()))
        elif role in ("occurred", "reported"):
            if role == date_role:
                days = occ_day if role == "occurred" else occ_day + (rep_day - r.day)
            else:
                days = r.day if role == "occurred" else rep_day
            secs = r.secs if role == "occurred" else rep_secs
            fmt = src.occurred_fmt if role == "occurred" else src.reported_fmt
            if src.typed_dates:
                arr = pa.array(days.astype("int64") * 86_400_000 + secs.astype("int64") * 1000,
                               pa.timestamp("ms"))
            else:
                arr = _strftime(days, secs, fmt)
                if role == date_role:
                    bad = is_("bad_date")
                    arr = _mask_set(arr, bad, _pick(rng, BAD_DATES, int(bad.sum())))
        elif role == "record_type":
            arr = _codes(rng, src.record_types, RECORD_TYPES, r.rtype, r.messy)
        elif role == "ttype":
            arr = _codes(rng, src.ttype_codes, w.TYPES, r.ttype, r.messy)
            bad = is_("bad_enum")
            arr = _mask_set(arr, bad, _pick(rng, src.bad_ttype, int(bad.sum())))
        elif role == "location":
            nv = len(w.LOC_VARIANTS)
            variant = rng.choice(len(w.LOC_CLEAN_P), r.n, p=w.LOC_CLEAN_P)
            variant = np.where(r.messy, rng.choice(w.LOC_MESSY, r.n), variant)
            arr = _take(places.loc_pool, r.dest * nv + variant)
            arr = _bad_text_location(arr, no_dest, is_, rng)
        elif role == "city":
            style = np.where(r.messy, rng.integers(1, 4, r.n), 0)
            arr = _take(places.city_pool, r.dest * 4 + style)
            arr = _bad_text_location(arr, no_dest, is_, rng)
        elif role == "zip":
            u = rng.random(r.n)
            arr = _take(places.zip_pool, r.dest * 2 + (u < 0.06))
            arr = _blank(arr, (u > 0.7) | no_dest | is_("outside_california")
                         | is_("unresolvable_location"))
        elif role == "address":
            arr = _take(places.addr_pool, r.dest * 3 + rng.integers(0, 3, r.n))
            arr = _blank(arr, (rng.random(r.n) > 0.4) | no_dest | is_("outside_california")
                         | is_("unresolvable_location"))
        elif role == "county":
            arr = _take(places.county_name_pool, r.dest)
            arr = _blank(arr, (rng.random(r.n) > 0.5) | no_dest | is_("outside_california")
                         | is_("unresolvable_location"))
        elif role in ("lat", "lon"):
            lat = places.point_lat[r.dest, r.point]
            lon = places.point_lng[r.dest, r.point]
            if role == "lat":
                val = np.where(r.swapped, lon, lat)
            else:
                val = np.where(r.swapped, lat, lon)
            bad = is_("bad_coordinates")
            if role == "lat":
                val[bad] = np.round(95 + 4 * rng.random(bad.sum()), 5)
            else:
                val[bad] = np.round(-190 - 9 * rng.random(bad.sum()), 5)
            arr = pa.array(val, pa.float64(), mask=no_dest)
        elif role == "origin":
            variant = np.where(r.messy, rng.integers(1, 4, r.n), 0)
            arr = _take(origins.pool, np.maximum(r.origin, 0) * 4 + variant)
            arr = _blank(arr, (r.origin < 0) | no_loc)
        elif role == "origin_country":
            names = _s(["United States" if c == "US" else c for c in origins.country])
            arr = _blank(_take(names, np.maximum(r.origin, 0)), (r.origin < 0) | no_loc)
        elif role == "victims":
            bad = is_("bad_count")
            if typed and src.fmt != "xlsx":  # XLSX: numbers, or text a clerk typed
                vals = r.victims.copy()
                vals[bad] = -rng.integers(1, 4, bad.sum())
                arr = pa.array(vals, pa.int32())
            else:
                arr = _mask_set(pc.cast(pa.array(r.victims), pa.string()), bad,
                                _pick(rng, BAD_COUNTS, int(bad.sum())))
        elif role == "minor":
            if src.minor_codes is None:
                arr = pa.array(r.minor, pa.bool_())
            else:
                yes, no = src.minor_codes
                arr = pc.if_else(pa.array(r.minor), yes, no)
        elif role == "indicators":
            arr = _take(_indicator_pool(src), r.combo * 2 + r.messy)
            if src.fmt == "json":
                out[header] = JsonText(arr)
                continue
        elif role in ("phone", "email", "plate", "handle", "name", "first", "last", "dob"):
            arr = idents[role]
        elif role == "contact":
            arr = _take(_s(src.contacts), r.contact)
            sel = r.inject == 1
            arr = _mask_set(arr, sel, _pick(rng, INJECT_CONTACT, int(sel.sum())))
        elif role == "case":
            year = (r.day // 365.2425 + 1970).astype(int)
            arr = pc.binary_join_element_wise(
                src.case_prefix, pc.cast(pa.array(year % 100), pa.string()), "-",
                pc.utf8_lpad(pc.cast(pa.array(r.serial % 1_000_000), pa.string()), 6, "0"), "")
            sel = r.inject == 2
            arr = _mask_set(arr, sel, _pick(rng, INJECT_CASE, int(sel.sum())))
        elif role == "narrative":
            arr = _blank(_take(_s(src.narratives or ("",)), np.maximum(r.narrative, 0)),
                         r.narrative < 0)
        elif role == "client_hash":
            h = (r.serial.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(0xA5A5A5A5)
            arr = _s([f"{int(x):016x}" for x in h])
        elif role.startswith("const:"):
            arr = pa.array([role[6:]] * r.n, pa.string())
        else:
            raise ValueError(f"unknown column role {role!r}")
        out[header] = arr
    return out


def _blank(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar("", pa.string()), arr)


def _bad_text_location(arr: pa.Array, no_dest: np.ndarray, is_, rng) -> pa.Array:
    arr = _blank(arr, no_dest)
    out = is_("outside_california")
    arr = _mask_set(arr, out, _pick(rng, OUTSIDE, int(out.sum())))
    unres = is_("unresolvable_location")
    gib = [f"zzqx-unknown-{n:04d}" for n in rng.integers(0, 10000, int(unres.sum()))]
    return _mask_set(arr, unres, gib)
