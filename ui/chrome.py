"""The frame around every page: header line, legends, count tables, attribution.

(The demo-data banner is drawn by ``ui.session`` with the role switcher.)
"""

from __future__ import annotations

import copy
import html
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from geo import reference
from maps.colours import SUPPRESSED_RGBA, Legend
from maps.statewide_maps import Metric
from maps.wording import hidden_words
from query import release
from query.policy import Capability
from query.suppression import FilterIsolationError
from query.viewer import OWN_RECORDS, Viewer
from routes import settings
from routes.errors import RoutesError, TablesNotBuilt
from ui import session, tables

_LOG = logging.getLogger(__name__)

#: How a page names a period (written once, in :mod:`ui.tables`).
format_period = tables.format_period


def page_header(title: str, what_it_counts: str, period: str, precision: str, *, viewer: Viewer | None = None) -> None:
    """The page title and one line saying what the map counts, over when, how precisely, how a hidden count reads.

    A hidden count reads as ``viewer``'s :func:`query.release.hidden_text`
    ("fewer than 11" for a released value; without a viewer, that wording too).
    """
    st.markdown(f"### {html.escape(title)}")
    k = settings.small_cell_k()
    st.caption(
        f"**Counts:** {what_it_counts} · **Period:** {period} · **Precision:** {precision} · "
        f"counts under {k} read “{_hidden(viewer)}”"
    )


def _hidden(viewer: Viewer | None) -> str:
    """How a hidden count reads for ``viewer`` (:func:`query.release.hidden_text`; "fewer than 11" without one)."""
    return release.hidden_text(viewer) if viewer is not None else hidden_words()


def protection_caption(viewer: Viewer) -> None:
    """Say, once per page, that this viewer's figures are protected and how far off they may be.

    Nothing for a viewer whose views read exact counts (``query.release.protection_note``).
    """
    if not viewer.can(Capability.SEE_AGGREGATES):
        return  # the page's readers refuse this viewer and say why
    note = release.protection_note(viewer)
    if note:
        st.caption(f"🔒 {note}")


def _swatch(rgba: tuple[int, ...], *, hatch: bool = False) -> str:
    r, g, b, a = (list(rgba) + [255])[:4]
    colour = f"rgba({r},{g},{b},{a / 255:.2f})"
    background = (
        f"repeating-linear-gradient(45deg,{colour} 0 3px,rgba(60,60,60,.7) 3px 4px)" if hatch else colour
    )
    return (
        f'<span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'vertical-align:middle;border:1px solid rgba(0,0,0,.25);background:{background}"></span>'
    )


def legend_html(legend: Legend) -> str:
    """The legend as escaped HTML (every label goes through :func:`html.escape`).

    A label longer than the legend's column wraps under itself, beside its swatch
    (a circuit's stops in order), instead of running past the column's edge.
    """
    rows = "".join(
        f'<div style="display:flex;align-items:flex-start">'
        f'<span style="flex:none;line-height:0;padding-top:0.2em">{_swatch(e.rgba, hatch=e.rgba == SUPPRESSED_RGBA)}</span>'
        f'<span style="min-width:0;overflow-wrap:anywhere">{html.escape(e.label)}</span></div>'
        for e in legend.entries
    )
    note = f'<div style="color:#5a6570;font-size:0.8em;margin-top:4px">{html.escape(legend.note)}</div>' if legend.note else ""
    return (
        f'<div style="font-size:0.85em;line-height:1.6"><b>{html.escape(legend.title)}</b>'
        f"{rows}{note}</div>"
    )


def draw_legend(legend: Legend) -> None:
    """Draw a legend (colour swatches, labels, the scale's basis)."""
    st.html(legend_html(legend))


def attribution_footer() -> None:
    """The attribution line every page shows."""
    st.divider()
    st.caption(settings.ATTRIBUTION)


_FIPS_LIST = re.compile(r"\[('06\d{3}'(?:, '06\d{3}')*)\]")
_FIPS = re.compile(r"\b06\d{3}\b")


def county_names(fips: Sequence[str]) -> str:
    """``"Modoc and Trinity counties"`` for ``["06049", "06105"]`` (unknown codes as given)."""
    names = reference.load_regions().set_index("county_fips")["county"].to_dict()
    words = [str(names.get(code, code)) for code in fips]
    if not words:
        return ""
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"{listed} {'county' if len(words) == 1 else 'counties'}"


def name_counties(message: str) -> str:
    """A message with its county FIPS codes replaced by county names."""
    message = _FIPS_LIST.sub(lambda m: county_names(re.findall(r"06\d{3}", m.group(1))), message)
    return _FIPS.sub(lambda m: county_names([m.group(0)]), message)


def _add_counties(fips: Sequence[str], key: str) -> None:
    chosen = list(st.session_state.get(key, []))
    st.session_state[key] = chosen + [c for c in fips if c not in chosen]


def _clear(key: str) -> None:
    st.session_state[key] = []


def _count_own_records() -> None:
    st.session_state[SCOPE_WIDGET_KEY] = OWN_RECORDS


#: The session key of the sidebar's "Count" choice (``ui.filters.scope_choice``: ``url_choice``
#: keys its widget ``url_<param>``, and the parameter is ``scope``).
SCOPE_WIDGET_KEY = "url_scope"


def show_error(error: Exception, *, filters_key: str = "f", in_form: bool = False) -> None:
    """A domain error as a user message (pages call this at the edge), then stop the page.

    The one way a page shows an error it expects (an unexpected one is
    :func:`run_guarded`'s). With ``in_form``, the error is in what the user has
    just entered in a form (a planned operation without a place): it reads as an
    error under the form and the page goes on. A county selection the small-cell rules refuse is explained with the counties'
    names, and two buttons do what the message suggests: add the counties it
    names, or clear the county filter (the period stays as chosen). A filter the
    protected release cannot answer offers an analyst or lead the exact count of
    their own task force's records, where every filter works.
    """
    message = str(error)
    if in_form:
        st.error(message)
        return
    viewer = session.viewer_in_this_run()
    if (isinstance(error, release.ReleaseFilterError) and viewer is not None and viewer.has_record_access
            and viewer.scope != OWN_RECORDS):
        st.warning(name_counties(message), icon=":material/shield:")
        st.button("Count my task force's records instead (exact; every filter works)",
                  key="routes_fix_own_scope", type="primary", on_click=_count_own_records)
        st.stop()
    if isinstance(error, FilterIsolationError) and message.startswith("the county selection"):
        missing = re.findall(r"06\d{3}", message)
        chosen = county_names(list(st.session_state.get(f"{filters_key}_counties", []))) or "This selection"
        st.warning(
            f"{chosen[0].upper()}{chosen[1:]} alone hold{'s' if chosen.endswith('county') else ''} "
            "too few records to show on its own here: a count under "
            f"{settings.small_cell_k()} could be worked out by comparing this view with a "
            f"neighbouring one. Add {county_names(missing)} to the selection, or look at the "
            "whole region.",
            icon=":material/shield:",
        )
        add, clear = st.columns(2)
        add.button(f"Add {county_names(missing)}", key="routes_fix_add_counties", type="primary",
                   on_click=_add_counties, args=(missing, f"{filters_key}_counties"))
        clear.button("Clear the county filter", key="routes_fix_clear_counties",
                     on_click=_clear, args=(f"{filters_key}_counties",))
    else:
        st.warning(name_counties(message), icon=":material/shield:")
    st.stop()


@contextmanager
def errors_shown(*kinds: type[Exception], not_built: str | None = None) -> Iterator[None]:
    """Run the block; an error of ``kinds`` (default :class:`~routes.errors.RoutesError`) is shown
    by :func:`show_error`, and the page stops there.

    With ``not_built``, a derived table the build has not made
    (:class:`~routes.errors.TablesNotBuilt`, or DuckDB's own error) reads ``not_built``
    instead (what to run), under it the attribution footer, and the page stops there.

    >>> with errors_shown(not_built="Run `python -m pipelines build`."):
    ...     pass
    """
    caught: tuple[type[Exception], ...] = kinds or (RoutesError,)
    unbuilt: tuple[type[Exception], ...] = (TablesNotBuilt, duckdb.Error) if not_built is not None else ()
    try:
        yield
    except unbuilt:
        st.info(str(not_built))
        attribution_footer()
        st.stop()
    except caught as error:
        show_error(error)


def count_table(frame: pd.DataFrame, *, label: str = "value", viewer: Viewer | None = None) -> None:
    """A table of counts where hidden values read as :func:`query.release.hidden_text` says, never blank or zero."""
    shown = frame.drop(columns=[c for c in ("dimension", "suppressed") if c in frame.columns])
    counts = [c for c in ("records", "victims") if c in shown.columns]
    shown = tables.counts_as_text(shown, counts, hidden=_hidden(viewer)).rename(columns={"value": label})
    if viewer is None:
        st.dataframe(shown, hide_index=True, width="stretch")
    else:  # with the audited safe download
        tables.show_table(shown, viewer=viewer, name=f"Counts by {label}", hide_index=True, width="stretch")


#: A keyboard user's focus on a map (its toolbar, reached with Tab) rings the whole map,
#: in the theme's primary colour (3:1 against the page and the map's pale ground).
MAP_FOCUS_STYLE = """<style>
[data-testid="stDeckGlJsonChart"]:has(:focus-visible) {
  outline: 3px solid #3b6e8f; outline-offset: 3px; border-radius: 4px;
}
[data-testid="stDeckGlJsonChart"]:has(:focus-visible) [data-testid="stElementToolbar"] { opacity: 1; }
</style>"""


def run_guarded(run_page: Callable[[], object]) -> None:
    """Run a page; an unexpected error becomes a plain message and a log entry.

    Streamlit's own error box is kept out of sight (``client.showErrorDetails =
    "none"`` and ``client.showErrorLinks = false`` in ``.streamlit/config.toml``):
    it would show internals and offer search links to the internet. The message
    carries a short reference that is also in the server log, so an admin can find
    the traceback. (``st.stop``/``st.rerun`` are not ``Exception`` and pass through.)
    """
    st.html(MAP_FOCUS_STYLE)
    try:
        run_page()
    except Exception:
        reference = uuid.uuid4().hex[:8]
        _LOG.exception("Page failed (reference %s)", reference)
        st.error(
            "Something went wrong on this page, and it has been logged "
            f"(reference {reference}). Reload the page or choose another one; if it "
            "happens again, give your administrator the reference.",
            icon=":material/error:",
        )


#: A headline tile's narrowest width in pixels: room for "123,456" in the metric's large type.
TILE_WIDTH_PX = 156
#: Pixels per character of a metric's large type (a little over its widest glyphs).
_TILE_PX_PER_CHAR = 22


def tile_width(value: object) -> int:
    """The width of a headline tile that shows ``value`` whole.

    >>> tile_width("123,456"), tile_width("suppressed"), tile_width("fewer than 11")
    (156, 220, 286)
    """
    return max(TILE_WIDTH_PX, _TILE_PX_PER_CHAR * len(str(value)))


def metric_row(metrics: Sequence[Metric], *, viewer: Viewer | None = None) -> None:
    """Headline figures as tiles that wrap onto a second line rather than shrink.

    Equal columns cut a figure to "6,…" once the window narrows (1024 px with the
    sidebar open leaves about 90 px for each of seven); tiles of a fixed width in a
    wrapping row keep every figure whole. A hidden figure reads as ``viewer``'s
    :func:`query.release.hidden_text` ("fewer than 11" for a released value), also
    when the metrics were spelled with the default wording.
    """
    default = hidden_words()
    with st.container(horizontal=True, wrap=True, gap="medium"):
        for metric in metrics:
            value = _hidden(viewer) if metric.value == default else metric.value
            st.metric(
                metric.label, value, metric.delta, help=metric.help, delta_color="off",
                width=tile_width(value),
            )


def map_key(name: str) -> str:
    """The chart key of map ``name``: a new one after :func:`reset_view_button` is pressed."""
    return f"{name}_{int(st.session_state.get(f'routes_view_{name}', 0))}"


def map_view(name: str, view: Any) -> Any:
    """``view`` (a ``pydeck.ViewState``) nudged by a millionth of a degree per reset of map
    ``name``: a chart without a selection has no key in the browser, and a changed starting
    view is what makes it fly back."""
    count = int(st.session_state.get(f"routes_view_{name}", 0))
    if count and view is not None:
        view = copy.copy(view)
        view.longitude = float(view.longitude) + count * 1e-6
    return view


def _bump(name: str) -> None:
    st.session_state[f"routes_view_{name}"] = int(st.session_state.get(f"routes_view_{name}", 0)) + 1
    if "view" in st.query_params:  # the panned view a synchronised map keeps in the link (ui.deck_map)
        del st.query_params["view"]


def reset_view_button(name: str, *, fitted: bool) -> None:
    """A button that redraws map ``name`` at its starting view: fitted to the selection
    (``fitted``), else the whole state; panning and zooming away is undone in one click."""
    st.button(
        ":material/center_focus_strong: " + ("Fit to selection" if fitted else "Reset view"),
        key=f"routes_reset_{name}", on_click=_bump, args=(name,),
        help="Back to the map's starting view" + (": the chosen counties or regions" if fitted else ": all of California"),
    )
