"""Deconfliction: other agencies working the same subject or place as your task force.

Analysts and leads see their open subject matches and operation conflicts (the
other side's case number, contact and time window, never the identifier or the
other side's record or plan), acknowledge them with a note, and record a planned
operation. Leadership and admins see counts only; partners see nothing. The rules
live in ``query/matches.py``; this page reads widgets, calls it, and draws.
"""

from __future__ import annotations

import streamlit as st

from query import matches, operations, release
from query.policy import Capability
from ui import chrome, tables
from ui import deconfliction_parts as parts
from ui.session import current_viewer

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
    with chrome.errors_shown():
        match_counts = matches.match_counts(viewer).drop(columns="suppressed")
        conflict_counts = matches.conflict_counts(viewer).drop(columns="suppressed")
    hidden = release.hidden_text(viewer)
    st.caption(f"Counts only; counts under {viewer.k} read “{hidden}”.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Subject matches by region and month**")
        tables.show_table(tables.counts_as_text(match_counts, ["matches"], hidden=hidden), viewer=viewer, name="Subject matches by region and month", hide_index=True, width="stretch")
    with right:
        st.markdown("**Operation conflicts by region and month**")
        tables.show_table(tables.counts_as_text(conflict_counts, ["conflicts"], hidden=hidden), viewer=viewer, name="Operation conflicts by region and month", hide_index=True, width="stretch")
    chrome.attribution_footer()
    st.stop()

notice = st.session_state.pop(parts.NOTICE_KEY, None)
if notice:
    st.success(notice)
show_all = st.toggle("Show acknowledged too", key="show_acknowledged")
with chrome.errors_shown():
    found = matches.open_matches(viewer, include_acknowledged=show_all)
    conflicts = matches.operation_conflicts(viewer, include_acknowledged=show_all)

st.markdown(f"#### Subject matches ({len(found)})")
if found.empty:
    st.write("No other agency shares an identifier with your task force's cases.")
else:
    tables.show_table(parts.matches_table(found), viewer=viewer, name="Subject matches", hide_index=True, width="stretch")
    parts.acknowledge_form(viewer, "match", found, "match_id", parts.match_names(found), matches.acknowledge)

st.markdown(f"#### Operation conflicts ({len(conflicts)})")
if conflicts.empty:
    st.write("No other agency plans an operation near yours at the same time.")
else:
    tables.show_table(parts.conflicts_table(conflicts), viewer=viewer, name="Operation conflicts", hide_index=True,
                      width="stretch")
    parts.acknowledge_form(viewer, "conflict", conflicts, "conflict_id", parts.conflict_names(conflicts),
                           matches.acknowledge_conflict)

st.markdown("#### Plan an operation")
agencies = matches.own_agencies(viewer)
if agencies.empty:
    st.write(f"Task force {viewer.task_force!r} has no registered agency to plan for.")
else:
    parts.plan_operation_form(viewer, agencies, kinds=operations.OPERATION_KINDS, add_operation=operations.add_operation)

chrome.attribution_footer()
