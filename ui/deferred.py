"""Parts of a page drawn once the browser has shown the page's first map.

In a browser without a GPU, deck.gl compiles every map's shaders in software
before that map's first frame, and all the maps a page sends before deck.gl's
code has loaded are set up in the same frame. On the Statewide page the hot-spot
map (below the fold) made the county map at the top wait about half a second.

:func:`after_first_map` lets such a part wait: on a session's first run of the
page it mounts a tiny component (no iframe, no library) that waits until the
first deck.gl canvas has its WebGL drawing buffer, a few frames more (deck.gl
draws its first frame in the next one) and an idle moment of the browser, then
triggers a rerun of the page; from then on the part is drawn at once. If the
trigger never comes (no map on the page, a script error), a timer sends it after
:data:`FALLBACK_MS` anyway; if the user has gone to another page meanwhile, it
is not sent at all.

A rerun of the whole page, not of a fragment: a fragment rerun requested while a
full run is in progress (the user has just changed a filter or clicked another
page) replaces that run, which then never finishes drawing. A full rerun request
merely restarts it, as any widget does. Unchanged elements (the county map) are
sent again as references to the browser's cached copy.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

#: Longest wait before the deferred part is asked for anyway, in milliseconds.
FALLBACK_MS = 8000

_JS = """
export default function ({ setTriggerValue }) {
  const MAP = '[data-testid="stDeckGlJsonChart"] canvas';
  const page = window.location.pathname;
  let done = false, framesSinceDevice = 0;
  const fire = () => {
    if (done) return;
    done = true;
    if (window.location.pathname === page) setTriggerValue("ready", true);  // not after leaving the page
  };
  const idle = (f) => (window.requestIdleCallback ? window.requestIdleCallback(f, { timeout: 1000 }) : setTimeout(f, 50));
  const frame = () => {
    if (done) return;
    const canvas = document.querySelector(MAP);
    // a canvas keeps its default 300 x 150 buffer until deck.gl's WebGL device sizes it
    if (canvas && !(canvas.width === 300 && canvas.height === 150)) framesSinceDevice += 1;
    if (framesSinceDevice >= 3) idle(fire); else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  const fallback = setTimeout(fire, FALLBACK_MS);
  return () => { done = true; clearTimeout(fallback); };
}
""".replace("FALLBACK_MS", str(FALLBACK_MS))

_component: Any = None


def _after_first_map_component() -> Any:
    global _component
    if _component is None:
        _component = st.components.v2.component("routes_after_first_map", js=_JS)
    return _component


def ready_key(key: str) -> str:
    """The session-state key that says the part under ``key`` may be drawn at once."""
    return f"{key}_after_first_map"


def after_first_map(key: str) -> bool:
    """Whether to draw the part now; if not, mount the trigger that asks for it.

    Not inside an ``st.fragment`` (see the module's notes): the trigger reruns the page.
    """
    flag = ready_key(key)
    if st.session_state.get(flag):
        return True

    def _ready() -> None:
        st.session_state[flag] = True

    _after_first_map_component()(key=f"{key}_trigger", on_ready_change=_ready)
    return False
