"""Region: one Cal OES region, task force or county — its map, flows, neighbours, trend; briefings."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import streamlit as st

from geo import reference
from maps import statewide_maps as sm
from query import release, trends
from query.suppression import FilterIsolationError
from routes.errors import RoutesError
from ui import charts, chrome, tables
from ui import filters as ui_filters
from ui.cache import snapshot_cached
from ui.session import current_viewer

region_profile = snapshot_cached(trends.region_profile)
resolve_period = snapshot_cached(trends.resolve_period)
monthly_series = snapshot_cached(trends.monthly_series)

KINDS = {"region": "Cal OES region", "task_force": "Task force", "county": "County"}


def _choices() -> dict[str, dict[str, str]]:
    dims = reference.county_dimensions()
    forces = reference.load_task_forces().drop_duplicates("task_force").set_index("task_force")["name"]
    return {
        "region": {r: r for r in sorted(dims["region"].dropna().unique())},
        "task_force": {t: str(forces.get(t, t)) for t in sorted(dims["task_force"].dropna().unique())},
        "county": dict(zip(dims.sort_values("county")["county_fips"], dims.sort_values("county")["county"], strict=True)),
    }


viewer = ui_filters.scope_choice(current_viewer())  # all agencies (release) or own records (exact)
hidden = release.hidden_text(viewer)  # how a hidden count reads: "fewer than 11" (released)
filters = ui_filters.sidebar_filters(viewer)
choices = _choices()

pick_kind, pick_place = st.columns([2, 3])
with pick_kind:
    default_kind = "task_force" if viewer.task_force in choices["task_force"] else "region"
    kind = ui_filters.url_choice("Look at a", list(KINDS), param="kind", default=default_kind, horizontal=True, format_func=KINDS.get)
with pick_place:
    options = list(choices[kind])
    default_place = viewer.task_force if kind == "task_force" and viewer.task_force in options else options[0]
    if st.session_state.get("url_place", default_place) not in options:  # the kind just changed
        st.session_state["url_place"] = default_place
    place = ui_filters.url_choice(
        KINDS[kind], options, param="place", default=default_place, widget="selectbox",
        format_func=lambda key: choices[kind].get(key, key),
    )
if place not in choices[kind]:
    place = options[0]

flows_note = None
try:
    # every part of the page, flows included, over the period the header names
    period = resolve_period(viewer, filters)
    try:
        profile = region_profile(viewer, **{kind: place}, filters=filters.with_period(*period) if period else filters)
    except FilterIsolationError:
        if filters.start or filters.end:
            raise
        # the default period, named explicitly, is refused for this role: the whole
        # page over every month would contradict the header, so flows say what they count
        profile = region_profile(viewer, **{kind: place}, filters=filters)
        flows_note = (
            "These flows count every month: over the header's period alone they would let a "
            "count under k be worked out. Choose a longer period in the sidebar to compare them."
        )
except RoutesError as error:
    chrome.show_error(error)

current = profile.headline[profile.headline["period"].eq("current")]
period_text = chrome.format_period(current["start"].iloc[0], current["end"].iloc[0]) if len(current) else "no data"
chrome.page_header(
    profile.name,
    f"{sm.records_text(filters.record_types)} at their destination in this place; flows from point source to destination",
    period_text,
    "county (rates per 100,000 residents); flows by county",
    viewer=viewer,
)

metrics = sm.headline_metrics(
    profile.headline,
    columns=sm.metric_columns(filters.record_types, base=("records", "victims"), unfiltered=("tips", "recoveries")),
    hidden=hidden,
)
chrome.metric_row(metrics, viewer=viewer)

map_column, side_column = st.columns([3, 2])
with map_column:
    deck, legend = sm.region_deck(profile.county_rates, profile.neighbours, hidden=hidden)
    st.pydeck_chart(deck, key="region_map", height=440)
    chrome.draw_legend(legend)
with side_column:
    st.markdown("**Trend: records per month**")
    # every month (not only the period's few), the period shaded
    trend = monthly_series(viewer, replace(filters, regions=(), task_forces=(), counties=profile.counties).with_period(None, None))
    if trend["records"].notna().any():
        st.image(charts.line_chart_svg(trend, height=260, width=560, highlight=period), width="stretch",
                 alt=f"Line chart: records per month in {profile.name}, {period_text} shaded")
    else:
        st.info(f"Every month reads “{hidden}” here.")
    st.caption(f"Gaps are months that read “{hidden}”.")
    st.markdown("**Its counties**")
    tables.show_table(sm.rates_table(profile.county_rates, hidden=hidden), viewer=viewer, name="County rates", hide_index=True, width="stretch", height=180)

st.markdown("#### Flows in and out")
flows_in_column, flows_out_column = st.columns(2)
with flows_in_column:
    st.caption("Into this place, from elsewhere (point source → here), by county")
    tables.show_table(sm.flows_table(release.drop_unreleased(viewer, profile.flows_in), side="origin", hidden=hidden), viewer=viewer, name="Flows in", hide_index=True, width="stretch", height=220)
with flows_out_column:
    st.caption("Out of this place, to elsewhere (here → destination), by county")
    tables.show_table(sm.flows_table(release.drop_unreleased(viewer, profile.flows_out), side="dest", hidden=hidden), viewer=viewer, name="Flows out", hide_index=True, width="stretch", height=220)
for note in profile.notes:
    st.caption(note)
if flows_note:
    st.warning(flows_note, icon=":material/info:")

st.markdown("#### Neighbouring counties")
st.caption("Counties that border this place or face it across the Bay, over the same period.")
tables.show_table(sm.rates_table(profile.neighbours, hidden=hidden), viewer=viewer, name="Neighbouring counties", hide_index=True, width="stretch")

st.markdown("#### Briefing export")
# imported here, after the page is drawn: the PDF and map libraries behind it load late on a cold start
import briefings  # noqa: E402
from briefings.audiences import AUDIENCES as audiences  # noqa: E402

if kind == "task_force":
    st.info("Briefings are exported for a Cal OES region or a county: choose one above.")
else:
    audience = st.selectbox("Audience", list(audiences), key="region_audience", format_func=lambda a: str(a).replace("_", " "))
    purpose = st.text_input("Purpose (printed on the briefing and written to the audit log)", key="region_purpose")
    export_key = (kind, place, str(current["start"].iloc[0]), str(current["end"].iloc[0]), audience, purpose.strip())
    if st.button(":material/description: Export briefing", key="region_export", disabled=not purpose.strip()):
        out_dir = Path(tempfile.mkdtemp(prefix="routes-briefing-"))
        try:
            written = briefings.export_briefing(
                viewer, **{kind: place}, start=current["start"].iloc[0], end=current["end"].iloc[0],
                audience=audience, purpose=purpose.strip(), out_dir=out_dir, pack=True,
            )
        except (RoutesError, ValueError) as error:
            chrome.show_error(error)
        # kept for this session: downloading one file must not take the others away
        st.session_state["region_briefing"] = (
            export_key, [(p.name, p.read_bytes()) for p in [written.pack, *written.paths] if p is not None],
        )
        shutil.rmtree(out_dir, ignore_errors=True)
    exported = st.session_state.get("region_briefing")
    if exported and exported[0] == export_key:
        (pack_name, pack_bytes), *singles = exported[1]
        st.success(f"Briefing written: {len(singles)} files, one audit entry.")
        st.download_button(
            ":material/folder_zip: Download briefing pack", pack_bytes, file_name=pack_name,
            mime="application/zip", key="dl_pack", type="primary", on_click="ignore",
            help="One zip: the PDF, the PNG map, the offline HTML map, the CSV tables and the GeoJSON layers",
        )
        st.caption("or one file at a time (the same export: no new audit entry)")
        for name, data in singles:
            st.download_button(f"Download {name}", data, file_name=name, key=f"dl_{name}", on_click="ignore")

chrome.attribution_footer()
ui_filters.advance_play()
