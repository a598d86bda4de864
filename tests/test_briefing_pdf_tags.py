"""The briefing PDF is a tagged PDF: what a screen reader needs, read back from the file.

Checked here, with pikepdf (the structure) and pypdf (the text of each marked-content
sequence): the catalog says Marked, Lang and DisplayDocTitle; every mark on every page
(text, image, fill, stroke) is in marked content, either bound to the structure tree both
ways (the element's /K and the page's /ParentTree entry) or an artifact holding only the
running footer; headings are H1/H2; the map is a Figure with alternate text; tables are
Table/TR/TH/TD; the structure's order is the page's order, top to bottom and a table row
left to right. This is not a PDF/UA conformance check (no veraPDF here).
"""

from __future__ import annotations

import csv
import itertools
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
import pytest
from pypdf import PageObject, PdfReader

import briefings

#: Operators that put something on the page: text, images and shadings, fills and strokes.
PAINTING = {"Tj", "TJ", "'", '"', "Do", "sh", "f", "F", "f*", "B", "B*", "b", "b*", "S", "s", "INLINE IMAGE"}
SECTIONS = ["Headline figures", "Counties", "Busiest corridors", "Busiest flows (point source to destination)",
            "Task forces that share routes (coordination pairs; HT = Human Trafficking)", "Circuits through this region",
            "Sources and attribution"]


@pytest.fixture(params=["partner", "law_enforcement"])
def files(request: pytest.FixtureRequest) -> briefings.BriefingFiles:
    """Region IV for partners (empty flow and pair tables) and Region I for law enforcement (full ones)."""
    return request.getfixturevalue("partner_files" if request.param == "partner" else "le_files")


@dataclass
class Element:
    tag: str
    obj: pikepdf.Object
    marks: list[tuple[int, int]] = field(default_factory=list)  # (page index, MCID)
    kids: list[Element] = field(default_factory=list)

    def walk(self) -> Iterator[Element]:
        yield self
        for kid in self.kids:
            yield from kid.walk()


def _structure(pdf: pikepdf.Pdf) -> Element:
    """The structure tree below /StructTreeRoot, its marked-content references resolved to page indexes."""
    page_of = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}

    def element(obj: pikepdf.Object) -> Element:
        node = Element(str(obj.S)[1:], obj)
        kids = obj.get("/K")
        for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
            if isinstance(kid, int):
                node.marks.append((page_of[obj.Pg.objgen], int(kid)))
            elif kid.get("/Type") == "/MCR":
                node.marks.append((page_of[kid.Pg.objgen], int(kid.MCID)))
            else:
                node.kids.append(element(kid))
        return node

    root = pdf.Root.StructTreeRoot
    return Element("StructTreeRoot", root, kids=[element(kid) for kid in root.K])


@dataclass
class PageContent:
    mcids: list[int] = field(default_factory=list)  # in stream order
    unmarked: list[str] = field(default_factory=list)  # painting operators outside marked content
    images: dict[str, int | None] = field(default_factory=dict)  # XObject name: the MCID it is drawn in
    text: dict[int, list[tuple[float, float, str]]] = field(default_factory=dict)  # MCID: (x, y, text)
    artifact_text: list[str] = field(default_factory=list)


def _content(path: Path) -> list[PageContent]:
    """Each page's marked content, read from its content stream."""
    out = []
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            content = PageContent()
            stack: list[tuple[str, int | None]] = []
            for instruction in pikepdf.parse_content_stream(page):
                op, operands = str(instruction.operator), instruction.operands
                if op in ("BDC", "BMC"):
                    props = operands[1] if op == "BDC" else None
                    mcid = int(props.MCID) if isinstance(props, pikepdf.Dictionary) and "/MCID" in props else None
                    stack.append((str(operands[0]), mcid))
                    if mcid is not None:
                        content.mcids.append(mcid)
                elif op == "EMC":
                    stack.pop()
                elif op in PAINTING:
                    if not stack:
                        content.unmarked.append(op)
                    if op == "Do":
                        content.images[str(operands[0])] = stack[-1][1] if stack else None
            assert not stack, "a BDC without its EMC"
            out.append(content)
    for content, text_page in zip(out, PdfReader(path).pages, strict=True):
        _read_text(text_page, content)
    return out


def _read_text(page: PageObject, content: PageContent) -> None:
    """Put the text of ``page`` into ``content``: by MCID with its position, or as artifact text."""
    stack: list[int] = []  # the MCIDs of the open sequences (-1: an artifact)

    def before(op: bytes, args: list, cm: list, tm: list) -> None:
        if op in (b"BDC", b"BMC"):
            props = args[1] if op == b"BDC" else None
            stack.append(int(props["/MCID"]) if props is not None and "/MCID" in props else -1)
        elif op == b"EMC":
            stack.pop()

    def text(value: str, cm: list, tm: list, font: object, size: object) -> None:
        if not value.strip():
            return
        assert stack, f"text outside marked content: {value!r}"
        if stack[-1] == -1:
            content.artifact_text.append(value.strip())
        else:
            x, y = cm[4] + tm[4] * cm[0], cm[5] + tm[5] * cm[3]
            content.text.setdefault(stack[-1], []).append((x, y, value.strip()))

    page.extract_text(visitor_operand_before=before, visitor_text=text)


def _text(element: Element, pages: list[PageContent]) -> str:
    """The text of an element and its kids, in structure order."""
    return " ".join(t for e in element.walk() for p, m in e.marks for _, _, t in pages[p].text.get(m, []))


# --------------------------------------------------------------------------- the tests


def test_catalog_says_tagged_in_english_with_its_title(files: briefings.BriefingFiles) -> None:
    with pikepdf.open(files.pdf) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert str(pdf.Root.Lang) == "en-US"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        title = str(pdf.docinfo.Title)
        assert title.startswith("Routes briefing: Cal OES Mutual Aid Region") and "2025" in title
        with pdf.open_metadata() as meta:
            assert meta["dc:title"] == title
        tree = pdf.Root.StructTreeRoot
        assert tree.Type == "/StructTreeRoot" and "/ParentTree" in tree
        assert int(tree.ParentTreeNextKey) == len(pdf.pages)
        document = _structure(pdf).kids
        assert [e.tag for e in document] == ["Document"]


def _assert_every_mark_tagged(path: Path) -> list[PageContent]:
    """Every mark of every page in marked content: bound to the tree both ways, or the footer as an artifact."""
    pages = _content(path)
    with pikepdf.open(path) as pdf:
        tree = _structure(pdf)
        owner = {mark: e for e in tree.walk() for mark in e.marks}
        assert len(owner) == sum(len(e.marks) for e in tree.walk()), "a marked-content sequence is in two elements"
        parent_tree = {int(k): v for k, v in zip(pdf.Root.StructTreeRoot.ParentTree.Nums[::2],
                                                  pdf.Root.StructTreeRoot.ParentTree.Nums[1::2], strict=True)}
        for index, (page, content) in enumerate(zip(pdf.pages, pages, strict=True)):
            assert content.unmarked == [], f"page {index + 1}: content outside marked content"
            assert content.mcids == list(range(len(content.mcids))), f"page {index + 1}: MCIDs not 0..n-1 once each"
            in_tree = sorted(m for p, m in owner if p == index)
            assert in_tree == content.mcids, f"page {index + 1}: marked content not bound to the structure tree"
            parents = parent_tree[int(page.obj.StructParents)]
            assert len(parents) == len(content.mcids)
            for mcid, parent in enumerate(parents):
                assert parent.objgen == owner[(index, mcid)].obj.objgen, f"page {index + 1}: /ParentTree of MCID {mcid}"
            # the artifacts hold the running footer and the repeated marking, nothing of the briefing itself
            marking = _text(tree.kids[0].kids[0], pages)  # the page's first element: the marking
            footer = {marking, f"Page {index + 1} of {len(pages)}"}
            others = [t for t in content.artifact_text if t not in footer]
            assert len(others) == 1 and others[0].startswith("Routes briefing · "), content.artifact_text
    return pages


def test_every_mark_on_every_page_is_tagged_or_a_footer_artifact(files: briefings.BriefingFiles) -> None:
    pages = _assert_every_mark_tagged(files.pdf)
    texts = [t for content in pages for lines in content.text.values() for _, _, t in lines]
    assert any("Counts under 11 are not shown" in t for t in texts) and "Sources and attribution" in texts


def test_headings_are_h1_then_h2_for_each_section(files: briefings.BriefingFiles) -> None:
    pages = _content(files.pdf)
    with pikepdf.open(files.pdf) as pdf:
        document = _structure(pdf).kids[0]
    headings = [(e.tag, _text(e, pages)) for e in document.kids if e.tag in ("H1", "H2", "H3", "H4", "H5", "H6")]
    assert headings[0][0] == "H1" and headings[0][1].startswith("Regional briefing: Cal OES Mutual Aid Region")
    assert headings[1:] == [("H2", name) for name in SECTIONS]
    roles = {e.tag for e in document.walk()}
    assert roles <= {"Document", "H1", "H2", "P", "Figure", "Table", "TR", "TH", "TD"}, roles


def test_the_map_is_a_figure_with_alternate_text(files: briefings.BriefingFiles) -> None:
    pages = _content(files.pdf)
    with pikepdf.open(files.pdf) as pdf:
        figures = [e for e in _structure(pdf).walk() if e.tag == "Figure"]
        assert len(figures) == 1
        figure = figures[0]
        alt = str(figure.obj.get("/Alt", ""))
        assert figure.obj.A.O == "/Layout" and len(figure.obj.A.BBox) == 4
    assert alt.startswith("Map of Cal OES Mutual Aid Region") and "Corridors:" in alt and "flow" in alt, alt
    with open(files.csv["counties"], newline="", encoding="utf-8") as handle:
        counties = [row["county"] for row in csv.DictReader(handle)]
    assert counties and all(name in alt for name in counties), alt  # it names the place's counties
    # the image itself is drawn inside the figure's marked content
    assert [(0, mcid) for mcid in pages[0].images.values()] == figure.marks


def test_tables_are_tagged_with_header_cells(files: briefings.BriefingFiles) -> None:
    pages = _content(files.pdf)
    with pikepdf.open(files.pdf) as pdf:
        tables = [e for e in _structure(pdf).walk() if e.tag == "Table"]
        assert len(tables) == 6
        for table in tables:
            assert str(table.obj.A.Summary), "a table without a summary"
            assert table.marks == [] and {kid.tag for kid in table.kids} == {"TR"}
            header, *rows = table.kids
            assert {cell.tag for cell in header.kids} == {"TH"}
            assert {str(cell.obj.A.Scope) for cell in header.kids} == {"/Column"}
            assert rows, "a table without a row"
            for row in rows:
                width = sum(int(cell.obj.A.get("/ColSpan", 1)) if "/A" in cell.obj else 1 for cell in row.kids)
                assert width == len(header.kids) and {cell.tag for cell in row.kids} <= {"TH", "TD"}
    counties = next(t for t in tables if str(t.obj.A.Summary).startswith("Counties"))
    assert [_text(cell, pages) for cell in counties.kids[0].kids] == [
        "County", "Records", "Victims", "Records per 100,000 residents", "Change from previous period"]
    circuits = next(t for t in tables if str(t.obj.A.Summary).startswith("Circuits"))
    assert [_text(cell, pages) for cell in circuits.kids[0].kids] == ["Rank", "Shape", "Places in order", "Subjects"]
    headline = tables[0]
    assert [_text(row.kids[0], pages) for row in headline.kids[1:3]] == ["Records (all types)", "Victims"]
    assert {row.kids[0].tag for row in headline.kids[1:]} == {"TH"}  # row headers


def test_reading_order_is_the_order_on_the_page(files: briefings.BriefingFiles) -> None:
    """Top to bottom on each page, the marking first; a table row by row, each row left to right."""
    pages = _content(files.pdf)
    with pikepdf.open(files.pdf) as pdf:
        document = _structure(pdf).kids[0]
    units: list[list[Element]] = []  # what is read as one line: an element, or a table row
    for element in document.kids:
        units += [[row] for row in element.kids] if element.tag == "Table" else [[element]]
    tops: dict[int, list[tuple[float, str]]] = {}
    for (unit,) in units:
        lines = {page: [(x, y) for e in unit.walk() for p, m in e.marks if p == page for x, y, _ in pages[p].text.get(m, [])]
                 for page in {p for e in unit.walk() for p, _ in e.marks}}
        for page, points in lines.items():
            if points:
                tops.setdefault(page, []).append((max(y for _, y in points), _text(unit, pages)[:40]))
        if unit.tag == "TR":
            starts = [min(pages[p].text[m][0][0] for p, m in cell.marks) for cell in unit.kids
                      if any(m in pages[p].text for p, m in cell.marks)]
            assert starts == sorted(starts), f"cells of a row out of order: {_text(unit, pages)}"
    assert sorted(tops) == list(range(len(pages)))
    for page, sequence in tops.items():
        assert sequence[0][1] == _text(document.kids[0], pages)[:40], "the marking is read first on the page"
        ys = [y for y, _ in sequence]
        assert all(b <= a + 0.5 for a, b in itertools.pairwise(ys)), f"page {page + 1} read out of order: {sequence}"


def test_a_paragraph_and_a_table_split_across_pages_stay_tagged(tmp_path: Path) -> None:
    """A briefing's parts that do not fit a page: one P over two pages, a table per page with its header row."""
    from briefings import pdf as briefing_pdf
    from briefings.pdf_tags import write_structure

    briefing_pdf._register_fonts()
    styles = briefing_pdf._styles()
    canvas_class = type("SplitCanvas", (briefing_pdf._NumberedCanvas,),
                        {"decorate": staticmethod(briefing_pdf._decorator("MARKING", "Routes briefing · split"))})
    counties = [[f"County {i}", f"{100 + i:,}"] for i in range(90)]
    story = [
        briefing_pdf._para("Split", styles["title"]),
        briefing_pdf._para("A long paragraph. " * 400, styles["body"]),
        briefing_pdf._table(["County", "Records"], counties, [2.0, 1.0], numeric_from=1, caption="Counties"),
    ]
    path = tmp_path / "split.pdf"
    pages = briefing_pdf._build(story, path=path, canvas_class=canvas_class, title="Split", marking="MARKING")
    write_structure(path, canvas_class.tagged, title="Split")  # type: ignore[attr-defined]
    assert pages >= 3

    content = _assert_every_mark_tagged(path)
    with pikepdf.open(path) as pdf:
        document = _structure(pdf).kids[0]
    long = [e for e in document.kids if e.tag == "P" and _text(e, content).startswith("A long paragraph.")]
    assert len(long) == 1 and {p for p, _ in long[0].marks} == {0, 1}
    tables = [e for e in document.kids if e.tag == "Table"]
    assert len(tables) >= 2
    assert all([_text(cell, content) for cell in table.kids[0].kids] == ["County", "Records"] for table in tables)
    assert [_text(row.kids[0], content) for table in tables for row in table.kids[1:]] == [c for c, _ in counties]


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="pdfinfo (poppler-utils) is not installed")
def test_poppler_reads_the_structure_tree_with_its_text(partner_files: briefings.BriefingFiles) -> None:  # noqa: F811
    """Another reader than the ones above (poppler) finds the tree and the text under it, without a complaint."""
    info = subprocess.run(["pdfinfo", str(partner_files.pdf)], capture_output=True, text=True, check=True)
    assert "Tagged:          yes" in info.stdout and "PDF version:     1.7" in info.stdout
    tree = subprocess.run(["pdfinfo", "-struct-text", str(partner_files.pdf)], capture_output=True, text=True, check=True)
    assert tree.stderr == ""
    lines = [line.strip() for line in tree.stdout.splitlines()]
    assert lines[:4] == ["Document", "P (block)", '"FOR OFFICIAL USE ONLY — AGGREGATES, COUNTS UNDER 11 NOT SHOWN"', "H1 (block)"]
    assert lines[4] == '"Regional briefing: Cal OES Mutual Aid Region IV"'
    assert {"Figure:", "Table (block):", "TR", "TH:", "TD", "H2 (block)"} <= set(lines)
    assert '"Sources and attribution"' in lines
