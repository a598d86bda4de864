// The briefing map's names (places, counties, highways) as HTML text over the deck, by zoom band.
//
// `ROUTES_LABELS` (written by briefings/html.py) holds the bands and, per kind, its style and rows
// `[lng, lat, text, [px at each band]]` (maps/labels.py: placed in Python, per whole-number zoom
// band, larger places first, none overlapping another of its band). After each frame the names of
// the current zoom's band are placed from deck.gl's viewport; a name of size 0 there is hidden.
// Nothing is fetched: the text is drawn by the browser in its own sans-serif font.
/* global deckInstance, ROUTES_LABELS */
(function () {
  "use strict";
  const data = ROUTES_LABELS;
  const container = document.getElementById("deck-container");
  const box = document.createElement("div");
  box.id = "routes-map-labels";
  box.setAttribute("aria-hidden", "true");  // the map's element names the map in words
  box.style.cssText = "position:absolute;left:0;top:0;right:0;bottom:0;overflow:hidden;pointer-events:none;z-index:1;";
  if (getComputedStyle(container).position === "static") container.style.position = "relative";
  const canvas = container.querySelector("canvas");  // over the map, under deck.gl's tooltip
  container.insertBefore(box, canvas ? canvas.nextSibling : container.firstChild);
  const spans = [];
  for (const kind of data.kinds) {
    for (const row of kind.rows) {
      const span = document.createElement("span");
      span.textContent = row[2];
      span.className = "routes-label routes-label-" + kind.kind;
      span.style.cssText = "position:absolute;left:0;top:0;white-space:nowrap;font-family:sans-serif;line-height:1;"
        + "display:none;color:" + kind.color + ";" + (kind.shadow ? "text-shadow:" + kind.shadow + ";" : "")
        + (kind.kind === "county" ? "letter-spacing:.04em;" : "");
      box.appendChild(span);
      spans.push([span, row]);
    }
  }
  let drawn = null;
  function place() {
    const viewport = deckInstance.getViewports()[0];
    if (!viewport) return;
    const key = [viewport.width, viewport.height, viewport.longitude, viewport.latitude, viewport.zoom].join(",");
    if (key === drawn) return;
    drawn = key;
    const band = Math.min(Math.max(Math.floor(viewport.zoom), data.bands[0]), data.bands[data.bands.length - 1]);
    const at = band - data.bands[0];
    box.dataset.band = String(band);
    let shown = 0;
    for (const [span, row] of spans) {
      const size = row[3][at];
      const xy = size ? viewport.project([row[0], row[1]]) : null;
      if (!xy || xy[0] < -200 || xy[0] > viewport.width + 200 || xy[1] < -40 || xy[1] > viewport.height + 40) {
        span.style.display = "none";
        continue;
      }
      shown += 1;
      span.style.display = "";
      span.style.fontSize = size + "px";
      span.style.transform = "translate(" + xy[0].toFixed(1) + "px," + xy[1].toFixed(1) + "px) translate(-50%,-50%)";
    }
    box.dataset.shown = String(shown);
  }
  deckInstance.setProps({onAfterRender: place});
})();
