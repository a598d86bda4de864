"""Per-row validation of mapped records, vectorised over a chunk.

Every check returns a boolean mask on the chunk's index; :func:`reasons_lists`
turns the masks into each row's list of quarantine reasons, in the order of
:data:`REASONS` (ground truth counts a row under its first reason). Each distinct
text value (a date, a code) is parsed once, however many rows carry it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa

#: Quarantine reason codes, in the order a row's first reason is chosen.
REASONS = (
    "missing_record_id", "missing_location", "bad_date", "future_date", "too_old_date",
    "bad_enum", "bad_count", "bad_coordinates", "outside_california", "unresolvable_location",
)

#: Dates before this are absurd for this domain.
OLDEST_DATE = pd.Timestamp("1990-01-01")

#: Formats tried, in order, after a profile's own and before the generic parser.
COMMON_DATE_FORMATS = (
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%y",
    "%Y/%m/%d", "%d-%b-%Y", "%b %d, %Y", "%B %d, %Y", "%d %B %Y", "%Y%m%d",
)

#: Largest believable victim count on one record.
MAX_VICTIM_COUNT = 500

_TRUE = {"true", "t", "yes", "y", "1", "x"}
_FALSE = {"false", "f", "no", "n", "0"}


def text(values: pd.Series) -> pd.Series:
    """Strings stripped of surrounding space, blanks as missing (``str`` dtype)."""
    out = values.astype("str").str.strip()
    return out.where(values.notna() & (out != ""))


def _by_unique(values: pd.Series, parse) -> pd.Series:  # type: ignore[no-untyped-def]
    """Apply ``parse`` (a Series of distinct values → same length) to each value once."""
    codes, uniques = pd.factorize(values)
    parsed = parse(pd.Series(uniques, dtype=object))
    missing = pd.Series([None], dtype=parsed.dtype)
    table = pd.concat([parsed.reset_index(drop=True), missing], ignore_index=True)
    return pd.Series(table.iloc[codes].to_numpy(), index=values.index)  # code -1 → missing


def parse_dates(values: pd.Series, *, formats: Sequence[str] = ()) -> tuple[pd.Series, pd.Series]:
    """Parse dates or datetimes given in several formats.

    Returns ``(parsed, bad)``: naive ``datetime64`` values (times with an offset
    are converted to UTC) and a mask of non-blank values that parse as nothing.

    >>> parsed, bad = parse_dates(pd.Series(["03/04/2024", "2024-03-05", "soon", None]))
    >>> [str(d.date()) if not pd.isna(d) else None for d in parsed], bad.tolist()
    (['2024-03-04', '2024-03-05', None, None], [False, False, True, False])
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
        if getattr(values.dt, "tz", None) is not None:
            parsed = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return parsed.astype("datetime64[us]"), pd.Series(False, index=values.index)
    given = text(values)
    codes, uniques = pd.factorize(given)
    todo = pd.notna(uniques)
    table = np.full(len(uniques) + 1, np.datetime64("NaT"), dtype="datetime64[us]")  # last: missing
    if todo.any():
        candidates = pd.Series(uniques, dtype=object)
        for fmt in (*formats, "ISO8601", *COMMON_DATE_FORMATS, "mixed"):
            got = pd.to_datetime(candidates[todo], format=fmt, errors="coerce", utc=True)
            hit = got.notna().to_numpy()
            if hit.any():
                where = np.flatnonzero(todo)[hit]
                table[where] = got.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")[hit]
                todo[where] = False
            if not todo.any():
                break
    parsed = pd.Series(table[codes], index=values.index)  # code -1 → missing
    bad = given.notna() & parsed.isna()
    return parsed, bad.astype(bool)


def date_reasons(parsed: pd.Series, *, now: datetime) -> tuple[pd.Series, pd.Series]:
    """``(future, too_old)`` masks: after ``now`` (one day of slack), before 1990."""
    future = (parsed > pd.Timestamp(now) + pd.Timedelta(days=1)).fillna(False)
    too_old = (parsed < OLDEST_DATE).fillna(False)
    return future.astype(bool), too_old.astype(bool)


def map_codes(values: pd.Series, table: Mapping[str, str] | None) -> pd.Series:
    """Source codes replaced by contract values (exact match, then case-insensitive).

    >>> map_codes(pd.Series(["ST", "lt", "x"]), {"ST": "sex", "LT": "labor"}).tolist()
    ['sex', 'labor', 'x']
    """
    given = text(values)
    if not table:
        return given
    exact = given.map(dict(table))
    folded = {str(k).strip().lower(): v for k, v in table.items()}
    loose = given.str.lower().map(folded)
    return exact.fillna(loose).fillna(given).astype("str").where(given.notna())


def parse_enum(
    values: pd.Series, allowed: Sequence[str], *, table: Mapping[str, str] | None = None
) -> tuple[pd.Series, pd.Series]:
    """``(value, bad)``: mapped, lower-cased values; ``bad`` where not in ``allowed``."""
    mapped = map_codes(values, table).str.lower().str.replace(r"[\s-]+", "_", regex=True)
    bad = mapped.notna() & ~mapped.isin(list(allowed))
    return mapped.where(~bad), bad.astype(bool)


def parse_bools(
    values: pd.Series, *, table: Mapping[str, str] | None = None
) -> tuple[pd.Series, pd.Series]:
    """``(flag, bad)``: yes/no/true/false/1/0/y/n (any case) as a nullable boolean."""
    mapped = map_codes(values, table).str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[mapped.isin(list(_TRUE)).to_numpy()] = True
    out[mapped.isin(list(_FALSE)).to_numpy()] = False
    bad = mapped.notna() & out.isna()
    return out, bad.astype(bool)


def parse_counts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(count, bad)``: whole numbers from 0 to :data:`MAX_VICTIM_COUNT`.

    >>> parse_counts(pd.Series(["2", "2.0", "-1", "many", None]))[1].tolist()
    [False, False, True, True, False]
    """
    given = text(values)
    number = pd.to_numeric(given, errors="coerce")
    ok = number.notna() & (number % 1 == 0) & (number >= 0) & (number <= MAX_VICTIM_COUNT)
    bad = given.notna() & ~ok
    out = number.where(ok).astype("Int32")
    return out, bad.astype(bool)


def parse_indicators(
    values: pd.Series, *, separator: str | None = None, table: Mapping[str, str] | None = None
) -> pd.Series:
    """Indicator lists from text: a JSON array or codes split on ``separator``.

    Codes are mapped through ``table``, then written in lower snake case; the
    list is de-duplicated and sorted. Blank gives an empty list.

    >>> parse_indicators(pd.Series(['["Motel", "drugs"]', "MOT;Online Ads", None]),
    ...                  separator=";", table={"MOT": "motel"}).tolist()
    [['drugs', 'motel'], ['motel', 'online_ads'], []]
    """
    given = text(values)
    folded = {str(k).strip().lower(): v for k, v in (table or {}).items()}
    exact = dict(table or {})
    splitter = re.compile(re.escape(separator) if separator else r"[;,|]")

    def one(raw: object) -> list[str]:
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            return []
        s = str(raw)
        items: list[object]
        if s.startswith("["):
            try:
                items = list(json.loads(s))
            except ValueError:
                items = splitter.split(s.strip("[]"))
        else:
            items = splitter.split(s)
        out = set()
        for item in items:
            code = str(item).strip().strip("'\"")
            if not code:
                continue
            value = exact.get(code) or folded.get(code.lower()) or code
            out.add(re.sub(r"[\s-]+", "_", value.strip().lower()))
        return sorted(out)

    codes, uniques = pd.factorize(given)
    lists = [one(u) for u in uniques]
    lists.append([])
    picked = [lists[c] for c in codes]
    return pd.Series(picked, index=values.index, dtype=object)


def parse_coordinates(
    lat: pd.Series, lon: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """``(lat, lon, bad, swapped)`` as floats; swapped pairs are corrected.

    A pair is swapped when the latitude reads as a longitude (California:
    latitude 32..42, longitude -125..-114) or when it only makes sense the other
    way round. ``bad``: only one of the two given, not numbers, off the globe, or 0,0.

    >>> la, lo, bad, sw = parse_coordinates(pd.Series(["-118.2", "91", "x"]),
    ...                                     pd.Series(["34.0", "95", "1"]))
    >>> la.tolist()[0], lo.tolist()[0], bad.tolist(), sw.tolist()
    (34.0, -118.2, [False, True, True], [True, False, False])
    """
    lat_t, lon_t = text(lat), text(lon)
    la = pd.to_numeric(lat_t, errors="coerce").astype("float64")
    lo = pd.to_numeric(lon_t, errors="coerce").astype("float64")
    given = lat_t.notna() | lon_t.notna()
    ca_swapped = la.between(-125.0, -113.0) & lo.between(32.0, 43.0)
    off = (la.abs() > 90) & (lo.abs() <= 90)
    swapped = (ca_swapped | off).fillna(False).astype(bool)
    la2 = la.where(~swapped, lo)
    lo2 = lo.where(~swapped, la)
    ok = (
        la2.between(-90.0, 90.0) & lo2.between(-180.0, 180.0) & ~((la2 == 0) & (lo2 == 0))
    ).fillna(False)
    bad = (given & ~ok).astype(bool)
    return la2.where(ok), lo2.where(ok), bad, swapped & ok


def has_location(frame: pd.DataFrame, *, prefix: str = "") -> pd.Series:
    """Whether any location field of one side (``prefix`` ``""`` or ``"origin_"``) is given."""
    present = pd.Series(False, index=frame.index)
    for name in ("location", "address", "city", "zip", "county", "lat", "lon"):
        col = prefix + name
        if col in frame.columns:
            present |= text(frame[col]).notna()
    return present


@dataclass
class Reasons:
    """Quarantine reason masks of a chunk, by code."""

    index: pd.Index
    masks: dict[str, pd.Series]

    def add(self, code: str, mask: pd.Series) -> None:
        """Flag ``code`` where ``mask`` is true (adds to earlier flags)."""
        if code not in REASONS:
            raise ValueError(f"unknown quarantine reason {code!r}; reasons are {', '.join(REASONS)}")
        mask = mask.reindex(self.index, fill_value=False).astype(bool)
        self.masks[code] = self.masks[code] | mask if code in self.masks else mask

    @property
    def any(self) -> pd.Series:
        """Rows with at least one reason."""
        out = pd.Series(False, index=self.index)
        for mask in self.masks.values():
            out |= mask
        return out

    def arrow_lists(self) -> pd.Series:
        """:meth:`lists` as an Arrow ``list<string>`` column, built without a Python loop."""
        order = [c for c in REASONS if c in self.masks]
        n = len(self.index)
        if order:
            matrix = np.column_stack([self.masks[c].to_numpy(dtype=bool) for c in order])
        else:
            matrix = np.zeros((n, 0), dtype=bool)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(matrix.sum(axis=1), out=offsets[1:])
        _, cols = np.nonzero(matrix)  # row by row, each row's codes in REASONS order
        names = pa.array(order, type=pa.string()).take(pa.array(cols, type=pa.int64()))
        lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), names)
        return pd.Series(pd.arrays.ArrowExtensionArray(lists), index=self.index)

    def lists(self) -> pd.Series:
        """Each row's reasons in :data:`REASONS` order (empty list for a good row)."""
        flagged = self.any.to_numpy()
        values = np.empty(len(self.index), dtype=object)
        for i in range(len(values)):
            values[i] = []
        if flagged.any():
            order = [c for c in REASONS if c in self.masks]
            matrix = np.column_stack([self.masks[c].to_numpy() for c in order])
            for i in np.flatnonzero(flagged).tolist():
                values[i] = [order[j] for j in np.flatnonzero(matrix[i])]
        return pd.Series(values, index=self.index, dtype=object)
