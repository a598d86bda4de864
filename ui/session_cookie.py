"""A signed, expiring session cookie: a reload keeps a local account signed in.

A Streamlit session lives in one browser tab's websocket: a reload starts a new
one, which used to find nobody signed in. After sign-in the browser is given a
cookie ``routes_session`` = ``<user, base64url>.<last active, epoch s>.<HMAC>``
(SameSite=Strict, ``Secure`` over https, lasting ``ROUTES_IDLE_MINUTES``). A new
session with a valid cookie whose last activity is within the idle limit is
signed in as that account, read afresh from the control store (a disabled account
or a changed role counts at once); sign-out and idle expiry delete it. Nothing
travels in the URL.

The HMAC key is derived from the clearinghouse key (``ROUTES_KEY_FILE``) for this
one use, so a cookie cannot be forged without that file. The cookie is written by
a tiny inline component (Streamlit has no server-side cookie API), so it is not
``HttpOnly``: the app never renders unescaped user input, and the browser tests
check that injected HTML stays text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from typing import Any

import streamlit as st

from query.viewer import Viewer
from routes import accounts, files, settings
from routes.errors import RoutesError

_LOG = logging.getLogger(__name__)

COOKIE = "routes_session"
#: Rewrite the cookie (its last-activity time) at most this often, in seconds.
REFRESH_S = 60
_WRITTEN_KEY = "routes_session_cookie_written"  # session state: the last activity time written
_SIGNED_OUT_KEY = "routes_session_signed_out"  # session state: signed out here; ignore the cookie

_JS = """
export default function ({ data }) {
  if (data && typeof data.cookie === "string") {
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = data.cookie + "; Path=/; SameSite=Strict" + secure;
  }
}
"""
_component: Any = None


def _key() -> bytes:
    return hmac.new(files.token_key(), b"routes session cookie v1", hashlib.sha256).digest()


def _sign(user_b64: str, last: int) -> str:
    return hmac.new(_key(), f"{user_b64}.{last}".encode(), hashlib.sha256).hexdigest()


def make_value(user: str, *, last: int) -> str:
    """The cookie's value for ``user`` last active at ``last`` (epoch seconds)."""
    user_b64 = base64.urlsafe_b64encode(user.encode()).decode().rstrip("=")
    return f"{user_b64}.{last}.{_sign(user_b64, last)}"


def user_of(value: str, *, now: float) -> str | None:
    """The user a cookie value names, if its signature holds and it has not expired."""
    try:
        user_b64, last_text, signature = value.split(".")
        last = int(last_text)
        user = base64.urlsafe_b64decode(user_b64 + "=" * (-len(user_b64) % 4)).decode()
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    if not hmac.compare_digest(signature, _sign(user_b64, last)):
        return None
    if not 0 <= now - last <= settings.idle_minutes() * 60:
        return None
    return user


def restore(*, now: float) -> Viewer | None:
    """The local account a valid session cookie names (``None`` without one, or if disabled)."""
    if st.session_state.get(_SIGNED_OUT_KEY):  # this session's cookies are as its connection found them
        return None
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 -- no request context (bare runs, AppTest)
        return None
    try:
        user = user_of(value, now=now) if value else None
    except RoutesError as error:
        _LOG.warning("Session cookie not read: %s", error)
        return None
    if user is None:
        return None
    rows = accounts.list_accounts()
    row = rows[rows["user"].eq(user)]
    if row.empty or bool(row["disabled"].iloc[0]):
        return None
    task_force = row["task_force"].iloc[0]
    return Viewer(user=user, role=str(row["role"].iloc[0]), task_force=task_force if isinstance(task_force, str) else None)


def _write(cookie: str) -> None:
    global _component
    if _component is None:
        _component = st.components.v2.component("routes_session_cookie", js=_JS)
    with st.sidebar:
        _component(key="routes_session_cookie", data={"cookie": cookie}, height=0)


def remember(viewer: Viewer, *, now: float) -> None:
    """Give the browser (or refresh) the cookie for a signed-in local account."""
    last = int(now)
    if last - int(st.session_state.get(_WRITTEN_KEY, 0)) < REFRESH_S:
        flush()
        return
    try:
        value = make_value(viewer.user, last=last)
    except RoutesError as error:  # no usable key: sign-in still works, a reload signs out
        _LOG.warning("No session cookie (a reload will ask to sign in again): %s", error)
        return
    st.session_state[_WRITTEN_KEY] = last
    st.session_state[_SIGNED_OUT_KEY] = False
    st.session_state["routes_session_cookie_value"] = f"{COOKIE}={value}; Max-Age={int(settings.idle_minutes() * 60)}"
    flush()


def flush() -> None:
    """Mount the cookie writer with the pending cookie, if any (on every run: an element
    missing from a run is removed from the page)."""
    # mounted on every run (an element missing from a run is removed from the page)
    cookie = st.session_state.get("routes_session_cookie_value")
    if cookie:
        _write(cookie)


def forget() -> None:
    """Delete the cookie (sign-out, idle expiry): the next run writes an expired one."""
    st.session_state[_WRITTEN_KEY] = 0
    st.session_state[_SIGNED_OUT_KEY] = True
    st.session_state["routes_session_cookie_value"] = f"{COOKIE}=; Max-Age=0"
