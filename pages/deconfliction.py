"""Deconfliction: other agencies working the same subject or place as your task force.

Analysts and leads see their open subject matches and operation conflicts (the
other side's case number, contact and time window, never the identifier or the
other side's record or plan), acknowledge them with a note, and record a planned
operation. Leadership and admins see counts only; partners see nothing. The rules
live in ``query/matches.py``; this page reads widgets, calls it, and draws.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from pipelines import operations
from query import matches, release
from query.policy import Capability
from routes.errors import RoutesError
from ui import chrome, tables
from ui.session import current_viewer

MATCH_LABELS = {
    "other_source": "Other agency", "other_task_force": "Their task force",
    "other_case_number": "Their case", "other_contact": "Call",
    "own_case_number": "Your case", "identifier_kinds": "Shared identifiers",
    "tokens_matched": "How many", "own_last_seen": "You last saw", "other_last_seen": "They last saw",
    "first_raised_at": "Raised", "note": "Note",
}
CONFLICT_LABELS = {
    "own_operation": "Your operation", "own_start": "Your start", "own_end": "Your end",
    "other_source": "Other agency", "other_contact": "Call", "other_start": "Their start",
    "other_end": "Their end", "within": "Areas", "note": "Note",
}


def _counts(frame: pd.DataFrame, column: str, hidden: str) -> pd.DataFrame:
    shown = frame.drop(columns="suppressed").copy()
    shown[column] = [hidden if pd.isna(v) else f"{int(v):,}" for v in shown[column]]
    return shown


def _acknowledge_form(key: str, frame: pd.DataFrame, id_column: str, label: dict[str, str],
                      acknowledge: Callable[..., None]) -> None:
    open_rows = frame[~frame["acknowledged"]]
    if open_rows.empty:
        return
    with st.form(f"ack_{key}"):
        choice = st.selectbox(
            "Acknowledge", list(open_rows[id_column]), key=f"ack_{key}_id",
            format_func=lambda item: label.get(item, str(item)),
        )
        note = st.text_input("Note (who you spoke to, who leads)", key=f"ack_{key}_note")
        if st.form_submit_button("Acknowledge"):
            try:
                acknowledge(viewer, choice, note=note)
            except RoutesError as exc:
                chrome.show_error(exc)
            st.session_state["deconfliction_notice"] = "Acknowledged."
            st.rerun()


viewer = current_viewer()
st.markdown("### Deconfliction")
st.caption(
    "Tells two agencies when they work the same subject (a shared phone, e-mail, plate, "
    "ad handle or name and date of birth) or plan operations close in place and time. "
    "Neither side sees the other's identifiers, records or plans. Every view is audited."
)

if not (viewer.can(Capability.SEE_DECONFLICTION_DETAIL) or viewer.can(Capability.SEE_DECONFLICTION_COUNTS)):
    st.info("Deconfliction is for law-enforcement task forces; partners see nothing here.")
    chrome.attribution_footer()
    st.stop()

if not viewer.has_record_access:
    try:
        match_counts = matches.match_counts(viewer)
        conflict_counts = matches.conflict_counts(viewer)
    except RoutesError as exc:
        chrome.show_error(exc)
    hidden = release.hidden_text(viewer)
    st.caption(f"Counts only; counts under {viewer.k} read “{hidden}”.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Subject matches by region and month**")
        tables.show_table(_counts(match_counts, "matches", hidden), viewer=viewer, name="Subject matches by region and month", hide_index=True, width="stretch")
    with right:
        st.markdown("**Operation conflicts by region and month**")
        tables.show_table(_counts(conflict_counts, "conflicts", hidden), viewer=viewer, name="Operation conflicts by region and month", hide_index=True, width="stretch")
    chrome.attribution_footer()
    st.stop()

notice = st.session_state.pop("deconfliction_notice", None)
if notice:
    st.success(notice)
show_all = st.toggle("Show acknowledged too", key="show_acknowledged")
try:
    found = matches.open_matches(viewer, include_acknowledged=show_all)
    conflicts = matches.operation_conflicts(viewer, include_acknowledged=show_all)
except RoutesError as exc:
    chrome.show_error(exc)

st.markdown(f"#### Subject matches ({len(found)})")
if found.empty:
    st.write("No other agency shares an identifier with your task force's cases.")
else:
    tables.show_table(
        found[["acknowledged", *MATCH_LABELS]].rename(columns=MATCH_LABELS), viewer=viewer, name="Subject matches",
        hide_index=True, width="stretch",
    )
    match_label = {
        r.match_id: f"{r.own_case_number} ↔ {r.other_source} {r.other_case_number}"
        for r in found.itertuples()
    }
    _acknowledge_form("match", found, "match_id", match_label, matches.acknowledge)

st.markdown(f"#### Operation conflicts ({len(conflicts)})")
if conflicts.empty:
    st.write("No other agency plans an operation near yours at the same time.")
else:
    tables.show_table(
        conflicts[["acknowledged", *CONFLICT_LABELS]].rename(columns=CONFLICT_LABELS), viewer=viewer,
        name="Operation conflicts", hide_index=True, width="stretch",
    )
    conflict_label = {
        r.conflict_id: f"{r.own_operation} ↔ {r.other_source} {r.other_start:%Y-%m-%d %H:%M}"
        for r in conflicts.itertuples()
    }
    _acknowledge_form("conflict", conflicts, "conflict_id", conflict_label,
                      matches.acknowledge_conflict)

st.markdown("#### Plan an operation")
agencies = matches.own_agencies(viewer)
if agencies.empty:
    st.write(f"Task force {viewer.task_force!r} has no registered agency to plan for.")
else:
    names = dict(zip(agencies["source_id"], agencies["name"], strict=True))
    with st.form("plan_operation"):
        source = st.selectbox("Agency", list(names), key="op_source",
                              format_func=lambda sid: str(names.get(sid, sid)))
        kind = st.selectbox("Kind (never shown to others)", operations.OPERATION_KINDS,
                            key="op_kind")
        place = st.text_input("Place or address (or give latitude and longitude)", key="op_place")
        c1, c2, c3 = st.columns(3)
        lat = c1.number_input("Latitude", value=None, format="%.5f", key="op_lat")
        lng = c2.number_input("Longitude", value=None, format="%.5f", key="op_lng")
        radius = c3.number_input("Radius (m)", min_value=0, max_value=50_000, value=200,
                                 step=50, key="op_radius")
        d1, t1, d2, t2 = st.columns(4)
        tomorrow = date.today() + timedelta(days=1)
        start_day = d1.date_input("Start day", value=tomorrow, key="op_start_day")
        start_time = t1.time_input("Start time", value=time(6, 0), key="op_start_time")
        end_day = d2.date_input("End day", value=tomorrow, key="op_end_day")
        end_time = t2.time_input("End time", value=time(10, 0), key="op_end_time")
        contact = st.text_input("Contact for the other agency", key="op_contact")
        if st.form_submit_button("Record operation"):
            try:
                op_id = operations.add_operation(
                    str(source), kind=kind, place=place or None, lat=lat, lng=lng, radius_m=radius,
                    start=datetime.combine(start_day, start_time),
                    end=datetime.combine(end_day, end_time), contact=contact,
                    task_force=viewer.task_force, created_by=viewer.user, by=viewer,
                )
            except RoutesError as exc:
                st.error(str(exc))
            else:
                st.session_state["deconfliction_notice"] = (
                    f"Recorded operation {op_id}; conflicts were checked at once."
                )
                st.rerun()

chrome.attribution_footer()
