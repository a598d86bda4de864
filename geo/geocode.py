"""The offline, precision-aware geocoder: California locations as people type them.

Every input gives one row of :data:`GEOCODE_COLUMNS`: a point, a county FIPS, the
precision the point deserves (``point``, ``zip``, ``place``, ``county``; for
out-of-state origins ``state`` or ``country``), a confidence between 0 and 1, what
was matched, the state and country, and ``error`` (``None``, or why the input
could not be placed in California). Bad text never raises.

What it understands, in the order it tries:

1. coordinates, decimal or degrees-minutes-seconds, with or without hemisphere
   letters; a swapped pair or a California longitude without its minus sign is
   fixed; the county comes from the county polygons (points just off the
   simplified coast get the nearest county within about 5 km);
2. ZIP and ZIP+4 (PO-box-only ZIPs get confidence 0.4: their centroid is the post
   office, not where anybody lives); street addresses are parsed with
   ``usaddress`` and placed at their ZIP or town centroid, and say so;
3. an explicit state or country ("Reno, NV", "Phoenix AZ", "Tijuana, Mexico"), and a
   US state written after "Place," in AP or postal form anywhere in the text
   ("Vidalia, Ga.", "Fargo, N.D.", "Gary, IN"; a form that is also a word, such as
   "IN", "OR", "Miss", only in capitals or with its period);
4. place names (GeoNames places and ZIP-city names), county forms ("Kern Co.",
   "County of San Diego") and nicknames ("Sacto", "NoHo", "the OC") found anywhere
   in the text, abbreviations (Mt., Ft., St., So.), numerals and possessives
   ("Fresno's") unified;
5. typos: a one-edit deletion index first, then ``rapidfuzz`` on the segments.

Words in a street position are never a place: a street type by itself
("Boulevard"), a name before a street type ("Harbor Blvd", "Stockton Boulevard") or
before "Corridor"/"Valley" when that is no name itself, "the 700 block of X", cross
streets ("76th and X", "X and Y Street", "between X and Y" when only one side is a
place). Nicknames count only standing alone or after "in"/"near"/"from" ("the City"
is not "the city of Fresno"), a hamlet only after such a word, an out-of-state city
not inside a longer name ("Otay Mesa"). A full state, Mexican state or country
right after a place wins over a California namesake ("Pasadena, Texas", "Tecate,
Baja California", "Vidalia, Ga."), in both roles, and no typo is read into that
place ("Vidalia" is not Visalia). When a text names places in and out of California,
the role decides: an origin is what follows "from" ("born in", "a native of"), a
destination leaves that out ("trafficked from China to Los Angeles": China, Los
Angeles), and "the United States" is the least specific country. When readings
disagree on the county (two places in different counties, a place and a county that
does not hold it, "London, Ontario") and neither is clearly stronger, the answer is
an error that says so, never a guess; so is a text that names several counties
("Fresno and Madera counties"), places outside the one county it names, a county's
name that is also the name of a smaller town in another county ("San Joaquin": the
county, or the town in Fresno County, unless the text says which), or a region
of several counties ("the Bay Area", "the Sierra", "the Valley", "the Los Angeles metro region",
"San Diego or the rest of California"; :data:`geo._gazetteer.REGIONS`) joined to a
place by "and"/"or"/"to" or not holding it, and so are "the Inland Empire" (Riverside
and San Bernardino; it was Riverside County, the project's convention, until branch
georules7), "the Monterey Bay" and "counties surrounding Santa Clara". A region that only
says where its place is gives way to it ("the Bay Area city of Hayward"); a place named as a reference point
("30 miles south of Fresno") gives way to the other places a text names. A highway's name is no place and no
typo spans a street type ("Pacific Coast Highway" is not Pacifica); a one-word
town written in lower case after an article is a common noun ("The coyote drove
them"); "X Village" that is no name is not X ("Elk Grove Village"), and "King
County" is not a misspelt Kings County. No typo is read into a word a text that
capitalises its names writes in lower case outside a place position ("their rings"
is not Kings County; "in bakersfeild" is Bakersfield) nor
into a neighbourhood's name ("the Fruitvale District"). A town's name before
"Border Patrol checkpoint" or a capitalised "Mall" names the checkpoint or the mall,
not the town ("the San Clemente Border Patrol checkpoint" is on Camp Pendleton); a
name after a network ("SAN JOSE (CBS SF)") is the station's, and a hotel chain's
("La Quinta Inn", "Fairfield Inn") no town; "Belmont and First"
is a cross street; an out-of-state city may follow "former", "like", "greater",
"suburban" ("the greater Phoenix area"), and a name right after one in the possessive
is a part of it ("Seattle's Chinatown"); "a Mexican national" names Mexico, an origin.
A court citation ("Super. Ct.") is no Connecticut, "Merced's St. Patrick" no street,
"Julian A. Pollok" no Julian, "the Santa Maria Urban Ministry" no Santa Maria (a
saint's name before a church word), "H.B. police" Huntington Beach. A nickname in
capitals or with its periods ("the L.A. Madam", "SF massage parlors") counts wherever it
stands but gives way to any other place named, and "from LA" ending a text is Los
Angeles; a common-word town before "Sheriff"/"Police" is that town ("the Vista Sheriff's
Station"); a person's name after a title is no place and takes no typo ("Deputy Rick
Castro" is no Orick); a capitalised Spanish article makes a road ("El Camino"); a
state's name alone before "counties" is that state ("rural Nevada counties"); an
out-of-state city may follow any preposition or a year ("above Las Vegas", "a 2013
Portland study"); a nationality in the plural names its country ("South Koreans"); a
name that is a town in one county and a big city's neighbourhood or a landmark in
another is not guessed ("Oak Park"). Since branch georules8: beaches, harbours and the
Channel Islands are landmarks in their own county ("Santa Cruz Island" is in Santa Barbara
County), and a county's name before "Island" that is no landmark is no place; the town of
Boulevard is a place where nothing makes it a street ("near Boulevard, California",
"Boulevard is ..."); "LB" and "SLO" in capitals are nicknames like "LA"; a place after
"is located near" is a reference point ("Nevada County is located near Sacramento"); a
given name and surname before ", who" are a person ("Michelle Carson, who"); a common-word
town after "north of" is in a place position; a region's name before a street type is a
street ("Yosemite Avenue"); the Mojave River, the Chocolate Mountains and Yosemite are
regions, not a county; a capitalised "X County" that is no Californian county (nor a
misspelt or shortened one) is another state's: no Californian place is guessed and no typo
is read into the text's other words
("A Logan County jury found Sanders guilty" is no Landers), and English words one edit
from a town are not misspelt towns ("Bamboo Garden" is no Gardena). A street named for a
town ("Palmdale Boulevard", "Ventura Boulevard") stays unplaced: such streets often run in
another county than their town. Since branch geo19: a valley in one county is that county
("the Santa Clarita Valley"); a police department's initials in capitals are its city
("SFPD"); a town before "River"/"Creek" is a watercourse, not the town; two states joined by
a hyphen are a state line ("the California-Nevada border" is no Nevada County); two
nicknames are two cities ("S.D., L.A."); an apposition or "operated out of" makes a name an
organisation's ("La Mesa, a Yuma-based ring"); a town before a capitalised "Park"/"Estates"
that is no known name is part of it ("Highland Park" is not Highland); an out-of-state town
before "man"/"woman" or after "on" is that town ("a Mexicali man", "on Oahu"); a
"WASHINGTON —" dateline is the capital and gives way to any other place. Since branch
geo19b: an out-of-state name stands as the place before "area", before "is"/"had" as a
subject, after a possessive or after a federal agency's initials ("Minneapolis-area", "Atlantic
City had", "the city's Zona Rio", "HSI St. Paul"); "the city's" in lower case is no
nickname; East/North/South County and the Peninsula are regions of several counties; "X County
court" is the county's court, not a street; "outside Nevada" is the state; a town before
"High"/"Polytechnic"/"School" is no cross street. Since branch geo19c: a distance from a
place ("an hour from Los Angeles", "20 miles from Fresno") is a reference point, like "south
of X"; a direction or distance alone keeps the place's county only when a point that far
(that way) is still in it ("a short drive south of San Francisco" is rejected); "the <town>
valley" is the town's county when no other county lies within 15 km; demonyms name their place
("Oaklanders", "a Yoloan"); "N.Y." followed by more words is still New York; an out-of-state
city before "counterparts" is that city; "Campo Polanco" is a camp's name, not Campo. ``matched`` names
the gazetteer entry and the words it came from, and what was set aside and why ("'boulevard' set aside: a street
type").

Ambiguous names ("Burbank" is in Los Angeles and in Santa Clara counties) use a
county or ZIP hint in the same text (or the county that every place named shares),
else the more populous place with a lower confidence.

The precision decides the finest H3 resolution a record may be indexed at
(:data:`geo.grid.PRECISION_MAX_RES`: point 9, zip 7, place 6, county none).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from geo._coordinates import LatLng, _fix_pair, text_to_latlng
from geo._gazetteer import (
    AGENCY_INITIALS,
    COMMON_WORDS,
    METRO_WORDS,
    MEXICAN_STATES,
    NICKNAME_KEYS,
    REGIONS,
    STATE_ABBREVIATION_WORDS,
    STATE_ABBREVIATIONS,
    Candidate,
    Gazetteer,
    km_to_another_county,
    latlngs_to_counties,
    load_gazetteer,
)
from geo._place_names import (
    CORRIDOR_WORDS,
    STREET_PLURALS,
    STREET_SUFFIXES,
    expand_tokens,
    name_key,
    raw_tokens,
)
from routes.contract import vocabularies

log = logging.getLogger(__name__)

Role = Literal["destination", "origin"]

#: The columns every geocoding result has, in this order.
GEOCODE_COLUMNS = [
    "lat", "lng", "county_fips", "precision", "confidence", "matched", "state", "country", "error",
]

#: Precisions, finest first.
PRECISIONS = vocabularies.PRECISIONS

#: Inputs longer than this are cut before parsing (nobody types a longer place).
MAX_TEXT_CHARS = 300

#: Confidence of a ZIP centroid by ZIP type.
ZIP_CONFIDENCE = {"STANDARD": 0.9, "UNIQUE": 0.75, "PO BOX": 0.4}

#: rapidfuzz ``ratio`` a segment must reach to count as a misspelt name.
FUZZY_CUTOFF = 90.0

_NOISE = frozenset({"ca", "california", "calif", "cali", "usa", "us", "united", "states", "america"})
_EMPTY = frozenset({
    "", "unknown", "unk", "na", "n a", "none", "null", "nil", "nan", "tbd", "not provided",
    "no address", "not known", "various", "multiple", "see narrative", "redacted",
    "confidential", "undisclosed", "withheld", "other", "north unknown", "not applicable",
})
_SEGMENT_SPLIT = re.compile(r"[,;|/()\[\]\n\t]+|\s-\s|\s+to\s+|\s+–\s+")
_SEGMENT_SPLIT_KEEP = re.compile(f"({_SEGMENT_SPLIT.pattern})")
_PREPOSITIONS = frozenset({"in", "near", "at", "off", "outside", "by", "around", "of", "from", "the"})
#: What may stand before a nickname ("in the OC") or an out-of-state city inside free
#: text ("heading for Las Vegas"); anything else there makes it part of another name.
_LEADS = frozenset({"in", "near", "at", "from", "to", "into", "outside", "around", "for", "of", "by",
                    "off", "the", "a", "an", "and", "or", "north", "south", "east", "west",
                    "downtown", "northern", "southern", "eastern", "western", "central",
                    "former", "like", "greater", "suburban", "including", "metro",
                    # other prepositions: "above Las Vegas", "through Phoenix", "via Reno"
                    "above", "below", "beyond", "past", "over", "through", "via", "across", "toward",
                    "towards", "within", "inside", "throughout", "along", "between", "than", "with",
                    "without", "against", "behind", "under", "until", "after", "before", "since"})
#: Before a name that is a state and a Californian county ("Nevada"), words that set the
#: state against California, which the text names: "Lodi, California, like all U.S.
#: cities outside Nevada" compares with the state, not with Nevada County.
_CONTRAST_LEADS = frozenset({"outside", "unlike", "beyond"})
_NICKNAME_LEADS = frozenset({"in", "near", "at", "from", "to", "into", "outside", "around"})
#: "the city of Weed", "the town of Rescue": the other place position of a common word.
_SETTLEMENT_WORDS = frozenset({"city", "town", "community", "village", "hamlet"})
_ORDINAL = re.compile(r"^(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
                      r"|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
                      r"|nineteenth|twentieth)$")
_LETTERS = re.compile(r"[A-Za-z]+")
#: Words that make the next word a common noun: "the coyote", "a seaside apartment".
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "his", "her", "their", "our", "its", "my"})
#: Road types that end a named highway ("Pacific Coast Highway", "Angeles Crest Hwy").
_HIGHWAY_WORDS = frozenset({"highway", "hwy", "freeway", "fwy", "expressway", "expy", "parkway", "pkwy"})
#: Words that, next to a region or a place, join two things rather than qualify one
#: ("the Sacramento area and the Central Valley", "from Sacramento to the Bay Area").
_REGION_FIRST_WORDS = frozenset(key.split()[0] for key in REGIONS)
_COMPASS = frozenset({"north", "south", "east", "west", "northeast", "northwest", "southeast",
                      "southwest", "northeastern", "northwestern", "southeastern", "southwestern"})
_ARTICLES = frozenset({"the", "a", "an", "area", "region"})
_COORDINATORS = frozenset({"and", "or", "nor", "to", "versus", "vs"})
#: Words between "or"/"and" and "California" when the text names the state as an
#: alternative to a place ("San Diego or the greater area of California").
_STATE_FILLER = frozenset({"the", "greater", "area", "of", "rest", "all", "whole", "entire", "state",
                           "wider", "broader"})
_WORD_HYPHEN = re.compile(r"[^\W\d_]-[^\W\d_]")
_STREET_WORDS = STREET_SUFFIXES | STREET_PLURALS
#: Words after a town's or county's name that make it a river's or creek's name, which
#: runs through several counties ("the Tuolumne River", "the Santa Ana River"), unless
#: the whole is a name itself ("Smith River", a town; "Walnut Creek", a city).
_WATERCOURSE_WORDS = frozenset({"river", "rivers", "creek"})
_STREET_NEIGHBOURS = _STREET_WORDS | CORRIDOR_WORDS | _WATERCOURSE_WORDS | {"and"}
_STREET_LEADS = frozenset({"of", "and"})
#: After "X Border Patrol": a checkpoint or station named for a town, not in it.
_CHECKPOINT_WORDS = frozenset({"checkpoint", "checkpoints", "sector"})
#: Networks whose local stations sign with a city's short name ("SAN JOSE (CBS SF)").
_BROADCASTERS = frozenset({"cbs", "nbc", "abc", "fox", "cw", "pbs", "npr", "univision", "telemundo"})
#: National hotel chains named like a Californian town, and the word after it in their
#: name: "La Quinta Inn" (La Quinta, Riverside County), "Fairfield Inn", "Homewood Suites".
_HOTEL_CHAINS = {"la quinta": ("inn", "inns"), "fairfield": ("inn",), "homewood": ("suites",)}
#: Words after a name that make it a neighbourhood's: no typo is read into it ("the Fruitvale District").
_DISTRICT_WORDS = frozenset({"district", "neighborhood", "neighbourhood", "barrio", "quarter"})
_ZIP = re.compile(r"(?<![\d.])(\d{5})(?:\s?-\s?(\d{4}))?(?![\d.])")
_AMBIGUOUS_CODES = frozenset({
    "in", "or", "me", "ok", "hi", "co", "la", "de", "id", "oh", "al", "pa", "ma", "mo", "ga", "wa",
    "ak", "ar", "ne", "ms", "mi", "sc", "va",
})
_CA_CODES = frozenset({"ca", "california", "calif", "cali"})
#: An abbreviation at the start of a segment: "Ga.", "N.H.", "W. Va.", "Penna", "NV".
#: a spaced part needs its capital ("N. Y."), so "N.Y. in 2014" is "N.Y." and not "N.Y. in"
_STATE_FORM = re.compile(r"\s*(?P<abbr>[A-Za-z](?:\.(?:\s?[A-Z]|[A-Za-z])[A-Za-z]{0,2}|[A-Za-z]){0,4})(?P<dot>\.)?(?![A-Za-z])")
#: Postal codes that are words and no AP abbreviation ("In", "Or", "Id"): capitals only.
_POSTAL_WORDS = frozenset(k for k in STATE_ABBREVIATION_WORDS if len(k) == 2) - {"la", "mo"}
#: Mexican states written short after a place ("Tecate, B.C."), in capitals.
_MEXICAN_STATE_ABBREVIATIONS = {"bc": "Baja California", "bcs": "Baja California Sur"}
_MEXICAN_STATE_KEYS = frozenset(name_key(s) for s in MEXICAN_STATES)
#: Words that end a place name read backwards from a comma ("a woman from | Dalton, Ga.").
_PLACE_STOPS = _LEADS | _PREPOSITIONS | _NOISE | {"was", "is", "were", "are", "said"}
#: Words before a name that say it is where someone came from, or went to or was.
#: After a nickname, words that make it a place ("H.B. police", "SF sheriff's deputies").
_AGENCY_WORDS = frozenset({"police", "pd", "sheriff", "sheriffs"})
_MIDDLE_INITIAL = re.compile(r"\s[A-Z]\.\s+[A-Z][a-z]")  # "Julian A. Pollok"
#: Nicknames that, written in capitals or with their periods ("L.A.", "LA", "S.F.",
#: "SF", "OC") in a text not all in capitals, are the place wherever they stand
#: ("the L.A. Madam", "SF massage parlors"); they give way to any other place named.
_CAPITAL_NICKNAMES = {"la": r"L\.\s?A\.|LA", "sf": r"S\.\s?F\.|SF", "oc": r"O\.\s?C\.|OC", "dtla": r"DTLA",
                      "lb": r"L\.\s?B\.|LB", "slo": r"SLO", "sd": r"S\.\s?D\.",
                      **{key: key.upper() for key in AGENCY_INITIALS}}
#: Titles before a person's name: the capitalised words after one are a name, no
#: place and no typo ("Deputy Rick Castro" is no Orick, "Sgt. Julian Ruiz" no Julian).
#: A short title counts only with its period ("Sen. Clemente", not a misspelt "San Clemente").
_TITLES = ("Deputy|Officer|Sergeant|Detective|Lieutenant|Captain|Corporal|Agent|Investigator|Trooper|"
           "Judge|Justice|Senator|Assemblymember|Assemblyman|Assemblywoman|Mayor|Supervisor|"
           "Councilmember|Councilman|Councilwoman")
_SHORT_TITLES = "Sgt|Det|Lt|Capt|Cpl|Mr|Mrs|Ms|Dr|Sen|Rep|Insp"
_PERSON = re.compile(rf"\b(?:(?:{_TITLES})\b|(?:{_SHORT_TITLES})\.)\s*((?:[A-Z][a-z'’-]+\s+){{0,2}}[A-Z][a-z'’-]+)")
#: A given name and a surname before ", who": the surname is a person's, no town ("Michelle
#: Carson, who works in Westley"); not when the two words are a place's name ("Long Beach, who").
_PERSON_WHO = re.compile(r"\b([A-Z][a-z'’-]+)\s+([A-Z][a-z'’-]+),\s+(?:who|whose|whom)\b")
#: Words after a name that make it an island's: a county's name there is no county
#: ("Santa Cruz Island" is in Santa Barbara County); the islands are landmarks.
_ISLAND_WORDS = frozenset({"island", "islands", "isle"})
#: Capitalised after a town's name, these make another place's name that the gazetteer may
#: lack: a neighbourhood, a subdivision or a park ("Highland Park" is in Los Angeles, not
#: Highland in San Bernardino County); written in lower case they do not ("a Fresno park").
_SUBDIVISION_WORDS = frozenset({"park", "estates", "acres", "manor"})
#: A news dateline "WASHINGTON —" (or "WASHINGTON (AP) —", "WASHINGTON, Jan. 5 —") opening a
#: text names the capital, as the AP style book writes it, not Washington state.
_WASHINGTON_DATELINE = re.compile(r"\s*WASHINGTON\b(?:\s*\([A-Za-z .]+\))?(?:,[^—–\n]{0,20})?\s*(?:—|–|--|-\s)")
#: Nouns for people that, after a place's name, say where they are from ("a Mexicali man",
#: "a Yuma woman"): the name is a place, not part of a longer one.
_PERSON_NOUNS = frozenset({"man", "men", "woman", "women", "resident", "residents", "couple", "family",
                           "teen", "teens", "teenager", "boy", "girl", "native", "natives",
                           # the people of a place's agencies: "their Honolulu counterparts"
                           "counterpart", "counterparts", "colleague", "colleagues"})
#: A capitalised name before "County" ("A Logan County jury", "San Luis Obispo County").
_NAMED_COUNTY = re.compile(r"\b((?:[A-Z][a-z]+\s+){0,2}[A-Z][a-z]+)\s+County\b")
#: Capitalised words before "County" that name no county ("The County jail", "Deputy County Counsel").
_NOT_A_COUNTY_NAME = _DETERMINERS | _LEADS | frozenset({
    "deputy", "assistant", "senior", "chief", "district", "superior", "each", "every", "any", "said",
    "local", "neighboring", "neighbouring", "home", "host", "rural", "urban", "whole", "entire", "same"})
#: English words one edit from a town's name, never read as a misspelt town
#: ("the Bamboo Garden massage parlor" is no Gardena, "the Gunnery Range" no Orange).
_NOT_MISSPELT = frozenset({"garden", "gardens", "range", "ranges", "ranger", "rangers", "marine", "marines"})
#: Words before "near X" that make X a reference point for what the text is about
#: ("Nevada County is located near Sacramento").
_LOCATED_WORDS = frozenset({"located", "lies", "sits", "situated", "is", "lying"})
#: Words before "from X" / "of X" that measure a distance from X: "an hour from Los Angeles",
#: "20 miles from Fresno", "a short drive from Oakland", "within minutes of San Jose"
#: km per unit a distance is written in ("10 miles", "an hour" by road)
_UNIT_KM = {"mile": 1.609, "miles": 1.609, "mi": 1.609, "km": 1.0, "kilometers": 1.0, "kilometres": 1.0,
            "hour": 80.0, "hours": 80.0, "minute": 1.3, "minutes": 1.3}
#: How far "a short drive", "some miles" or a bare "south of" go, in km
VAGUE_REACH_KM = 8.0
_COUNT_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "couple": 2.0, "two": 2.0, "few": 3.0, "three": 3.0,
                "four": 4.0, "five": 5.0, "several": 5.0, "six": 6.0, "seven": 7.0, "eight": 8.0,
                "nine": 9.0, "ten": 10.0, "fifteen": 15.0, "twenty": 20.0, "thirty": 30.0, "fifty": 50.0}
_DISTANCE_WORDS = frozenset({"mile", "miles", "mi", "km", "kilometers", "kilometres", "hour", "hours",
                             "minute", "minutes", "drive", "ride", "walk", "away"})
#: After a town's name written with a capital, words that make it the town's police or
#: sheriff's station ("the Vista Sheriff's Station", "Commerce Police"): the town.
_AGENCY_AFTER = r"\s+(?:Sheriff|Police|PD)\b"
#: Spanish articles that, capitalised before a name, make a longer name the
#: gazetteer lacks ("El Camino", a road; not the town of Camino).
_SPANISH_ARTICLES = frozenset({"el", "la", "los", "las", "del"})
#: Towns named with a Spanish word for a settlement: before a capitalised name they are
#: part of another place's name ("Campo Polanco", a labour camp in Riverside County)
_SPANISH_SETTLEMENT_NOUNS = frozenset({"campo", "colonia", "ejido", "rancho"})
#: "LA" ending a text after "in"/"from"/"to"...: Los Angeles, not Louisiana.
_AFTER_LEAD_LA = re.compile(r"\b(?:in|near|at|from|to|into|outside|around|greater|downtown|metro|south|east)\s+LA\W*$", re.I)
#: Words after "counties" that make them the several counties around a place
#: ("counties surrounding Santa Clara", "the counties near Fresno").
_SURROUNDING = frozenset({"surrounding", "around", "near", "nearby", "neighboring", "neighbouring",
                          "bordering", "adjacent", "outlying", "adjoining", "other"})
#: A town named for a saint, followed (directly or after one word) by one of these,
#: names a parish or a ministry, which may be in any town ("Santa Clara Parish", Oxnard).
_SAINT_WORDS = frozenset({"san", "santa", "santo", "saint", "sainte"})
_CHURCH_WORDS = frozenset({"church", "parish", "ministry", "ministries", "cathedral", "chapel", "catholic",
                           "episcopal", "lutheran", "presbyterian", "methodist", "baptist"})
#: Words before "Ct." in a court citation ("Super. Ct.", "App. Ct.", "Dist. Ct.").
_COURT_WORDS = frozenset({"super", "superior", "sup", "app", "dist", "supreme", "county", "mun", "juv"})
_NATIONALITY_WORDS = frozenset({"national", "nationals", "nationality", "citizen", "citizens"})
_SOURCE_WORDS = frozenset({"from", "native", "citizen", "citizens", "national", "nationals", "hometown"})
_DESTINATION_WORDS = frozenset({"to", "into", "in", "at", "inside", "within", "toward", "towards"})
#: Words that may stand between such a word and the name ("from the city of Mexicali").
_CUE_SKIP = frozenset({"the", "a", "an", "of", "city", "town", "state", "country", "nearby",
                       "neighboring", "downtown", "northern", "southern", "eastern", "western",
                       "central", "north", "south", "east", "west", "rural", "suburban"})
_ADDRESS_START = re.compile(r"^\s*\d+[a-zA-Z]?\s+\S")
_CACHE: dict[tuple[str, str], dict[str, Any]] = {}
_CACHE_LIMIT = 1_000_000

# ZIP3 ranges outside California → state (USPS prefix allocation).
_ZIP3_STATES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"),
    (50, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"),
    (197, 199, "DE"), (200, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"),
    (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"), (320, 349, "FL"), (350, 369, "AL"),
    (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"),
    (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"),
    (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"),
    (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"), (730, 749, "OK"),
    (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (967, 968, "HI"),
    (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)


def _empty_result(error: str | None = None) -> dict[str, Any]:
    return {
        "lat": math.nan, "lng": math.nan, "county_fips": None, "precision": None,
        "confidence": 0.0, "matched": None, "state": None, "country": None, "error": error,
    }


def _placed(lat: float, lng: float, fips: str, precision: str, confidence: float,
            matched: str) -> dict[str, Any]:
    return {
        "lat": round(float(lat), 6), "lng": round(float(lng), 6), "county_fips": fips,
        "precision": precision, "confidence": round(min(max(confidence, 0.0), 1.0), 2),
        "matched": matched, "state": "CA", "country": "US", "error": None,
    }


def _quote(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _outside(cand: Candidate, text: str, role: str, *, confidence: float = 0.9,
             note: str | None = None, label: str | None = None) -> dict[str, Any]:
    """An out-of-state result: an error for destinations, a coarse point for origins."""
    gaz = load_gazetteer()
    if cand.kind == "state":
        region = gaz.region_of.get("state:" + cand.state, cand)
        default = cand.state if cand.name == region.name else f"{cand.name}, {cand.state}"
    else:
        region = gaz.region_of.get("country:" + cand.country, cand)
        default = cand.country if cand.name == region.name else f"{cand.name}, {cand.country}"
    matched = f"{_quote(label) if label else default} ({cand.kind})" + (f"; {note}" if note else "")
    result = _empty_result()
    result.update(state=cand.state or None, country=cand.country, matched=matched)
    if role == "destination":
        result["error"] = f"outside California: {_quote(text.strip())}"
        return result
    result.update(lat=region.lat, lng=region.lng, precision=cand.kind,
                  confidence=round(confidence, 2))
    return result


def _county_name(fips: str) -> str:
    return load_gazetteer().county_names.get(fips, fips)


def _place_result(cand: Candidate, confidence: float, note: str | None = None,
                  words: str = "") -> dict[str, Any]:
    """A California answer; ``matched`` names the gazetteer entry and the words it came from."""
    county = _county_name(cand.county_fips or "")
    if cand.kind == "county":
        matched = f"{cand.name} (county)"
        precision = "county"
    else:
        matched = f"{cand.name} (place, {county})"
        precision = "place"
    if words:
        matched += f" from '{words}'"
    if note:
        matched += f"; {note}"
    return _placed(cand.lat, cand.lng, cand.county_fips or "", precision, confidence, matched)


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class _StateMark:
    """A state written right after "Place," ("Vidalia, Ga.", "Gary, IN", "Tecate, B.C.")."""

    start: int  # its first token
    stop: int
    code: str  # postal code, or the name of a Mexican state
    written: str  # as the text wrote it
    country: str = "US"


@dataclass(slots=True)
class _Tokens:
    raw: list[str]
    words: list[str]  # expanded; "" where a token was merged into the previous one
    segment: list[int]
    content: list[bool]  # not noise, not empty
    ca_marker: bool  # the text says CA / California
    hyphened: list[bool]  # token i is joined to token i + 1 by a hyphen ("cul-de-sac")
    set_aside: list[str]  # gazetteer names found but not taken, and why
    refused: list[tuple[int, int]]  # their token spans: no typo is read into them
    after_comma: frozenset[int] = frozenset()  # first tokens of segments that follow a comma
    states: tuple[_StateMark, ...] = ()  # states written as "Place, Abbr"
    text: str = ""  # as written (for its capitals)

    @classmethod
    def from_text(cls, text: str) -> _Tokens:
        raw: list[str] = []
        segment: list[int] = []
        hyphened: list[bool] = []
        if "," in text:  # the separators too: a state may follow a comma
            pieces = _SEGMENT_SPLIT_KEEP.split(text)
            parts, seps = pieces[::2], pieces[1::2]
        else:
            parts, seps = _SEGMENT_SPLIT.split(text), []
        after_comma: set[int] = set()
        states: list[_StateMark] = []
        for seg_id, part in enumerate(parts):
            toks = raw_tokens(part)
            if seg_id and seps and "," in seps[seg_id - 1] and toks:
                after_comma.add(len(raw))
                mark = _state_mark(part, len(raw))
                if mark is not None:
                    states.append(mark)
            raw.extend(toks)
            segment.extend([seg_id] * len(toks))
            hyphened.extend(_hyphen_flags(part, len(toks)))
        words = expand_tokens(raw)
        content = [bool(w) and r not in _NOISE and not r.isdigit() for r, w in zip(raw, words, strict=True)]
        return cls(raw, words, segment, content, any(r in _CA_CODES for r in raw), hyphened, [], [],
                   frozenset(after_comma), tuple(states), text)

    def key(self, start: int, stop: int) -> str:
        return " ".join(w for w in self.words[start:stop] if w)


def _state_mark(part: str, first: int) -> _StateMark | None:
    """The US state (or Baja California, "B.C.") that ``part``, the text after a
    comma, starts with, or ``None``.

    A form of :data:`STATE_ABBREVIATIONS` counts when it ends the part, or is
    followed by a ZIP, or carries its period ("Ga. police said"); one that is also
    a word (:data:`STATE_ABBREVIATION_WORDS`) needs capitals ("IN", "MISS") or a
    capital and its period ("Miss."), and a postal-only one capitals ("ID", not "Id.").
    """
    found = _STATE_FORM.match(part)
    if found is None:
        return None
    written = found.group("abbr")
    key = written.lower().replace(".", "").replace(" ", "")
    code = STATE_ABBREVIATIONS.get(key)
    if code is None and key in _MEXICAN_STATE_ABBREVIATIONS and written[0].isupper():
        end = found.end("dot") if found.group("dot") else found.end("abbr")
        return _StateMark(first, first + len(raw_tokens(part[:end])), _MEXICAN_STATE_ABBREVIATIONS[key],
                          part[:end].strip(), "MX")
    if code is None or code == "CA":
        return None
    dotted = found.group("dot") is not None or "." in written
    rest = part[found.end():].strip()
    if not dotted and rest and not rest[0].isdigit() and not (
            written.isupper() and len(written) == 2 and key not in STATE_ABBREVIATION_WORDS
            and (rest[0].islower() or key not in _AMBIGUOUS_CODES)):
        return None  # "OR Modesto": a word, not a state; "Milwaukee, WI in 1985", "Irving, TX Police" are
    letters = re.sub(r"[^A-Za-z]", "", written)
    if not letters.isupper() and (key in _POSTAL_WORDS or key in STATE_ABBREVIATION_WORDS
                                  and (letters.islower() or not dotted)):
        return None  # "Gary, In", "fresno, la", "Jackson, Miss": words unless "IN", "Miss."
    end = found.end("dot") if dotted and found.group("dot") else found.end("abbr")
    count = len(raw_tokens(part[:end]))
    return _StateMark(first, first + count, code, (written + (found.group("dot") or "")).strip())


def _lower_only(text: str) -> frozenset[str]:
    """The words a text that capitalises some words writes only in lower case ("The
    coyote drove Mike to San Diego": coyote, drove, to...); empty for a text in one case."""
    if text.islower() or text.isupper() or not any(ch.isupper() for ch in text):
        return frozenset()
    words = _LETTERS.findall(text)
    lower = {w for w in words if w.islower()}
    return frozenset(lower - {w.lower() for w in words if not w.islower()})


def _hyphen_flags(part: str, count: int) -> list[bool]:
    """For each token of ``part``, whether a hyphen joins it to the next one."""
    if _WORD_HYPHEN.search(part) is None:
        return [False] * count
    flags: list[bool] = []
    for chunk in part.split():
        pieces = [raw_tokens(p) for p in chunk.split("-")]
        for piece_no, piece in enumerate(pieces):
            for i in range(len(piece)):
                flags.append(i == len(piece) - 1 and piece_no < len(pieces) - 1
                             and any(pieces[piece_no + 1:]))
    return flags if len(flags) == count else [False] * count


@dataclass(slots=True)
class _Match:
    start: int
    stop: int
    key: str
    cands: tuple[Candidate, ...]
    whole_segment: bool
    whole_text: bool
    distance: int = 0
    weak: bool = False  # a short nickname out of a place position ("motel SF", "the L.A. Madam"):
    # it gives way to any other Californian place or county the text names
    words: str = ""  # the words of the text it came from
    pair: str = ""  # for "Place, State": why the place is read in that state
    dateline: bool = False  # "WASHINGTON —" opening a text: where it was filed; gives way to any other place

    @property
    def is_california(self) -> bool:
        return self.cands[0].is_california


#: Words after "X County Court" that make it the county's court, not a street of that name.
_COURT_FOLLOWERS = frozenset({"system", "judge", "judges", "commissioner", "records", "case", "cases",
                              "hearing", "hearings", "clerk", "docket"})


#: Words after a town's name that make it a school's ("Long Beach Polytechnic High"), in
#: its town, not a cross street.
_SCHOOL_WORDS = frozenset({"polytechnic", "poly", "high", "school", "college", "academy", "university"})


def _street_reason(tokens: _Tokens, start: int, stop: int, key: str, gaz: Gazetteer) -> str | None:
    """Why the name at ``tokens[start:stop]`` stands in a street position, or ``None``.

    A street type is never a place by itself ("Boulevard"); a name before a street
    type is a street ("Harbor Blvd"), before "Corridor"/"Valley" a corridor or region
    ("Holt Corridor", "San Joaquin Valley") unless that is a name itself; "the 700
    block of X" and "76th and X" / "X and 76th" / "X and Y Street" are streets.
    """
    raw, seg, n = tokens.raw, tokens.segment, len(tokens.raw)
    nxt = raw[stop] if stop < n else ""
    prev = raw[start - 1] if start > 0 else ""
    after_next = raw[stop + 1] if stop + 1 < n else ""
    if key not in _STREET_WORDS and nxt not in _STREET_NEIGHBOURS and prev not in _STREET_LEADS \
            and after_next not in _HIGHWAY_WORDS and nxt not in ("border", "mall"):
        return None  # the common case, without the checks below

    def at(i: int) -> str:
        return raw[i] if 0 <= i < n and seg[i] == seg[start] else ""

    nxt, prev = at(stop), at(start - 1)
    if key in _STREET_WORDS:
        return None if _is_street_word_town(tokens, start, key, gaz) else "a street type"
    if nxt in _STREET_WORDS and at(stop + 1) not in _STREET_WORDS and not (
            nxt == "court" and key.endswith(" county") and (
                "court" in _lower_only(tokens.text) or at(stop + 1) in _COURT_FOLLOWERS)) and not (
            # "the San Joaquin County court system", "Kern County Court judge": its court
            nxt == "st" and re.search(rf"\b{re.escape(raw[stop - 1])}['’]s\s+St\.?\s+[A-Z]", tokens.text, re.I)):
        return "a street name"  # not "Fresno's Parkway Drive", where the street is "Parkway",
        # nor "Atwater's St. Nicholas Church" (Saint)
    if nxt == "valley" and f"{key} {nxt}" not in gaz.names and _valley_in_one_county(key, gaz):
        why = f"'{key} valley' read as the valley around {key}: no other county within {VALLEY_REACH_KM:.0f} km of it"
        if why not in tokens.set_aside:
            tokens.set_aside.append(why)
        return None  # "the Hemet valley": Hemet's county
    if nxt in CORRIDOR_WORDS and f"{key} {nxt}" not in gaz.names:
        return f"names a {nxt}"
    if nxt in _WATERCOURSE_WORDS and f"{key} {nxt}" not in gaz.names:
        return f"names a {nxt.rstrip('s')} (a watercourse crosses counties)"
    if nxt == "mall" and "mall" not in _lower_only(tokens.text) and tokens.text != tokens.text.upper():
        return "names a mall"  # "Fulton Mall" (a street in Fresno); not "an El Cajon mall"
    if nxt == "border" and at(stop + 1) == "patrol" and at(stop + 2) in _CHECKPOINT_WORDS:
        return "names a Border Patrol checkpoint"  # often in the next county ("San Clemente", on Camp Pendleton)
    if at(stop + 1) in _HIGHWAY_WORDS and nxt.isalpha() and nxt not in _PLACE_STOPS \
            and nxt not in _STREET_WORDS and nxt not in ("via", "on", "along"):
        return "a highway name"  # "Pacific Coast Highway", "Angeles Crest Hwy"
    if prev == "of" and at(start - 2) == "block":
        return "a block of a street"
    before_and = at(start - 2)
    if prev == "and" and (_ORDINAL.match(before_and) or before_and in _STREET_WORDS) \
            and nxt not in _SCHOOL_WORDS:  # "Atlantic Avenue and Long Beach Polytechnic High"
        return "a cross street"
    if nxt == "and":
        if _ORDINAL.match(at(stop + 1)):
            return "a cross street"
        for j in range(stop + 2, stop + 5):
            if at(j) in _STREET_WORDS:
                return "a cross street"
    return None


#: A town's valley ("the Hemet valley") is read as the town's county when no other county
#: lies within this many km of the town (the valleys of the Inland Empire, the Central Coast
#: and the Central Valley towns are some 10-30 km across)
VALLEY_REACH_KM = 15.0


def _valley_in_one_county(key: str, gaz: Gazetteer) -> bool:
    """Whether "the <town> valley" lies in the town's county: one Californian town of that
    name and no other county within :data:`VALLEY_REACH_KM` of it."""
    towns = [c for c in gaz.names.get(key, ()) if c.is_california and c.kind == "place"]
    return len(towns) == 1 and km_to_another_county(
        towns[0].lat, towns[0].lng, towns[0].county_fips or "") > VALLEY_REACH_KM


def _is_street_word_town(tokens: _Tokens, start: int, key: str, gaz: Gazetteer) -> bool:
    """A street type that is a Californian town's name (Boulevard, San Diego County), written
    with its capital, names the town where nothing makes it a street's: after a lead word
    or a sentence's start and before ", California" ("near Boulevard, California"), or as
    the subject of a sentence's first verb ("Boulevard is located east of San Diego")."""
    cands = gaz.names.get(key, ())
    if not cands or not cands[0].is_california or (start > 0 and tokens.raw[start - 1] not in _LEADS):
        return False
    word = re.escape(tokens.raw[start].capitalize())
    if re.search(rf"(?:^|[\s(])(?<![A-Z][a-z]\s){word},\s*(?:California|Calif\.?|CA)\b", tokens.text):
        return True
    return start == 0 and re.match(rf"{word}\s+(?:is|was|lies|sits)\b", tokens.text) is not None


def _find_matches(tokens: _Tokens, gaz: Gazetteer) -> list[_Match]:
    """Maximal n-gram matches of gazetteer keys; streets, nicknames out of place and
    common words left out (and noted in ``tokens.set_aside``)."""
    n = len(tokens.words)
    content_idx = [i for i in range(n) if tokens.content[i]]
    seg_content: dict[int, list[int]] = {}
    for i in content_idx:
        seg_content.setdefault(tokens.segment[i], []).append(i)
    found: list[_Match] = []
    refused: list[tuple[int, int, str, str]] = []
    longer: list[tuple[int, int]] = []
    persons = _person_spans(tokens)
    tokens.refused.extend(persons)
    words = tokens.words
    for start in range(n):
        if not words[start]:
            continue
        key = ""
        for stop in range(start + 1, min(start + 7, n + 1)):
            if tokens.segment[stop - 1] != tokens.segment[start]:
                break
            word = words[stop - 1]
            if word:
                key = f"{key} {word}" if key else word  # tokens.key(start, stop), grown
            cands = gaz.names.get(key)
            if cands is None:
                continue
            covered = [i for i in range(start, stop) if tokens.content[i]]
            seg_all = seg_content.get(tokens.segment[start], [])
            whole_segment = bool(covered) and covered == seg_all
            whole_text = bool(covered) and covered == content_idx
            prev = tokens.raw[start - 1] if start > 0 and tokens.segment[start - 1] == tokens.segment[start] else ""
            nxt = tokens.raw[stop] if stop < n and tokens.segment[stop] == tokens.segment[start] else ""
            weak = False
            if not whole_text:
                reason = _street_reason(tokens, start, stop, key, gaz)
                street = reason is not None
                if reason is None and prev in _BROADCASTERS:
                    reason = "a broadcaster's station name"  # "(CBS SF)", "NBC Bay Area"
                if reason is None and nxt in _HOTEL_CHAINS.get(key, ()):
                    reason = "a hotel chain's name"  # "La Quinta Inn" in any town
                if reason is None and nxt in _ISLAND_WORDS and _is_county_name(key, gaz):
                    reason, street = "an island's name (an island named like a county is not in it)", True
                capitals = key in _CAPITAL_NICKNAMES and _written_in_capitals(tokens, key)
                if reason is None and key in NICKNAME_KEYS and not whole_segment:
                    lead = prev if not key.startswith("the ") else (
                        tokens.raw[start - 1] if start > 0 else "")
                    at_end = bool(covered) and covered[-1] == content_idx[-1] and len(key) <= 3
                    if key.startswith("the ") and _lower_possessive(tokens, start, stop):
                        reason = "a possessive in lower case (the text's own city, not the nickname)"
                    elif nxt == "of" or (start > 0 and tokens.hyphened[start - 1]) or (
                            tokens.hyphened[stop - 1] and not capitals):  # "cul-de-sac"; "LA-based" is LA
                        reason = "a nickname inside other words"
                    elif lead not in _NICKNAME_LEADS and not at_end and nxt not in _AGENCY_WORDS \
                            and not capitals:
                        reason = "a nickname only counts alone or after 'in'"
                if reason is None and not cands[0].is_california and not whole_segment \
                        and not _is_region(cands[0], key) and prev and prev not in _LEADS and not prev.isdigit() \
                        and prev != "on" \
                        and nxt not in _PERSON_NOUNS \
                        and not _stands_as_place(tokens, start, stop):  # "a 59-year old Mexicali man"; "on Oahu"
                    reason = "part of a longer name"  # not "a 2013 Portland study"
                if reason is None:
                    reason = _organisation_reason(tokens, start, stop)
                    street = street or reason is not None
                if reason is None and _is_state_line(tokens, start, stop, cands, gaz):
                    reason, street = "a state line's name (two states joined by a hyphen)", True
                if reason is None and any(a <= start and stop <= b for a, b in persons):
                    reason = "a person's name (after a title, or a surname before ', who')"
                    street = True  # nor any typo read into it ("Deputy Rick Castro" is no Orick)
                if reason is None:
                    reason = _common_noun_or_longer_name(tokens, start, stop, key, gaz)
                    street = reason is not None
                    if reason is not None and reason.startswith("part of"):
                        longer.append((start, stop + 1))  # nor any name inside it ("Elk")
                if reason is not None:
                    refused.append((start, stop, key, reason))
                    if street:
                        tokens.refused.append((start, stop))
                    continue
            if key in gaz.part_keys and not whole_text and not _in_place_position(tokens, start, stop):
                continue  # "Poplar" of Poplar-Cotton Center: only "near Poplar", not "Florence, Italy"
            if not whole_segment:
                after_preposition = start > 0 and tokens.raw[start - 1] in _PREPOSITIONS
                at_end = bool(covered) and covered[-1] == content_idx[-1]
                if key in COMMON_WORDS and not _in_place_position(tokens, start, stop) \
                        and not _names_an_agency(tokens, start, stop, cands):
                    continue  # "Likely", "Weed" inside other words need "in"/"near"
                if len(key) <= 3 and not (after_preposition or at_end or nxt in _AGENCY_WORDS or capitals):
                    continue  # "LA", "OC" likewise, or last
                weak = len(key) <= 3 and not after_preposition or capitals and prev not in _NICKNAME_LEADS
            words_from, dateline = " ".join(tokens.raw[start:stop]), False
            if key == "washington" and start == 0 and _WASHINGTON_DATELINE.match(tokens.text):
                cands, words_from = gaz.names["district of columbia"], "WASHINGTON (a dateline: the capital)"
                dateline = True
            contrast = prev in _CONTRAST_LEADS and any(c.kind == "state" for c in cands) \
                and not (stop < n and tokens.raw[stop] in _CA_CODES)  # not "outside Nevada, California"
            found.append(_Match(start, stop, key, _side(cands, tokens.ca_marker and not contrast),
                                whole_segment, whole_text, weak=weak, words=words_from, dateline=dateline))
    maximal = [
        m for m in found
        if not any(o is not m and o.start <= m.start and m.stop <= o.stop
                   and (o.stop - o.start) > (m.stop - m.start) for o in found)
        and not any(a <= m.start and m.stop <= b for a, b in longer)
    ]
    maximal = _drop_between_streets(maximal, tokens)
    for start, stop, _key, reason in refused:
        if not any(m.start <= start and stop <= m.stop for m in maximal):
            tokens.set_aside.append(f"'{' '.join(tokens.raw[start:stop])}' set aside: {reason}")
    return maximal


#: Nouns that, in an apposition after a name, make it a criminal organisation's ("La Mesa, a
#: Yuma-based alien smuggling ring"), unless a place word follows ("a gang capital").
_ORGANISATION_NOUNS = "ring|rings|gang|gangs|cartel|organi[sz]ation|network|crew|syndicate|enterprise|clique"
_APPOSITION = (r",\s+(?:an?|the)\s+(?:(?!(?:with|of|in|for|near|at|and|where|that|which|whose)\b)[\w'’-]+\s+){0,4}"
               rf"(?i:{_ORGANISATION_NOUNS})(?![\w-])(?!\s+(?:capital|hub|town|city|area|region|territory|turf|of)\b)")
#: Verbs only an organisation takes after its name ("La Mesa operated out of Yuma").
_ORGANISATION_VERBS = re.compile(r"\s+(?:operated|operates|operating)\s+(?:out\s+of|from)\b"
                                 r"|\s+(?:was|is|were|are)\s+(?:based|headquartered)\s+in\b")
_ORGANISATION_HINT = re.compile(rf"\b(?:{_ORGANISATION_NOUNS}|operated|operates|operating|based|headquartered)\b",
                                re.I)


def _organisation_reason(tokens: _Tokens, start: int, stop: int) -> str | None:
    """Why the name at ``tokens[start:stop]`` names a ring or gang rather than a place, or
    ``None``: an apposition that says so ("La Mesa, a Yuma-based smuggling ring"), or, for a
    name in no place position, a verb only an organisation takes ("La Mesa operated out of
    Yuma", "... is based in"; not "the ring in Fresno operated out of a motel")."""
    if _ORGANISATION_HINT.search(tokens.text) is None:
        return None  # the common case
    written = r"\W+".join(re.escape(word) for word in tokens.raw[start:stop])
    name = rf"(?<![\w])(?i:{written})(?![\w])"
    if re.search(name + _APPOSITION, tokens.text):
        return "an organisation's name (', a ... ring' or 'gang' follows)"
    if start > 0 and tokens.raw[start - 1] in _LEADS:
        return None
    match = re.search(name, tokens.text)
    if match is not None and _ORGANISATION_VERBS.match(tokens.text, match.end()):
        return "an organisation's name (it 'operated out of' or 'is based in' a place)"
    return None


def _is_state(word: str, gaz: Gazetteer) -> bool:
    """Whether ``word`` (a raw token) names a US state or a country ("california", "nevada", "mexico")."""
    return word in _CA_CODES or any(c.kind in ("state", "country") for c in gaz.names.get(word, ()))


def _is_state_line(tokens: _Tokens, start: int, stop: int, cands: tuple[Candidate, ...],
                   gaz: Gazetteer) -> bool:
    """Whether a state's name at ``tokens[start:stop]`` is joined by a hyphen to another state's
    or country's: a border or state line ("the California-Nevada border", "the U.S.-Mexico
    line"), not the Californian county or town of that name (Nevada County); a name with no
    Californian reading keeps its own ("across the U.S.-Mexico border" still names Mexico)."""
    if not any(c.kind in ("state", "country") for c in cands) or not any(c.is_california for c in cands):
        return False
    before = start > 0 and tokens.hyphened[start - 1] and _is_state(tokens.raw[start - 1], gaz)
    after = stop < len(tokens.raw) and tokens.hyphened[stop - 1] and _is_state(tokens.raw[stop], gaz)
    return before or after


def _is_county_name(key: str, gaz: Gazetteer) -> bool:
    """Whether ``key`` is the bare name of a Californian county ("santa cruz")."""
    return any(name_key(name) == key for name in gaz.county_names.values())


def _common_noun_or_longer_name(tokens: _Tokens, start: int, stop: int, key: str,
                                gaz: Gazetteer) -> str | None:
    """Why a Californian name at ``tokens[start:stop]`` is no place here, or ``None``.

    A one-word name written in lower case after an article, in a text that
    capitalises its names, is a common noun ("The coyote drove him to San Diego",
    "a seaside apartment"); a name followed by "Village" that is no name with it is
    part of another place's name ("Elk Grove Village", Illinois).
    """
    prev = tokens.raw[start - 1] if start > 0 else ""
    if stop - start == 1 and prev in _DETERMINERS and tokens.raw[start] in _lower_only(tokens.text):
        return "a common noun (lower case after an article)"
    cands = gaz.names[key]
    if all(c.kind == "place" and c.weight == 0 and c.is_california for c in cands) \
            and set(tokens.raw[start:stop]) <= _lower_only(tokens.text):
        return "common words (a neighbourhood's or landmark's name, written in lower case)"  # "beef tenderloin"
    nxt = tokens.raw[stop] if stop < len(tokens.raw) and tokens.segment[stop] == tokens.segment[start] else ""
    if stop - start == 1 and _MIDDLE_INITIAL.search(tokens.text) and re.search(
            rf"\b{re.escape(tokens.raw[start])}\s+[A-Z]\.\s+[A-Z][a-z]", tokens.text, re.I):
        return "a person's name (a middle initial follows)"  # "Julian A. Pollok"
    if key.split()[0] in _SAINT_WORDS and (nxt in _CHURCH_WORDS or nxt and stop + 1 < len(tokens.raw)
                                           and tokens.raw[stop + 1] in _CHURCH_WORDS):
        return "a saint's name (a church's or a ministry's)"  # "the Santa Maria Urban Ministry" in San Jose
    if nxt == "village" and f"{key} village" not in gaz.names:
        return f"part of a longer name ('{' '.join(tokens.raw[start:stop + 1])}')"
    if nxt in _SUBDIVISION_WORDS and f"{key} {nxt}" not in gaz.names and re.search(
            rf"\b(?i:{re.escape(tokens.raw[stop - 1])})\s+{nxt.capitalize()}\b", tokens.text):
        return f"part of a longer name ('{' '.join(tokens.raw[start:stop + 1])}', a neighbourhood or park)"
    if key in _SPANISH_SETTLEMENT_NOUNS and nxt and f"{key} {nxt}" not in gaz.names \
            and nxt not in _PLACE_STOPS | _STREET_NEIGHBOURS | _AGENCY_WORDS | {"border"} \
            and re.search(rf"\b(?i:{re.escape(tokens.raw[start])})\s+{re.escape(nxt.capitalize())}\b", tokens.text):
        return f"part of a longer name ('{' '.join(tokens.raw[start:stop + 1])}', a camp or colonia)"
    if prev in _SPANISH_ARTICLES and f"{prev} {key}" not in gaz.names and re.search(
            rf"\b{prev.title()}\s+(?i:{re.escape(tokens.raw[start])})\b", tokens.text):
        return f"part of a longer name ('{' '.join(tokens.raw[start - 1:stop])}')"  # "El Camino", a road
    return None


def _written_in_capitals(tokens: _Tokens, key: str) -> bool:
    """Whether the nickname ``key`` is written in capitals or with its periods
    everywhere the text has its letters, in a text not all in capitals ("The L.A.
    sun", "SF massage parlors"; not "la casa", nor a headline in capitals)."""
    text = tokens.text
    if text.isupper():
        return False
    letters = re.escape(key)
    written = len(re.findall(rf"(?<![\w.])(?<!\d )(?:{_CAPITAL_NICKNAMES[key]})(?![\w])", text))  # not "5 LB"
    return written > 0 and written == len(re.findall(rf"(?<![\w.])(?i:{letters}|{'.'.join(key)}\.)(?![\w])", text))


def _person_spans(tokens: _Tokens) -> list[tuple[int, int]]:
    """Token spans of people's names after a title ("Deputy Rick Castro", "Sgt. Julian
    Ruiz"), in a text that is not all in one case."""
    text = tokens.text
    if text.isupper() or text.islower():
        return []
    spans = _surname_spans(tokens)
    if _PERSON.search(text) is None:
        return spans
    for found in _PERSON.finditer(text):
        name = raw_tokens(found.group(1))
        title = raw_tokens(found.group(0))[: -len(name)]
        for i in range(len(tokens.raw) - len(name) - len(title) + 1):
            first = i + len(title)
            if tokens.raw[i:first] == title and tokens.raw[first:first + len(name)] == name:
                spans.append((first, first + len(name)))
    return spans


def _surname_spans(tokens: _Tokens) -> list[tuple[int, int]]:
    """Token spans of surnames after a given name and before ", who" ("Michelle Carson,
    who works at a truck stop in Westley"): the two words are no place's name and the
    first word is none either."""
    if ", wh" not in tokens.text:
        return []
    names = load_gazetteer().names
    spans: list[tuple[int, int]] = []
    for found in _PERSON_WHO.finditer(tokens.text):
        given, surname = (name_key(w) for w in found.groups())
        if given in names or f"{given} {surname}" in names or given in _LEADS or given in _DETERMINERS:
            continue
        spans.extend((i + 1, i + 2) for i in range(len(tokens.raw) - 1)
                     if tokens.raw[i] == given and tokens.raw[i + 1] == surname)
    return spans


#: Federal agencies whose field offices are named by their city ("HSI St. Paul", "FBI
#: Minneapolis"), written in capitals: the city after them is a place, not a longer name.
_FIELD_OFFICE_AGENCIES = r"HSI|FBI|DEA|ATF|ICE|ERO|CBP|USCIS|USMS|IRS|USAO|HSTF"
#: Verbs that make the name before them a sentence's subject ("Atlantic City had no ...",
#: "Las Vegas is not known"): a place, not the first words of a longer name.
_SUBJECT_VERBS = frozenset({"is", "was", "has", "had", "are", "were", "remains", "remained", "became"})
#: Words after a city that name the area around it ("Minneapolis-area locations").
_AREA_WORDS = frozenset({"area", "region", "metro", "metropolitan"})


def _lower_possessive(tokens: _Tokens, start: int, stop: int) -> bool:
    """Whether the words at ``tokens[start:stop]`` are written in lower case with a
    possessive ("the city's C Street", "the city’s Zona Rio section"): a city the text
    already has in mind, not the nickname "the City"."""
    first, *rest = (re.escape(w) for w in tokens.raw[start:stop])
    words = r"\s+".join([f"(?i:{first[0]}){first[1:]}", *rest])  # "The city's" starting a sentence
    return re.search(rf"\b{words}['’]s\b", tokens.text) is not None


def _stands_as_place(tokens: _Tokens, start: int, stop: int) -> bool:
    """Whether an out-of-state name after a word that is no lead ("seven Minneapolis-area
    locations") still stands as the place: before "area" ("the Minneapolis-area"), as a
    sentence's subject before "is"/"had" ("Atlantic City had no brothels"), after a
    possessive ("the city's Zona Rio section", "Tijuana's Zona Norte") or after a federal
    agency's initials naming its field office ("HSI St. Paul", "FBI Minneapolis")."""
    nxt = tokens.raw[stop] if stop < len(tokens.raw) and tokens.segment[stop] == tokens.segment[start] else ""
    if nxt in _AREA_WORDS or nxt in _SUBJECT_VERBS:
        return True
    first = re.escape(tokens.raw[start])
    prev = re.escape(tokens.raw[start - 1])
    return re.search(rf"(?:\b(?:{_FIELD_OFFICE_AGENCIES})|\b(?i:{prev})['’]s)\s+(?i:{first})\b", tokens.text) is not None


def _names_an_agency(tokens: _Tokens, start: int, stop: int, cands: tuple[Candidate, ...]) -> bool:
    """A town of one county, named by a common word and written with a capital before
    "Sheriff('s)"/"Police"/"PD", names that town's station ("the Vista Sheriff's Station")."""
    if len({c.county_fips for c in cands}) != 1 or not cands[0].is_california or cands[0].kind != "place":
        return False
    nxt = tokens.raw[stop] if stop < len(tokens.raw) else ""
    if nxt not in _AGENCY_WORDS:
        return False
    words = r"\W+".join(re.escape(w) for w in tokens.raw[start:stop])
    found = re.search(rf"\b(?i:{words})(?=['’]?s?{_AGENCY_AFTER})", tokens.text)
    return found is not None and found.group(0)[0].isupper()


def _in_place_position(tokens: _Tokens, start: int, stop: int) -> bool:
    """A town named by a common word ("Rescue", "Commerce") inside other words is a
    place only after in/at/near/from/to... or "city/town of", and not before "of":
    "in Rescue" and "the city of Commerce" are places; "the rescue of 20 victims" and
    "chambers of commerce" are not."""
    if start == 0:
        return False
    prev = tokens.raw[start - 1]
    if stop < len(tokens.raw) and tokens.raw[stop] == "of":
        return False
    if prev in _NICKNAME_LEADS:
        return True
    return prev == "of" and start >= 2 and tokens.raw[start - 2] in _SETTLEMENT_WORDS | _COMPASS | {"outskirts"}


def _drop_between_streets(matches: list[_Match], tokens: _Tokens) -> list[_Match]:
    """"between Belmont and Olive", "south of Holt, north of Mission": when only one side
    is a place, both are streets."""
    out = []
    starts = {m.start for m in matches}
    raw = tokens.raw
    bounds = [i + 2 for i in range(len(raw) - 2) if raw[i] in _COMPASS and raw[i + 1] == "of"]
    for m in matches:
        if len(bounds) == 2 and m.start in bounds and not all(b in starts for b in bounds):
            tokens.set_aside.append(f"'{m.words}' set aside: a street bounding an area (the other bound is no place)")
            tokens.refused.append((m.start, m.stop))
            continue
        if m.start > 0 and tokens.raw[m.start - 1] == "between" and m.stop < len(tokens.raw) \
                and tokens.raw[m.stop] == "and" and (m.stop + 1) not in starts:
            tokens.set_aside.append(f"'{m.words}' set aside: a cross street (between it and a non-place)")
            tokens.refused.append((m.start, m.stop))
            continue
        out.append(m)
    return out


def _is_region(cand: Candidate, key: str) -> bool:
    """An out-of-state match that names a state, a country or a Mexican state."""
    if cand.is_california:
        return False
    gaz = load_gazetteer()
    if cand.kind == "state":
        region = gaz.region_of.get("state:" + cand.state)
    else:
        region = gaz.region_of.get("country:" + cand.country)
    return (region is not None and cand.name == region.name) or cand.name in MEXICAN_STATES


def _side(cands: tuple[Candidate, ...], ca_marker: bool) -> tuple[Candidate, ...]:
    """Keep one side of a name that exists in and out of California ("Manila")."""
    if cands[0].is_california == cands[-1].is_california:
        return cands
    ca = tuple(c for c in cands if c.is_california)
    return ca if ca_marker else tuple(c for c in cands if not c.is_california)


def _fuzzy_matches(tokens: _Tokens, gaz: Gazetteer, *, deletes_only: bool = False) -> list[_Match]:
    """Misspelt names: one-edit deletion index on n-grams, then rapidfuzz on segments."""
    n = len(tokens.words)
    best: _Match | None = None
    if _names_outside_exactly(tokens, gaz):
        return []  # "a través de Tijuana": a near-miss word is not read over a known outside name
    segments: dict[int, list[int]] = {}
    for i in range(n):
        if tokens.content[i]:
            segments.setdefault(tokens.segment[i], []).append(i)
    content_all = [i for i in range(n) if tokens.content[i]]
    lower = _lower_only(tokens.text)
    best_rank: tuple[bool, int, int, float, str] | None = None
    for start in range(n):
        if not tokens.content[start]:
            continue
        for stop in range(start + 1, min(start + 5, n + 1)):
            if tokens.segment[stop - 1] != tokens.segment[start] or not tokens.content[stop - 1]:
                break
            query = tokens.key(start, stop)
            if len(query) < 4 or query in _NOT_MISSPELT or any(a < stop and start < b for a, b in tokens.refused):
                continue  # short, or words already read as a name and set aside
            if stop - start > 1 and (tokens.raw[start] in _PREPOSITIONS or tokens.raw[stop - 1] in _PREPOSITIONS
                                     or any(r in _STREET_WORDS for r in tokens.raw[start:stop])):
                continue  # a typo never spans a street type ("Coast Highway")
            covered = [i for i in range(start, stop) if tokens.content[i]]
            whole_segment = covered == segments.get(tokens.segment[start], [])
            nxt = tokens.raw[stop] if stop < n else ""
            if nxt in STREET_SUFFIXES or nxt in _DISTRICT_WORDS:
                continue  # a street's or a neighbourhood's name: no town misspelt there
            if all(tokens.raw[i] in lower for i in range(start, stop)) and not _after_lead(tokens, start):
                continue  # a text that capitalises names writes this one in lower case, and not
                # after "in"/"near"...: a word ("their rings"), not a misspelt name ("in sacremento")
            hits: set[str] = set(gaz.deletes.get(query, ()))
            for i in range(len(query)):
                hits.update(gaz.deletes.get(query[:i] + query[i + 1:], ()))
            if hits and _street_reason(tokens, start, stop, query, gaz) is not None:
                continue
            limit = 1 if len(query) < 10 else 2
            for key in hits:
                if len(query) < 5 and len(key) < 5 or key in COMMON_WORDS and not whole_segment:
                    continue
                dist = OSA.distance(query, key, score_cutoff=limit)
                if dist > limit or dist == 0 or key in NICKNAME_KEYS or _short_word_edited(query, key) or (
                        key in _STREET_WORDS and len(covered) < len(content_all)) or _other_county(query, key, nxt):
                    continue  # an exact hit was already weighed; "Bouleard" alone is the town
                match = _Match(start, stop, key, _side(gaz.names[key], tokens.ca_marker),
                               whole_segment, False, dist, words=" ".join(tokens.raw[start:stop]))
                # ties go to the more populous name, then the key: never to the order of a set
                rank = (whole_segment, len(key), -dist, match.cands[0].weight, key)
                if best_rank is None or rank > best_rank:
                    best, best_rank = match, rank
    if best is not None or deletes_only:
        return [best] if best is not None else []
    for idx in segments.values():
        query = tokens.key(idx[0], idx[-1] + 1)
        if len(query) < 6 or len(idx) > 5:
            continue
        if _street_reason(tokens, idx[0], idx[-1] + 1, query, gaz) is not None or any(
                a <= idx[-1] and idx[0] < b for a, b in tokens.refused) or (all(
                tokens.raw[i] in lower for i in idx) and not _after_lead(tokens, idx[0])):
            continue
        hit = process.extractOne(query, gaz.choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if hit is not None and hit[0] != query and hit[0] not in _STREET_WORDS \
                and not _short_word_edited(query, hit[0]) and not _other_county(query, hit[0], ""):
            key = hit[0]
            cands = _side(gaz.names[key], tokens.ca_marker)
            return [_Match(idx[0], idx[-1] + 1, key, cands, True, False, 2,
                           words=" ".join(tokens.raw[idx[0]:idx[-1] + 1]))]
    return []


def _after_lead(tokens: _Tokens, start: int) -> bool:
    """Token ``start`` follows "in"/"near"/"at"/"from"/"to"... in its segment (a place position)."""
    return start > 0 and tokens.segment[start - 1] == tokens.segment[start] \
        and tokens.raw[start - 1] in _NICKNAME_LEADS


#: In a word shorter than this, only a dropped letter is read as a typo ("jse" for
#: "jose"): a changed letter is a quarter of the word and often another word, and
#: "Lane County" (Oregon) is not a misspelt "Lake County".
TYPO_WORD_MIN = 5


def _short_word_edited(query: str, key: str) -> bool:
    """True when a word of the query differs from the name's word, is shorter than
    ``TYPO_WORD_MIN`` letters, and is not that word with one letter dropped."""
    q_words, k_words = query.split(), key.split()
    if len(q_words) != len(k_words):
        return False  # a dropped or merged space ("sanjose"): judged on the whole string
    return any(
        q != k and min(len(q), len(k)) < TYPO_WORD_MIN
        and not (len(k) == len(q) + 1 and any(k[:i] + k[i + 1:] == q for i in range(len(k))))
        for q, k in zip(q_words, k_words, strict=True))


def _other_county(query: str, key: str, nxt: str) -> bool:
    """True when ``key`` is a county (a county form, or a name before "County" in the
    text) that differs from ``query`` only by a plural "s": "King County"
    (Washington) is not a misspelt Kings County."""
    q_words, k_words = query.split(), key.split()
    if "county" not in k_words and nxt != "county" or len(q_words) != len(k_words):
        return False
    differ = [(q, k) for q, k in zip(q_words, k_words, strict=True) if q != k]
    return len(differ) == 1 and (differ[0][0] + "s" == differ[0][1] or differ[0][1] + "s" == differ[0][0])


def _names_outside_exactly(tokens: _Tokens, gaz: Gazetteer) -> bool:
    """True when some words of the text are exactly the name of a place outside
    California and of no Californian one ("Tijuana", "Medford"): the text names a
    known place, so no near-miss word elsewhere is read as a Californian town."""
    n = len(tokens.words)
    for start in range(n):
        if not tokens.content[start]:
            continue
        for stop in range(start + 1, min(start + 5, n + 1)):
            if tokens.segment[stop - 1] != tokens.segment[start]:
                break
            cands = gaz.names.get(tokens.key(start, stop))
            if cands and len(tokens.key(start, stop)) >= 4 and not any(c.is_california for c in cands):
                return True
    return False


# --------------------------------------------------------------------------- choosing


def _hint_counties(matches: list[_Match], chosen: _Match) -> set[str]:
    hints: set[str] = set()
    for m in matches:
        if m is chosen or not m.is_california:
            continue
        if m.cands[0].kind == "county":
            hints.add(m.cands[0].county_fips or "")
    return hints


def _resolve_place(match: _Match, hints: set[str], *, base: float,
                   note: str | None = None) -> dict[str, Any]:
    cands = [c for c in match.cands if c.is_california]
    counties = {c.county_fips for c in cands}
    hinted = [c for c in cands if c.county_fips in hints]
    if hinted:
        cand = hinted[0]
        confidence = min(cand.confidence, base) + (0.05 if len(counties) == 1 else 0.0)
    elif len(counties) > 1 and any(c.kind == "place" and c.weight == 0 for c in cands):
        listed = " or ".join(sorted({_county_name(c.county_fips or "") for c in cands}))
        return _empty_result(f"'{match.words}' names a town and a neighbourhood or landmark in different "
                             f"counties ({listed}); not guessing which")  # "Oak Park": Ventura's or Sacramento's
    elif len(counties) > 1:
        cand = cands[0]
        total = sum(c.weight for c in cands) or 1.0
        share = cand.weight / total
        confidence = min(base, 0.4 + 0.3 * share)
        note = (note + "; " if note else "") + f"ambiguous: {len(counties)} counties, took the largest"
    else:
        cand = cands[0]
        confidence = min(cand.confidence, base)
    if match.weak:
        confidence = min(confidence, 0.6)
    if match.distance:
        confidence = min(confidence, 0.75 if match.distance == 1 else 0.65)
        typo = f"read as {cand.name!r}"
        note = typo if note is None else f"{typo}; {note}"
    return _place_result(cand, confidence, note, match.words)


def _is_pair_region(match: _Match) -> bool:
    """A state, Mexican state or country that can say where the place before it is
    ("Pasadena, Texas"); not the United States ("Fresno, United States")."""
    cand = match.cands[0]
    return not match.pair and not cand.is_california and _is_region(cand, match.key) \
        and not (cand.kind == "country" and cand.country == "US")


def _place_before(tokens: _Tokens, stop: int, matches: list[_Match]) -> tuple[int, _Match | None] | None:
    """Where the place name that ends right before token ``stop`` starts, and its
    gazetteer match if it has one (a Californian place or county, or a town
    elsewhere); for a name the gazetteer lacks ("Vidalia") up to three words back
    to a lead word ("a woman from Dalton"). ``None``: no name there."""
    for m in matches:
        if m.stop == stop and not m.pair and (
                m.cands[0].kind in ("place", "county") if m.is_california else not _is_pair_region(m)):
            return m.start, m
    last = stop - 1
    if last < 0 or not tokens.raw[last].isalpha() or tokens.raw[last] in _PLACE_STOPS:
        return None
    first = last
    while first > 0 and last - first < 2 and tokens.segment[first - 1] == tokens.segment[last]:
        word = tokens.raw[first - 1]
        if not word.isalpha() or word in _PLACE_STOPS or any(m.start <= first - 1 < m.stop for m in matches):
            break
        first -= 1
    return first, None


def _with_pairs(matches: list[_Match], tokens: _Tokens, gaz: Gazetteer) -> list[_Match]:
    """A place directly followed by a state, Mexican state or country outside
    California ("Pasadena, Texas", "Tecate, Baja California", "Vidalia, Ga.",
    "Gary, IN") is over there, whatever its California namesakes or near-misses:
    the two become one outside match, and no typo is read into the place's words."""
    if not tokens.states and all(m.is_california and m.key not in _MEXICAN_STATE_KEYS for m in matches):
        return matches  # the common case: nothing outside California named
    regions: list[tuple[int, int, Candidate, str, _Match | None]] = []
    for mark in tokens.states:
        cand = gaz.state_codes[mark.code.lower()] if mark.country == "US" else _mexican_state(mark.code, gaz)
        regions.append((mark.start, mark.stop, cand, mark.written, None))
    marked = [(mark.start, mark.stop) for mark in tokens.states]
    for r in matches:
        if any(a < r.stop and r.start < b for a, b in marked):
            continue
        if _is_pair_region(r):
            regions.append((r.start, r.stop, r.cands[0], "", r))
        elif r.is_california and r.key in _MEXICAN_STATE_KEYS and r.whole_segment and r.start in tokens.after_comma:
            regions.append((r.start, r.stop, _mexican_state(r.key, gaz), "", r))  # "..., Sonora"
    if not regions:
        return matches
    out = list(matches)
    for start, stop, region, written, match in sorted(regions, key=lambda r: r[0]):
        if match is not None and match not in out:
            continue  # already part of an earlier pair
        found = _place_before(tokens, start, out)
        if found is None:
            continue
        first, place = found
        if place is None and start not in tokens.after_comma:
            continue  # a name the gazetteer lacks pairs only across a comma ("Vidalia, Georgia")
        if match is not None and match.is_california and (place is None or place.is_california):
            continue  # "Jamestown, Sonora" is in Tuolumne County; "Hermosillo, Sonora" in Mexico
        place_words = " ".join(tokens.raw[first:start])
        if written and region.state in ("CO", "LA") and (
                place is not None and place.is_california or f"{tokens.key(first, start)} county" in gaz.names):
            continue  # "Kern, CO", "Compton, LA": county, Los Angeles
        words = " ".join(tokens.raw[first:stop])
        if written:
            why = f"from '{words}': '{written}' after {place_words} names {region.name}"
        elif place is not None:
            why = f"from '{words}': {place_words} in {region.name}, whatever its namesakes"
        else:
            why = f"from '{words}': {place_words} in {region.name}"
        out = [m for m in out if not (m.start < stop and first < m.stop)]
        out.append(_Match(first, stop, f"{tokens.key(first, start)} {region.name.lower()}", (region,),
                          False, False, words=words, pair=why))
        tokens.refused.append((first, stop))
    return sorted(out, key=lambda m: m.start)


def _mexican_state(name: str, gaz: Gazetteer) -> Candidate:
    """A Mexican state as an outside region (Mexico, named after the state)."""
    mexico = gaz.country_codes["mx"]
    title = next((s for s in MEXICAN_STATES if name_key(s) == name_key(name)), name)
    return Candidate("country", title, None, mexico.lat, mexico.lng, 0.0, "", "MX")


def _cues(matches: list[_Match], tokens: _Tokens) -> list[str]:
    """For each match, "from" when the text names it as where someone came from
    ("from Mexico", "out of Honduras", "born in Oaxaca", "a native of Jalisco",
    "nationals of China"), "to" when as where they went or were
    ("to Los Angeles", "into the United States", "in Fresno"), else "". A match
    right after a comma takes the cue of the match before it ("from Oaxaca, Mexico")."""
    cues: list[str] = []
    prev_stop = -1
    for m in matches:
        j, steps = m.start - 1, 0
        seg = tokens.segment[m.start]
        while j >= 0 and tokens.segment[j] == seg and tokens.raw[j] in _CUE_SKIP and steps < 4:
            j, steps = j - 1, steps + 1
        cue = ""
        if m.key.rsplit(" ", 1)[-1] in _NATIONALITY_WORDS:
            cue = "from"  # "a Mexican national", "of Thai nationality"
        elif j >= 0 and tokens.segment[j] == seg:
            word = tokens.raw[j]
            if word in _SOURCE_WORDS or (word == "out" and tokens.raw[j + 1] == "of") \
                    or (word == "in" and j > 0 and tokens.raw[j - 1] == "born"):
                cue = "from"
            elif word in _DESTINATION_WORDS:
                cue = "to"
        elif cues and j + 1 in tokens.after_comma and prev_stop <= m.start:
            cue = cues[-1]
        cues.append(cue)
        prev_stop = m.stop
    return cues


def _by_role(matches: list[_Match], tokens: _Tokens, role: str) -> list[_Match]:
    """When a text names places both in and out of California, or several outside
    it, keep the ones its words give the role: an origin is what it names after
    "from" ("trafficked from China to Los Angeles" → China); a destination the
    Californian places it names after "to"/"into"/"in" ("a Dalton, Ga., woman
    arrested in Fresno"), else what it does not name after "from"."""
    if len(matches) < 2 or all(m.is_california for m in matches):
        return matches
    ordered = sorted(matches, key=lambda m: m.start)
    cues = _cues(ordered, tokens)
    if role == "origin":
        kept = [m for m, cue in zip(ordered, cues, strict=True) if cue == "from"]
    else:
        kept = [m for m, cue in zip(ordered, cues, strict=True) if cue == "to" and m.is_california] or \
            [m for m, cue in zip(ordered, cues, strict=True) if cue != "from"]
    return kept or matches


def _inside_outside_possessive(matches: list[_Match], tokens: _Tokens) -> list[_Match]:
    """"Seattle's Chinatown", "Chicago's Bridgeport neighborhood": a Californian name
    right after an out-of-state city in the possessive is a part of that city."""
    out = list(matches)
    for r in matches:
        if r.is_california or _is_region(r.cands[0], r.key) or not re.search(
                rf"\b{re.escape(tokens.raw[r.stop - 1])}['’`´]s\b", tokens.text, re.I):
            continue
        for m in matches:
            if m.start == r.stop and m.is_california and m in out:
                out.remove(m)
                tokens.set_aside.append(f"'{m.words}' set aside: a part of {r.cands[0].name} ('{r.words}'s')")
    return out


def _clash_after_outside(matches: list[_Match], tokens: _Tokens) -> str | None:
    """"London, Ontario": an out-of-state place directly followed by a California
    place name. Both readings are as strong; say so rather than guess."""
    if tokens.ca_marker:
        return None
    for r in matches:
        if r.is_california or _is_region(r.cands[0], r.key):
            continue
        for m in matches:
            if m.start == r.stop and m.is_california and m.cands[0].kind == "place":
                return (f"'{r.words} {m.words}' reads both as {r.cands[0].name} ({r.cands[0].state or r.cands[0].country}) "
                        f"and as {m.cands[0].name} ({_describe_counties(m)}); not guessing which")
    return None


def _choose(matches: list[_Match], text: str, role: str, *, note: str | None = None,
            tokens: _Tokens | None = None) -> dict[str, Any] | None:
    if len(matches) > 1 and any(m.dateline for m in matches):
        matches = [m for m in matches if not m.dateline]  # "WASHINGTON (AP) — A Fresno man": Fresno
    if tokens is not None:
        if len(matches) > 1 and not all(m.is_california for m in matches):
            matches = _inside_outside_possessive(matches, tokens)
        clash = _clash_after_outside(matches, tokens)
        if clash is not None:
            return _empty_result(clash)
        matches = _by_role(matches, tokens, role)
        pairs = [m for m in matches if m.pair]
        if pairs:
            return _outside(pairs[0].cands[0], text, role, confidence=0.8, note=pairs[0].pair)
    matches = [m for m in matches if not (m.is_california and m.cands[0].kind == "state")]
    if tokens is not None:
        matches = _without_reference_points(matches, tokens)
    ca = [m for m in matches if m.is_california]
    if ca:
        places = [m for m in ca if m.cands[0].kind == "place"]
        counties = [m for m in ca if m.cands[0].kind == "county"]
        hints = {m.cands[0].county_fips or "" for m in counties}
        if len(hints) > 1:
            names = ", ".join(sorted(_county_name(h) for h in hints))
            return _empty_result(f"the text names more than one county ({names}); not guessing which")
        if any(m.weak for m in places) and any(not m.weak and m.key not in NICKNAME_KEYS for m in ca):
            places = [m for m in places if not m.weak]  # "the L.A. crew took her to Fresno": Fresno;
            # not "in S.D., L.A." (two nicknames, two cities: the readings disagree)
        if places:
            clash = _county_or_town(places, tokens, hints)
            if clash is not None:
                return _empty_result(clash)
        if places:
            consistent = [m for m in places if not hints or any(c.county_fips in hints for c in m.cands)]
            elsewhere = [m for m in places if m not in consistent and not m.weak and not m.distance]
            if consistent and elsewhere:
                listed = "; ".join(f"'{m.words}' ({_describe_counties(m)})" for m in elsewhere)
                county = _county_name(next(iter(hints)))
                return _empty_result(f"the text names places outside {county} County, which it also "
                                     f"names: {listed}; not guessing which")
            pool = consistent or places
            chosen = max(pool, key=lambda m: (m.whole_text, len(m.key), m.whole_segment, -m.start))
            others = [m for m in pool if m is not chosen and (m.start, m.stop) != (chosen.start, chosen.stop)]
            if others and not hints:
                shared = set.intersection(*[{c.county_fips for c in m.cands if c.is_california}
                                            for m in [chosen, *others]])
                if not shared:
                    listed = "; ".join(f"'{m.words}' ({_describe_counties(m)})" for m in [chosen, *others])
                    return _empty_result(f"the text names places in different counties: {listed}; "
                                         "not guessing which")
                hints = {f for f in shared if f}
            base = 0.9 if chosen.whole_text else 0.8
            if hints and not consistent:
                county = _county_name(next(iter(hints)))
                return _empty_result(f"'{chosen.words}' ({_describe_counties(chosen)}) is not in "
                                     f"{county} County, which the text also names; not guessing which")
            return _resolve_place(chosen, _hint_counties(ca, chosen) | {h for h in hints if h}, base=base,
                                  note=note)
        chosen = max(counties, key=lambda m: (len(m.key), -m.start))
        base = 0.9 if chosen.whole_text else 0.85
        if chosen.distance:
            base = 0.7
        return _place_result(chosen.cands[0], min(base, chosen.cands[0].confidence), note, chosen.words)
    if matches:  # outside California: the most specific name; "the United States" last
        chosen = max(matches, key=lambda m: (not _is_united_states(m.cands[0]), len(m.key), -m.start))
        return _outside(chosen.cands[0], text, role, confidence=0.8 if chosen.distance == 0 else 0.6,
                        note=f"from '{chosen.words}'" if chosen.words else None)
    return None


def _county_or_town(places: list[_Match], tokens: _Tokens | None, hints: set[str]) -> str | None:
    """"San Joaquin" alone names San Joaquin County or the small town of San Joaquin
    in Fresno County (:attr:`Gazetteer.county_namesakes`): the two readings compete
    unless the text says "city/town of San Joaquin" or names one of the counties."""
    namesakes = load_gazetteer().county_namesakes
    for m in places:
        county = namesakes.get(m.key)
        if county is None or m.distance or hints & ({county} | {c.county_fips or "" for c in m.cands}):
            continue
        raw = tokens.raw if tokens is not None else []
        if m.start >= 2 and raw[m.start - 1] == "of" and raw[m.start - 2] in _SETTLEMENT_WORDS:
            continue
        return (f"'{m.words}' reads both as {_county_name(county)} County and as the town of "
                f"{m.cands[0].name} ({_describe_counties(m)}); not guessing which")
    return None


@dataclass(frozen=True, slots=True)
class _Region:
    """A region of several counties named in the text ("the Bay Area")."""

    start: int
    stop: int
    words: str
    counties: frozenset[str] | None  # the counties it covers (None: too many to list)


def _find_regions(tokens: _Tokens, matches: list[_Match]) -> list[_Region]:
    """Regions of several counties: :data:`REGIONS`, a place before "metro"/
    "metropolitan" ("the Los Angeles metro region"), and California named after
    "or"/"and" as an alternative to a place ("San Diego or the rest of California")."""
    raw, n = tokens.raw, len(tokens.raw)
    found: list[_Region] = []
    i = 0
    while i < n:
        stop = None if tokens.words[i] not in _REGION_FIRST_WORDS else next(
            (j for j in range(min(i + 4, n), i, -1)
             if tokens.segment[j - 1] == tokens.segment[i] and tokens.key(i, j) in REGIONS), None)
        if stop is not None:
            if not (stop < n and raw[stop] in _STREET_WORDS and tokens.segment[stop] == tokens.segment[i]):
                found.append(_Region(i, stop, " ".join(raw[i:stop]), REGIONS[tokens.key(i, stop)]))
            i = stop  # a street named for a region is no region ("Yosemite Avenue" in Merced)
            continue
        if raw[i] == "california":
            j = i - 1
            while j >= 0 and raw[j] in _STATE_FILLER and i - j < 6:
                j -= 1
            if j >= 0 and raw[j] in ("or", "and"):
                found.append(_Region(j + 1, i + 1, " ".join(raw[j + 1:i + 1]), None))
        i += 1
    for m in matches:
        if m.is_california and m.stop < n and raw[m.stop] in METRO_WORDS \
                and tokens.segment[m.stop] == tokens.segment[m.start]:
            found.append(_Region(m.start, m.stop + 1, " ".join(raw[m.start:m.stop + 1]),
                                 frozenset(c.county_fips or "" for c in m.cands if c.is_california)))
    return found + _surrounding_counties(tokens, matches)


def _surrounding_counties(tokens: _Tokens, matches: list[_Match]) -> list[_Region]:
    """"counties surrounding Santa Clara", "the counties around Fresno": the counties
    around a place, not its own, several (a region spanning the place's name). "Humboldt
    and surrounding counties" is left to name Humboldt, where the text centres it."""
    raw, n = tokens.raw, len(tokens.raw)
    found: list[_Region] = []
    for k in (i for i, r in enumerate(raw) if r == "counties"):
        j = k + 1
        if j >= n or raw[j] not in _SURROUNDING:
            continue
        j += 1
        while j < n and raw[j] in ("to", "the"):
            j += 1
        after = next((m for m in matches if m.start == j and m.is_california), None)
        if after is not None and tokens.segment[after.start] == tokens.segment[k]:
            found.append(_Region(k, after.stop, " ".join(raw[k:after.stop]), None))
    return found


def _apart_from_regions(matches: list[_Match], regions: list[_Region],
                        tokens: _Tokens) -> tuple[list[_Match], list[_Region]]:
    """Names inside a region are no place ("San Francisco" in "the San Francisco Bay
    Area"); a region inside a longer name, or overlapping the end of one, is no
    region ("South Bay LA", "the Morro Bay area")."""
    regions = [r for r in regions if not any(
        m.start < r.stop and r.start < m.stop and (m.start < r.start or r.stop < m.stop) for m in matches)]
    kept = [m for m in matches if not any(r.start < m.stop and m.start < r.stop for r in regions)]
    tokens.refused.extend((r.start, r.stop) for r in regions)
    return kept, regions


def _qualifies(region: _Region, place: _Match, tokens: _Tokens) -> bool:
    """Whether ``region`` only says where ``place`` is: the place lies in it and the
    words between them do not join two things with "and"/"or" ("the Bay Area city of
    Hayward", "Redcrest, Calif., in the Emerald Triangle"; not "the Sacramento area
    and the Central Valley")."""
    if region.counties is not None and not any(c.county_fips in region.counties for c in place.cands):
        return False
    first, second = (place, region) if place.stop <= region.start else (region, place)
    between = [w for w in tokens.raw[first.stop:second.start] if w not in _ARTICLES]
    return not between or (between[0] not in _COORDINATORS and between[-1] not in _COORDINATORS)


def _region_conflict(regions: list[_Region], matches: list[_Match], tokens: _Tokens) -> str | None:
    """Why a text that names a region of several counties gets no county, or
    ``None`` when every region it names only qualifies a Californian place."""
    places = [m for m in matches if m.is_california and m.cands[0].kind in ("place", "county")]
    loose = [r for r in regions if not any(_qualifies(r, m, tokens) for m in places)]
    if not loose or not all(m.is_california for m in matches):
        return None
    region = loose[0]
    if not places:
        if region.counties is not None and len(region.counties) == 1:  # "the Mojave River"
            return f"'{region.words}' names a feature along a county, not a place"
        return f"'{region.words}' names a region of several counties, not one county"
    place = places[0]
    return (f"the text names '{region.words}', a region of several counties, and '{place.words}' "
            f"({_describe_counties(place)}); not guessing which")


def _plural_counties(tokens: _Tokens, matches: list[_Match], gaz: Gazetteer) -> list[_Match]:
    """Names before "counties" are counties: "San Diego and Imperial counties",
    "Kern, Tulare and Kings counties" (two or more counties: not one answer). A
    state's name alone before it names that state's counties ("rural Nevada
    counties"; "Placer and Nevada counties" are two Californian ones)."""
    if "counties" not in tokens.raw:
        return matches
    raw = tokens.raw
    found: list[_Match] = []
    for k in (i for i, r in enumerate(raw) if r == "counties"):
        stop = k
        while stop > 0:
            hit = None
            for start in range(stop - 1, max(stop - 4, -1), -1):
                if tokens.segment[start] != tokens.segment[stop - 1]:
                    break
                cands = gaz.names.get(f"{tokens.key(start, stop)} county")
                if cands and cands[0].kind == "county" and cands[0].is_california:
                    hit = (start, cands)
            if hit is None:
                break
            start, cands = hit
            state = [c for c in gaz.names.get(tokens.key(start, stop), ()) if c.kind == "state"]
            if state and stop == k and (start == 0 or raw[start - 1] not in ("and", "or")) \
                    and start not in tokens.after_comma:
                found.append(_Match(start, k + 1, tokens.key(start, stop), (state[0],), False, False,
                                    words=" ".join(raw[start:k + 1])))  # "rural Nevada counties": the state's
                break
            found.append(_Match(start, stop, f"{tokens.key(start, stop)} county", cands, False, False,
                                words=" ".join(raw[start:stop])))
            j = start - 1
            while j >= 0 and raw[j] in ("and", "or"):
                j -= 1
            if j == start - 1 and start not in tokens.after_comma:
                break
            stop = j + 1
    if not found:
        return matches
    kept = [m for m in matches if not any(f.start < m.stop and m.start < f.stop for f in found)]
    return sorted(kept + found, key=lambda m: m.start)


def _is_reference_point(match: _Match, tokens: _Tokens) -> bool:
    """A place named to say where something else is: "60 miles east of Los Angeles",
    "roughly an hour from Los Angeles", "a short drive from Fresno"."""
    j = match.start - 1
    if j >= 0 and tokens.raw[j] == "the":
        j -= 1
    if j >= 1 and tokens.raw[j] == "near" and tokens.raw[j - 1] in _LOCATED_WORDS:
        return True  # "Nevada County is located near Sacramento"
    if j >= 1 and tokens.raw[j] in ("from", "of") and tokens.raw[j - 1] in _DISTANCE_WORDS \
            and tokens.segment[j - 1] == tokens.segment[match.start]:
        return True  # "an hour from Los Angeles", "within 20 miles of Fresno"
    return j >= 1 and tokens.raw[j] == "of" and tokens.raw[j - 1] in _COMPASS \
        and tokens.segment[j - 1] == tokens.segment[match.start]


def _without_reference_points(matches: list[_Match], tokens: _Tokens) -> list[_Match]:
    """Californian places named as reference points ("Orange County, just south of Los
    Angeles") give way to the other Californian places or counties the text names. A
    distance or direction from a place and nothing else ("a short drive south of San
    Francisco") says only that the place is somewhere around it, possibly in the next
    county: no county is read from it."""
    refs = [m for m in matches if m.is_california and _is_reference_point(m, tokens)]
    if not refs:
        return matches
    if not any(m.is_california and m not in refs for m in matches):
        return _reference_points_alone(matches, refs, tokens)
    for m in refs:
        tokens.set_aside.append(f"'{m.words}' set aside: a reference point")
    return [m for m in matches if m not in refs]


def _reach_km(match: _Match, tokens: _Tokens) -> float:
    """How far from a reference point the text puts its subject: the number before "miles",
    "km", "hours" or "minutes" ("about 10 miles west of", "a few miles from"), else
    :data:`VAGUE_REACH_KM`."""
    raw = tokens.raw[max(0, match.start - 6):match.start]
    for i, word in enumerate(raw):
        unit = _UNIT_KM.get(word)
        if unit is None:
            continue
        before = raw[i - 1] if i else ""
        count = float(before) if before.replace(".", "", 1).isdigit() else _COUNT_WORDS.get(before)
        return unit * count if count is not None else VAGUE_REACH_KM
    return VAGUE_REACH_KM


def _direction(match: _Match, tokens: _Tokens) -> tuple[float, float] | None:
    """The (north, east) unit step of "south of X" / "northeast of X", or None."""
    j = match.start - 1
    if j >= 0 and tokens.raw[j] == "the":
        j -= 1
    if j < 1 or tokens.raw[j] != "of" or tokens.raw[j - 1] not in _COMPASS:
        return None
    word = tokens.raw[j - 1]
    north = 1.0 if word.startswith("north") else -1.0 if word.startswith("south") else 0.0
    east = 1.0 if word.endswith("east") else -1.0 if word.endswith("west") else 0.0
    size = math.hypot(north, east) or 1.0
    return north / size, east / size


def _stays_in_county(cand: Candidate, reach: float, step: tuple[float, float] | None) -> bool:
    """Whether a point ``reach`` km from ``cand`` (in direction ``step``, or any direction)
    is still in ``cand``'s county; the sea off a coast counts as the coast's county."""
    if step is None:
        return km_to_another_county(cand.lat, cand.lng, cand.county_fips or "") > reach
    lat = cand.lat + step[0] * reach / 111.0
    lng = cand.lng + step[1] * reach / (111.0 * max(math.cos(math.radians(cand.lat)), 0.5))
    fips, _ = latlngs_to_counties(np.array([lat]), np.array([lng]))
    return fips[0] is None or fips[0] == cand.county_fips


def _reference_points_alone(matches: list[_Match], refs: list[_Match], tokens: _Tokens) -> list[_Match]:
    """A direction or distance from a place and nothing else ("a short drive south of San
    Francisco", "60 miles east of Los Angeles") may put its subject in the next county:
    the place's county is kept only when, for every county the name may mean, a point that
    far (that way, when a direction is given) is still in it."""
    kept = []
    for m in refs:
        reach = _reach_km(m, tokens)
        step = _direction(m, tokens)
        if all(_stays_in_county(c, reach, step) for c in m.cands if c.is_california):
            kept.append(m)
            continue
        way = "that way" if step else "around it"
        tokens.set_aside.append(f"'{m.words}' set aside: only a reference point, another county "
                                f"within {reach:.0f} km {way}")
        tokens.refused.append((m.start, m.stop))
    return [m for m in matches if m not in refs or m in kept]


def _is_united_states(cand: Candidate) -> bool:
    return cand.kind == "country" and cand.country == "US"


def _describe_counties(match: _Match) -> str:
    fips = sorted({c.county_fips or "" for c in match.cands if c.is_california})
    return " or ".join(f"{_county_name(f)} County" for f in fips)


# --------------------------------------------------------------------------- pieces


def _zip_in(text: str, tokens: _Tokens) -> str | None:
    found = list(_ZIP.finditer(text))
    if not found:
        return None
    last = found[-1]
    if last.start() == text.strip().find(last.group(1)) and len(found) == 1:
        rest = tokens.raw[1:]
        if any(t in STREET_SUFFIXES for t in rest):
            return None  # a house number, not a ZIP
    return last.group(1)


def _zip3_state(zip5: str) -> str | None:
    prefix = int(zip5[:3])
    if 900 <= prefix <= 961:
        return "CA"
    for lo, hi, state in _ZIP3_STATES:
        if lo <= prefix <= hi:
            return state
    return None


def _explicit_region(text: str, tokens: _Tokens, gaz: Gazetteer,
                     matches: list[_Match]) -> Candidate | None:
    """A trailing state or country code naming somewhere outside California.

    "LA" and "CO" after a California name are Los Angeles and county, not
    Louisiana and Colorado.
    """
    raw = [t for t in tokens.raw if not t.isdigit() and t not in ("usa", "us")]
    if not raw:
        return None
    last = raw[-1]
    if last in _CA_CODES or last == "ct" and len(raw) > 1 and raw[-2] in _COURT_WORDS:
        return None  # "Contra Costa County Super. Ct.": a court, not Connecticut
    cand = gaz.state_codes.get(last)
    if cand is None:
        country = gaz.country_codes.get(last)
        if country is not None and last not in gaz.state_codes and re.search(rf"\b{last.upper()}\b", text):
            return country
        return None
    if last in _AMBIGUOUS_CODES:
        if not re.search(rf"\b{last.upper()}\b\W*[\d\s-]*$", text):
            return None
        if len(raw) == 1 and last in ("la", "co") or last == "la" and _AFTER_LEAD_LA.search(text):
            return None  # "drive down from LA": Los Angeles, as "Shreveport, LA" is not
        before = " ".join(w for w in expand_tokens(raw[:-1]) if w)
        if last in ("co", "la") and before and (
            before + " county" in gaz.names
            or any(m.is_california and (m.stop < len(tokens.raw) or m.stop - m.start > 1) for m in matches)
        ):  # "Compton, LA"; "Cal State LA", a Californian name ending in "LA"
            return None
    elif len(raw) == 1 and last in gaz.names:
        return None
    return cand


def _address_parts(text: str) -> tuple[str | None, str | None]:
    """(place name, ZIP) from a street address, or ``(None, None)`` if not an address."""
    import usaddress

    try:
        tagged, kind = usaddress.tag(text)
    except Exception:  # usaddress raises RepeatedLabelError and friends on odd text
        return None, None
    if kind != "Street Address":
        return None, None
    return tagged.get("PlaceName"), tagged.get("ZipCode")


def _is_address(text: str, tokens: _Tokens) -> bool:
    return bool(_ADDRESS_START.match(text)) and any(t in STREET_SUFFIXES for t in tokens.raw[1:])


# --------------------------------------------------------------------------- one string


@dataclass(slots=True)
class _PendingPoint:
    """A coordinate pair waiting for its county (looked up in one batch)."""

    point: LatLng
    text: str


#: "lat, lon" as decimals (how ingest passes parsed coordinates): read without tokenising.
_DECIMAL_PAIR = re.compile(r"(-?\d{1,3}\.\d{1,24}), (-?\d{1,3}\.\d{1,24})")


def _decimal_pair(text: str) -> _PendingPoint | None:
    """What :func:`_resolve_text` gives a plain decimal pair, without its tokenising.

    Such a text holds no letters and is one coordinate run, so the steps before
    the coordinates match nothing and :func:`text_to_latlng` reads the two numbers
    as they are (then fixes the pair the same way). ``None``: not such a text.
    """
    found = _DECIMAL_PAIR.fullmatch(text)
    if found is None:
        return None
    point = _fix_pair(float(found.group(1)), float(found.group(2)), letters=False)
    return None if point is None else _PendingPoint(point, text)


def _resolve_text(text: str, role: str) -> dict[str, Any] | _PendingPoint:
    gaz = load_gazetteer()
    text = text.strip()[:MAX_TEXT_CHARS]
    tokens = _Tokens.from_text(text)
    if " ".join(tokens.raw) in _EMPTY or not any(ch.isalnum() for ch in text):
        return _empty_result("no location given")
    # 1. the whole text is a known name (the common case: "Stockton, CA")
    core = " ".join(w for w, c in zip(tokens.words, tokens.content, strict=True) if c)
    if core and not any(r.isdigit() for r in tokens.raw):
        cands = gaz.names.get(core)
        if cands is not None:
            cands = _side(cands, tokens.ca_marker)
        if cands is not None and cands[0].is_california:
            match = _Match(0, len(tokens.words), core, cands, True, True, words=" ".join(tokens.raw))
            return _choose([match], text, role) or _empty_result()
    # 2. coordinates
    if any(ch.isdigit() for ch in text):
        point = text_to_latlng(text)
        if point is not None:
            return _PendingPoint(point, text)
    # 3. street address: usaddress gives the town and ZIP
    note = None
    zip5 = _zip_in(text, tokens)
    if _is_address(text, tokens):
        place, zip_tag = _address_parts(text)
        if zip_tag and _ZIP.fullmatch(zip_tag.strip()):
            zip5 = zip_tag.strip()[:5]
        note = "street not located"
        if place:
            key = name_key(place)
            key = " ".join(w for w in key.split() if w not in _NOISE)
            cands = gaz.names.get(key)
            if cands is not None:
                cands = _side(cands, True)
            if cands is not None and cands[0].is_california and zip5 is None:
                match = _Match(0, 1, key, cands, True, False, words=key)
                return _choose([match], text, role, note="street not located; place centroid") or _empty_result()
    # 4. an explicit state or country outside California (when the text names
    # other places too, the roles of its words decide, below)
    matches = _plural_counties(tokens, _with_pairs(_find_matches(tokens, gaz), tokens, gaz), gaz)
    region = None if len(matches) > 1 and any(m.pair for m in matches) else \
        _explicit_region(text, tokens, gaz, matches)
    if region is not None:
        return _outside(region, text, role, label=text.strip())
    # 5. a ZIP
    if zip5 is not None:
        info = gaz.zips.get(zip5)
        if info is not None:
            return _zip_result(info, matches, note)
        state = _zip3_state(zip5)
        if state is not None and state != "CA" and not any(m.is_california for m in matches):
            return _outside(gaz.state_codes[state.lower()], text, role, note=f"ZIP {zip5}")
        note = (note + "; " if note else "") + f"ZIP {zip5} not in the gazetteer"
    # 6. names anywhere in the text, then typos; a region of several counties is no county
    if note == "street not located":
        note = "street not located; place centroid"
    regions = _find_regions(tokens, matches)
    if regions:
        matches, regions = _apart_from_regions(matches, regions, tokens)
        conflict = _region_conflict(regions, matches, tokens)
        if conflict is not None:
            return _with_set_aside(_empty_result(conflict), tokens)
    if matches and not any(m.whole_segment and m.is_california for m in matches):
        matches = _prefer_longer_typo(matches, tokens, gaz)
    chosen = _choose(matches, text, role, note=note, tokens=tokens)
    foreign = None if chosen is not None else _foreign_county(text, gaz)
    if foreign is not None:
        chosen = _empty_result(f"'{foreign}' is no Californian county (another state's?); not guessing a place")
    if chosen is None:
        chosen = _choose(_fuzzy_matches(tokens, gaz), text, role, note=note)
    if chosen is None:
        chosen = _empty_result(f"no California place found in {_quote(text)!r}")
    return _with_set_aside(chosen, tokens)


def _foreign_county(text: str, gaz: Gazetteer) -> str | None:
    """A "<Name> County" that is no Californian county, nor a misspelt or shortened one
    ("Stan County"), nor one the gazetteer knows elsewhere ("A Logan County jury": Kansas,
    Colorado, Ohio...): the text is likely about another state, so no Californian place is
    guessed from a typo in its other words ("found Sanders guilty" is no Landers)."""
    if "County" not in text:
        return None
    counties = [name_key(name) for name in gaz.county_names.values()]
    for found in _NAMED_COUNTY.finditer(text):
        name = name_key(found.group(1))
        if name.split()[0] in _NOT_A_COUNTY_NAME:
            continue  # "The County jail in Sacremento", "Deputy County Counsel": no county named
        if f"{name} county" in gaz.names or any(  # a misspelt or shortened county: "Stan County"
                c.startswith(name) or OSA.distance(name, c, score_cutoff=2) <= 2 for c in counties):
            continue
        return found.group(0)
    return None


def _with_set_aside(chosen: dict[str, Any], tokens: _Tokens) -> dict[str, Any]:
    """``chosen`` with what was set aside, and why, added to ``matched`` or ``error``."""
    if tokens.set_aside:
        why = "; ".join(tokens.set_aside)
        if chosen["matched"] is not None:
            chosen["matched"] += f"; {why}"
        elif chosen["error"] is not None:
            chosen["error"] += f" ({why})"
    return chosen


def _prefer_longer_typo(matches: list[_Match], tokens: _Tokens, gaz: Gazetteer) -> list[_Match]:
    """A misspelt longer name beats the exact shorter one inside it ("Wet Sacramento")."""
    fuzzy = _fuzzy_matches(tokens, gaz, deletes_only=True)
    if not fuzzy or not fuzzy[0].is_california:
        return matches
    typo = fuzzy[0]
    inside = [m for m in matches if typo.start <= m.start and m.stop <= typo.stop]
    if not inside or any(m.stop - m.start >= typo.stop - typo.start for m in inside):
        return matches
    return [m for m in matches if m not in inside] + [typo]


def _zip_result(info: Any, matches: list[_Match], note: str | None) -> dict[str, Any]:
    confidence = ZIP_CONFIDENCE.get(info.zip_type, 0.7)
    if not info.active:
        confidence = min(confidence, 0.5)
    kind = {"PO BOX": "PO-box ZIP", "UNIQUE": "single-address ZIP"}.get(info.zip_type, "ZIP")
    matched = f"{info.zip} ({kind}, {info.city.title()}, {_county_name(info.county_fips)})"
    places = [m for m in matches if m.is_california and m.cands[0].kind in ("place", "county")]
    if places and not any(c.county_fips == info.county_fips for m in places for c in m.cands):
        confidence = min(confidence, 0.6)
        matched += f"; the text names {places[0].cands[0].name}, elsewhere"
    if note:
        matched += f"; {note}; ZIP centroid"
    return _placed(info.lat, info.lng, info.county_fips, "zip", confidence, matched)


def _finish_points(pending: list[_PendingPoint], role: str) -> list[dict[str, Any]]:
    lat = np.array([p.point.lat for p in pending])
    lng = np.array([p.point.lng for p in pending])
    fips, snapped = latlngs_to_counties(lat, lng)
    out = []
    for p, f, s in zip(pending, fips, snapped, strict=True):
        la, ln, fixed = p.point
        if f is not None:
            confidence = 0.85 if s else 0.95
            matched = f"point ({la:.5f}, {ln:.5f}) in {_county_name(f)} County"
            if s:
                matched += "; just off the county outline, nearest county"
            if fixed:
                matched += f"; {fixed}"
                confidence -= 0.05
            out.append(_placed(la, ln, f, "point", confidence, matched))
        else:
            region = _region_of_point(la, ln)
            out.append(_outside(region, p.text, role, confidence=0.7,
                                note=f"point ({la:.4f}, {ln:.4f}) outside the county outlines"))
    return out


def _region_of_point(lat: float, lng: float) -> Candidate:
    """A rough state or country for a point outside California's counties."""
    gaz = load_gazetteer()
    if lat < 32.75 and -118.5 < lng < -106.0:
        return gaz.country_codes["mx"]
    if lat >= 41.95 and lng < -116.5:
        return gaz.state_codes["or"]
    if lat < 35.2 and lng > -115.0:
        return gaz.state_codes["az"]
    if lng > -120.1 and lat > 34.9 and lat < 42.0:
        return gaz.state_codes["nv"]
    regions = [c for c in gaz.region_of.values() if c.state != "CA" and c.country != "US" or c.kind == "state" and c.state != "CA"]
    return min(regions, key=lambda c: (c.lat - lat) ** 2 + (c.lng - lng) ** 2)


# --------------------------------------------------------------------------- public API


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _geocode_unique(texts: Sequence[str | None], role: str) -> list[dict[str, Any]]:
    """Geocode distinct strings; points get their counties in one vectorised pass."""
    if role not in ("destination", "origin"):
        raise ValueError(f"role {role!r} is neither 'destination' nor 'origin'")
    results: list[dict[str, Any] | None] = [None] * len(texts)
    pending: list[tuple[int, _PendingPoint]] = []
    if len(_CACHE) > _CACHE_LIMIT:
        _CACHE.clear()
    for i, raw in enumerate(texts):
        text = _as_text(raw)
        if text is None:
            results[i] = _empty_result("no location given")
            continue
        hit = _CACHE.get((text, role))
        if hit is not None:
            results[i] = hit
            continue
        try:
            resolved = _decimal_pair(text) or _resolve_text(text, role)
        except Exception as exc:  # a bug must cost one row, not the batch
            log.exception("Geocoder failed on %r", text)
            resolved = _empty_result(f"geocoder error on {_quote(text)!r}: {type(exc).__name__}")
        if isinstance(resolved, _PendingPoint):
            pending.append((i, resolved))
        else:
            _CACHE[(text, role)] = resolved
            results[i] = resolved
    if pending:
        for (i, p), done in zip(pending, _finish_points([p for _, p in pending], role), strict=True):
            _CACHE[(p.text, role)] = done
            results[i] = done
    return [r if r is not None else _empty_result("no location given") for r in results]


def geocode(text: str | None, *, role: Role = "destination") -> dict[str, Any]:
    """Geocode one string.

    Parameters
    ----------
    text : str or None
        What an agency typed: a place, address, ZIP, county, or coordinates.
    role : {"destination", "origin"}
        For a destination, anything outside California gets ``error``; for an
        origin, out-of-state places keep ``state``/``country`` at that precision.

    Returns
    -------
    dict
        Keys :data:`GEOCODE_COLUMNS`.

    Examples
    --------
    >>> r = geocode("I-5 near Lodi")
    >>> r["county_fips"], r["precision"], r["matched"]
    ('06077', 'place', "Lodi (place, San Joaquin) from 'lodi'")
    >>> geocode("Reno, NV")["error"]
    'outside California: Reno, NV'
    >>> geocode("Reno, NV", role="origin")["state"]
    'NV'
    """
    return dict(_geocode_unique([text], role)[0])


def geocode_locations(texts: Sequence[str | None] | pd.Series, *,
                      role: Role = "destination") -> pd.DataFrame:
    """Geocode a column of strings; each distinct string is geocoded once.

    Parameters
    ----------
    texts : sequence of str or None, or pandas.Series
        The locations. A Series keeps its index in the result.
    role : {"destination", "origin"}
        See :func:`geocode`.

    Returns
    -------
    pandas.DataFrame
        One row per input, same order (and index), columns :data:`GEOCODE_COLUMNS`.

    Examples
    --------
    >>> geocode_locations(["95814", "Sacremento", None])["county_fips"].tolist()
    ['06067', '06067', nan]
    """
    started = time.perf_counter()
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    values = series.astype(object).where(series.notna(), None)
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    rows = _geocode_unique(list(uniques), role)
    rows.append(_empty_result("no location given"))
    table = pd.DataFrame.from_records(rows, columns=GEOCODE_COLUMNS)
    codes = np.where(codes < 0, len(rows) - 1, codes)
    out = table.take(codes)
    out.index = series.index
    out["lat"] = out["lat"].astype("float64")
    out["lng"] = out["lng"].astype("float64")
    out["confidence"] = out["confidence"].astype("float64")
    elapsed = time.perf_counter() - started
    if len(series) > 1000:
        log.info("Geocoded %d rows (%d distinct) in %.2f s; %d with an error",
                 len(series), len(uniques), elapsed, int(out["error"].notna().sum()))
    return out


def _field(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """Column ``name`` as stripped strings ("" for missing), or ``None`` if absent."""
    if name not in frame.columns:
        return None
    col = frame[name]
    out = pd.Series("", index=frame.index, dtype=object)
    present = col.notna().to_numpy()
    if not present.any():
        return out
    if pd.api.types.is_bool_dtype(col):
        return out
    if pd.api.types.is_numeric_dtype(col):
        values = col[present].astype("float64")
        if name.endswith("zip"):  # a ZIP read as a number
            finite = np.isfinite(values)
            text = values.where(finite, 0).astype("int64").astype(str).where(finite, "")
        else:
            text = values.round(7).astype(str)  # always with a decimal point
        out[present] = text.to_numpy(dtype=object)
        return out
    out[present] = col[present].astype(str).str.strip().to_numpy(dtype=object)
    return out


def geocode_fields(frame: pd.DataFrame, *, prefix: str = "",
                   role: Role = "destination") -> pd.DataFrame:
    """Geocode structured location columns of ``frame``.

    Uses whichever of ``{prefix}location``, ``{prefix}address``, ``{prefix}city``,
    ``{prefix}zip``, ``{prefix}county``, ``{prefix}lat`` and ``{prefix}lon`` (or
    ``{prefix}lng``) exist. Coordinates win when both are given and parse; else the
    address, city, county and ZIP are read together (the county and ZIP act as
    hints for an ambiguous town); else the free-text location.

    Parameters
    ----------
    frame : pandas.DataFrame
        Records, one per row.
    prefix : str
        ``"origin_"`` for the point source (``origin_city``, ...).
    role : {"destination", "origin"}
        See :func:`geocode`.

    Returns
    -------
    pandas.DataFrame
        :data:`GEOCODE_COLUMNS` on ``frame``'s index.

    Examples
    --------
    >>> frame = pd.DataFrame({"city": ["Burbank", "Burbank"], "county": ["", "Santa Clara"]})
    >>> geocode_fields(frame)["county_fips"].tolist()
    ['06037', '06085']
    """
    empty = pd.Series("", index=frame.index, dtype=object)

    def col(name: str) -> pd.Series:
        found = _field(frame, prefix + name)
        return found if found is not None else empty

    lat, lon = col("lat"), col("lon")
    if (prefix + "lon") not in frame.columns:
        lon = col("lng")
    county = col("county")
    has_word = county.str.contains(r"(?i)\bco(?:unty|\.?)\b", regex=True, na=False)
    county = county.where((county == "") | has_word, county + " County")
    parts = [col("address"), col("city"), county, col("zip")]
    structured = parts[0]
    for part in parts[1:]:
        joiner = np.where((structured != "") & (part != ""), ", ", "")
        structured = structured + joiner + part
    location = col("location")
    words = pd.Series(np.where(structured != "", structured, location), index=frame.index, dtype=object)
    coords = pd.Series(np.where((lat != "") & (lon != ""), lat + ", " + lon, ""), index=frame.index,
                       dtype=object)
    texts = coords.where(coords != "", words)
    out = geocode_locations(texts.where(texts != "", None), role=role)
    # coordinates that do not parse or fall outside California: try the words instead
    retry = (coords != "") & (words != "") & out["error"].notna()
    if retry.any():
        again = geocode_locations(words[retry], role=role)
        better = again["error"].isna()
        out.loc[better[better].index] = again[better]
    return out


def clear_cache() -> None:
    """Forget every cached result (benchmarks start cold with it)."""
    _CACHE.clear()
