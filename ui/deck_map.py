"""One or two maps with ONE view, whose viewport lives in the URL: a small offline component.

``st.pydeck_chart`` draws each deck on its own and tells Python nothing about
where the user has panned or zoomed, so two maps side by side drift apart and a
shared link cannot carry the view. :func:`synced_maps` draws pydeck decks with
deck.gl in a Streamlit component of its own (``ui/deck_map_frontend/``: one
HTML page and one script speaking Streamlit's component protocol, no npm
build):

- every deck shares one view state: pan or zoom either map and both move;
- two decks are drawn as one deck.gl deck with a view per map, on one canvas (one
  WebGL context compiles each shader program once), their shared place, county
  and highway names as HTML text over each view;
- the view goes back to Python (debounced) and into the URL as
  ``view=lng,lat,zoom`` (:mod:`maps.viewport`), so a copied link opens on the
  same view;
- tooltips are deck.gl's plain-text ones, as ``st.pydeck_chart`` draws them;
  a click on ``pick_layer`` reports the object's ``pick_field``.

Offline: deck.gl is pydeck's own bundle (``pydeck/nbextension/static/index.js``,
the one ``Deck.to_html(offline=True)`` inlines), served by the local Streamlit
server as a second component folder; the decks have ``map_provider=None``. The
browser fetches nothing from another machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pydeck as pdk
import streamlit as st
import streamlit.components.v1 as components

from maps.decks import PlaybackDeck
from maps.viewport import MapView, view_from_dict, view_from_param
from maps.wording import month_text
from ui import filters as ui_filters

#: The component's page and script.
FRONTEND = Path(__file__).with_name("deck_map_frontend")
#: pydeck's offline deck.gl bundle (served as is, never copied).
DECKGL_BUNDLE_DIR = Path(pdk.__file__).parent / "nbextension" / "static"
#: The URL parameter holding the view.
VIEW_PARAM = "view"


@dataclass(frozen=True)
class MapState:
    """What the user did on the maps: the ``view`` they look at, the ``picked`` object (its ``pick_field``)."""

    view: MapView
    picked: Any = None


def _components() -> tuple[Any, Any]:
    """The map component and the folder serving deck.gl, registered on the running server.

    Declared on each call (it is cheap): a declaration made while no script runs (an
    import from a test, another runtime) would be registered nowhere.
    """
    bundle = components.declare_component("deckgl_bundle", path=str(DECKGL_BUNDLE_DIR))
    deck_map = components.declare_component("deck_map", path=str(FRONTEND))
    return deck_map, bundle


def view_of(view_state: pdk.ViewState) -> MapView:
    """A pydeck ``ViewState`` as a :class:`MapView`."""
    return MapView(float(view_state.longitude), float(view_state.latitude), float(view_state.zoom))


def _url_view() -> MapView | None:
    """The view a link carries; a malformed one is named, dropped and the default used."""
    try:
        return view_from_param(st.query_params.get(VIEW_PARAM))
    except ValueError as error:
        st.caption(f":material/warning: {error}")
        ui_filters.url_param(VIEW_PARAM, None)
        return None


def _start_view(key: str, default: MapView) -> MapView:
    """The view a map with ``key`` starts from: the link's on arrival, the default when it moves.

    The default moves with the filters (a chosen county is fitted); the user's own
    panning is kept across reruns by the browser and reported back, not restarted.
    """
    slot = f"routes_deck_map_start_{key}"
    stored: tuple[str, MapView] | None = st.session_state.get(slot)
    if stored is None:
        start = _url_view() or default
    elif stored[0] != default.to_param():
        start = default
    else:
        start = stored[1]
    st.session_state[slot] = (default.to_param(), start)
    return start


def synced_maps(
    decks: Sequence[pdk.Deck],
    *,
    key: str,
    default_view: pdk.ViewState,
    height: int = 420,
    labels: Sequence[str] = (),
    pick_layer: str | None = None,
    pick_field: str = "hex",
    playback: dict[str, Any] | None = None,
) -> MapState:
    """Draw ``decks`` side by side with one shared view; keep the view in the URL.

    Parameters
    ----------
    decks
        One or two pydeck decks (their own ``initial_view_state`` is ignored).
    key
        The component's key; a new key (``ui.chrome.map_key`` after a reset) starts afresh.
    default_view
        Where the maps start when the link names no view, and where they go when
        the default changes (new filters).
    labels
        Each map's accessible name (read by screen readers).
    pick_layer, pick_field
        A click on an object of layer ``pick_layer`` reports its ``pick_field``.
    playback
        For :func:`played_months` (one deck): month ``labels``, the layer ``groups``
        each shows, ``notes``, ``interval_ms``, ``autoplay``, ``loop``.
    """
    deck_map, bundle = _components()
    default = view_of(default_view)
    start = _start_view(key, default)
    value = deck_map(
        specs=[deck.to_json() for deck in decks],
        tooltip=getattr(decks[0], "_tooltip", True) if decks else True,
        view=start.to_dict(),
        height=height,
        labels=list(labels),
        pick_layer=pick_layer,
        pick_field=pick_field,
        playback=playback,
        bundle_url=f"../{bundle.name}/index.js",
        key=key,
        default=None,
    )
    reported = view_from_dict(value.get("view")) if isinstance(value, dict) else None
    # the browser's report counts once it describes this start (a new start is reported anew)
    current = reported is not None and value.get("start") == start.to_param()  # type: ignore[union-attr]
    view = reported if current and reported is not None else start
    ui_filters.url_param(VIEW_PARAM, None if view.to_param() == default.to_param() else view.to_param())
    picked = value.get("picked") if current else None  # type: ignore[union-attr]
    return MapState(view=view, picked=picked)


#: Milliseconds between two months while playing in the browser (a month waits for the last one's frame).
PLAY_INTERVAL_MS = 500
#: The most months one playback sends (the last ones of a longer period): every month's layers travel
#: at once, and the demo's whole calendar (130 months) took 9 MB and 9 s to read and build (release, 100 k records).
PLAY_MAX_MONTHS = 36


def played_months(
    playback: PlaybackDeck,
    *,
    months: Sequence[date],
    key: str,
    default_view: pdk.ViewState,
    height: int = 520,
    label: str = "Heatmap",
    notes: Sequence[str] = (),
    interval_ms: int = PLAY_INTERVAL_MS,
) -> MapState:
    """Play ``months`` in the browser: every month's layers sent once, a play/pause button and a month slider.

    ``playback`` is :func:`maps.decks.heatmap_playback_deck`'s deck; each step only
    switches which month's layers are visible (``ui/deck_map_frontend``), with no
    rerun of the page. The view is shared with the URL as for :func:`synced_maps`.
    """
    labels = [month_text(m) for m in months]
    return synced_maps(
        [playback.deck], key=key, default_view=default_view, height=height, labels=[label],
        playback={"labels": labels, "groups": list(playback.groups), "notes": list(notes) or None,
                  "interval_ms": int(interval_ms), "autoplay": True, "loop": False},
    )


__all__ = ["PLAY_INTERVAL_MS", "PLAY_MAX_MONTHS", "MapState", "VIEW_PARAM", "played_months", "synced_maps", "view_of"]
