"""Text normalisation shared by the gazetteer and the geocoder.

Both sides (the names in ``data/reference/`` and what people type) go through the
same steps, so that "St. Helena", "Saint Helena" and "ST HELENA" give one key:
accents dropped, lower case, dotted initials joined ("L.A." → "la"), punctuation
to spaces, abbreviations expanded (Mt. → mount, Ft. → fort, St. → saint,
So. → south, Co. → county) and numerals unified ("Twentynine" → "29").
"""

from __future__ import annotations

import re
import unicodedata

#: Abbreviations people write in place names, expanded on both sides.
ABBREVIATIONS: dict[str, str] = {
    "mt": "mount",
    "mtn": "mountain",
    "ft": "fort",
    "st": "saint",
    "ste": "sainte",
    "sta": "santa",
    "pt": "point",
    "so": "south",
    "no": "north",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "hts": "heights",
    "spgs": "springs",
    "spg": "springs",
    "bch": "beach",
    "vly": "valley",
    "lk": "lake",
    "co": "county",
    "cnty": "county",
    "cty": "city",
}

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
#: Number words to digits ("twentynine" → "29", "thousand" → "1000").
NUMBER_WORDS: dict[str, str] = {w: str(n) for w, n in {**_UNITS, **_TEENS, **_TENS}.items()}
NUMBER_WORDS.update({t + u: str(tn + un) for t, tn in _TENS.items() for u, un in _UNITS.items()})
NUMBER_WORDS["thousand"] = "1000"
NUMBER_WORDS["hundred"] = "100"

#: Street suffixes: a name directly before one of these is a street, not a place.
STREET_SUFFIXES = frozenset(
    "st street ave av avenue blvd boulevard rd road dr drive ln lane way wy hwy highway "
    "pkwy parkway ct court pl place cir circle ter terrace trl trail expy expressway fwy "
    "freeway plz plaza sq square aly alley row loop".split()
)

#: Street types in the plural ("76th and Figueroa streets") and words that make a
#: name before them a corridor or a region rather than the town ("Holt Corridor").
STREET_PLURALS = frozenset("streets avenues boulevards roads drives highways freeways".split())
CORRIDOR_WORDS = frozenset("corridor corridors valley sector checkpoint".split())

_DOTTED_INITIAL = re.compile(r"\b([a-z])\.\s?(?=[a-z]\.)")
_POSSESSIVE = re.compile(r"(?<=[a-z])['’`´]s\b")
_APOSTROPHE = re.compile(r"['’`´]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def strip_accents(text: str) -> str:
    """Drop accents and other combining marks ("Cañada" → "Canada").

    >>> strip_accents("La Cañada Flintridge")
    'La Canada Flintridge'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def raw_tokens(text: str) -> list[str]:
    """Lower-case word tokens with dotted initials joined and possessives dropped.

    >>> raw_tokens("S.F. / Mt. Shasta, CA")
    ['sf', 'mt', 'shasta', 'ca']
    >>> raw_tokens("Fresno's Parkway Drive")
    ['fresno', 'parkway', 'drive']
    """
    lowered = (text if text.isascii() else strip_accents(text)).lower()
    if "." in lowered:
        lowered = _DOTTED_INITIAL.sub(r"\1", lowered)
    if _APOSTROPHE.search(lowered):
        lowered = _APOSTROPHE.sub("", _POSSESSIVE.sub("", lowered))
    return _NON_WORD.sub(" ", lowered).split()


def expand_tokens(tokens: list[str]) -> list[str]:
    """Expand abbreviations and number words, one output token per input token.

    A tens word followed by a unit ("twenty nine") becomes one number on the
    first token and an empty string on the second, so positions stay aligned.

    >>> expand_tokens(["mt", "shasta"])
    ['mount', 'shasta']
    >>> expand_tokens(["twenty", "nine", "palms"])
    ['29', '', 'palms']
    >>> expand_tokens(["beale", "air", "force", "base"])
    ['beale', 'afb', '', '']
    """
    out = [NUMBER_WORDS.get(t, ABBREVIATIONS.get(t, t)) for t in tokens]
    for i in range(len(tokens) - 1):
        if tokens[i] in _TENS and tokens[i + 1] in _UNITS:
            out[i] = str(_TENS[tokens[i]] + _UNITS[tokens[i + 1]])
            out[i + 1] = ""
        elif tokens[i] == "air" and tokens[i + 1:i + 3] == ["force", "base"]:
            out[i:i + 3] = ["afb", "", ""]  # "Travis Air Force Base" is GeoNames' "Travis AFB"
    return out


def name_key(name: str) -> str:
    """The lookup key of a place name: normalised tokens joined by single spaces.

    >>> name_key("Twentynine Palms")
    '29 palms'
    >>> name_key("St. Helena") == name_key("Saint Helena")
    True
    """
    return " ".join(t for t in expand_tokens(raw_tokens(name)) if t)
