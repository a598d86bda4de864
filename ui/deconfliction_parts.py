"""The Deconfliction page's tables and forms: open matches and conflicts, acknowledgements, a planned operation.

The tables show the other side's case number, contact and time window, never
the identifier or the other side's record or plan (``query/matches.py`` reads
only those columns).

The writes are :func:`query.matches.acknowledge` / ``acknowledge_conflict`` and
:func:`query.operations.add_operation`, which the page passes in (``ui/``
does not import ``pipelines``). After a write the page reruns with a notice
(:data:`NOTICE_KEY`) that it shows once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from query.viewer import Viewer
from routes.errors import RoutesError
from ui import chrome

#: The session key of the notice shown once after a write.
NOTICE_KEY = "deconfliction_notice"

#: The columns of an open subject match the table shows, and their headings.
MATCH_LABELS = {
    "other_source": "Other agency", "other_task_force": "Their task force",
    "other_case_number": "Their case", "other_contact": "Call",
    "own_case_number": "Your case", "identifier_kinds": "Shared identifiers",
    "tokens_matched": "How many", "own_last_seen": "You last saw", "other_last_seen": "They last saw",
    "first_raised_at": "Raised", "note": "Note",
}
#: The columns of an operation conflict the table shows, and their headings.
CONFLICT_LABELS = {
    "own_operation": "Your operation", "own_start": "Your start", "own_end": "Your end",
    "other_source": "Other agency", "other_contact": "Call", "other_start": "Their start",
    "other_end": "Their end", "within": "Areas", "note": "Note",
}


def matches_table(found: pd.DataFrame) -> pd.DataFrame:
    """:func:`query.matches.open_matches` as the table shows it: acknowledged or not, then :data:`MATCH_LABELS`."""
    return found[["acknowledged", *MATCH_LABELS]].rename(columns=MATCH_LABELS)


def conflicts_table(conflicts: pd.DataFrame) -> pd.DataFrame:
    """:func:`query.matches.operation_conflicts` as the table shows it (:data:`CONFLICT_LABELS`)."""
    return conflicts[["acknowledged", *CONFLICT_LABELS]].rename(columns=CONFLICT_LABELS)


def match_names(found: pd.DataFrame) -> dict[str, str]:
    """Each match as the acknowledge form names it: your case ↔ their agency and case (``"LA-100 ↔ sdso SD-7"``)."""
    return {r.match_id: f"{r.own_case_number} ↔ {r.other_source} {r.other_case_number}" for r in found.itertuples()}


def conflict_names(conflicts: pd.DataFrame) -> dict[str, str]:
    """Each conflict as the acknowledge form names it: your operation ↔ their agency and start (``2026-12-03 08:00``)."""
    return {
        r.conflict_id: f"{r.own_operation} ↔ {r.other_source} {r.other_start:%Y-%m-%d %H:%M}"
        for r in conflicts.itertuples()
    }


def acknowledge_form(viewer: Viewer, key: str, frame: pd.DataFrame, id_column: str, label: dict[str, str],
                     acknowledge: Callable[..., None]) -> None:
    """A form to acknowledge one of ``frame``'s open rows (by ``id_column``, named by ``label``) with a note."""
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
            with chrome.errors_shown():
                acknowledge(viewer, choice, note=note)
            st.session_state[NOTICE_KEY] = "Acknowledged."
            st.rerun()


def plan_operation_form(viewer: Viewer, agencies: pd.DataFrame, *, kinds: Sequence[str],
                        add_operation: Callable[..., str]) -> None:
    """A form to record a planned operation of one of ``agencies``; conflicts are checked as it is recorded."""
    names = dict(zip(agencies["source_id"], agencies["name"], strict=True))
    with st.form("plan_operation"):
        source = st.selectbox("Agency", list(names), key="op_source",
                              format_func=lambda sid: str(names.get(sid, sid)))
        kind = st.selectbox("Kind (never shown to others)", kinds, key="op_kind")
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
                op_id = add_operation(
                    str(source), kind=kind, place=place or None, lat=lat, lng=lng, radius_m=radius,
                    start=datetime.combine(start_day, start_time),
                    end=datetime.combine(end_day, end_time), contact=contact,
                    task_force=viewer.task_force, created_by=viewer.user, by=viewer,
                )
            except RoutesError as exc:
                chrome.show_error(exc, in_form=True)
            else:
                st.session_state[NOTICE_KEY] = f"Recorded operation {op_id}; conflicts were checked at once."
                st.rerun()
