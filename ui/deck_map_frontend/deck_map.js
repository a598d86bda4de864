// Routes' synchronised map: one or two pydeck decks drawn with deck.gl, sharing ONE view state.
//
// Streamlit's v1 component protocol is spoken by hand (postMessage), so there is no npm
// build: `args` carries the decks' JSON (pydeck's `to_json`), their tooltip, the starting
// view and the URL of pydeck's offline deck.gl bundle (served by the local Streamlit
// server). Panning or zooming either map moves both; the view (and a clicked object, when
// `pick_layer` is set) goes back to Python, debounced. Each map's rendered view is also on
// its element as `data-view-state` (JSON), for the browser tests.
/* global createDeck, updateDeck */
(function () {
  "use strict";
  const REPORT_DELAY_MS = 400;
  const maps = document.getElementById("maps");
  const state = {decks: [], specs: [], view: null, startKey: null, reportedKey: null, timer: null, picked: null,
                 pickCount: 0, bundle: null};

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
    const viewport = deck.getViewports()[0];
    if (viewport) {
      element.dataset.viewState = JSON.stringify(
        {longitude: viewport.longitude, latitude: viewport.latitude, zoom: viewport.zoom});
    }
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
    const deck = createDeck({container: element, jsonInput: spec, tooltip: args.tooltip});
    deck.setProps({
      viewState: state.view,
      onViewStateChange: onViewStateChange,
      onAfterRender: function () { recordRendered(deck, element); },
      onClick: function (info) {
        if (!args.pick_layer) return;
        const picked = info && info.layer && info.layer.id === args.pick_layer && info.object ? info.object : null;
        state.picked = picked && picked[args.pick_field] !== undefined ? picked[args.pick_field] : null;
        state.pickCount += 1;
        report();
      },
    });
    return deck;
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
    if (specs.length !== state.decks.length) {
      for (const deck of state.decks) deck.finalize();
      maps.replaceChildren();
      state.decks = [];
      state.specs = [];
    }
    specs.forEach(function (text, index) {
      if (state.specs[index] === text) return;
      const spec = JSON.parse(text);
      if (state.decks[index]) {
        updateDeck(spec, state.decks[index]);
        state.decks[index].setProps({viewState: state.view});
      } else {
        state.decks[index] = makeMap(index, spec, args);
      }
      state.specs[index] = text;
    });
    send("streamlit:setFrameHeight", {height: args.height});
  }

  window.addEventListener("message", function (event) {
    const data = event.data || {};
    if (data.type !== "streamlit:render") return;
    const args = data.args;
    // the frame's height first: Chrome runs no animation frames in a frame of height 0,
    // and deck.gl draws in animation frames
    send("streamlit:setFrameHeight", {height: args.height});
    loadBundle(args.bundle_url).then(function () { render(args); }).catch(function (error) {
      maps.textContent = String(error.message || error);
      send("streamlit:setFrameHeight", {height: 60});
    });
  });
  send("streamlit:componentReady", {apiVersion: 1});
})();
