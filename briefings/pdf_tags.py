"""Tagged PDF for the briefing: marked content while reportlab draws, the structure tree after.

reportlab writes no structure tree, so the briefing is tagged in two steps:

1. While the pages are drawn, every piece of content is wrapped in marked content
   in the page's stream: headings, paragraphs and the map in ``/H1 <</MCID n>> BDC
   … EMC`` (and so on) by :class:`Tagged`; each table cell in ``/TH`` or ``/TD`` by
   :class:`TableTags` (reportlab's table drawing callback); table backgrounds and
   rules, the page rules and the footer in ``/Artifact … BDC … EMC``. A
   :class:`Tagger` (one per canvas) numbers the MCIDs per page and keeps the
   structure (:class:`Node`) in the order the content is drawn, which is the
   reading order of the page: top to bottom, a table row by row.
2. :func:`write_structure` opens the finished file with pikepdf and writes the
   ``/StructTreeRoot`` (a ``Document`` of the nodes, each bound to its marked
   content by ``/K`` and the page's ``/StructParents`` entry in the
   ``/ParentTree``), ``/MarkInfo <</Marked true>>``, ``/Lang``,
   ``/ViewerPreferences <</DisplayDocTitle true>>`` and the title in the XMP
   metadata.

No check here claims PDF/UA conformance (no veraPDF on these machines): the tests
check what is listed above.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

#: The document's language (the ``/Lang`` of the catalog).
LANG = "en-US"


@dataclass(frozen=True)
class Mark:
    """One marked-content sequence: page index (from 0) and its MCID on that page."""

    page: int
    mcid: int


@dataclass(eq=False)
class Node:
    """A structure element: its tag (``H1``, ``P``, ``Figure``, ``Table``, ``TD``…),
    its alternate text, its attributes (``/A``, of the ``owner`` ``Table`` or ``Layout``)
    and its kids in reading order."""

    tag: str
    alt: str | None = None
    owner: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    kids: list[Node | Mark] = field(default_factory=list)


class Tagger:
    """Numbers marked content per page and keeps the structure in reading order."""

    def __init__(self) -> None:
        self.page = 0
        self.roots: list[Node] = []
        self._page_starts = [0]
        self._next_mcid: dict[int, int] = {}

    def next_page(self) -> None:
        """The page being drawn is finished: what comes next is on the next page."""
        self.page += 1
        self._page_starts.append(len(self.roots))

    def add(self, node: Node, *, first_on_page: int | None = None) -> Node:
        """Add ``node`` at the top of the tree: after what is there, or (``first_on_page``)
        before everything of that page (a running header drawn after the page's content)."""
        if first_on_page is None:
            self.roots.append(node)
            return node
        self.roots.insert(self._page_starts[first_on_page], node)
        for later in range(first_on_page + 1, len(self._page_starts)):
            self._page_starts[later] += 1
        return node

    def begin(self, canvas: Canvas, node: Node) -> None:
        """Start ``node``'s next marked-content sequence in the current page's stream."""
        mcid = self._next_mcid.get(self.page, 0)
        self._next_mcid[self.page] = mcid + 1
        node.kids.append(Mark(self.page, mcid))
        canvas.addLiteral(f"/{node.tag} <</MCID {mcid}>> BDC")

    @staticmethod
    def end(canvas: Canvas) -> None:
        canvas.addLiteral("EMC")

    @contextmanager
    def tag(self, canvas: Canvas, node: Node) -> Iterator[None]:
        self.begin(canvas, node)
        yield
        self.end(canvas)

    @staticmethod
    @contextmanager
    def artifact(canvas: Canvas, kind: str = "Layout") -> Iterator[None]:
        """Content that is no part of the text (rules, backgrounds, running footers)."""
        canvas.addLiteral(f"/Artifact <</Type /{kind}>> BDC")
        yield
        canvas.addLiteral("EMC")


def tagger_of(canvas: Canvas) -> Tagger:
    """The canvas's :class:`Tagger` (the briefing's canvas makes one)."""
    tagger = getattr(canvas, "tagger", None)
    if not isinstance(tagger, Tagger):
        raise TypeError(f"{type(canvas).__name__} has no Tagger: draw tagged flowables on the briefing's canvas")
    return tagger


class Tagged(Flowable):  # type: ignore[misc]
    """``inner`` (a paragraph or an image) drawn as the structure element ``node``.

    The node joins the tree where it is first drawn; when ``inner`` splits across
    pages, both parts are content of the same node. A ``Figure`` records its
    bounding box (``/A <</O /Layout /BBox …>>``).
    """

    def __init__(self, node: Node, inner: Flowable) -> None:
        super().__init__()
        self.node = node
        self.inner = inner

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        canvas = getattr(self, "canv", None)  # set by reportlab while it wraps and splits
        if canvas is None:
            self.width, self.height = self.inner.wrap(available_width, available_height)
        else:
            self.width, self.height = self.inner.wrapOn(canvas, available_width, available_height)
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        canvas = getattr(self, "canv", None)
        if canvas is None:
            parts = self.inner.split(available_width, available_height)
        else:
            parts = self.inner.splitOn(canvas, available_width, available_height)
        return [Tagged(self.node, part) for part in parts]

    def getSpaceBefore(self) -> float:  # noqa: N802 (reportlab's name)
        return float(self.inner.getSpaceBefore())

    def getSpaceAfter(self) -> float:  # noqa: N802 (reportlab's name)
        return float(self.inner.getSpaceAfter())

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802, N803 (reportlab's names)
        tagger = tagger_of(canvas)
        if not self.node.kids:  # first drawn here
            tagger.add(self.node)
        if self.node.tag == "Figure":
            left = self.inner._hAlignAdjust(x, _sW)
            self.node.owner = "Layout"
            self.node.attributes.update(
                BBox=[round(v, 2) for v in (left, y, left + self.width, y + self.height)], Placement=pikepdf.Name.Block,
            )
        with tagger.tag(canvas, self.node):
            self.inner.drawOn(canvas, x, y, _sW)


class TableTags:
    """reportlab's table drawing callback (``Table(..., renderCB=TableTags(...))``).

    Each drawn table (each part of a table split across pages) is a ``Table``
    element with ``summary``; each row a ``TR``; the first row's cells ``TH`` (scope
    column), with ``row_headers`` the first cell of the other rows too (scope row),
    the rest ``TD``. A cell spanning columns says so (``ColSpan``). Backgrounds and
    rules are artifacts.
    """

    def __init__(self, summary: str, *, row_headers: bool = False) -> None:
        self.summary = summary
        self.row_headers = row_headers
        self._table: Node | None = None
        self._row: Node | None = None

    def __call__(self, table: Any, event: str, *args: Any) -> None:
        canvas = table.canv
        tagger = tagger_of(canvas)
        if event == "startTable":
            self._table = tagger.add(Node("Table", owner="Table", attributes={"Summary": pikepdf.String(self.summary)}))
        elif event in ("startBG", "startLines"):
            canvas.addLiteral("/Artifact <</Type /Layout>> BDC")
        elif event in ("endBG", "endLines", "endCell"):
            canvas.addLiteral("EMC")
        elif event == "startRow":
            assert self._table is not None
            self._row = Node("TR")
            self._table.kids.append(self._row)
        elif event == "startCell":
            assert self._row is not None
            row, col = args[0], args[1]
            cell = self._cell(table, row, col)
            self._row.kids.append(cell)
            tagger.begin(canvas, cell)

    def _cell(self, table: Any, row: int, col: int) -> Node:
        attributes: dict[str, Any] = {}
        if row == 0:
            tag, attributes["Scope"] = "TH", pikepdf.Name.Column
        elif col == 0 and self.row_headers:
            tag, attributes["Scope"] = "TH", pikepdf.Name.Row
        else:
            tag = "TD"
        span = (getattr(table, "_spanRanges", None) or {}).get((col, row))
        if span is not None and span[2] > span[0]:
            attributes["ColSpan"] = span[2] - span[0] + 1
        return Node(tag, owner="Table" if attributes else None, attributes=attributes)


def write_structure(path: Path, tagger: Tagger, *, title: str, lang: str = LANG) -> None:
    """Write the structure tree of ``tagger`` and the tagged-PDF entries into the PDF at ``path``."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pages = [page.obj for page in pdf.pages]
        root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
        document = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document, P=root))
        parents: dict[int, dict[int, pikepdf.Object]] = {i: {} for i in range(len(pages))}

        def element(node: Node, parent: pikepdf.Object) -> pikepdf.Object:
            elem = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name("/" + node.tag), P=parent))
            marks = [kid for kid in node.kids if isinstance(kid, Mark)]
            if marks:
                elem.Pg = pages[marks[0].page]
            if node.alt is not None:
                elem.Alt = pikepdf.String(node.alt)
            if node.owner is not None:
                attrs = pikepdf.Dictionary(O=pikepdf.Name("/" + node.owner))
                for key, value in node.attributes.items():
                    attrs[pikepdf.Name("/" + key)] = pikepdf.Array(value) if isinstance(value, list) else value
                elem.A = attrs
            kids = pikepdf.Array()
            for kid in node.kids:
                if isinstance(kid, Node):
                    kids.append(element(kid, elem))
                    continue
                parents[kid.page][kid.mcid] = elem
                if kid.page == marks[0].page:
                    kids.append(kid.mcid)
                else:
                    kids.append(pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=pages[kid.page], MCID=kid.mcid))
            elem.K = kids
            return elem

        document.K = pikepdf.Array([element(node, document) for node in tagger.roots])
        nums = pikepdf.Array()
        for index, page in enumerate(pages):
            by_mcid = parents[index]  # MCIDs 0..n-1: Tagger.begin numbers them so
            page.StructParents = index
            page.Tabs = pikepdf.Name.S
            nums.append(index)
            nums.append(pdf.make_indirect(pikepdf.Array([by_mcid[m] for m in sorted(by_mcid)])))
        root.K = pikepdf.Array([document])
        root.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=nums))
        root.ParentTreeNextKey = len(pages)

        pdf.Root.StructTreeRoot = root
        pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
        pdf.Root.Lang = pikepdf.String(lang)
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        pdf.docinfo.Title = pikepdf.String(title)
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = title
        pdf.save(path, min_version="1.7")  # Table attributes (Summary) and page /Tabs are PDF 1.5–1.7
