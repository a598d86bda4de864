"""Audit log (admins): who saw or changed what, with filters and chain verification."""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st

from query import audit
from query.policy import Capability
from routes.contract.vocabularies import AUDIT_ACTIONS
from routes.errors import RoutesError
from ui import tables
from ui.session import current_viewer

ANY = "(any)"
viewer = current_viewer()
st.title("Audit log")
if not viewer.can(Capability.READ_AUDIT_LOG):
    st.error(f"Role {viewer.role!r} may not read the audit log; ask an admin.")
    st.stop()
st.caption(
    "Every view of record-level data, every export and every account, source or retention "
    "change (28 CFR 23.20(f)). Each entry is chained to the previous one by a keyed MAC and "
    "anchored outside the control store (docs/ACCESS.md)."
)

with st.sidebar:
    user = st.text_input("User", key="audit_user").strip() or None
    chosen = st.selectbox("Action", [ANY, *AUDIT_ACTIONS], key="audit_action")  # every action the log can hold
    action = None if chosen == ANY else chosen
    days = st.date_input("Between", value=(), key="audit_days")
    limit = st.number_input("Newest entries", min_value=10, max_value=10000, value=500, step=100)

since = until = None
if isinstance(days, (tuple, list)) and len(days) == 2:
    since = datetime.combine(days[0], time.min, tzinfo=UTC)
    until = datetime.combine(days[1], time.max, tzinfo=UTC)

if st.button("Verify the chain", type="primary"):
    try:
        n = audit.verify_chain()
    except RoutesError as exc:
        st.error(f"The audit log does not verify: {exc}")
    else:
        st.success(f"Chain intact and matching its anchor: {n:,} entries verified (head {audit.head()}).")

try:
    log = audit.read_log(viewer, user=user, action=action,
                         since=since, until=until, limit=int(limit))
except RoutesError as exc:
    st.warning(str(exc))
    st.stop()
tables.show_table(log.drop(columns=["hash"]), viewer=viewer, name="Audit log", hide_index=True, width="stretch")
st.caption(f"{len(log):,} entries shown, newest first.")
