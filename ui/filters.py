"""The shared sidebar filters, kept in the URL's query parameters.

:func:`sidebar_filters` draws the filters every explore page shares (period with
a histogram of counts behind it and a play button, trafficking type, record type,
source kind, region, county, indicators) and returns a
:class:`query.filters.Filters`. Every choice is mirrored in ``st.query_params``,
so copying the URL bookmarks the view; opening such a URL restores it.

:func:`sidebar_compare` adds the compare mode (two periods side by side or a
change map); :func:`url_choice` keeps a page's own controls (resolution,
measure…) in the URL the same way; :func:`advance_play` steps the period one
month per rerun while "play" is on (pages call it last), except on a page that
plays the months in its map (``play_in_browser``: the Heatmap, ``ui.deck_map.played_months``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from geo import reference
from maps.wording import month_text
from query import cells
from query.filters import INDICATORS, RECORD_TYPES, SOURCE_KINDS, TRAFFICKING_TYPES, Filters
from query.viewer import ALL_AGENCIES, OWN_RECORDS, Viewer
from routes.errors import RoutesError
from ui.cache import snapshot_cached
from ui.chrome import SCOPE_WIDGET_KEY, protection_caption

#: Seconds between two months while playing.
PLAY_INTERVAL_S = 1.5
COMPARE_MODES = {"off": "Off", "side": "Two periods side by side", "change": "Change map"}

_histogram = snapshot_cached(cells.histogram_by_month)

_LISTS = {
    # query-parameter / Filters field: (label, options source)
    "trafficking_types": "Trafficking type",
    "record_types": "Record type",
    "source_kinds": "Source kind",
    "regions": "Region",
    "counties": "County",
    "indicators": "Indicators",
}


@dataclass(frozen=True)
class Comparison:
    """Two periods to compare: ``before`` and ``after`` are full filter sets."""

    mode: str
    before: Filters
    after: Filters


#: Query parameters that follow the user from page to page (a page's own controls stay on it).
SHARED_PARAMS = ("from", "to", *_LISTS, "cmp", "cmp_from", "cmp_to", "scope")
_SHARED_KEY = "routes_shared_params"  # session state: the shared parameters' last values
_PAGE_KEY = "routes_filters_page"  # session state: the page the filters were last drawn on


def _page_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx is not None else ""


def _follow_user(widget_keys: Sequence[str]) -> None:
    """On arrival at another page, bring the shared filters along.

    A click on a page link drops the query string, and Streamlit scopes widget
    state to a page: both are restored from the values the user last chose (a
    link that carries filters of its own wins).
    """
    page = _page_id()
    if st.session_state.get(_PAGE_KEY) == page:
        return
    st.session_state[_PAGE_KEY] = page
    saved: dict[str, str] = st.session_state.get(_SHARED_KEY, {})
    if saved and not any(name in st.query_params for name in SHARED_PARAMS):
        for name, value in saved.items():
            st.query_params[name] = value
    for widget_key in widget_keys:  # re-seeded from the URL below
        if widget_key in st.session_state:
            del st.session_state[widget_key]


def _followed_keys(key: str = "f") -> list[str]:
    """The widget keys :func:`_follow_user` re-seeds from the URL on arrival at a page."""
    return [*(f"{key}_{field}" for field in _LISTS), f"{key}_period", f"{key}_playing", "cmp_mode", "cmp_period",
            SCOPE_WIDGET_KEY]


def _params() -> dict[str, str]:
    return {k: str(v) for k, v in st.query_params.to_dict().items()}


def _seed(key: str, value: object) -> None:
    """Put a value from the URL into a widget's state the first time the widget appears."""
    if key not in st.session_state:
        st.session_state[key] = value


def _sync_params(owned: dict[str, str | None]) -> None:
    """Write the keys this module owns into the URL; drop the ones at their default.

    The shared ones (:data:`SHARED_PARAMS`) are also kept for the next page.
    """
    saved: dict[str, str] = dict(st.session_state.get(_SHARED_KEY, {}))
    for key, value in owned.items():
        if value:
            if st.query_params.get(key) != value:
                st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]
        if key in SHARED_PARAMS:
            if value:
                saved[key] = value
            else:
                saved.pop(key, None)
    st.session_state[_SHARED_KEY] = saved


def _options() -> dict[str, list[str]]:
    counties = reference.load_regions().sort_values("county")
    return {
        "trafficking_types": list(TRAFFICKING_TYPES),
        "record_types": list(RECORD_TYPES),
        "source_kinds": list(SOURCE_KINDS),
        "regions": sorted(counties["region"].dropna().unique().tolist()),
        "counties": counties["county_fips"].tolist(),
        "indicators": list(INDICATORS),
    }


def _label(field: str) -> Callable[[Any], str]:
    if field == "counties":
        names = reference.load_regions().set_index("county_fips")["county"].to_dict()
        return lambda fips: names.get(fips, fips)
    return lambda v: str(v).replace("_", " ")


def _months(histogram: pd.DataFrame) -> list[date]:
    if histogram.empty:
        today = date.today().replace(day=1)
        return [today]
    lo, hi = min(histogram["month"]), max(histogram["month"])
    return [d.date() for d in pd.date_range(lo, hi, freq="MS")]


def sidebar_filters(
    viewer: Viewer, *, key: str = "f", default_period: tuple[date, date] | None = None, play_in_browser: bool = False
) -> Filters:
    """Draw the shared filters in the sidebar and return what they select.

    Parameters
    ----------
    viewer
        The signed-in viewer (the histogram behind the period slider is theirs).
    key
        Prefix of the widgets' keys (one set of filters per page is the norm).
    default_period
        Where the period slider starts when neither the link nor an earlier page
        chose a period (Statewide starts at the last full quarter); ``None``
        starts it at every month.
    play_in_browser
        The page plays the months in its map component (the Heatmap): "Play months"
        only turns playing on (:func:`is_playing`) and the period stays as chosen;
        otherwise each rerun steps the period one month (:func:`advance_play`).

    Returns
    -------
    query.filters.Filters
        Empty fields mean "all"; ``start``/``end`` stay ``None`` while the slider
        spans every month (so the query layer has nothing to check).
    """
    _follow_user(_followed_keys(key))
    seeded = Filters.from_query_params(_params())
    options = _options()
    sidebar = st.sidebar
    sidebar.markdown("**Filters**")
    period_box = sidebar.container()
    chosen: dict[str, tuple[str, ...]] = {}
    for field, label in _LISTS.items():
        widget_key = f"{key}_{field}"
        _seed(widget_key, [v for v in getattr(seeded, field) if v in options[field]])
        if field == "counties" and chosen.get("regions"):
            in_regions = reference.load_regions()
            allowed = set(in_regions.loc[in_regions["region"].isin(chosen["regions"]), "county_fips"])
            opts = [c for c in options[field] if c in allowed]
            st.session_state[widget_key] = [c for c in st.session_state[widget_key] if c in allowed]
        else:
            opts = options[field]
        values = sidebar.multiselect(label, opts, key=widget_key, format_func=_label(field), placeholder="all")
        chosen[field] = tuple(values)
    filters = Filters(**chosen)  # type: ignore[arg-type]

    with period_box:
        filters = _period(viewer, filters, seeded=seeded, key=key, default_period=default_period,
                          play_in_browser=play_in_browser)
    _sync_params({"from": None, "to": None, **{f: None for f in _LISTS}, **filters.to_query_params()})
    protection_caption(viewer)  # every aggregate page draws these filters once: its note goes here
    return filters


HISTOGRAM_RGB = ("#3b6e8f", "#b8cad6")  # bars inside and outside the chosen period


def compact_count(n: float) -> str:
    """A count short enough for a small axis label.

    >>> [compact_count(n) for n in (20, 9999, 12345, 999_499, 1_234_567)]
    ['20', '9,999', '12k', '999k', '1.2M']
    """
    n = int(n)
    if n < 10_000:
        return f"{n:,}"
    if n < 999_500:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.1f}M"


def histogram_svg(
    histogram: pd.DataFrame, *, selected: tuple[date, date] | None = None, width: int = 240, height: int = 64
) -> str:
    """Records per month as a bar chart in SVG (hidden months drawn as gaps).

    Bars inside ``selected`` (inclusive months) are dark, the others light; a
    label gives the tallest bar, and the first month of every other year is marked.

    >>> frame = pd.DataFrame({"month": [date(2024, 1, 1), date(2024, 2, 1)], "records": [20, None]})
    >>> svg = histogram_svg(frame)
    >>> svg.startswith("<svg") and svg.count("<rect") == 1 and ">20<" in svg
    True
    """
    months = [pd.Timestamp(m).date().replace(day=1) for m in histogram["month"]]
    values = pd.to_numeric(histogram["records"], errors="coerce").astype("float64").tolist()
    top = max((v for v in values if v == v), default=0.0) or 1.0
    label = compact_count(top)
    left, bottom = max(26, 5 * len(label) + 4), 12  # room for the value label and the year ticks
    plot_w, plot_h = width - left, height - bottom
    step = plot_w / max(len(months), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="8" fill="#5a6270">',
        "<title>Records per month (hidden months left blank)</title>",
        f'<text x="{left - 3}" y="8" text-anchor="end">{label}</text>',
        f'<line x1="{left}" y1="{plot_h + 0.5}" x2="{width}" y2="{plot_h + 0.5}" stroke="#c9ced6"/>',
    ]
    for i, (month, value) in enumerate(zip(months, values, strict=True)):
        x = left + i * step
        if value == value and value > 0:  # NaN (hidden) is a gap
            h = max(plot_h * value / top, 0.5)
            inside = selected is None or selected[0].replace(day=1) <= month <= selected[1].replace(day=1)
            colour = HISTOGRAM_RGB[0] if inside else HISTOGRAM_RGB[1]
            parts.append(
                f'<rect x="{x:.2f}" y="{plot_h - h:.2f}" width="{max(step - 0.3, 0.4):.2f}" height="{h:.2f}" fill="{colour}"/>'
            )
        if month.month == 1 and month.year % 2 == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 2}" text-anchor="middle">{month.year}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _calendar(viewer: Viewer) -> list[date]:
    """Every month with data, whatever the filters: the period slider's stops.

    Taken from the filters' own histogram, the stops changed with a county and an
    earlier choice no longer fitted them, so the period jumped without a word.
    """
    try:
        return _months(_histogram(viewer, Filters()))
    except RoutesError:
        return _months(pd.DataFrame({"month": [], "records": []}))


def _period(
    viewer: Viewer, filters: Filters, *, seeded: Filters, key: str, default_period: tuple[date, date] | None = None,
    play_in_browser: bool = False,
) -> Filters:
    months = _calendar(viewer)
    try:
        histogram = _histogram(viewer, filters)
    except RoutesError:  # the page explains the refusal; the period stays as chosen
        st.caption("No bars: these filters are refused (see the page).")
        histogram = pd.DataFrame({"month": [], "records": []})
    st.session_state[f"{key}_months_total"] = len(months)
    slider_key, play_key, step_key = f"{key}_period", f"{key}_playing", f"{key}_play_step"
    first = (max(seeded.start, months[0]) if seeded.start else months[0])
    last = (min(seeded.end, months[-1]) if seeded.end else months[-1])
    first, last = _nearest(months, first), _nearest(months, last)
    if seeded.start or seeded.end:
        _seed(slider_key, (first, last))
    elif default_period and all(m in months for m in default_period) and slider_key not in st.session_state:
        # the page's default shows on the slider itself, so the slider and the header agree
        st.session_state[slider_key] = default_period
    current = st.session_state.get(slider_key, (months[0], months[-1]))
    if not (isinstance(current, tuple) and current[0] in months and current[1] in months):
        st.session_state[slider_key] = (months[0], months[-1])
    playing = bool(st.session_state.get(play_key))
    if playing and not play_in_browser:
        step = min(int(st.session_state.get(step_key, 0)), len(months) - 1)
        st.session_state[slider_key] = (months[step], months[step])

    if not histogram.empty:
        # a small SVG, not a Vega chart: no chart library to load before a page's map;
        # one bar per stop of the slider (a month without records is an empty slot)
        by_month = histogram.assign(month=[pd.Timestamp(m).date().replace(day=1) for m in histogram["month"]])
        histogram = by_month.groupby("month")["records"].sum(min_count=1).reindex(months, fill_value=0).rename_axis("month").reset_index()
        selected = st.session_state.get(slider_key)
        st.image(histogram_svg(histogram, selected=selected if isinstance(selected, tuple) else None),
                 alt="Bar chart: records per month; the chosen period's bars are dark")
    start, end = st.select_slider(
        "Period", options=months, value=(months[0], months[-1]), key=slider_key,
        format_func=month_text, disabled=playing,
    )
    label = ":material/stop: Stop" if playing else ":material/play_arrow: Play months"
    # a callback, not `if st.button(...)`: it runs before the slider is drawn, the only
    # moment its state may change (after, Streamlit raises StreamlitWidgetAlreadyInstantiatedError)
    st.button(
        label, key=f"{key}_play_button",
        help="Play the chosen period month by month on the map" if play_in_browser else "Step through the months one by one",
        on_click=_toggle_play, args=(key, months[0], months[-1]), kwargs={"keep_period": play_in_browser},
    )
    if (start, end) == (months[0], months[-1]) and len(months) > 1:
        return filters.with_period(None, None)
    return filters.with_period(start, end)


def _toggle_play(key: str, first: date, last: date, *, keep_period: bool = False) -> None:
    """Play from the first month, or stop and select every month again (``keep_period``: the period as it was)."""
    if st.session_state.get(f"{key}_playing"):
        st.session_state[f"{key}_playing"] = False
        if not keep_period:  # played in the browser, the period was never changed
            st.session_state[f"{key}_period"] = (first, last)
    else:
        st.session_state[f"{key}_playing"] = True
        st.session_state[f"{key}_play_step"] = 0


def last_full_quarter(months: Sequence[date], *, today: date) -> tuple[date, date] | None:
    """The last calendar quarter wholly inside ``months`` and over before ``today``'s month.

    A quarter is a meaningful default for a headline: set against the same quarter a
    year before, it compares like with like (a 12-month default made "the previous
    period" and "a year before" the same months).

    >>> months = [date(2025, m, 1) for m in range(1, 13)]
    >>> last_full_quarter(months, today=date(2026, 3, 4))
    (datetime.date(2025, 10, 1), datetime.date(2025, 12, 1))
    >>> last_full_quarter(months, today=date(2025, 12, 4))  # December still being filled
    (datetime.date(2025, 7, 1), datetime.date(2025, 9, 1))
    >>> last_full_quarter(months[:2], today=date(2026, 1, 1)) is None
    True
    """
    available = set(months)
    this_month = today.replace(day=1)
    for end in sorted(available, reverse=True):
        if end.month % 3 or end >= this_month:
            continue
        start = _shift(end, -2)
        if start in available and _shift(end, -1) in available:
            return start, end
    return None


def _nearest(months: Sequence[date], value: date) -> date:
    value = value.replace(day=1)
    return value if value in months else min(months, key=lambda m: abs((m - value).days))


def is_playing(*, key: str = "f") -> bool:
    """Whether the period is currently being played month by month."""
    return bool(st.session_state.get(f"{key}_playing"))


def advance_play(*, key: str = "f") -> None:
    """While playing, wait :data:`PLAY_INTERVAL_S` and step to the next month (call last on a page)."""
    if not is_playing(key=key):
        return
    step_key = f"{key}_play_step"
    step = int(st.session_state.get(step_key, 0))
    if step + 1 >= int(st.session_state.get(f"{key}_months_total", 0)):
        st.session_state[f"{key}_playing"] = False
        return
    time.sleep(PLAY_INTERVAL_S)
    st.session_state[step_key] = step + 1
    st.rerun()


def sidebar_compare(filters: Filters, *, months: Sequence[date] | None = None, key: str = "cmp") -> Comparison | None:
    """The compare mode: ``None`` when off, else the two periods to compare.

    The "after" period is the one the period slider selects; the "before" period
    defaults to the same number of months just before it.
    """
    params = _params()
    mode_key = f"{key}_mode"
    _seed(mode_key, params.get("cmp", "off") if params.get("cmp") in COMPARE_MODES else "off")
    mode = st.sidebar.radio("Compare", list(COMPARE_MODES), key=mode_key, format_func=COMPARE_MODES.get, horizontal=False)
    if mode == "off" or is_playing():
        _sync_params({"cmp": None, "cmp_from": None, "cmp_to": None})
        return None
    all_months = list(months or [])
    if not all_months:
        return None
    if filters.start is None and filters.end is None:
        # the whole span is selected: compare its second half with its first
        half = max(len(all_months) // 2, 1)
        start, end = all_months[-half], all_months[-1]
    else:
        start, end = filters.start or all_months[0], filters.end or all_months[-1]
    length = cells.period_months(filters.with_period(start, end))
    default_end = _shift(start, -1)
    default_start = _shift(start, -length)
    if default_end < all_months[0]:
        default_start, default_end = all_months[0], all_months[min(length, len(all_months)) - 1]
    seeded = Filters.from_query_params({"from": params.get("cmp_from", ""), "to": params.get("cmp_to", "")})
    range_key = f"{key}_period"
    default = (
        _nearest(all_months, seeded.start or max(default_start, all_months[0])),
        _nearest(all_months, seeded.end or default_end),
    )
    if seeded.start or seeded.end:
        _seed(range_key, default)
    before_start, before_end = st.sidebar.select_slider(
        "Compare with (before)", options=all_months, value=default, key=range_key,
        format_func=month_text,
    )
    _sync_params({"cmp": mode, "cmp_from": before_start.strftime("%Y-%m"), "cmp_to": before_end.strftime("%Y-%m")})
    return Comparison(
        mode=mode,
        before=filters.with_period(before_start, before_end),
        after=filters.with_period(start, end),
    )


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def url_param(param: str, value: str | None) -> None:
    """Keep a page's own value (not a widget's) in the URL under ``param``; ``None`` drops it.

    The same bookkeeping as :func:`url_choice` (e.g. the map's ``view``, :mod:`ui.deck_map`).
    """
    _sync_params({param: value})


def url_choice(label: str, options: Sequence[object], *, param: str, default: object, widget: str = "radio", **kwargs: object) -> object:
    """A page control whose value lives in the URL under ``param``.

    ``widget`` is ``"radio"``, ``"select_slider"``, ``"selectbox"`` or ``"toggle"``
    (for a toggle, ``options`` is ignored and the value is a bool).
    """
    raw = _params().get(param)
    widget_key = f"url_{param}"
    if widget == "toggle":
        _seed(widget_key, raw == "1" if raw is not None else bool(default))
        value: object = st.toggle(label, key=widget_key, **kwargs)  # type: ignore[arg-type]
        _sync_params({param: ("1" if value else "0") if bool(value) != bool(default) else None})
        return value
    by_text = {str(o): o for o in options}
    _seed(widget_key, by_text.get(raw, default) if raw is not None else default)
    draw = {"radio": st.radio, "select_slider": st.select_slider, "selectbox": st.selectbox}[widget]
    value = draw(label, list(options), key=widget_key, **kwargs)  # type: ignore[operator]
    _sync_params({param: str(value) if value != default else None})
    return value


#: The aggregate scopes an analyst or lead chooses between, as the sidebar names them.
SCOPE_LABELS = {ALL_AGENCIES: "All agencies (protected)", OWN_RECORDS: "My task force's records (exact)"}


def scope_choice(viewer: Viewer) -> Viewer:
    """The viewer with the aggregate scope chosen in the sidebar (for viewers with record access).

    One choice for the whole page: every figure then counts either every
    agency's records (the protected release) or only the viewer's own task
    force's records (exact); a page never mixes the two. Viewers without record
    access have no choice to make: they always read the release.
    """
    if not viewer.has_record_access:
        return viewer
    _follow_user(_followed_keys())  # drawn before the filters: the scope follows the user too
    with st.sidebar:
        scope = url_choice(
            "Count", list(SCOPE_LABELS), param="scope", default=viewer.scope,  # a signed-in viewer's: all
            format_func=SCOPE_LABELS.get, horizontal=False,
            help="All agencies: every agency's records, from the protected release (small noise, the same "
                 "for everyone). My task force's records: only records your task force's sources sent, exact.",
        )
    return viewer.with_scope(str(scope))


def available_months(viewer: Viewer, filters: Filters) -> list[date]:
    """Every month from the first to the last with data (the slider's stops; period ignored)."""
    del filters  # the calendar is the same under every filter (see _calendar)
    return _calendar(viewer)
