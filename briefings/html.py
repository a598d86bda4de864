"""The briefing map as one self-contained HTML file that works with no network.

The interactive map is a ``pydeck.Deck`` from :mod:`maps` written with
``offline=True`` (deck.gl inlined, no basemap provider, no tiles). Around it, a
panel gives the title, period, audience, legend, suppression note and
attribution, and the audience's marking runs along the top and bottom. Place,
county and highway names are HTML text over the map, the names of the current
zoom's band (:mod:`maps.labels`: none overlap), drawn by ``map_labels.js``.

Nothing is fetched: the stylesheet link and the ``mapbox-gl.js`` script tag that
pydeck's template adds (unused without a basemap provider) are removed, and a
Content-Security-Policy forbids every request that is not the file itself
(``default-src 'none'``; scripts and styles inline only; images, fonts and
workers from ``data:``/``blob:`` only). Text from data (place names, tips, the
purpose) is escaped with :func:`html.escape` in the panel; in the deck's JSON,
``</`` is written ``<\\/`` so no string can close the script; tooltips are plain
text (``innerText``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pydeck as pdk

from briefings._collect import circuits_explained
from briefings.pdf import fmt_count, suppression_note
from briefings.static_map import class_labels, describe
from maps import decks
from maps import layers as L
from maps.colours import SUPPRESSED_RGBA
from maps.moves_maps import circuits_table
from maps.wording import hidden_words, period_text
from routes import settings

if TYPE_CHECKING:
    from briefings._collect import BriefingData
    from briefings.audiences import Audience

#: The policy that keeps the file offline.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; worker-src blob:; connect-src data: blob:"
)

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2a33; }
.marking { position: fixed; left: 0; right: 0; z-index: 20; text-align: center; font-weight: 700;
  font-size: 13px; letter-spacing: .04em; color: #fff; background: #8a1c1c; padding: 3px 0; }
.marking.top { top: 0; } .marking.bottom { bottom: 0; }
#briefing-panel { position: fixed; top: 30px; left: 10px; z-index: 10; width: 300px; max-height: calc(100vh - 70px);
  overflow: auto; background: rgba(251,251,249,.95); border: 1px solid #c7cdd2; border-radius: 6px;
  padding: 10px 12px; font-size: 12px; line-height: 1.35; }
#briefing-panel h1 { font-size: 15px; margin: 0 0 4px; } #briefing-panel h2 { font-size: 12px; margin: 8px 0 3px; }
#briefing-panel p { margin: 2px 0; } .swatch { display: inline-block; width: 14px; height: 10px; margin-right: 6px;
  vertical-align: middle; border: 1px solid rgba(0,0,0,.25); } .small { font-size: 10.5px; color: #444; }
"""


def _css_rgba(rgba: tuple[float, ...] | tuple[int, ...], *, unit: bool) -> str:
    values = list(rgba) + [1.0 if unit else 255] * (4 - len(rgba))
    r, g, b, a = (v * 255 if unit else v for v in values[:4])
    return f"rgba({int(r)},{int(g)},{int(b)},{a / 255:.2f})"


def _legend_rows(rows: list[tuple[str, tuple[float, float, float, float]]]) -> str:
    return "".join(
        f'<p><span class="swatch" style="background:{_css_rgba(colour, unit=True)}"></span>{html.escape(label)}</p>'
        for label, colour in rows
    )


def _corridor_tips(segments: pd.DataFrame, *, k: int) -> list[str]:
    tips = []
    for row in segments.itertuples(index=False):
        where = f", {row.county}" if getattr(row, "county", "") else ""
        body = f"{hidden_words(k=k)} flow records" if row.suppressed else f"{fmt_count(row.load, k=k)} flow records"
        tips.append(f"{row.route}{where} (schematic)\n{body}")
    return tips


def _flow_tips(edges: pd.DataFrame, *, k: int) -> list[str]:
    return [
        f"{row.origin_name} → {row.dest_name}\n{fmt_count(row.records, k=k)} records"
        for row in edges.itertuples(index=False)
    ]


def build_deck(data: BriefingData) -> pdk.Deck:
    """The interactive map of ``data``: county residuals, cells, corridors and flows on the fixed scales."""
    hidden = hidden_words(k=data.k)
    counts = data.cells.assign(tip=decks.cell_tips(data.cells, hidden=hidden))
    is_cell = counts["level"].eq("cell")
    drawn: list[pdk.Layer] = []
    coarse = counts[~is_cell]
    if not coarse.empty:
        drawn.append(L.county_fill_layer(coarse, scale=data.cell_scale, layer_id="cells-county", opacity=0.35))
        drawn.append(L.county_line_layer(coarse, layer_id="cells-county-lines", opacity=0.35))  # fills have no stroke
    drawn += L.by_resolution(L.suppressed_hexagon_layer(counts[is_cell], layer_id="cells-suppressed", hidden=hidden))
    drawn += L.by_resolution(L.hexagon_layer(counts[is_cell], scale=data.cell_scale, layer_id="cells"))
    if not data.corridors.empty:
        segments = data.corridors.assign(
            path=[[[a, b], [c, d]] for a, b, c, d in zip(
                data.corridors["from_lng"], data.corridors["from_lat"], data.corridors["to_lng"],
                data.corridors["to_lat"], strict=True)],
            tip=_corridor_tips(data.corridors, k=data.k),
        )
        drawn.append(L.corridor_layer(segments.drop(columns=["geometry"], errors="ignore"), scale=data.corridor_scale))
    if not data.flows.empty:
        drawn.append(L.arc_layer(data.flows.assign(tip=_flow_tips(data.flows, k=data.k)), scale=data.flow_scale, top_n=len(data.flows)))
    view = decks.view_for_counties(list(data.place.counties), width_px=1100, height_px=760)
    # the names are HTML text over the map, by the zoom's band (:func:`_labels_script`), not TextLayers
    return decks.make_deck(drawn, view_state=view, height=760, labels=False)


#: The script that draws the map's names over the deck (reads ``ROUTES_LABELS``, uses pydeck's ``deckInstance``).
LABELS_SCRIPT = Path(__file__).with_name("map_labels.js")


def _labels_script() -> str:
    """Place, county and highway names (:func:`maps.layers.html_labels`) and the script that draws them."""
    payload = json.dumps(L.html_labels(), separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")
    code = LABELS_SCRIPT.read_text(encoding="utf-8")
    return f"<script>\nconst ROUTES_LABELS = {payload};\n{code}</script>\n"


def _circuit_items(data: BriefingData) -> str:
    """The circuits through the place as a list: rank, shape, places in order, subjects (hidden: "fewer than k")."""
    if data.circuits.empty:
        return f'<p class="small">{html.escape(data.circuits_note or "No circuit passes through this area.")}</p>'
    shown = circuits_table(data.circuits, hidden=hidden_words(k=data.k))
    items = "".join(
        f"<li>{html.escape(str(r['Shape']))}: {html.escape(str(r['Places in order']))} "
        f"({html.escape(str(r['Subjects']))} subjects)</li>"
        for r in shown.to_dict("records")
    )
    return f"<ol>{items}</ol>"


def _panel(data: BriefingData, audience: Audience, purpose: str) -> str:
    e = html.escape
    as_of = data.data_as_of.isoformat() if data.data_as_of else "unknown"
    suppressed = hidden_words(k=data.k)
    return f"""
<div class="marking top">{e(audience.marking_text(k=data.k))}</div>
<div id="briefing-panel">
  <h1>{e(data.place.name)}</h1>
  <p><b>Period:</b> {e(period_text(data.start, data.end))} · <b>Data as of:</b> {e(as_of)}</p>
  <p><b>Prepared for:</b> {e(audience.label)}</p>
  <p><b>Purpose:</b> {e(purpose)}</p>
  <h2>Records per H3 cell (res {data.res})</h2>
  {_legend_rows(class_labels(data.cell_scale, k=data.k))}
  <p><span class="swatch" style="background:{_css_rgba(SUPPRESSED_RGBA, unit=False)}"></span>{e(suppressed)}</p>
  <h2>Corridor load (flow records)</h2>
  {_legend_rows(class_labels(data.corridor_scale, k=data.k))}
  <h2>Flows (flow records)</h2>
  {_legend_rows(class_labels(data.flow_scale, k=data.k))}
  <p class="small">Arcs from point source (pale) to destination (dark); the busiest shown flows only.</p>
  <p class="small">Colour scales are fixed on statewide values for the period, so maps of two areas compare.</p>
  <h2>Circuits through this {e(data.place.kind)}</h2>
  {_circuit_items(data)}
  <p class="small">{e(circuits_explained())}</p>
  <p class="small">{e(suppression_note(data.k))}</p>
  <p class="small">{e(settings.ATTRIBUTION)}</p>
</div>
<div class="marking bottom">{e(audience.marking_text(k=data.k))}</div>
"""


def render_html(data: BriefingData, *, audience: Audience, purpose: str) -> str:
    """The self-contained HTML text of the briefing map."""
    text = build_deck(data).to_html(as_string=True, offline=True, notebook_display=False)
    assert isinstance(text, str)
    # pydeck's template still links a stylesheet and mapbox-gl.js from CDNs (unused without a
    # basemap provider): an offline file must not ask for them
    text = re.sub(r"<link\b[^>]*>", "", text)
    text = re.sub(r"<script\b[^>]*\bsrc\s*=[^>]*>\s*</script>", "", text)
    start = text.index("const jsonInput = ") + len("const jsonInput = ")
    end = text.index(";\n", start)
    payload = text[start:end].replace("</", "<\\/").replace("<!--", "<\\!--")
    text = text[:start] + payload + text[end:]
    title = html.escape(f"Routes briefing: {data.place.name}, {period_text(data.start, data.end)}")
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}" />\n'
        f"    <title>{title}</title>\n    <style>{_STYLE}</style>"
    )
    text = re.sub(r"<title>.*?</title>", lambda _m: head, text, count=1, flags=re.S)
    # a screen reader hears the page's language and the map in words (the PDF's alternate text)
    text = text.replace("<html>", '<html lang="en">', 1)
    text = text.replace('<div id="deck-container">',
                        f'<div id="deck-container" role="img" aria-label="{html.escape(describe(data))}">', 1)
    text = text.replace("<body>", "<body>" + _panel(data, audience, purpose), 1)
    end = text.rindex("</html>")
    return text[:end] + _labels_script() + text[end:]


def write_html(data: BriefingData, *, audience: Audience, path: Path, purpose: str) -> Path:
    """Write :func:`render_html` to ``path``."""
    path = Path(path)
    path.write_text(render_html(data, audience=audience, purpose=purpose), encoding="utf-8")
    return path
