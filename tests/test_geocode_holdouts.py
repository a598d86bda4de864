"""The geocoder on the fresh holdouts of real text (issue 19): one test per rule, over every set.

Each set in ``tests/data/geocode_fresh_holdout*.csv`` holds location phrases quoted
from public pages about trafficking in California (sheriff, police, district
attorney, US Attorney, FBI and CA DOJ releases, local news), built with the search
tool's stored pages. Each row was labelled by reading its page, and each file was
committed BEFORE the geocoder was first run on it. No page or phrase of a set is in
an earlier set (nor in ``geocode_real_text.csv``, the tuning set; set 1 shares some
pages with it, not phrases). Columns and kinds:
``tests/support/geocode_scores.py``. A set's first evaluation is its honest figure;
once a set has been looked at while fixing misses it is a regression guard, and the
next untouched set gives the honest figure.

Set 1 (``geocode_fresh_holdout.csv``, frozen at 5195e0f; 132 phrases, 70 pages).
First evaluation (2026-12-04, the geocoder of c93a23c): 87/88 phrases naming a
Californian place in the right county (98.9 %), 1/112 Californian phrases in a
wrong county (0.9 %), 16/20 places outside California handled. Its misses ('Vidalia,
Ga.' read as Visalia, 'SAVANNAH, Ga.' and 'Douglas, Ga.' not kept as Georgia, 'from
Mexico' kept as US) were the classes of failure the outside-California rules (merge
6e527cf) were written for, with invented phrases: since then 87/88, 1/112, 20/20, a
regression guard. After the several-places, region and reference-point rules (branch
geo-rules, 2026-12-05, written against the misses of sets 2-4): 88/88, 0/112, 20/20.

Set 2 (``geocode_fresh_holdout_2.csv``, frozen at 3dd19ee; 187 phrases, 107 pages).
First evaluation (2026-12-04, main cd5de87): 104/112 right (92.9 %), 4/152 wrong
(2.6 %), 24/35 outside handled; after the outside-California rules, written
without sight of it: 104/112, 4/152, 25/35. All three targets missed; the xfail
reasons below list every miss. Since then it is a tuning set: its misses were read
and rules written against their kinds (typos need strong evidence; a common-word
town such as Rescue or Commerce is a place only in a place position). Third
evaluation: 106/112 right (94.6 %), 4/152 wrong, 25/35 outside handled. Fourth,
after rules written against the misses of sets 2-4 (several places in different
counties, regions of several counties, highway names; branch geo-rules): 106/112,
1/152 wrong (0.7 %, the target met), 25/35. Fifth, after rules written against the
misses of sets 2-5 (branch geo-rules6: landmarks the place list lacks, 'the Valley' a
region, counties of the neighbouring states, large US cities, nationalities...):
108/112 right (96.4 %), 0/152 wrong, 30/35 outside handled. Sixth, after rules written
against the misses of set 6 (branch georules7: nicknames in capitals, neighbourhoods,
regions...): 109/112 right (97.3 %, the target met: 'the L.A. law firm' now placed), 0/152
wrong, 30/35 outside handled. Tuned on: not an honest figure.

Set 3 (``geocode_fresh_holdout_3.csv``, frozen at eb4382f; 379 phrases, 165 pages,
built 2026-12-05 by a developer who never ran the geocoder or read its rules).
First evaluation (2026-12-05, main 3654fca: the geocoder's rules unchanged since
merge 6e527cf): 168/187 right (89.8 %), 9/277 wrong (3.2 %), 73/102 outside
handled; second evaluation (after merge of the typo and common-word rules, written
without sight of it): the same. All three targets missed, by more than on set 2: the rules have not
generalised to a third sample of the world's phrasing. The xfail reasons list
the classes of miss; the rows are in the file. Since then a tuning set: rules were
written against its classes of miss (branch geo-rules, 2026-12-05: several places in
different counties, regions of several counties, 'Sierra', highway names and typos
across street types, town names in lower case after an article, a region qualifying
a place, reference points, 'King County' and 'Elk Grove Village', the communities of a
joint census place such as Poplar), with invented
phrases, then measured here: 174/187 right (93.0 %), 0/277 wrong (the target met),
73/102 outside handled. After rules written against the misses of sets 2-5 (branch
geo-rules6: landmarks such as the Otay Mesa port of entry and the San Onofre checkpoint,
broadcaster datelines, cross streets with ordinal words, court citations, a saint's
possessive, capital postal codes, more US cities and countries): 185/187 right (98.9 %,
the target met), 0/277 wrong, 79/102 outside handled; unchanged after branch georules7.
Tuned on: not an honest figure.

Set 4 (``geocode_fresh_holdout_4.csv``, frozen at 700be26; 160 phrases, 61 pages): a
second developer built 203 rows in parallel with set 3, without sight of it or of
the rules; the 43 sharing a page or a phrase with set 3 were removed. First
evaluation (2026-12-05, main after the typo and common-word rules): 77/82 right
(93.9 %), 6/125 wrong (4.8 %), 29/35 outside handled. Two of its wrong counties are
labels its builder flagged as unsure (checkpoints named for a town in the next
county), and one is the project's own convention ('Inland Empire' as Riverside).
Tuned on since (branch geo-rules6: a 'Border Patrol checkpoint' is not its town, the
two checkpoints are landmarks in San Diego County, no typo into a neighbourhood's name,
a saint's name before a church word is no town, nationalities name their country):
79/82 right (96.3 %), 2/125 wrong (1.6 %: the convention and 'Oak Park'), 33/35 outside
handled. After branch georules7 (the Inland Empire a region of two counties, the
Fruitvale and Sacramento's Oak Park among the neighbourhoods): 80/82 right (97.6 %, the
target met), 0/125 wrong (the target met; 'Oak Park' now rejected as Ventura's town or
Sacramento's neighbourhood), 33/35 outside handled. Tuned on: not an honest figure.

Set 5 (``geocode_fresh_holdout_5.csv``, frozen at 62b4946; 245 phrases, 88 pages,
built 2026-12-05 by a developer who never ran the geocoder or read its rules; its
header lists the labels its builder was unsure of; before its first evaluation, the
US state of 22 outside rows was moved from the county column, where its builder
had slipped it, to the state column). First evaluation (2026-12-05,
main c01b706: after the rules tuned on sets 1-4): 152/159 right (95.6 %), 6/205
wrong (2.9 %), 28/40 outside handled. All three targets missed; the rules tuned
on sets 2-4 cut their wrong counties to 1, 0 and 6 but did not carry over to it.
Its misses were read with those of sets 2 and 3 (branch geo-rules): a tuning set
since, unchanged at 152/159, 6/205, 28/40 (the convention is kept; its other misses
are of kinds no rule was written for). Tuned on since (branch geo-rules6: no typo into a
lower-case word, a county's name that is a smaller town elsewhere, a capitalised 'Mall',
hotel chains, people's names, agencies, more countries and cities): 155/159 right
(97.5 %, the target met), 1/205 wrong (0.5 %, the target met: the Inland Empire
convention), 33/40 outside handled; 'San Joaquin' alone is now rejected, not guessed.
After branch georules7 (the Inland Empire a region of two counties, no longer the
project's convention of Riverside): 155/159 right, 0/205 wrong, 33/40 outside handled.
Tuned on: not an honest figure.

Set 6 (``geocode_fresh_holdout_6.csv``, frozen at cd8d3e8; 262 phrases, 81 pages,
built 2026-12-05 by a developer who never ran the geocoder or read its rules, in
parallel with the rules of branch geo-rules6, written on sets 2-5 without sight of
it). First evaluation (2026-12-05, main after merging geo-rules6): 149/156 right
(95.5 %), 4/215 wrong (1.9 %), 42/47 outside handled. All three targets missed
again, by less than set 5's first evaluation (95.6 %, 2.9 %, 28/40): the misses are
new kinds ('L.A.' as an adjective, 'SF', 'Nevada counties', a sheriff's station
named for a city, regions such as 'the Monterey Bay region'). Since then a tuning set:
rules were written against its classes of miss (branch georules7, 2026-12-05: city
nicknames in capitals or with periods wherever they stand, giving way to any other place;
'from LA' at the end is Los Angeles; 44 well-known neighbourhoods of San Francisco, Los
Angeles, San Diego, Oakland, San Jose, Sacramento and Fresno in ``ca_landmarks.csv``; a
common-word town before its Sheriff/Police; a person's name after a title is no place
and no typo; 'El Camino' a road; the Monterey Bay, the Tri-Valley, the Antelope Valley,
'counties surrounding X' and the Inland Empire regions of several counties; a state's
name alone before 'counties'; an out-of-state city after any preposition or a year;
nationalities in the plural), tested with invented phrases in
``tests/test_geocode_rules.py``, then measured here: 156/156 right (100 %), 0/215 wrong,
47/47 outside handled, every target met. Tuned on: not an honest figure. The next
untouched set gives the honest figure.

The Inland Empire (Riverside and San Bernardino counties) is, since branch georules7,
a region of two counties like the Bay Area: named alone it is rejected, and it only
says where a place is that it holds ("the Inland Empire city of Fontana"). It was the
project's one exception (Riverside County at a low confidence); the builders of sets 4
and 5 and of the real-text set all labelled it as no one county, and the labelled set's
'the IE' is now a row with no county.

Set 7 (``geocode_fresh_holdout_7.csv``, frozen at ecda461; 281 phrases, 107 pages,
built 2026-12-05 by a developer who never ran the geocoder or read its rules, in
parallel with the rules of branch georules7, written on set 6 without sight of it).
First evaluation (2026-12-05, main e0a453c, before georules7): 137/165 right
(83.0 %), 8/233 wrong (3.4 %), 35/48 outside handled. Second evaluation, after
merging georules7 (still without sight of it): 139/165 right (84.2 %), 7/233 wrong
(3.0 %), 37/48 outside: the honest figure, and the worst first figure since set 3.
Its builder sought phrasing the earlier sets had little of: beaches, harbours and
islands where boats land, abbreviations (LB, SLO), out-of-state places the
gazetteer lacks (Twin Cities, Fall River, Bellevue, Federal Way) and foreign
countries named in passing (Belgium, Israel). Since then a tuning set: rules were
written against its classes of miss (branch georules8, 2026-12-05: the Channel Islands,
state beaches, harbours and marinas as landmarks in their own county, an island named
like a county not in it; the town of Boulevard where nothing makes it a street; LB and
SLO in capitals; 'is located near X' a reference point; a surname before ', who'; the
Mojave River, the Chocolate Mountains and Yosemite no one county; a county that is not
Californian ('A Logan County jury') another state's, with no typo read into the rest;
'Garden' and 'Range' no misspelt towns; ten countries, eight US cities and
'Washington-based' as DC), tested with invented phrases in
``tests/test_geocode_rules.py``, then measured here: 155/165 right (93.9 %), 1/233 wrong
(0.4 %, the target met: 'the San Francisco area', labelled no county because the case was
Alameda's, still placed in San Francisco, as the other sets label 'the Fresno area'), 44/48
outside handled. Streets named for a town ('Palmdale
Boulevard', 'Eagle Rock Boulevard') stay unplaced: such streets often run in another
county than their town (Ventura Boulevard is in Los Angeles), so placing them would be a
guess. Tuned on: not an honest figure. The next untouched set gives the honest figure.

Set 8 (``geocode_fresh_holdout_8.csv``, frozen at df8adfa; 239 phrases, 75 pages,
built 2026-12-05 by a developer who never ran the geocoder or read its rules, told to
take every location phrase of the passages read, the easy ones too). First evaluation
(main after georules7, 2026-12-05) and second (after georules8, written on set 7
without sight of it; no answer changed): 136/147 right (92.5 %), 4/196 wrong (2.0 %),
35/43 outside handled: its first, honest figure; all three targets missed. Its builder
found about two thirds of the pages the searches returned already in sets 1-7: the
stored pages on this subject are close to used up, so a ninth set needs narrower
queries or another corpus.

Set 8 is now a tuning set (branch geo19): rules were written against its kinds of miss
(San Francisco's districts and police stations, agency initials such as "SFPD",
theme parks and stadiums, San Diego neighbourhoods, valleys that lie in one county,
a town's name before "River"/"Creek", two states joined by a hyphen, two nicknames
naming two cities, a name that an apposition or a verb makes an organisation's,
Hawaii's islands and towns, Las Vegas resorts, "a Mexicali man", a "WASHINGTON —"
dateline), each tested with invented phrases in ``tests/test_geocode_rules.py``: it
reads 146/147 right, 1/196 wrong, 43/43 outside handled, a tuning figure, not an
honest one.

Set 9 (``geocode_fresh_holdout_9.csv``; 290 phrases, 73 pages, built 2026-12-05 by a
developer who never ran the geocoder or read its rules, with narrower searches: single
counties and towns, agencies, venues, corridors and out-of-state origins). Not yet
evaluated: it is wired for its format and labels only (its size, its kinds, a source for
every row, apart from sets 1-8). First evaluated on main before branch geo19 (161/172
right, 93.6 %; 3/240 wrong, 1.2 %; 43/50 outside) and again after geo19's rules, which were
written on set 8 without sight of it: **163/172 right (94.8 %), 3/240 wrong (1.2 %), 43/50
outside handled, the honest figure; all three targets missed.** 18 of its 73 pages
(63 rows) are machine-written town pages (google-ecuador.com); without them: 123/130
right, 3/181 wrong, 39/46 outside.

Set 10 (``geocode_fresh_holdout_10.csv``; 210 phrases, 59 pages, built 2026-12-05 by a
developer who never ran the geocoder or read its rules, with searches on ground set 9 did
not cover: counties such as El Dorado, Yolo, Tuolumne, Mendocino and Siskiyou, Riverside
and Alameda cities, court opinions, labour cases and maritime smuggling off San Diego;
9 rows from 3 machine-written town pages). First evaluated after branch geo19b's rules,
which were written on set 9 without sight of it (the figures were the same before them):
**115/128 right (89.8 %), 4/177 wrong (2.3 %), 31/33 outside handled, the honest figure;
all three targets missed.**

Set 11 (``geocode_fresh_holdout_11.csv``; 206 phrases, 80 pages, built 2026-12-06 by a
developer who never ran the geocoder or read its rules, with searches on ground sets 9 and
10 did not cover: big events (the Super Bowl at Levi's Stadium, Comic-Con), airports,
buses, hospitals and schools, Inland Empire, South Bay, Westside and San Gabriel Valley
cities, Orange County beach cities, origins such as the Philippines and India; 12 rows
from 6 machine-written town pages). First evaluated after branch geo19c's rules, which
were written on set 10 without sight of it (101/109 right before them): **102/109 right
(93.6 %), 2/173 wrong (1.2 %), 27/33 outside handled, the honest figure; all three
targets missed.**
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from tests.support.geocode_scores import RIGHT_COUNTY_MIN, WRONG_COUNTY_MAX, Scores, score

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Holdout:
    """One frozen set, the sets it must be apart from, and what it scored (a floor, not a target)."""

    file: str
    earlier: tuple[str, ...]  # files whose pages and phrases it must not share
    min_rows: int
    min_pages: int
    floor: tuple[int, int, int, int, int, int] | None  # places, californian, outside; right >=, wrong <=,
    # outside_ok >=; None for a set not yet evaluated (checked for its format only, not scored)
    misses: dict[str, str]  # target -> why it is missed (an xfail reason), for targets not met
    pages_apart: bool = True  # no page of an earlier set cited (set 1 shares pages with the tuning set)
    min_kinds: tuple[int, int, int] = (0, 0, 0)  # ca_place, ca_no_place, outside rows at least


HOLDOUTS = {
    "set 1": Holdout(
        file="geocode_fresh_holdout.csv", earlier=("geocode_real_text.csv",), min_rows=120, min_pages=50,
        floor=(88, 112, 20, 88, 0, 20), misses={}, pages_apart=False,
    ),
    "set 2": Holdout(
        file="geocode_fresh_holdout_2.csv", earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv"),
        min_rows=120, min_pages=50, floor=(112, 152, 35, 109, 0, 30),
        misses={
            "outside": (
                "tuned on (branch geo-rules6): 30/35 places outside California handled ('Washoe County "
                "jail', 'Lane County', 'former Medford resident', 'in Baltimore', Seattle's Chinatown now "
                "kept). Placed inside "
                "California: 'farms near Milford' (Utah) -> Milford (Lassen), 'officers in Ontario and "
                "Medford' (Oregon) -> Ontario (San Bernardino). Rejected without a state or country kept: "
                "\"Jackson County's location along the Interstate 5 corridor\" (a county of many states), "
                "'Parish Hall in Hillsboro', 'a través de Tijuana'"),
        },
    ),
    "set 3": Holdout(
        file="geocode_fresh_holdout_3.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv"),
        min_rows=200, min_pages=100, floor=(187, 277, 102, 186, 0, 80),
        # floor raised by branch geo19c (right 185 -> 186, outside 79 -> 80)
        misses={
            "outside": (
                "tuned on (branch geo-rules6, then geo19c): 80/102 places outside California handled "
                "(Milwaukee, WI, Malawi, Laredo, Long Island City, 'a suburban Las Vegas house', Chicago's "
                "Bridgeport neighborhood; since geo19c 'a Mexican village some 1,800 miles from San Diego', "
                "San Diego now only a reference point). Placed inside "
                "California: namesakes without their state ('the city of Richmond' in Virginia, Lake "
                "County and 'the Bridgeport brothel' in Illinois, Brooks County TX as Brooks), 'Sonora' "
                "the Mexican state as the town; rejected without a "
                "state or country kept: US places the gazetteer does not hold (Gurnee, Elgin, Aurora, Kane "
                "County, Kirkland, King County, Cascade County, Nash County NC, Elk Grove Village, "
                "Chamberlayne Avenue and the East End, Mannheim Road, Barrington Road, the Shirley Road "
                "exit, the I-35 checkpoint, ASU), Las Vegas's 'the Valley' (a region of no one county), "
                "and a Spanish-language phrase on Tijuana"),
        },
    ),
    "set 4": Holdout(
        file="geocode_fresh_holdout_4.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv"),
        min_rows=150, min_pages=50, floor=(82, 125, 35, 80, 0, 33),
        misses={
            "outside": (
                "tuned on (branch geo-rules6): 33/35 places outside California handled (the three 'Mexican "
                "national(ity)' phrases and 'Irving, TX' now kept): rejected without a state or country "
                "kept: 'the Wellton Station Interstate 8 immigration checkpoint' (Arizona), 'from the east "
                "coast'"),
        },
    ),
    "set 5": Holdout(
        file="geocode_fresh_holdout_5.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv", "geocode_fresh_holdout_4.csv"),
        min_rows=200, min_pages=80, floor=(159, 205, 40, 155, 0, 33),
        misses={
            "outside": (
                "tuned on (branch geo-rules6): 33/40 places outside California handled (Dubai twice, Iraq, "
                "Houston, the greater Phoenix area now kept). Placed inside California: Glendale, Arizona, "
                "three times ('Glendale police ... across the Valley', 'the city of Glendale', 'State Farm "
                "Stadium in Glendale, a suburb of Phoenix, Arizona'); kept as the wrong state: 'the National "
                "Center on Sexual Exploitation in Washington' (Washington state, not DC); rejected without a "
                "state kept: Totem Lake (Washington), Crystal Bay and Incline Village (Nevada)"),
        },
    ),
    "set 6": Holdout(
        file="geocode_fresh_holdout_6.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv", "geocode_fresh_holdout_4.csv", "geocode_fresh_holdout_5.csv"),
        min_rows=250, min_pages=80, floor=(156, 215, 47, 156, 0, 47),
        # first evaluation (main after geo-rules6): 149/156 right, 4/215 wrong, 42/47 outside, every
        # target missed; tuned on since (branch georules7, the docstring): every target met
        misses={},
    ),
    "set 7": Holdout(
        file="geocode_fresh_holdout_7.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv", "geocode_fresh_holdout_4.csv", "geocode_fresh_holdout_5.csv",
                 "geocode_fresh_holdout_6.csv"),
        min_rows=250, min_pages=100, floor=(165, 233, 48, 155, 1, 44),
        # first evaluation (main e0a453c) 137/165, 8/233, 35/48; second, the honest figure (after
        # georules7, written without sight of it) 139/165, 7/233, 37/48; tuned on since (georules8)
        misses={
            "right county": (
                "tuned on (branch georules8): 155/165 right (93.9 %), 10 rejected: streets named for a town "
                "('Eagle Rock Boulevard', 'Palmdale Boulevard', 'Arden Way': such streets often run in another "
                "county than their town, so not guessed), 'Interstate 8 and Bonds Corner Road' (a cross "
                "street), a county named beside a town outside it ('the Malibu coast in Ventura County'), "
                "'Watsonville, like all cities in Santa Cruz County and California', 'Pajaro Valley' (two "
                "counties), 'San Luis' (San Luis Obispo or San Luis, Arizona: rejected, not guessed), a "
                "college and a park ('College of the Sequoias', 'Poncitlan Square Park')"),
            "outside": (
                "tuned on (branch georules8): 44/48 places outside California handled. Rejected without a "
                "state or country kept: 'A Logan County jury' (Kansas; a county of many states, no longer "
                "placed in California), Fremont Street and Charleston Boulevard (Las Vegas streets), a Thai "
                "hamlet; kept as the wrong place: 'near Osoyoos in the south Okanagan' (Canada) as Korea"),
        },
    ),
    "set 8": Holdout(
        file="geocode_fresh_holdout_8.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv", "geocode_fresh_holdout_4.csv", "geocode_fresh_holdout_5.csv",
                 "geocode_fresh_holdout_6.csv", "geocode_fresh_holdout_7.csv"),
        min_rows=220, min_pages=70, floor=(147, 196, 43, 146, 1, 43),
        # tuned on by branch geo19 (first evaluation 136/147, 4/196, 35/43): all three targets
        # now hold; left: 'Santa Rosa Avenue' rejected (a street named for a town), 'Oakland
        # sued the motels' (labelled no one county by its builder) as Alameda
        misses={},
    ),
    "set 9": Holdout(
        file="geocode_fresh_holdout_9.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv", "geocode_fresh_holdout_4.csv", "geocode_fresh_holdout_5.csv",
                 "geocode_fresh_holdout_6.csv", "geocode_fresh_holdout_7.csv", "geocode_fresh_holdout_8.csv"),
        min_rows=250, min_pages=70, floor=(172, 240, 50, 168, 0, 48), min_kinds=(150, 40, 40),
        # first evaluation, the honest figure (after geo19, written without sight of it):
        # 163/172, 3/240, 43/50 (main before geo19: 161/172, 3/240, 43/50); tuned on since by
        # branch geo19b: the right- and wrong-county targets now hold
        misses={
            "outside": (
                "tuned on (branch geo19b): 48/50 handled; rejected without a state kept: two phrases that "
                "name only a street of an outside city ('West Twain Avenue' in Las Vegas, '82nd Avenue' in "
                "Portland): a street alone is no place, and many streets share such names"),
        },
    ),
    "set 10": Holdout(
        file="geocode_fresh_holdout_10.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv", "geocode_fresh_holdout_4.csv", "geocode_fresh_holdout_5.csv",
                 "geocode_fresh_holdout_6.csv", "geocode_fresh_holdout_7.csv", "geocode_fresh_holdout_8.csv",
                 "geocode_fresh_holdout_9.csv"),
        min_rows=200, min_pages=50, floor=(128, 177, 33, 126, 1, 33), min_kinds=(120, 30, 30),
        # first evaluation, the honest figure (after geo19b, written without sight of it; the same
        # before them): 115/128, 4/177, 31/33; tuned on since by branch geo19c: all three targets
        # now hold (126/128, 1/177, 33/33); left: 'The lights of San Diego and Tijuana' (labelled
        # no one county) as San Diego; rejected: Little Saigon (Orange County's and Oakland's
        # 'Little Saigon Neighborhood')
        misses={},
    ),
    "set 11": Holdout(
        file="geocode_fresh_holdout_11.csv",
        earlier=("geocode_real_text.csv", "geocode_fresh_holdout.csv", "geocode_fresh_holdout_2.csv",
                 "geocode_fresh_holdout_3.csv", "geocode_fresh_holdout_4.csv", "geocode_fresh_holdout_5.csv",
                 "geocode_fresh_holdout_6.csv", "geocode_fresh_holdout_7.csv", "geocode_fresh_holdout_8.csv",
                 "geocode_fresh_holdout_9.csv", "geocode_fresh_holdout_10.csv"),
        min_rows=200, min_pages=80, floor=(109, 173, 33, 102, 2, 27), min_kinds=(105, 60, 30),
        misses={
            "right county": (
                "first evaluation (after branch geo19c, whose rules were written on set 10 without sight of "
                "it; 101/109 before them): 102/109 right (93.6 %), 7 rejected: venues the place list lacks "
                "('South Coast Plaza', 'the Rose Bowl Aquatics Center'), an agency's initials ('an OCTA bus "
                "driver'), 'the greater Los Angeles area' (read as a region of several counties), 'the Santa "
                "Clara Valley Transit Authority' (the valley set aside), 'the San Francisco 49ers' Levi's "
                "Stadium' (a team's name read as a second place), Los Angeles written in Arabic"),
            "wrong county": (
                "first evaluation: 2/173 wrong (1.2 %): 'temples near Atlanta, Chicago, Houston, and Los "
                "Angeles' (labelled no one county: four cities) as Los Angeles; 'San Bernardino, and seven "
                "other counties' (labelled no one county) as San Bernardino"),
            "outside": (
                "first evaluation: 27/33 handled: Utah's Milford and Delta (a California namesake) placed in "
                "California; rejected or kept as the wrong place: 'Nueva Jersey' (Spanish) kept as India, "
                "'places like Yakima', and three origins written in Arabic"),
        },
    ),
}


#: The sets with a first evaluation (a floor): the scored tests run on these only.
EVALUATED = [name for name, holdout in HOLDOUTS.items() if holdout.floor is not None]


def _read(file: str) -> pd.DataFrame:
    """A labelled set; the holdouts open with comment lines (``#``: how the set was built, unsure labels)."""
    with open(DATA / file, encoding="utf-8") as lines:
        skip = sum(1 for _ in itertools.takewhile(lambda line: line.startswith("#"), lines))
    return pd.read_csv(DATA / file, dtype=str, keep_default_na=False, skiprows=skip)


@cache
def _scores(name: str) -> Scores:
    return score(_read(HOLDOUTS[name].file))


def _target(name: str, target: str) -> object:
    """``name`` as a parameter, marked xfail with its reason when the set misses ``target``."""
    reason = HOLDOUTS[name].misses.get(target)
    return pytest.param(name, marks=pytest.mark.xfail(strict=False, reason=reason)) if reason else name


@pytest.mark.parametrize("name", HOLDOUTS)
def test_the_set_is_big_cited_and_apart_from_earlier_sets(name: str) -> None:
    holdout = HOLDOUTS[name]
    fresh = _read(holdout.file)
    assert len(fresh) >= holdout.min_rows
    assert fresh["source_url"].nunique() >= holdout.min_pages
    assert fresh["phrase"].str.lower().is_unique
    assert set(fresh["kind"]) == {"ca_place", "ca_no_place", "outside"}
    assert fresh["source_url"].str.match(r"https?://").all()
    assert (fresh["source_title"].str.len() > 5).all()
    labels = fresh.loc[fresh["expected_county_fips"] != "", "expected_county_fips"]
    assert labels.str.fullmatch(r"06\d{3}").all()
    assert (fresh.loc[fresh["kind"] == "ca_place", "expected_county_fips"] != "").all()
    kinds = fresh["kind"].value_counts()
    for kind, least in zip(("ca_place", "ca_no_place", "outside"), holdout.min_kinds, strict=True):
        assert kinds[kind] >= least, (kind, kinds[kind])
    earlier = pd.concat([_read(f) for f in holdout.earlier], ignore_index=True)
    assert not set(fresh["phrase"].str.lower()) & set(earlier["phrase"].str.lower())
    if holdout.pages_apart:
        assert not set(fresh["source_url"]) & set(earlier["source_url"])


@pytest.mark.parametrize("name", [_target(n, "right county") for n in EVALUATED])
def test_right_county_target(name: str) -> None:
    scores = _scores(name)
    assert scores.right_share >= RIGHT_COUNTY_MIN, scores


@pytest.mark.parametrize("name", [_target(n, "wrong county") for n in EVALUATED])
def test_wrong_county_target(name: str) -> None:
    scores = _scores(name)
    assert scores.wrong_share <= WRONG_COUNTY_MAX, scores


@pytest.mark.parametrize("name", [_target(n, "outside") for n in EVALUATED])
def test_outside_target(name: str) -> None:
    scores = _scores(name)
    assert scores.outside_ok == scores.outside, scores


@pytest.mark.parametrize("name", EVALUATED)
def test_no_set_slips_below_its_evaluation(name: str) -> None:
    """A floor at each set's latest evaluation (not a target: where a target is missed it is above)."""
    floor = HOLDOUTS[name].floor
    assert floor is not None, name
    places, californian, outside, right, wrong, outside_ok = floor
    scores = _scores(name)
    assert (scores.places, scores.californian, scores.outside) == (places, californian, outside)
    assert scores.right >= right, scores
    assert scores.wrong <= wrong, scores
    assert scores.outside_ok >= outside_ok, scores
