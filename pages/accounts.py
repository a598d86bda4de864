"""Accounts (admins): list, add, disable or re-enable local accounts, reset passwords."""

from __future__ import annotations

import streamlit as st

from query.policy import Capability
from query.viewer import RECORD_ROLES, ROLES
from routes import accounts
from routes.errors import RoutesError
from ui import tables
from ui.session import current_viewer

viewer = current_viewer()
st.title("Accounts")
if not viewer.can(Capability.MANAGE_ACCOUNTS):
    st.error(f"Role {viewer.role!r} may not manage accounts; ask an admin.")
    st.stop()
st.caption(
    f"Local accounts (Argon2id passwords; locked for {int(accounts.LOCKOUT.total_seconds() // 60)} "
    f"minutes after {accounts.MAX_FAILED} failed sign-ins). Users of your identity provider are "
    "managed there; their roles come from ROUTES_OIDC_ROLES. Every change is audited."
)

tables.show_table(accounts.list_accounts(), viewer=viewer, name="Accounts", hide_index=True, width="stretch")

add, change = st.columns(2)
with add, st.form("account_add", clear_on_submit=True):
    st.subheader("Add an account")
    user = st.text_input("User name")
    role = st.selectbox("Role", ROLES)
    task_force = st.text_input("Task force (analyst and lead)")
    password = st.text_input("Initial password", type="password")
    if st.form_submit_button("Add"):
        try:
            accounts.add_account(user.strip(), password, role=role,
                                 task_force=task_force.strip() or None if role in RECORD_ROLES else None,
                                 by=viewer)
        except RoutesError as exc:
            st.error(str(exc))
        else:
            st.success(f"Added {user!r} as {role}.")
            st.rerun()

with change, st.form("account_change"):
    st.subheader("Change an account")
    names = accounts.list_accounts()["user"].tolist()
    target = st.selectbox("Account", names)
    what = st.radio("Action", ["disable", "enable", "reset password"], horizontal=True)
    new_password = st.text_input("New password (for a reset)", type="password")
    if st.form_submit_button("Apply") and target:
        try:
            if what == "reset password":
                accounts.reset_password(target, new_password, by=viewer)
            else:
                accounts.set_disabled(target, what == "disable", by=viewer)
        except RoutesError as exc:
            st.error(str(exc))
        else:
            st.success(f"{what.capitalize()}: {target!r}.")
            st.rerun()
