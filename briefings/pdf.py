"""The briefing PDF: letter size, two pages, the audience's marking on every page.

Page 1: title, place, period, data-as-of date, audience and purpose, the map (a
300-dpi PNG from :mod:`briefings.static_map`), the suppression note and the
headline figures with their change. Page 2: the place's counties, the busiest
corridors, the busiest flows, the task-force pairs that share routes (who should
coordinate), and sources and attribution. Every page carries the handling
marking in its header and its footer, and "Page n of m".

The PDF is tagged (:mod:`briefings.pdf_tags`): a structure tree in reading order
binds every heading (H1, H2), paragraph, table (TR, TH, TD) and the map (a Figure
with alternate text from :func:`briefings.static_map.describe`) to its content;
rules, table backgrounds and the running footer are artifacts. The catalog says
it is marked, in US English, and that viewers show its title.

Text from outside the code (place names, the purpose, the exporter's name) is
escaped before reportlab reads it as markup. The font is Bitstream Vera, shipped
with reportlab, so the PDF renders the same on every machine, offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import pandas as pd
import reportlab
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from briefings import _collect, static_map
from briefings.pdf_tags import Node, TableTags, Tagged, Tagger, tagger_of, write_structure
from maps.moves_maps import circuits_table
from maps.wording import count_text, hidden_words, period_text
from routes import settings

if TYPE_CHECKING:
    from briefings._collect import BriefingData
    from briefings.audiences import Audience

FONT = "RoutesVera"
FONT_BOLD = "RoutesVera-Bold"
MARGIN = 0.5 * inch
MARKING_COLOUR = colors.HexColor("#8a1c1c")
INK = colors.HexColor("#1f2a33")
RULE = colors.HexColor("#c7cdd2")
#: A briefing is at most this many pages: the tables shrink until it fits.
MAX_PAGES = 2
#: Longer purposes are cut short on the page (the audit log keeps them whole).
MAX_PURPOSE_CHARS = 240
#: Rows of the corridor, flow and coordination tables, tried in order.
ROW_LIMITS = (10, 8, 6, 4, 2)
#: Joins a circuit's places in order (Vera has no "→").
PLACE_ARROW = "›"
#: Task-force names are long: the tables abbreviate these words (explained under the table).
_ABBREVIATIONS = {"Human Trafficking": "HT"}


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "VeraBd.ttf")))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, textColor=INK)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=15, leading=18),
        "meta": ParagraphStyle("meta", parent=base, fontSize=8.5, leading=11.5),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=9),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=10.5, backColor=colors.HexColor("#f1f3f4"),
                               borderPadding=4, spaceBefore=4, spaceAfter=6),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
    }


def fmt_count(value: object, *, k: int | None = None) -> str:
    """A protected count as text: ``"1,234"``, or when hidden ``"fewer than k"`` (k the setting unless given).

    A briefing reads the protected release (its audiences are aggregate-only
    roles), so its hidden counts are released values under k: "fewer than 11".

    >>> fmt_count(1234), fmt_count(None, k=12), fmt_count(None)
    ('1,234', 'fewer than 12', 'fewer than 11')
    """
    return count_text(value, hidden_words(k=k))


def _not_released(value: object) -> str:
    """A figure the release does not measure (victims of a flow): a dash, never "fewer than k"."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return f"{int(value):,}"  # type: ignore[call-overload]


def fmt_change(value: object, pct: object = None) -> str:
    """A signed change with its percentage (``"+63 (+5.9%)"``), ``"–"`` when not shown."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "–"
    text = f"{int(value):+,}" if int(value) else "0"  # type: ignore[call-overload]
    if pct is not None and pct is not pd.NA and not (isinstance(pct, float) and pd.isna(pct)):
        text += f" ({float(pct):+.1f}%)"  # type: ignore[arg-type]
    return text


class _NumberedCanvas(rl_canvas.Canvas):
    """A canvas that knows the page count when it saves, for "Page n of m", and tags its content."""

    decorate: Any = None
    #: Pages of the last document saved with this class.
    pages: int = 0
    #: The structure of the last document saved with this class.
    tagged: Tagger | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self.tagger = Tagger()

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()
        self.tagger.next_page()

    def save(self) -> None:
        total = len(self._pages)
        type(self).pages = total
        type(self).tagged = self.tagger
        for index, state in enumerate(self._pages):
            self.__dict__.update(state)
            self.tagger.page = index
            if self.decorate is not None:
                self.decorate(self, self._pageNumber, total)
            super().showPage()
        super().save()


def _decorator(marking: str, left_footer: str) -> Any:
    width, height = letter

    def decorate(c: rl_canvas.Canvas, page: int, total: int) -> None:
        """The marking at the top (read first on the page), the rules, the marking again and the footer (artifacts)."""
        tagger = tagger_of(c)
        c.saveState()
        c.setFillColor(MARKING_COLOUR)
        c.setFont(FONT_BOLD, 8.5)
        with tagger.tag(c, tagger.add(Node("P"), first_on_page=page - 1)):
            c.drawCentredString(width / 2, height - 0.36 * inch, marking)
        with tagger.artifact(c, "Pagination"):
            c.drawCentredString(width / 2, 0.26 * inch, marking)
            c.setStrokeColor(RULE)
            c.setLineWidth(0.5)
            c.line(MARGIN, height - 0.44 * inch, width - MARGIN, height - 0.44 * inch)
            c.line(MARGIN, 0.42 * inch, width - MARGIN, 0.42 * inch)
            c.setFillColor(INK)
            c.setFont(FONT, 7)
            c.drawString(MARGIN, 0.30 * inch + 0.18 * inch, left_footer)
            c.drawRightString(width - MARGIN, 0.30 * inch + 0.18 * inch, f"Page {page} of {total}")
        c.restoreState()

    return decorate


#: The structure tag of a paragraph style (the others are P).
_TAGS = {"title": "H1", "h2": "H2"}


def _para(text: str, style: ParagraphStyle) -> Tagged:
    """A paragraph of ``text`` (markup) tagged H1, H2 or P by its style."""
    return Tagged(Node(_TAGS.get(style.name, "P")), Paragraph(text, style))


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], *, numeric_from: int,
    caption: str, row_headers: bool = False,
) -> Table:
    """A table with a header row; a single row with only its first cell set spans the table.

    Tagged Table, TR, TH (the header row; with ``row_headers`` the first column too) and
    TD, with a summary of ``caption`` and the columns.
    """
    styles = _styles()
    right = ParagraphStyle("cell-right", parent=styles["cell"], alignment=2)

    def cell(i: int, text: object) -> Paragraph:
        return Paragraph(escape(str(text)), right if i >= numeric_from else styles["cell"])

    body = [[cell(i, h) for i, h in enumerate(header)]]
    body += [[cell(i, v) for i, v in enumerate(row)] for row in rows]
    spans = len(rows) == 1 and not any(rows[0][1:])
    summary = f"{caption}: {rows[0][0]}" if spans else (
        f"{caption}: {len(rows)} {'row' if len(rows) == 1 else 'rows'}; columns {', '.join(h for h in header if h)}.")
    tags = TableTags(summary, row_headers=row_headers)
    table = Table(body, colWidths=[w * inch for w in widths], repeatRows=1, renderCB=tags)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e8eb")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        *([("SPAN", (0, 1), (-1, 1))] if spans else []),
    ]))
    return table


def _none_row(text: str, n: int) -> list[list[str]]:
    return [[text, *([""] * (n - 1))]]


def suppression_note(k: int) -> str:
    """The suppression note every briefing carries.

    >>> suppression_note(11).startswith("Counts under 11 are not shown")
    True
    """
    return (
        f"Counts under {k} are not shown (k = {k}). A count under {k} is printed as "
        f"“{hidden_words(k=k)}”, never as zero; a small map cell is merged into a larger one or "
        "into its county. Changes are shown only where both counts are shown."
    )


def build_pdf(
    data: BriefingData,
    *,
    audience: Audience,
    map_png: Path,
    path: Path,
    purpose: str,
    prepared_by: str,
    created_at: datetime,
) -> Path:
    """Write the briefing PDF of ``data`` for ``audience`` to ``path``."""
    _register_fonts()
    styles = _styles()
    if len(purpose) > MAX_PURPOSE_CHARS:  # the audit log keeps it whole
        purpose = purpose[: MAX_PURPOSE_CHARS - 1].rstrip() + "…"
    marking = audience.marking_text(k=data.k)
    period = period_text(data.start, data.end)
    as_of = data.data_as_of.isoformat() if data.data_as_of else "unknown"
    title = f"Routes briefing: {data.place.name}, {period}"
    map_alt = static_map.describe(data)

    def page_one() -> list[Any]:
        story: list[Any] = [
            _para(escape(f"{'Regional' if data.place.kind == 'region' else 'County'} briefing: {data.place.name}"), styles["title"]),
            Spacer(1, 3),
            _para(
                f"<b>Period:</b> {escape(period)} &nbsp;·&nbsp; <b>Data as of:</b> {escape(as_of)} "
                f"&nbsp;·&nbsp; <b>Area:</b> {escape(_area_line(data))}", styles["meta"],
            ),
            _para(
                f"<b>Prepared for:</b> {escape(audience.label)} &nbsp;·&nbsp; <b>Purpose:</b> {escape(purpose)}",
                styles["meta"],
            ),
            _para(
                f"<b>Prepared by:</b> {escape(prepared_by)} on {created_at:%Y-%m-%d} with Routes. "
                "Aggregates only: no record-level data.", styles["meta"],
            ),
            Spacer(1, 5),
            Tagged(Node("Figure", alt=map_alt), Image(str(map_png), width=7.3 * inch, height=5.0 * inch)),
            _para(escape(suppression_note(data.k)), styles["note"]),
            KeepTogether([_para("Headline figures", styles["h2"]), _headline_table(data)]),
        ]
        if data.notes:
            story += [_para(escape(note), styles["small"]) for note in data.notes]
        return story

    footer = f"Routes briefing · {data.place.name} · {period}"
    canvas_class = type("BriefingCanvas", (_NumberedCanvas,), {"decorate": staticmethod(_decorator(marking, footer))})
    for rows in ROW_LIMITS:
        pages = _build([*page_one(), PageBreak(), *_page_two(data, styles, rows=rows)], path=path,
                       canvas_class=canvas_class, title=title, marking=marking)
        if pages <= MAX_PAGES:
            break
    write_structure(Path(path), canvas_class.tagged, title=title)  # type: ignore[attr-defined]
    return Path(path)


def _build(story: list[Any], *, path: Path, canvas_class: type, title: str, marking: str) -> int:
    """Write ``story`` to ``path``; return the number of pages."""
    doc = SimpleDocTemplate(
        str(path), pagesize=letter, leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=0.6 * inch, bottomMargin=0.6 * inch,
        title=title, author="Routes", subject=marking,
    )
    doc.build(story, canvasmaker=canvas_class)
    return int(canvas_class.pages)  # type: ignore[attr-defined]


def _area_line(data: BriefingData) -> str:
    if data.place.kind == "county":
        return data.place.name
    names = data.counties["county"].tolist()
    return f"{len(names)} counties ({', '.join(names)})"


def _headline_table(data: BriefingData) -> Table:
    rows = [
        [row.label, fmt_count(row.current, k=data.k), fmt_count(row.previous, k=data.k),
         fmt_change(row.change, row.change_pct),
         fmt_count(row.year_before, k=data.k), fmt_change(row.yoy_change, row.yoy_change_pct)]
        for row in data.headline.itertuples(index=False)
    ]
    header = ["", "This period", "Previous period", "Change", "Same months a year before", "Change"]
    if not rows:
        rows = _none_row("No records in this period.", len(header))
    return _table(header, rows, [2.2, 0.95, 1.0, 1.1, 1.15, 1.1], numeric_from=1,
                  caption="Headline figures", row_headers=True)


def _short(name: object) -> str:
    text = str(name)
    for long, short in _ABBREVIATIONS.items():
        text = text.replace(long, short)
    return text


def _page_two(data: BriefingData, styles: dict[str, ParagraphStyle], *, rows: int) -> list[Any]:
    out: list[Any] = []
    counties = [
        [row.county, fmt_count(row.records, k=data.k), fmt_count(row.victims, k=data.k),
         "–" if pd.isna(row.rate_per_100k) else f"{float(row.rate_per_100k):.1f}",
         fmt_change(row.change, row.change_pct)]
        for row in data.counties.itertuples(index=False)
    ]
    out += [_para("Counties", styles["h2"]),
            _table(["County", "Records", "Victims", "Records per 100,000 residents", "Change from previous period"],
                   counties or _none_row("No counties.", 5), [2.0, 1.0, 1.0, 1.6, 1.9], numeric_from=1,
                   caption="Counties")]
    corridors = [
        [row.route, row.county, fmt_count(row.load, k=data.k), f"{float(row.length_km):,.0f} km"]
        for row in _collect.top_corridors(data.corridors, n=rows).itertuples(index=False)
    ]
    out += [_para("Busiest corridors", styles["h2"]),
            _para("Flow records routed along each highway (the busiest segment of the route in that county; "
                      "highways are schematic).", styles["small"]),
            _table(["Route", "County", "Flow records", "Length shown"],
                   corridors or _none_row("No corridor with a load of k or more.", 4), [2.0, 2.3, 1.6, 1.6], numeric_from=2,
                   caption="Busiest corridors")]
    flows = [
        [row.origin_name, row.dest_name, row.direction, fmt_count(row.records, k=data.k), _not_released(row.victims)]
        for row in data.flows.head(rows).itertuples(index=False)
    ]
    out += [_para("Busiest flows (point source to destination)", styles["h2"]),
            _table(["From (point source)", "To (destination)", "Direction", "Records", "Victims"],
                   flows or _none_row("No flow of k or more records.", 5), [2.6, 1.9, 0.9, 1.0, 1.1], numeric_from=3,
                   caption="Busiest flows")]
    pairs = [
        [f"{row.origin_name} ({_short(row.origin_task_force_name)})", f"{row.dest_name} ({_short(row.dest_task_force_name)})",
         fmt_count(row.records, k=data.k), _not_released(row.victims)]
        for row in data.pairs.head(rows).itertuples(index=False)
    ]
    out += [_para("Task forces that share routes (coordination pairs; HT = Human Trafficking)", styles["h2"]),
            _table(["From (task force)", "To (task force)", "Records", "Victims"],
                   pairs or _none_row("No pair of k or more records.", 4), [3.1, 3.1, 0.65, 0.65], numeric_from=2,
                   caption="Task forces that share routes")]
    out += _circuits_section(data, styles, rows=rows)
    out += [
        _para("Sources and attribution", styles["h2"]),
        _para(
            "Incident, tip and victim-service records shared with Routes by California task forces, law "
            "enforcement agencies, victim-service organisations and the National Human Trafficking Hotline, "
            "placed on the H3 grid and read through the Routes query layer (role rules and small-cell "
            "protection). Rates use Census 2019 county population estimates. "
            + escape(settings.ATTRIBUTION), styles["small"],
        ),
        _para(
            "This briefing is a dissemination recorded in the Routes audit log (who, to whom, why, what). "
            "Do not pass it to anyone outside the audience named on page 1.", styles["small"],
        ),
    ]
    return out


def _circuits_section(data: BriefingData, styles: dict[str, ParagraphStyle], *, rows: int) -> list[Any]:
    """"Circuits through this region": the Flows page's top ``rows`` circuits through the place, places in order."""
    shown = (circuits_table(data.circuits.head(rows), hidden=hidden_words(k=data.k), arrow=PLACE_ARROW)
             if len(data.circuits) else None)
    cells = [] if shown is None else [[str(r["Rank"]), r["Shape"], r["Places in order"], r["Subjects"]]
                                      for r in shown.to_dict("records")]
    return [
        _para(f"Circuits through this {data.place.kind}", styles["h2"]),
        # one line: a three-line note cost Regions I and II of the 60 k demo two rows of every table
        _para(escape(_collect.circuits_explained()), styles["small"]),
        _table(["Rank", "Shape", "Places in order", "Subjects"],
               cells or _none_row(data.circuits_note or "No circuit passes through this area.", 4),
               [0.5, 0.6, 5.3, 1.1], numeric_from=3, caption="Circuits"),
    ]
