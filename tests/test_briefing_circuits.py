"""A region's briefing lists the circuits through it, as the Flows page does (issue 22).

On the 60 k demo (the planted loop, in travel order) and on the small fixture
warehouse with a doctored release (only released figures, hidden ones worded).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

import briefings
from geo import reference
from pipelines.cli import main
from query import moves
from query.filters import Filters
from query.viewer import OWN_RECORDS, Viewer
from tests.support.warehouse_fixture import BRIEFING_PERIOD, make_built_warehouse


def _in_loop_order(names: list[str], loop: list[str]) -> bool:
    """``names`` (a loop ending where it began) follow ``loop``'s travel order from any starting place."""
    cycle = names[:-1]
    if names[0] != names[-1] or sorted(cycle) != sorted(loop):
        return False
    start = cycle.index(loop[0])
    return cycle[start:] + cycle[:start] == loop


@pytest.mark.slow
def test_the_region_briefing_lists_the_planted_loop_in_order(
    demo: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path, truth = demo
    loop = next(c for c in truth["planted_circuits"] if c["shape"] == "loop")
    regions = reference.load_regions().set_index("county_fips")["region"]
    region = str(regions[loop["county_fips"][0]])
    task_force = reference.county_dimensions().set_index("county_fips").at[loop["county_fips"][0], "task_force"]
    out = tmp_path / "out"
    code = main(["brief", "--region", region, "--from", "2025-01", "--to", "2025-12", "--audience", "partner",
                 "--purpose", "circuits test", "--out", str(out), "--as", "lead", "--task-force", str(task_force),
                 "--user", "lee"])
    printed = capsys.readouterr()
    assert code == 0, printed.err

    names = reference.county_dimensions().set_index("county_fips")["county"].to_dict()
    page = moves.circuits(Viewer("p", "partner"), Filters(regions=(region,)))  # what the Flows page lists
    with (next(out.glob("*_circuits.csv"))).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    expected = page.head(len(rows))
    assert [r["places_in_order"] for r in rows] == [" → ".join(p) for p in expected["place_names"]]
    assert [r["subjects"] for r in rows] == ["" if v is None or v != v else str(int(v)) for v in
                                              expected["subjects"].astype(object).where(expected["subjects"].notna(), None)]
    ordered = [r for r in rows if r["shape"] == "loop"
               and _in_loop_order(r["places_in_order"].split(" → "), [names[f] for f in loop["county_fips"]])]
    assert ordered, rows

    text = " ".join(p.extract_text() for p in PdfReader(next(out.glob("*.pdf"))).pages)
    flat = " ".join(text.split())
    assert "Circuits through this region" in flat
    assert ordered[0]["places_in_order"].replace(" → ", " › ") in flat
    if not ordered[0]["subjects"]:
        assert "fewer than 11" in flat
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert ordered[0]["places_in_order"] in html

    with duckdb.connect(str(path), read_only=True) as con:
        tokens = [str(t) for (t,) in con.execute("SELECT DISTINCT token FROM record_identifiers").fetchall() if t]
    written = " ".join([flat, html, printed.out, printed.err,
                        *(p.read_text(encoding="utf-8") for p in out.glob("*.csv")),
                        *(p.read_text(encoding="utf-8") for p in out.glob("*.geojson"))])
    assert not any(t in written for t in tokens if len(t) >= 8)


# --------------------------------------------------------------------------- only released figures

#: Circuits in the exact table and in the release (Region IV holds Placer 06061, Sacramento 06067,
#: San Joaquin 06077, Stanislaus 06099, Yolo 06113): exact subject counts no briefing may show.
_EXACT = [("A", "loop", ["06067", "06077", "06099", "06067"], 7919),
          ("B", "path", ["06061", "06067", "06113"], 6841),
          ("C", "path", ["06077", "06099", "06019"], 5573)]   # never released
_RELEASED = [("A", "loop", ["06067", "06077", "06099", "06067"], 37),
             ("B", "path", ["06061", "06067", "06113"], 7),   # under k: "fewer than 11"
             ("D", "path", ["06037", "06059", "06065"], 55)]  # outside Region IV


@pytest.fixture(scope="module")
def doctored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture warehouse with the exact and released circuits above."""
    root = tmp_path_factory.mktemp("briefing-circuits")
    with pytest.MonkeyPatch.context() as mp:
        make_built_warehouse(root, mp)
        with duckdb.connect(str(root / "warehouse" / "routes.duckdb")) as con:
            con.execute("CREATE OR REPLACE TABLE circuits (rank INTEGER, circuit_id VARCHAR, shape VARCHAR, "
                        "places VARCHAR[], n_places INTEGER, tokens INTEGER, cross_source_tokens INTEGER, "
                        "sources INTEGER, median_dwell_days DOUBLE[])")
            con.executemany("INSERT INTO circuits VALUES (?, ?, ?, ?, ?, ?, ?, 3, [5.0, 6.0, 7.0])",
                            [(i + 1, c, shape, places, len(set(places)), n, n)
                             for i, (c, shape, places, n) in enumerate(_EXACT)])
            con.execute("CREATE OR REPLACE TABLE release_circuits (circuit_id VARCHAR, shape VARCHAR, "
                        "places VARCHAR[], n_places BIGINT, subjects BIGINT)")
            con.executemany("INSERT INTO release_circuits VALUES (?, ?, ?, ?, ?)",
                            [(c, shape, places, len(set(places)), n) for c, shape, places, n in _RELEASED])
        yield root


def test_a_leads_briefing_shows_released_circuit_counts_only(doctored: Path) -> None:
    """The lead reads its own task force's records exactly, but its briefing lists the release as the audience sees it."""
    lead = Viewer("sam", "lead", "sacramento", OWN_RECORDS)
    assert lead.counts_own_records
    files = briefings.export_briefing(lead, region="Region IV", start=BRIEFING_PERIOD[0], end=BRIEFING_PERIOD[1],
                                      audience="partner", purpose="circuits privacy", out_dir=doctored / "out")
    with files.csv["circuits"].open(encoding="utf-8") as handle:
        rows = [(r["rank"], r["shape"], r["places_in_order"], r["subjects"], r["suppressed"])
                for r in csv.DictReader(handle)]
    assert rows == [("1", "loop", "Sacramento → San Joaquin → Stanislaus → Sacramento", "37", "false"),
                    ("2", "path", "Placer → Sacramento → Yolo", "", "true")]

    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(files.pdf).pages)
    circuits_part = text[text.index("Circuits through this region"):text.index("Sources and attribution")]
    assert "1 loop Sacramento › San Joaquin › Stanislaus › Sacramento 37" in circuits_part
    assert "2 path Placer › Sacramento › Yolo fewer than 11" in circuits_part
    assert files.html is not None
    page = files.html.read_text(encoding="utf-8")
    assert "Placer → Sacramento → Yolo (fewer than 11 subjects)" in page
    assert "Sacramento → San Joaquin → Stanislaus → Sacramento (37 subjects)" in page

    written = " ".join([text, page, *(p.read_text(encoding="utf-8") for p in files.paths
                                      if p.suffix in (".csv", ".geojson", ".html"))])
    assert not [n for *_, n in _EXACT if re.search(rf"(?<![\w.]){n}(?![\w.])", written)]  # no exact count
    assert "Fresno" not in circuits_part and "Los Angeles" not in circuits_part  # C unreleased, D elsewhere
