"""Coordinates in text: decimal, degrees-minutes-seconds, hemispheres, swapped order.

:func:`text_to_latlng` finds a coordinate pair in a string and returns it as
``(lat, lng)`` with a note of what it had to fix (a swapped pair, a missing minus
sign on a California longitude). It never raises.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: California's bounding box, used to detect swapped pairs and dropped signs.
CA_LAT = (32.0, 42.1)
CA_LNG = (-124.6, -114.0)

_RUN = re.compile(r"[-+0-9NSEW.,;:/°º˚'\"′″’”\s]+")
_TOKEN = re.compile(r"[-+]?\d+(?:\.\d+)?|[NSEW]|[,;/]")
_WORDS = re.compile(
    r"\b(LATITUDE|LONGITUDE|LAT|LNG|LON|LONG|GPS|COORDS?|COORDINATES|AT|NEAR|LOCATION|LOC|POINT|PT)\b"
)
_DECIMAL = re.compile(r"\d\.\d")
_SYMBOL = re.compile(r"[°º˚'\"′″’”]")


class LatLng(NamedTuple):
    """A parsed coordinate pair and what was fixed on the way."""

    lat: float
    lng: float
    fixed: str | None


def in_california_box(lat: float, lng: float) -> bool:
    """Whether ``(lat, lng)`` falls in California's bounding box.

    >>> in_california_box(37.77, -122.41), in_california_box(-122.41, 37.77)
    (True, False)
    """
    return CA_LAT[0] <= lat <= CA_LAT[1] and CA_LNG[0] <= lng <= CA_LNG[1]


def _component(numbers: list[float], signs: list[bool]) -> float | None:
    if not 1 <= len(numbers) <= 3:
        return None
    deg, minutes, seconds = (numbers + [0.0, 0.0])[:3]
    if len(numbers) > 1 and (deg != int(deg) or not 0 <= minutes < 60 or not 0 <= seconds < 60):
        return None
    value = abs(deg) + minutes / 60 + seconds / 3600
    return -value if any(signs) else value


def _split_components(tokens: list[str]) -> list[tuple[list[float], bool, str | None]]:
    """Group number tokens into components; each carries its sign and hemisphere."""
    letters_first = tokens[0] in "NSEW"
    comps: list[tuple[list[float], bool, str | None]] = []
    nums: list[float] = []
    neg = False
    hemi: str | None = None
    has_letters = any(t in ("N", "S", "E", "W") for t in tokens)
    has_seps = any(t in (",", ";", "/") for t in tokens)

    def close() -> None:
        nonlocal nums, neg, hemi
        if nums:
            comps.append((nums, neg, hemi))
        nums, neg, hemi = [], False, None

    for tok in tokens:
        if tok in ("N", "S", "E", "W"):
            if letters_first:
                close()
                hemi = tok
            else:
                hemi = tok
                close()
        elif tok in (",", ";", "/"):
            if not has_letters or not letters_first:
                close()
        else:
            if tok.startswith("-") and nums:
                close()
            value = float(tok)
            if tok.startswith("-"):
                neg = True
            nums.append(abs(value))
    close()
    if not has_letters and not has_seps and len(comps) == 1:
        numbers, neg0, _ = comps[0]
        half = len(numbers) // 2
        if len(numbers) in (2, 4, 6):
            comps = [(numbers[:half], neg0, None), (numbers[half:], False, None)]
    return comps


def text_to_latlng(text: str) -> LatLng | None:
    """Find a coordinate pair in ``text``; ``None`` when there is none.

    >>> text_to_latlng("37.7749, -122.4194")
    LatLng(lat=37.7749, lng=-122.4194, fixed=None)
    >>> text_to_latlng("-122.4194, 37.7749").fixed
    'swapped lat/lon'
    >>> round(text_to_latlng('34°03\\'08"N 118°14\\'37"W').lng, 4)
    -118.2436
    >>> text_to_latlng("1234 Main St") is None
    True
    """
    upper = _WORDS.sub(" ", text.upper())
    for match in _RUN.finditer(upper):
        found = _run_to_latlng(match.group())
        if found is None:
            continue
        rest = upper[: match.start()] + upper[match.end() :]
        if in_california_box(found.lat, found.lng) or not re.search(r"[A-Z]{2}", rest):
            return found
    return None


def _run_to_latlng(run: str) -> LatLng | None:
    tokens = _TOKEN.findall(run)
    if sum(1 for t in tokens if t[-1].isdigit()) < 2:
        return None
    if not (_DECIMAL.search(run) or _SYMBOL.search(run) or any(t in "NSEW" for t in tokens if t)):
        return None
    while tokens and tokens[0] in (",", ";", "/"):
        tokens.pop(0)
    if not tokens:
        return None
    comps = _split_components(tokens)
    if len(comps) != 2:
        return None
    has_letters = any(hemi for _, _, hemi in comps)
    if has_letters and not all(hemi for _, _, hemi in comps):
        return None
    values: list[tuple[float, str | None]] = []
    for numbers, neg, hemi in comps:
        value = _component(numbers, [neg, hemi in ("S", "W")])
        if value is None:
            return None
        values.append((value, hemi))
    (a, ha), (b, hb) = values
    if ha in ("E", "W") or hb in ("N", "S"):
        a, b = b, a
        ha, hb = hb, ha
    return _fix_pair(a, b, letters=bool(ha or hb))


def _fix_pair(lat: float, lng: float, *, letters: bool) -> LatLng | None:
    if in_california_box(lat, lng):
        return LatLng(lat, lng, None)
    if not letters:
        if in_california_box(lng, lat):
            return LatLng(lng, lat, "swapped lat/lon")
        if in_california_box(lat, -lng):
            return LatLng(lat, -lng, "longitude sign added")
        if in_california_box(lng, -lat):
            return LatLng(lng, -lat, "swapped lat/lon, longitude sign added")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        if not letters and -90 <= lng <= 90 and -180 <= lat <= 180:
            return LatLng(lng, lat, "swapped lat/lon")
        return None
    return LatLng(lat, lng, None)
