"""The Region page's place: a Cal OES region, task force or county (kept in the URL), and its profile.

:func:`choose_place` draws the two choices; :func:`read_profile` reads
:func:`query.trends.region_profile` over the period the page header names.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from geo import reference
from query import trends
from query.filters import Filters
from query.suppression import FilterIsolationError
from query.viewer import Viewer
from ui import filters as ui_filters
from ui.cache import snapshot_cached

region_profile = snapshot_cached(trends.region_profile)
resolve_period = snapshot_cached(trends.resolve_period)

#: The kinds of place, as the choice names them.
KINDS = {"region": "Cal OES region", "task_force": "Task force", "county": "County"}

#: Under the flows when the header's period had to be widened to every month.
FLOWS_EVERY_MONTH = (
    "These flows count every month: over the header's period alone they would let a "
    "count under k be worked out. Choose a longer period in the sidebar to compare them."
)


def place_choices() -> dict[str, dict[str, str]]:
    """Every place of each kind: its key (region name, task force id, county FIPS) and its name."""
    dims = reference.county_dimensions()
    forces = reference.load_task_forces().drop_duplicates("task_force").set_index("task_force")["name"]
    return {
        "region": {r: r for r in sorted(dims["region"].dropna().unique())},
        "task_force": {t: str(forces.get(t, t)) for t in sorted(dims["task_force"].dropna().unique())},
        "county": dict(zip(dims.sort_values("county")["county_fips"], dims.sort_values("county")["county"], strict=True)),
    }


def choose_place(viewer: Viewer) -> tuple[str, str]:
    """The kind and key of the place chosen (URL ``kind`` and ``place``); the viewer's task force by default."""
    choices = place_choices()
    pick_kind, pick_place = st.columns([2, 3])
    with pick_kind:
        default_kind = "task_force" if viewer.task_force in choices["task_force"] else "region"
        kind = str(ui_filters.url_choice("Look at a", list(KINDS), param="kind", default=default_kind, horizontal=True,
                                         format_func=KINDS.get))
    with pick_place:
        options = list(choices[kind])
        default_place = viewer.task_force if kind == "task_force" and viewer.task_force in options else options[0]
        if st.session_state.get("url_place", default_place) not in options:  # the kind just changed
            st.session_state["url_place"] = default_place
        place = str(ui_filters.url_choice(
            KINDS[kind], options, param="place", default=default_place, widget="selectbox",
            format_func=lambda key: choices[kind].get(key, key),
        ))
    if place not in choices[kind]:
        place = options[0]
    return kind, place


def read_profile(
    viewer: Viewer, filters: Filters, **place: str
) -> tuple[trends.RegionProfile, tuple[date, date] | None, str | None]:
    """The place's profile, the period read and, if its flows had to count every month, a note saying so.

    Every part of the page, flows included, is read over the period the header
    names. When the default period, named explicitly, is refused for this role,
    the profile is read over every month: the whole page over every month would
    contradict the header, so the flows say what they count.
    """
    period = resolve_period(viewer, filters)
    try:
        return region_profile(viewer, **place, filters=filters.with_period(*period) if period else filters), period, None
    except FilterIsolationError:
        if filters.start or filters.end:
            raise
        return region_profile(viewer, **place, filters=filters), period, FLOWS_EVERY_MONTH
