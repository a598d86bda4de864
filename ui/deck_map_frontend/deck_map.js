// Routes' synchronised map: one or two pydeck decks drawn with deck.gl, sharing ONE view state.
//
// Streamlit's v1 component protocol is spoken by hand (postMessage), so there is no npm
// build: `args` carries the decks' JSON (pydeck's `to_json`), their tooltip, the starting
// view and the URL of pydeck's offline deck.gl bundle (served by the local Streamlit
// server). Panning or zooming either map moves both; the view (and a clicked object, when
// `pick_layer` is set) goes back to Python, debounced. Each map's rendered view is also on
// its element as `data-view-state` (JSON), for the browser tests.
//
// Two or more decks (the side-by-side compare) are drawn as ONE deck.gl deck on one canvas
// with one MapView per map, side by side (`mergeSpecs`): every WebGL context compiles its
// own shader programs, which in software WebGL is most of the time to the first frame, so
// one context compiles each program once. Layers the decks share (the base map: same id,
// same JSON) are drawn once per view; each deck's other layers get the id prefix `v<i>/`
// and only its view draws them (`layerFilter`). Each map keeps its own labelled element
// (`.routes-map`, over its half of the canvas, letting the pointer through to it).
//
// Playback (`args.playback`: month labels, the layer group each month shows, the interval):
// the deck holds every played month's layers (ids ending `@m<group>`, see maps/decks.py);
// a play/pause button and a month slider under the map switch which group is visible,
// in the browser, without a Streamlit rerun. Each step's time, from the switch to the
// frame drawn with it and handed to the screen, is on the map's element: `data-month-index`,
// `data-month-label`, `data-step-ms` (the last step) and `data-step-log` (JSON
// `[[index, switched, drawn, shown], ...]`: deck.gl's draw done, and two animation frames
// later, on the page's `performance.now()` clock), for the browser tests and the bench.
/* global createDeck, updateDeck */
(function () {
  "use strict";
  const REPORT_DELAY_MS = 400;
  const CONTROLS_HEIGHT_PX = 48;  // the playback bar under the map
  const maps = document.getElementById("maps");
  const GAP_PX = 12;  // between two maps side by side (as #maps' flex gap)
  const VIEW_MARK = "/";  // a layer id `v1/cells` is deck 1's layer `cells`
  const state = {decks: [], specs: [], view: null, startKey: null, reportedKey: null, timer: null, picked: null,
                 pickCount: 0, bundle: null, elements: [], owners: {}};

  function send(type, extra) {
    window.parent.postMessage(Object.assign({isStreamlitMessage: true, type: type}, extra), "*");
  }

  function viewKey(view) {
    return [view.longitude.toFixed(5), view.latitude.toFixed(5), view.zoom.toFixed(2)].join(",");
  }

  function rounded(view) {
    return {
      longitude: Number(view.longitude.toFixed(5)),
      latitude: Number(view.latitude.toFixed(5)),
      zoom: Number(view.zoom.toFixed(2)),
    };
  }

  function loadBundle(url) {
    if (!state.bundle) {
      state.bundle = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = url;
        script.onload = resolve;
        script.onerror = function () { reject(new Error("deck.gl bundle not found at " + url)); };
        document.head.appendChild(script);
      });
    }
    return state.bundle;
  }

  function report() {
    clearTimeout(state.timer);
    state.timer = setTimeout(function () {
      // deck.gl also reports a view when a map is laid out: only a new view (or pick) reruns the page
      const key = viewKey(state.view) + "|" + state.startKey + "|" + state.pickCount;
      if (key === state.reportedKey) return;
      state.reportedKey = key;
      send("streamlit:setComponentValue", {
        dataType: "json",
        value: {view: rounded(state.view), start: state.startKey, picked: state.picked, pick_count: state.pickCount},
      });
    }, REPORT_DELAY_MS);
  }

  function setView(view) {
    state.view = {longitude: view.longitude, latitude: view.latitude, zoom: view.zoom, pitch: 0, bearing: 0,
                  minZoom: view.minZoom, maxZoom: view.maxZoom};
    for (const deck of state.decks) deck.setProps({viewState: state.view});
  }

  function onViewStateChange(change) {
    setView(change.viewState);
    report();
    return state.view;
  }

  function recordRendered(deck, element) {
    if (play.warming) { play.warming = false; setTimeout(warmed, 0); }
    else if (play.pending !== null) {  // the frame drawn with the month switched to
      const now = clock();
      const step = play.pending;
      play.pending = null;
      const entry = [step[0], step[1], now, null];
      play.log.push(entry);
      // handed to the screen: the second animation frame after the draw (as bench/browser.py counts)
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          entry[3] = clock();
          element.dataset.stepMs = String(Math.round(entry[3] - entry[1]));
          element.dataset.stepLog = JSON.stringify(play.log.slice(-50));
        });
      });
    }
    if (!element) {  // one deck, several views: each map's element gets its own view's viewport
      drawLabels(deck);
      for (const viewport of deck.getViewports()) {
        const index = viewIndex(viewport.id);
        if (state.elements[index]) stampView(state.elements[index], viewport);
      }
      return;
    }
    drawLabels(deck, true);
    const viewport = deck.getViewports()[0];
    if (viewport) stampView(element, viewport);
  }

  function stampView(element, viewport) {
    element.dataset.viewState = JSON.stringify(
      {longitude: viewport.longitude, latitude: viewport.latitude, zoom: viewport.zoom});
  }

  // ------------------------------------------------------------------ several maps, one deck
  function viewId(index) { return "map-" + index; }
  function viewIndex(id) { return Number(String(id).slice("map-".length)); }
  function ownLayerId(id) {  // the layer's id in its own deck's spec
    const at = id.indexOf(VIEW_MARK);
    return at >= 0 && /^v[0-9]+$/.test(id.slice(0, at)) ? id.slice(at + 1) : id;
  }

  // One spec drawing every deck of `texts` side by side: a MapView per deck, the layers the
  // decks share (same JSON, in the same order in each) once, every other layer prefixed
  // `v<i>/` and owned by view i. Each view draws its deck's layers in that deck's order.
  function mergeSpecs(texts) {
    const specs = texts.map(function (text) { return JSON.parse(text); });
    const lists = specs.map(function (spec) { return spec.layers || []; });
    const keys = lists.map(function (list) { return list.map(function (layer) { return JSON.stringify(layer); }); });
    const shared = lists.map(function () { return []; });  // per deck, the indices of the shared layers
    const cursors = lists.map(function () { return 0; });
    keys[0].forEach(function (key, j) {
      const found = keys.map(function (own, i) { return i === 0 ? j : own.indexOf(key, cursors[i]); });
      if (found.every(function (at) { return at >= 0; })) {
        found.forEach(function (at, i) { shared[i].push(at); cursors[i] = at + 1; });
      }
    });
    const layers = [];
    const labels = [];  // the shared text layers, drawn as HTML over each view (drawLabels)
    const owners = {};
    const next = lists.map(function () { return 0; });
    for (let s = 0; s <= shared[0].length; s++) {
      lists.forEach(function (list, i) {
        const end = s < shared[i].length ? shared[i][s] : list.length;
        for (; next[i] < end; next[i]++) {
          const id = "v" + i + VIEW_MARK + list[next[i]].id;
          layers.push(Object.assign({}, list[next[i]], {id: id}));
          owners[id] = viewId(i);
        }
        next[i] = end + 1;
      });
      if (s < shared[0].length) {
        const layer = lists[0][shared[0][s]];
        if (isLabelLayer(layer)) labels.push(labelSet(layer)); else layers.push(layer);
      }
    }
    const n = specs.length;
    const template = (specs[0].views && specs[0].views[0]) || {"@@type": "MapView", controller: true};
    const views = specs.map(function (spec, i) {
      return Object.assign({}, template, {
        id: viewId(i),
        x: "calc(" + (100 * i / n) + "% + " + (GAP_PX * i / n) + "px)",
        width: "calc(" + (100 / n) + "% - " + (GAP_PX * (n - 1) / n) + "px)",
      });
    });
    return {spec: Object.assign({}, specs[0], {layers: layers, views: views}), owners: owners, labels: labels};
  }

  // ------------------------------------------------------------------ labels as HTML
  // The base map's names (counties, places, highways: pydeck TextLayers the decks share) are
  // drawn as HTML text over each view, placed from the view's viewport: in software WebGL a
  // TextLayer's program and font atlases cost seconds before the first frame (measured on the
  // compare: 13.1 s -> 9.3 s median to the settled map without them, load 14-18). A single map
  // draws its names the same way. Each row carries its size at every zoom band (`z`, from band
  // LABEL_FIRST_BAND: maps/labels.py places them per band, none overlapping another of its band);
  // the view's band is drawn, a name of size 0 there is left off, as are names outside the view.
  // Rows without `z` keep the layer's sizes (pixels, or metres capped at sizeMaxPixels), a name
  // under LABEL_MIN_PX left off (a speck in the canvas).
  const LABEL_MIN_PX = 6;
  const LABEL_FIRST_BAND = 4;  // maps.labels.ZOOM_BANDS[0]

  function isLabelLayer(layer) {
    return layer["@@type"] === "TextLayer" && Array.isArray(layer.data) && layer.getText === "@@=label"
      && layer.getPosition === "@@=position";
  }

  function css(rgba) {
    const c = (rgba || [0, 0, 0, 255]).concat([255]).slice(0, 4);
    return "rgba(" + c[0] + "," + c[1] + "," + c[2] + "," + (c[3] / 255).toFixed(2) + ")";
  }

  function labelSet(layer) {
    const sizeField = typeof layer.getSize === "string" && layer.getSize.indexOf("@@=") === 0 ? layer.getSize.slice(3) : null;
    const halo = layer.outlineWidth ? css(layer.outlineColor || [255, 255, 255, 255]) : null;
    return {
      id: layer.id,
      meters: layer.sizeUnits === "meters",
      maxPx: layer.sizeMaxPixels || Infinity,
      color: css(layer.getColor),
      shadow: halo ? ["-1px -1px", "1px -1px", "-1px 1px", "1px 1px", "0 0"].map(function (o) { return o + " 2px " + halo; }).join(",") : "",
      rows: layer.data.map(function (row) {
        return {lng: row.position[0], lat: row.position[1], text: String(row.label), bands: row.z || null,
                size: sizeField ? Number(row[sizeField]) : Number(layer.getSize || 12)};
      }),
    };
  }

  function labelBox(index) {  // one box per view, over its part of the canvas, under deck.gl's tooltip
    const holder = maps.querySelector(".routes-map-deck") || state.elements[index];
    state.labelBoxes = state.labelBoxes || [];
    if (!state.labelBoxes[index]) {
      const box = document.createElement("div");
      box.className = "routes-map-labels";
      box.setAttribute("aria-hidden", "true");  // each map's element names the map
      const canvas = holder.querySelector("canvas");
      holder.insertBefore(box, canvas ? canvas.nextSibling : null);
      state.labelBoxes[index] = {box: box, key: null, spans: null};
    }
    return state.labelBoxes[index];
  }

  function bandOf(zoom, bands) {
    return Math.min(Math.max(Math.floor(zoom), LABEL_FIRST_BAND), LABEL_FIRST_BAND + bands.length - 1) - LABEL_FIRST_BAND;
  }

  function drawLabels(deck, single) {
    if (!state.labels || !state.labels.length) return;
    for (const viewport of deck.getViewports()) {
      const index = single ? 0 : viewIndex(viewport.id);
      const slot = labelBox(index);
      const key = [viewport.x, viewport.y, viewport.width, viewport.height, viewport.longitude, viewport.latitude,
                   viewport.zoom, state.labelsKey].join(",");
      if (slot.key === key) continue;
      slot.key = key;
      Object.assign(slot.box.style, {left: viewport.x + "px", top: viewport.y + "px", width: viewport.width + "px",
                                     height: viewport.height + "px"});
      if (!slot.spans || slot.labelsKey !== state.labelsKey) {
        slot.box.replaceChildren();
        slot.spans = [];
        slot.labelsKey = state.labelsKey;
        for (const set of state.labels) {
          for (const row of set.rows) {
            const span = document.createElement("span");
            span.textContent = row.text;
            span.style.color = set.color;
            if (set.shadow) span.style.textShadow = set.shadow;
            span.dataset.layer = set.id;
            slot.box.appendChild(span);
            slot.spans.push([span, set, row]);
          }
        }
      }
      // pixels per metre at the view's centre (the labels' own latitudes differ by a few per cent)
      const perMeter = viewport.distanceScales.unitsPerMeter[0] * viewport.scale;
      let shown = 0;
      for (const [span, set, row] of slot.spans) {
        const size = row.bands ? row.bands[bandOf(viewport.zoom, row.bands)]
          : Math.min(set.meters ? row.size * perMeter : row.size, set.maxPx);
        const at = viewport.project([row.lng, row.lat]);
        const inside = at[0] > -100 && at[0] < viewport.width + 100 && at[1] > -20 && at[1] < viewport.height + 20;
        if (!size || size < LABEL_MIN_PX || !inside) { span.style.display = "none"; continue; }
        shown += 1;
        span.style.display = "";
        span.style.fontSize = size.toFixed(1) + "px";
        span.style.transform = "translate(" + at[0].toFixed(1) + "px," + at[1].toFixed(1) + "px) translate(-50%,-50%)";
      }
      slot.box.dataset.shown = String(shown);
    }
  }

  // A single map's spec without its name layers (drawn as HTML instead, as the side-by-side maps' are).
  function withoutLabels(spec) {
    const layers = spec.layers || [];
    setLabels(layers.filter(isLabelLayer).map(labelSet));
    return Object.assign({}, spec, {layers: layers.filter(function (layer) { return !isLabelLayer(layer); })});
  }

  function layerFilter(context) {
    const owner = state.owners[context.layer.id];
    return owner === undefined || owner === context.viewport.id;
  }

  function makeLabelledMap(index, args) {  // a map's element over its view: named, focusable, the pointer goes through
    const element = document.createElement("div");
    element.className = "routes-map routes-map-over";
    element.dataset.testid = "routesDeckMap";
    element.tabIndex = 0;
    element.setAttribute("role", "img");
    element.setAttribute("aria-label", (args.labels && args.labels[index]) || "Map");
    const cell = document.createElement("div");
    cell.className = "routes-map-cell routes-map-panel";
    cell.style.height = args.height + "px";
    cell.appendChild(element);
    maps.appendChild(cell);
    return element;
  }

  function makeViews(texts, args) {
    maps.classList.add("routes-maps-views");
    state.elements = texts.map(function (_, index) { return makeLabelledMap(index, args); });
    const holder = document.createElement("div");
    holder.className = "routes-map-deck";
    holder.dataset.testid = "routesDeckMaps";
    const layer = document.createElement("div");  // deck.gl puts an overlay beside its container
    layer.className = "routes-map-deck-layer";
    layer.appendChild(holder);
    maps.appendChild(layer);
    const merged = mergeSpecs(texts);
    state.owners = merged.owners;
    setLabels(merged.labels);
    const deck = createDeck({container: holder, jsonInput: merged.spec, tooltip: args.tooltip});
    deck.setProps({
      viewState: state.view,
      layerFilter: layerFilter,
      onViewStateChange: onViewStateChange,
      onAfterRender: function () { recordRendered(deck, null); },
    });
    return deck;
  }

  function setLabels(labels) {
    const key = JSON.stringify(labels);
    if (key !== state.labelsText) { state.labelsText = key; state.labelsKey = (state.labelsKey || 0) + 1; }
    state.labels = labels;
  }

  function updateViews(texts) {
    const merged = mergeSpecs(texts);
    state.owners = merged.owners;
    setLabels(merged.labels);
    updateDeck(merged.spec, state.decks[0]);
    state.decks[0].setProps({viewState: state.view});
  }

  function makeMap(index, spec, args) {
    const element = document.createElement("div");
    element.className = "routes-map";
    element.dataset.testid = "routesDeckMap";
    element.style.height = args.height + "px";
    element.tabIndex = 0;
    element.setAttribute("role", "img");
    element.setAttribute("aria-label", (args.labels && args.labels[index]) || "Map");
    const cell = document.createElement("div");  // deck.gl puts an overlay beside its container
    cell.className = "routes-map-cell";
    cell.appendChild(element);
    maps.appendChild(cell);
    state.elements[index] = element;
    const deck = createDeck({container: element, jsonInput: withoutLabels(spec), tooltip: args.tooltip});
    deck.setProps({
      viewState: state.view,
      onViewStateChange: onViewStateChange,
      onAfterRender: function () { recordRendered(deck, element); },
      onClick: function (info) {
        if (!args.pick_layer) return;
        const picked = info && info.layer && ownLayerId(info.layer.id) === args.pick_layer && info.object ? info.object : null;
        state.picked = picked && picked[args.pick_field] !== undefined ? picked[args.pick_field] : null;
        state.pickCount += 1;
        report();
      },
    });
    return deck;
  }

  // ------------------------------------------------------------------ playback
  const GROUP_MARK = "@m";
  const play = {args: null, key: null, index: 0, playing: false, timer: null, pending: null, log: [], controls: null,
                warming: false, opacity: {}};
  // the page's clock when the frame is the app's (same origin), so steps line up with the page's probes
  function clock() {
    try { return window.top.performance.now(); } catch (error) { return performance.now(); }
  }

  function groupOf(id) {
    const at = id.lastIndexOf(GROUP_MARK);
    return at < 0 ? null : Number(id.slice(at + GROUP_MARK.length));
  }

  function showMonth(index) {
    const args = play.args;
    const deck = state.decks[0];
    if (!args || !deck) return;
    const n = args.labels.length;
    index = Math.max(0, Math.min(n - 1, index));
    play.index = index;
    const group = args.groups[index];
    const element = maps.querySelector(".routes-map");
    play.pending = [index, clock()];
    // a clone that changes only `visible` keeps the layer's attributes: nothing is rebuilt
    deck.setProps({layers: deck.props.layers.map(function (layer) {
      const own = groupOf(layer.id);
      const opacity = play.opacity[layer.id];
      if (own === null || (layer.props.visible === (own === group) && layer.props.opacity === opacity)) return layer;
      return layer.clone({visible: own === group, opacity: opacity});
    })});
    deck.redraw(true);
    const label = args.labels[index];
    element.dataset.monthIndex = String(index);
    element.dataset.monthLabel = label;
    element.setAttribute("aria-label", (args.map_label || "Map") + ": " + label);
    const c = play.controls;
    c.label.textContent = label + (args.notes && args.notes[index] ? " (" + args.notes[index] + ")" : "");
    c.slider.value = String(index);
    c.slider.setAttribute("aria-valuetext", label);
  }

  function setPlaying(playing) {
    play.playing = playing;
    clearTimeout(play.timer);
    const c = play.controls;
    c.button.textContent = playing ? "\u275A\u275A Pause" : "\u25B6 Play";
    c.button.setAttribute("aria-label", playing ? "Pause playing months" : "Play months");
    c.button.setAttribute("aria-pressed", playing ? "true" : "false");
    if (playing) schedule();
  }

  function schedule() {
    clearTimeout(play.timer);
    play.timer = setTimeout(function tick() {
      if (!play.playing) return;
      if (play.pending !== null) { play.timer = setTimeout(tick, 16); return; }  // the last month not drawn yet
      const n = play.args.labels.length;
      if (play.index + 1 >= n) {
        if (play.args.loop) showMonth(0); else { setPlaying(false); return; }
      } else {
        showMonth(play.index + 1);
      }
      schedule();
    }, play.args.interval_ms);
  }

  function makeControls(args) {
    const bar = document.createElement("div");
    bar.className = "routes-play";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Play months");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "routes-play-button";
    button.dataset.testid = "routesPlayButton";
    const slider = document.createElement("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = String(args.labels.length - 1);
    slider.step = "1";
    slider.value = "0";
    slider.className = "routes-play-slider";
    slider.dataset.testid = "routesPlaySlider";
    slider.setAttribute("aria-label", "Month");
    const label = document.createElement("output");
    label.className = "routes-play-label";
    label.dataset.testid = "routesPlayLabel";
    label.setAttribute("aria-live", "off");
    button.addEventListener("click", function () { setPlaying(!play.playing); });
    slider.addEventListener("input", function () {
      setPlaying(false);
      showMonth(Number(slider.value));
    });
    bar.append(button, slider, label);
    return {bar: bar, button: button, slider: slider, label: label};
  }

  function startPlayback(args) {
    const key = JSON.stringify([args.playback.labels, args.playback.groups]);
    if (play.key === key) {  // the same months: keep playing where the user is (a new spec shows group 0)
      if (state.decks[0].props.layers.some(function (l) { return groupOf(l.id) !== null && l.props.visible
                                                          !== (groupOf(l.id) === play.args.groups[play.index]); })) {
        showMonth(play.index);
      }
      return;
    }
    play.key = key;
    play.args = Object.assign({map_label: (args.labels && args.labels[0]) || "Map"}, args.playback);
    if (play.controls) play.controls.bar.remove();
    play.controls = makeControls(play.args);
    maps.parentNode.insertBefore(play.controls.bar, maps.nextSibling);
    play.index = 0;
    // the first frame draws every month's layers, transparent but for the first month's: their
    // buffers and shader programs are ready before the first step, which then only switches
    const first = play.args.groups[0];
    play.opacity = {};
    const deck = state.decks[0];
    deck.setProps({layers: deck.props.layers.map(function (layer) {
      const own = groupOf(layer.id);
      if (own === null) return layer;
      play.opacity[layer.id] = layer.props.opacity;
      return layer.clone({visible: true, opacity: own === first ? layer.props.opacity : 0});
    })});
    play.warming = true;
  }

  function warmed() {  // after the warming frame: the first month alone, then play
    if (!play.args) return;
    showMonth(0);
    setPlaying(play.args.autoplay !== false);
  }

  function stopPlayback() {
    if (!play.controls) return;
    setPlaying(false);
    play.controls.bar.remove();
    play.controls = null;
    play.args = null;
    play.key = null;
  }

  function render(args) {
    const specs = args.specs;
    const start = args.view;
    const startKey = viewKey(start);
    if (startKey !== state.startKey) {  // a new starting view from Python (first draw, new filters)
      const first = state.startKey === null;
      state.startKey = startKey;
      setView(start);
      if (first) state.reportedKey = viewKey(state.view) + "|" + startKey + "|" + state.pickCount;  // Python knows it
      else report();  // say the view now follows this start
    }
    if (specs.length !== state.specs.length) {
      for (const deck of state.decks) deck.finalize();
      maps.replaceChildren();
      maps.classList.remove("routes-maps-views");
      state.decks = [];
      state.specs = [];
      state.elements = [];
      state.owners = {};
      state.labels = [];
      state.labelBoxes = [];
    }
    if (specs.length > 1) {  // side by side: one deck, a view per map
      if (!state.decks.length) state.decks = [makeViews(specs, args)];
      else if (specs.some(function (text, index) { return state.specs[index] !== text; })) updateViews(specs);
      state.specs = specs.slice();
      stopPlayback();
      send("streamlit:setFrameHeight", {height: frameHeight(args)});
      return;
    }
    specs.forEach(function (text, index) {
      if (state.specs[index] === text) return;
      const spec = JSON.parse(text);
      if (state.decks[index]) {
        updateDeck(withoutLabels(spec), state.decks[index]);
        state.decks[index].setProps({viewState: state.view});
      } else {
        state.decks[index] = makeMap(index, spec, args);
      }
      state.specs[index] = text;
    });
    if (args.playback && state.decks.length === 1) startPlayback(args); else stopPlayback();
    send("streamlit:setFrameHeight", {height: frameHeight(args)});
  }

  function frameHeight(args) {
    return args.height + (args.playback ? CONTROLS_HEIGHT_PX : 0);
  }

  window.addEventListener("message", function (event) {
    const data = event.data || {};
    if (data.type !== "streamlit:render") return;
    const args = data.args;
    // the frame's height first: Chrome runs no animation frames in a frame of height 0,
    // and deck.gl draws in animation frames
    send("streamlit:setFrameHeight", {height: frameHeight(args)});
    loadBundle(args.bundle_url).then(function () { render(args); }).catch(function (error) {
      maps.textContent = String(error.message || error);
      send("streamlit:setFrameHeight", {height: 60});
    });
  });
  send("streamlit:componentReady", {apiVersion: 1});
})();
