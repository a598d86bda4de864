"""Tests for ``briefings/``: the files, what each audience gets, markings, audit, escaping."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

import briefings
from briefings import _collect, tables
from briefings.audiences import AUDIENCES, audience_viewer, get_audience, load_audiences
from query import audit
from query.viewer import Viewer
from routes.errors import AccessDenied, ConfigError
from tests.support.warehouse_fixture import SPARSE_COUNTY

K = 11
#: Columns of the CSV and GeoJSON files that hold counts of records or people.
COUNT_FIELDS = {"records", "victims", "load", "current", "previous", "year_before", "records_before",
                "minors", "tips", "incidents", "recoveries", "services", "confirmed"}


# --------------------------------------------------------------------------- helpers

#: Numbers in briefing text that are not counts: dates, page numbers, signed changes,
#: decimals and percentages, route names, H3 resolutions, lengths.
_NOT_COUNTS = [
    r"\d{4}-\d{2}-\d{2}", r"Page \d+ of \d+", r"[+\-−–±]\s?\d[\d,]*(?:\.\d+)?%?", r"\d[\d,]*\.\d+%?",
    r"\b(?:I|US|SR)-\d+", r"\bres \d+", r"\b(?:19|20)\d{2}\b", r"\d[\d,]* km\b",
]


def small_counts_in_text(text: str, *, k: int = K) -> list[int]:
    """Integers in ``text`` between 1 and k-1 once the non-count numbers are removed."""
    for pattern in _NOT_COUNTS:
        text = re.sub(pattern, " ", text)
    numbers = [int(n.replace(",", "")) for n in re.findall(r"(?<![\w.])\d[\d,]*(?![\w.])", text)]
    return [n for n in numbers if 0 < n < k]


def test_the_text_checker_can_fail() -> None:
    assert small_counts_in_text("Alpine 3 records · 7 victims") == [3, 7]
    assert small_counts_in_text("Page 1 of 2 · I-5 · +3 (+5.0%) · 2025-12-01 · 9 km · 11 · 0") == []
    assert small_counts_in_text("typical error ±7 at 95 %") == []  # an error margin, not a count


def small_counts_in_csv(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    bad = []
    for row in rows:
        for column in COUNT_FIELDS & set(row):
            value = row[column].lstrip("'")
            if value and 0 < float(value) < K:
                bad.append((column, row[column]))
    return bad


def _json_input(html_text: str) -> dict:
    start = html_text.index("const jsonInput = ") + len("const jsonInput = ")
    end = html_text.index(";\n", start)
    return json.loads(html_text[start:end].replace("<\\/", "</"))


def _walk(value: object) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


# --------------------------------------------------------------------------- the files


def test_export_writes_every_file(partner_files: briefings.BriefingFiles) -> None:
    assert partner_files.pdf.suffix == ".pdf" and partner_files.png.suffix == ".png"
    assert partner_files.html is not None and partner_files.geojson.suffix == ".geojson"
    assert set(partner_files.csv) == {"headline", "counties", "corridors", "flows", "coordination_pairs", "cells",
                                 "circuits"}
    assert all(p.exists() and p.stat().st_size > 0 for p in partner_files.paths)
    # nothing half-written left behind
    assert not [p for p in partner_files.pdf.parent.iterdir() if p.name.startswith(".")]


def test_map_png_is_300_dpi(partner_files: briefings.BriefingFiles) -> None:
    from PIL import Image

    with Image.open(partner_files.png) as image:
        dpi = image.info.get("dpi", (0, 0))
        assert round(dpi[0]) == 300 and image.width >= 2000


def test_pdf_has_marking_on_every_page_period_and_suppression_note(
    partner_files: briefings.BriefingFiles, le_files: briefings.BriefingFiles
) -> None:
    for files, audience in ((partner_files, "partner"), (le_files, "law_enforcement")):
        marking = AUDIENCES[audience].marking_text(k=K)
        pages = [page.extract_text() for page in PdfReader(files.pdf).pages]
        assert 1 <= len(pages) <= 2
        for number, text in enumerate(pages, start=1):
            assert text.count(marking) >= 2, f"page {number} lacks the marking in header and footer"
            assert f"Page {number} of {len(pages)}" in text
        first = pages[0]
        assert "Jan 2025 – Dec 2025" in first
        assert f"Counts under {K} are not shown" in first
        assert "Data as of: 2025-12" in first
        assert "Contains data from GeoNames" in pages[-1]
    assert "LAW ENFORCEMENT SENSITIVE" not in " ".join(p.extract_text() for p in PdfReader(partner_files.pdf).pages)


def test_busy_briefing_still_fits_two_pages(built: Path, tmp_path: Path) -> None:
    from briefings import pdf, static_map

    data = _collect.collect(Viewer("x", "leadership"), _collect.resolve_place(region="Region I", county=None),
                            start=date(2025, 1, 1), end=date(2025, 12, 1))
    data.flows = pd.concat([data.flows] * 4, ignore_index=True)
    data.pairs = pd.concat([data.pairs] * 4, ignore_index=True)
    data.counties = pd.concat([data.counties] * 4, ignore_index=True)
    png = static_map.draw_map(data, tmp_path / "map.png", dpi=60)
    path = pdf.build_pdf(data, audience=AUDIENCES["caloes"], map_png=png, path=tmp_path / "b.pdf",
                         purpose="x" * 2000, prepared_by="x", created_at=datetime(2026, 1, 1))
    pages = PdfReader(path).pages
    assert len(pages) == 2
    assert "Page 2 of 2" in pages[1].extract_text()


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pdf_renders_to_png(partner_files: briefings.BriefingFiles, tmp_path: Path) -> None:
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "60", "-png", str(partner_files.pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(partner_files.pdf).pages)
    with Image.open(pages[0]) as image:
        assert image.size == (510, 660)  # letter at 60 dpi
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50  # a map, not a blank page


# --------------------------------------------------------------------------- what the audience sees


def test_partner_export_of_a_sparse_region_has_no_count_under_k(partner_files: briefings.BriefingFiles) -> None:
    # the sparse county is in the briefing, and shown as suppressed or as a released
    # value (the partner reads the protected release, whose noise can round a small
    # county to 0 or lift it to k or more), never as a number from 1 to k-1
    with open(partner_files.csv["counties"], newline="", encoding="utf-8") as handle:
        counties = {row["county_fips"]: row for row in csv.DictReader(handle)}
    sparse = counties[SPARSE_COUNTY]
    assert (sparse["records"] == "" and sparse["suppressed"] == "true") or not 0 < int(sparse["records"]) < K
    for path in partner_files.csv.values():
        assert small_counts_in_csv(path) == [], path.name
    layers = json.loads(partner_files.geojson.read_text(encoding="utf-8"))
    assert layers["briefing"]["k"] == K
    for feature in layers["features"]:
        for key, value in feature["properties"].items():
            if key in COUNT_FIELDS and value is not None:
                assert not 0 < value < K, feature["properties"]
    pdf_text = " ".join(page.extract_text() for page in PdfReader(partner_files.pdf).pages)
    assert "fewer than 11" in pdf_text and "suppressed" not in pdf_text
    assert small_counts_in_text(pdf_text) == []
    assert partner_files.html is not None
    html_text = partner_files.html.read_text(encoding="utf-8")
    tips = [str(v) for key, v in _walk(_json_input(html_text)) if key == "tip"]
    assert tips, "the HTML map carries no tooltips to check"
    assert small_counts_in_text("\n".join(tips)) == []
    panel = re.sub(r"<[^>]+>", " ", html_text[html_text.index("<body>"):html_text.index('<div id="deck-container"')])
    assert small_counts_in_text(panel) == []


def _map_label(html_text: str) -> str:
    found = re.search(r'<div id="deck-container" role="img" aria-label="([^"]*)">', html_text)
    assert found, "the HTML briefing's map has no role=img with an aria-label"
    return html.unescape(found.group(1))


def test_the_html_map_is_described_in_words(partner_files: briefings.BriefingFiles) -> None:
    """The offline HTML briefing names its language and describes its map, as the PDF's alternate text does."""
    assert partner_files.html is not None
    html_text = partner_files.html.read_text(encoding="utf-8")
    assert '<html lang="en">' in html_text
    label = _map_label(html_text)
    assert label.startswith("Map of ") and "(resolution " in label and "legend" in label, label


def test_reads_use_the_audience_role_not_the_exporter(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    for module, name in ((_collect.cells, "cell_counts"), (_collect.trends, "headline_figures"),
                         (_collect.trends, "county_rates"), (_collect.flows, "flow_edges"),
                         (_collect.flows, "corridor_loads"), (_collect.flows, "coordination_pairs")):
        original = getattr(module, name)

        def spy(viewer: Viewer, *args: object, _original: object = original, **kwargs: object) -> object:
            seen.append(viewer.role)
            return _original(viewer, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(module, name, spy)
    place = _collect.resolve_place(region="Region I", county=None)
    reader = audience_viewer(get_audience("partner"), exporter=Viewer("ana", "lead", "la"))
    _collect.collect(reader, place, start=date(2025, 1, 1), end=date(2025, 12, 1))
    assert len(seen) >= 6 and set(seen) == {"partner"}


def test_colour_scales_are_statewide_so_regions_compare(built: Path) -> None:
    viewer = Viewer("x", "leadership")
    one = _collect.collect(viewer, _collect.resolve_place(region="Region I", county=None),
                           start=date(2025, 1, 1), end=date(2025, 12, 1))
    two = _collect.collect(viewer, _collect.resolve_place(region="Region II", county=None),
                           start=date(2025, 1, 1), end=date(2025, 12, 1))
    assert one.cell_scale == two.cell_scale
    assert one.corridor_scale == two.corridor_scale and one.flow_scale == two.flow_scale
    # the legend starts at k: no class of counts that are never shown
    from briefings.static_map import class_labels

    assert class_labels(one.cell_scale, k=K)[0][0].startswith(f"{K} to")


# --------------------------------------------------------------------------- audit, access, inputs


def test_every_export_is_audited(built: Path, partner_files: briefings.BriefingFiles, le_files: briefings.BriefingFiles) -> None:
    log = audit.read_log(Viewer("root", "admin"), action="export")
    by_seq = log.set_index("seq")
    partner = by_seq.loc[partner_files.audit_seq]
    assert (partner["user"], partner["audience"], partner["purpose"]) == ("ana", "partner", "Partner services meeting")
    assert "Region IV" in partner["what"] and partner_files.pdf.name in partner["what"]
    assert json.loads(partner["filters"])["from"] == "2025-01"
    le = by_seq.loc[le_files.audit_seq]
    assert (le["user"], le["role"], le["audience"]) == ("lee", "lead", "law_enforcement")
    before = len(audit.read_log(Viewer("root", "admin"), action="export"))
    briefings.export_briefing(Viewer("ana", "admin"), county="06037", start="2025-06", end="2025-12",
                              audience="caloes", purpose="state review", out_dir=built / "out-la", html=False)
    assert len(audit.read_log(Viewer("root", "admin"), action="export")) == before + 1
    audit.verify_chain()


@pytest.mark.parametrize(
    ("viewer", "region", "county", "allowed"),
    [
        (Viewer("a", "admin"), "Region IV", None, True),
        (Viewer("l", "leadership"), None, "06003", True),
        (Viewer("s", "lead", "sacramento"), "Region IV", None, True),
        (Viewer("s", "lead", "sacramento"), None, "06003", True),
        (Viewer("l", "lead", "la"), "Region IV", None, False),
        (Viewer("l", "lead", "la"), None, "06003", False),
        (Viewer("n", "analyst", "la"), "Region I", None, False),
        (Viewer("p", "partner"), "Region I", None, False),
    ],
)
def test_who_may_export(viewer: Viewer, region: str | None, county: str | None, allowed: bool) -> None:
    place = _collect.resolve_place(region=region, county=county)
    if allowed:
        briefings.check_exporter(viewer, place)
    else:
        with pytest.raises(AccessDenied):
            briefings.check_exporter(viewer, place)


def test_refused_exporter_writes_nothing_and_logs_nothing(built: Path) -> None:
    out = built / "out-refused"
    with pytest.raises(AccessDenied, match="'la'"):
        briefings.export_briefing(Viewer("l", "lead", "la"), region="Region IV", start="2025-01", end="2025-12",
                                  audience="partner", purpose="x", out_dir=out)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"region": "Region IX"}, ValueError, "'Region IX'"),
        ({"county": "6003"}, ValueError, "'6003'"),
        ({"region": "Region I", "start": "2025-13"}, ValueError, "'2025-13'"),
        ({"region": "Region I", "purpose": " "}, ValueError, "purpose"),
        ({"region": "Region I", "audience": "press"}, ConfigError, "'press'"),
    ],
)
def test_bad_inputs_name_the_value(built: Path, kwargs: dict, error: type, match: str) -> None:
    args = {"start": "2025-01", "end": "2025-12", "audience": "partner", "purpose": "p", "out_dir": built / "bad"}
    args.update(kwargs)
    with pytest.raises(error, match=re.escape(match)):
        briefings.export_briefing(Viewer("a", "admin"), **args)


def test_untrusted_text_is_escaped(le_files: briefings.BriefingFiles) -> None:
    assert le_files.html is not None
    text = le_files.html.read_text(encoding="utf-8")
    assert "Task force &lt;b&gt;meeting&lt;/b&gt; &amp; =cmd" in text
    assert "<b>meeting</b>" not in text
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", text, flags=re.S | re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?:""", markup, flags=re.I)
    assert "<script src" not in text and 'http-equiv="Content-Security-Policy"' in text
    first = PdfReader(le_files.pdf).pages[0].extract_text()
    assert "Task force <b>meeting</b> & =cmd" in first


#: URLs an offline page may contain: XML namespace names, which are identifiers and never fetched.
INERT_URLS = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1998/Math/MathML"}


def _labels_payload(text: str) -> dict:
    start = text.index("const ROUTES_LABELS = ") + len("const ROUTES_LABELS = ")
    return json.loads(text[start:text.index(";\n", start)].replace("<\\/", "</"))


def test_every_html_export_names_places_counties_and_highways_offline(
    partner_files: briefings.BriefingFiles, le_files: briefings.BriefingFiles
) -> None:
    """Every audience's HTML map carries the names (by zoom band) and asks for nothing outside the file:
    no URL in the markup or in the page's own scripts but namespace names; pydeck's inlined deck.gl
    bundle mentions URLs it never fetches here, and the Content-Security-Policy forbids them all."""
    for files in (partner_files, le_files):
        assert files.html is not None
        text = files.html.read_text(encoding="utf-8")
        labels = _labels_payload(text)
        by_kind = {kind["kind"]: {row[2] for row in kind["rows"]} for kind in labels["kinds"]}
        assert {"Los Angeles", "San Francisco", "Fresno"} <= by_kind["place"]
        assert "LOS ANGELES" in by_kind["county"] and "I-5" in by_kind["highway"]
        assert labels["bands"][0] <= 5 and labels["bands"][-1] >= 12
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", text, flags=re.S | re.I)
        bundle = max(scripts, key=len)
        assert len(bundle) > 1_000_000 and "ROUTES_LABELS" not in bundle  # pydeck's deck.gl, inlined
        own = text.replace(bundle, "")
        urls = set(re.findall(r"""https?://[^\s"'<>)`\\]*""", own))
        assert urls <= INERT_URLS, sorted(urls - INERT_URLS)
        assert "default-src 'none'" in text and "font-src data:" in text


# --------------------------------------------------------------------------- CSV and audiences


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "name": ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tx", "\rx", "Lodi", "a=b"],
        "records": [12, 13, 14, 15, 16, 17, 18, 19],
    })
    path = tables.write_csv(frame, tmp_path / "t.csv")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    names = [row[0] for row in rows[1:]]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1:A2)", "'\tx", "'\rx", "Lodi", "a=b"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_audience_table_and_configuration(tmp_path: Path) -> None:
    assert AUDIENCES["partner"].role == "partner"
    assert {AUDIENCES[a].role for a in ("law_enforcement", "prosecutors", "caloes")} == {"leadership"}
    assert AUDIENCES["caloes"].marking_text() == "OFFICIAL USE ONLY"
    good = tmp_path / "aud.csv"
    good.write_text("audience,label,role,marking,description\nboard,Board,partner,BOARD ONLY (k={k}),b\n")
    table = load_audiences(good)
    assert table["board"].marking_text(k=12) == "BOARD ONLY (k=12)" and "partner" in table
    bad = tmp_path / "bad.csv"
    bad.write_text("audience,label,role,marking,description\nrecords,R,analyst,X,\n")
    with pytest.raises(ConfigError, match="'analyst'"):
        load_audiences(bad)
