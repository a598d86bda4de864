"""Who is using the app: sign-in, idle expiry, demo roles, and the current Viewer.

Every page and ``app.py`` call :func:`current_viewer` first. It returns the
signed-in :class:`query.viewer.Viewer`, or draws what is needed to get one and
stops the script (``st.stop()``):

- **OpenID Connect**, when ``.streamlit/secrets.toml`` has an ``[auth]`` section:
  a "Sign in with …" button (``st.login``); the role comes from the claim named by
  ``ROUTES_OIDC_ROLE_CLAIM`` (default ``groups``) mapped through
  ``ROUTES_OIDC_ROLES`` (``group=role[:task_force],…``; the first group of that
  list the user belongs to wins). A user with no mapped group is refused.
- **Local accounts** (:mod:`routes.accounts`): a user name and password form.
- **Demo mode**, only while the warehouse holds nothing but what ``setup-demo``
  loaded (:func:`routes.warehouse.is_demo`; the first other source or file ends
  it for good): no
  sign-in, a banner, and a role switcher in the sidebar (analyst and lead bound
  to one of the demo's task forces, partner, leadership, admin) so a newcomer can
  see what each role sees. A warehouse holding real data never shows anything
  before sign-in.

A signed-in session ends after ``ROUTES_IDLE_MINUTES`` (default 30) without any
interaction: the next interaction finds it expired and asks to sign in again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import streamlit as st

from query import audit
from query.viewer import RECORD_ROLES, ROLES, Viewer
from routes import accounts, settings, warehouse
from routes.errors import AccessDenied, AuthError, RoutesError
from ui import session_cookie

#: Session-state keys (tests set them to drive the app).
VIEWER_KEY = "routes_viewer"
LAST_ACTIVE_KEY = "routes_last_active"
EXPIRED_KEY = "routes_expired"
DEMO_ROLE_KEY = "routes_demo_role"
DEMO_TASK_FORCE_KEY = "routes_demo_task_force"
APP_VIEWER_KEY = "routes_app_viewer"  # the viewer app.py decided in this run
OIDC_FAILURE_LOGGED_KEY = "routes_oidc_failure_logged"

_DEMO_CACHE: dict[tuple[str, object], tuple[bool, tuple[str, ...]]] = {}

#: The clock idle expiry reads (tests may replace it).
clock = time.time


def current_viewer() -> Viewer:
    """The signed-in viewer; otherwise draw the sign-in and stop the script.

    Under ``app.py`` the entry script has already decided (and drawn the role
    switcher or account box) in this run: a page gets that viewer rather than
    drawing the widgets a second time, which would fight over their state.
    """
    _leave_legacy_pages_mode()
    if _running_under_app():
        remembered = st.session_state.get(APP_VIEWER_KEY)
        if isinstance(remembered, Viewer):
            return remembered
    viewer = viewer_or_none()
    if viewer is not None:
        return viewer
    _draw_sign_in()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def viewer_in_this_run() -> Viewer | None:
    """The viewer already decided in this run (by ``app.py`` or a page), without drawing anything."""
    for key in (APP_VIEWER_KEY, VIEWER_KEY):
        remembered = st.session_state.get(key)
        if isinstance(remembered, Viewer):
            return remembered
    return None


def viewer_or_none() -> Viewer | None:
    """The signed-in (or demo) viewer, or ``None`` when nobody is signed in.

    ``app.py`` uses it to route an anonymous visitor to :func:`sign_in_page`
    only, so not even the names of the pages show before sign-in.
    """
    viewer = _decide_viewer()
    if _running_under_app():
        st.session_state[APP_VIEWER_KEY] = viewer
    return viewer


def _decide_viewer() -> Viewer | None:
    is_demo, demo_task_forces = demo_state()
    viewer = _signed_in_viewer()
    if viewer is not None:
        _draw_account_box(viewer)
        return viewer
    if is_demo:
        return _demo_viewer(demo_task_forces)
    return None


def _leave_legacy_pages_mode() -> None:
    """Rerun through ``app.py`` when Streamlit ran a page file on its own.

    A folder named ``pages/`` beside ``app.py`` makes Streamlit start each server
    in its legacy mode, where a deep link (``/heatmap``) as the first request runs
    the page file directly: no ``app.py``, so no role-based navigation. The first
    ``st.navigation`` call ends that mode; a page that finds it still on ends it
    and reruns, so ``app.py`` routes the request like any other.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", None) and _running_under_app():
        PagesManager.uses_pages_directory = False
        st.rerun()


def _running_under_app() -> bool:
    """Whether this run started from ``app.py`` (not a page run on its own, as in tests)."""
    from pathlib import Path

    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx is not None and Path(ctx.main_script_path).name == "app.py"


def sign_in_page() -> None:
    """The only page an anonymous visitor gets: the sign-in form."""
    _draw_sign_in()


# ------------------------------------------------------------------------ demo


def demo_state() -> tuple[bool, tuple[str, ...]]:
    """Whether the warehouse holds demo data, and the demo's task forces.

    Reads :func:`routes.warehouse.is_demo` once per warehouse snapshot; a missing or unreadable
    warehouse is *not* a demo.
    """
    path = settings.warehouse_path()
    version = warehouse.snapshot_version(path)
    key = (str(path), version)
    if key not in _DEMO_CACHE:
        _DEMO_CACHE[key] = _read_demo_state(path) if version else (False, ())
    return _DEMO_CACHE[key]


def _read_demo_state(path: Any) -> tuple[bool, tuple[str, ...]]:
    try:
        with warehouse.open_snapshot(path=path) as con:
            is_demo = warehouse.is_demo(con)
            rows = con.execute(
                "SELECT DISTINCT task_force FROM sources WHERE task_force IS NOT NULL ORDER BY 1"
            ).fetchall()
    except Exception:  # an unreadable warehouse is never a demo
        return False, ()
    return is_demo, tuple(str(r[0]) for r in rows)


def _drawn_this_run(key: str) -> bool:
    """Whether a widget with ``key`` was already drawn in this script run."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    keys = getattr(getattr(ctx, "shared", None), "widget_user_keys_this_run", None)
    try:
        return keys is not None and key in keys
    except TypeError:
        return False


def _demo_viewer(task_forces: tuple[str, ...]) -> Viewer:
    if not _drawn_this_run(DEMO_ROLE_KEY):
        st.session_state.setdefault(DEMO_ROLE_KEY, "analyst")
        st.warning(
            "Demo mode: synthetic data, no sign-in. Switch roles in the sidebar to see "
            "what each role may see.",
            icon=":material/science:",  # a bundled icon font: an emoji needs a font the closed network may lack
        )
        with st.sidebar:
            st.selectbox("Demo role", ROLES, key=DEMO_ROLE_KEY)
            if st.session_state[DEMO_ROLE_KEY] in RECORD_ROLES and task_forces:
                if st.session_state.get(DEMO_TASK_FORCE_KEY) not in task_forces:
                    st.session_state[DEMO_TASK_FORCE_KEY] = task_forces[0]
                st.selectbox("Demo task force", task_forces, key=DEMO_TASK_FORCE_KEY)
    role = st.session_state.get(DEMO_ROLE_KEY, "analyst")
    if role not in ROLES:
        role = "analyst"
    task_force = None
    if role in RECORD_ROLES:
        task_force = st.session_state.get(DEMO_TASK_FORCE_KEY) or (task_forces[0] if task_forces else "demo")
    return Viewer(user=f"demo-{role}", role=role, task_force=task_force)


# ------------------------------------------------------------------- sign-in


def oidc_configured() -> bool:
    """Whether ``secrets.toml`` configures OpenID Connect (an ``[auth]`` section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def viewer_from_claims(claims: Mapping[str, Any]) -> Viewer:
    """Map an OIDC user's claims to a :class:`Viewer` through ``ROUTES_OIDC_ROLES``.

    >>> import os
    >>> os.environ["ROUTES_OIDC_ROLES"] = "ht-admins=admin,la-htf=analyst:la"
    >>> viewer_from_claims({"email": "a@x.org", "groups": ["staff", "la-htf"]})
    Viewer(user='a@x.org', role='analyst', task_force='la', scope='all')
    >>> del os.environ["ROUTES_OIDC_ROLES"]
    """
    claim = settings.oidc_role_claim()
    groups = claims.get(claim) or []
    if isinstance(groups, str):
        groups = [g.strip() for g in groups.replace(",", " ").split()]
    user = str(claims.get("email") or claims.get("preferred_username") or claims.get("sub") or "")
    for group, target in settings.oidc_roles().items():
        if group in groups:
            role, _, task_force = target.partition(":")
            try:
                return Viewer(user=user or "oidc-user", role=role, task_force=task_force or None)
            except AccessDenied as exc:
                raise AuthError(f"ROUTES_OIDC_ROLES maps {group!r} to {target!r}: {exc}") from None
    raise AuthError(
        f"{user or 'this user'!r} belongs to no group that ROUTES_OIDC_ROLES maps to a role "
        f"(claim {claim!r} holds {list(groups)!r}); ask an admin"
    )


def _signed_in_viewer() -> Viewer | None:
    """The viewer of a live session, after expiring an idle one."""
    now = clock()
    last = st.session_state.get(LAST_ACTIVE_KEY)
    oidc_user = oidc_configured() and bool(getattr(st.user, "is_logged_in", False))
    local = st.session_state.get(VIEWER_KEY)
    if (oidc_user or local is not None) and last is not None and now - last > settings.idle_minutes() * 60:
        sign_out(expired=True)
        return None
    if oidc_user:
        try:
            viewer = viewer_from_claims(st.user.to_dict())
        except AuthError as exc:
            if not st.session_state.get(OIDC_FAILURE_LOGGED_KEY):  # once per session
                st.session_state[OIDC_FAILURE_LOGGED_KEY] = True
                audit.record_sign_in_failure(str(st.user.to_dict().get("email") or "oidc-user"),
                                             reason=f"single sign-on: {exc}")
            st.error(str(exc))
            if st.button("Sign out"):
                st.logout()
            st.stop()
        if last is None:  # the session's first run after signing in
            audit.record_event(viewer, action="sign_in", what="single sign-on (OpenID Connect)")
        st.session_state[LAST_ACTIVE_KEY] = now
        return viewer
    if local is None and not oidc_user:  # a reload: a new session, perhaps with a session cookie
        local = session_cookie.restore(now=now)
        if local is not None:
            st.session_state[VIEWER_KEY] = local
    if isinstance(local, Viewer):
        st.session_state[LAST_ACTIVE_KEY] = now
        session_cookie.remember(local, now=now)
        return local
    return None


def sign_out(*, expired: bool = False) -> None:
    """End the session (local and OIDC)."""
    for key in (VIEWER_KEY, LAST_ACTIVE_KEY):
        st.session_state.pop(key, None)
    st.session_state[EXPIRED_KEY] = expired
    session_cookie.forget()
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _draw_account_box(viewer: Viewer) -> None:
    if _drawn_this_run("routes_sign_out"):
        return
    with st.sidebar:
        where = f" · {viewer.task_force}" if viewer.task_force else ""
        st.caption(f"Signed in as **{viewer.user}** ({viewer.role}{where})")
        if st.button("Sign out", key="routes_sign_out"):
            sign_out()
            st.rerun()


def _draw_sign_in() -> None:
    session_cookie.flush()  # after sign-out or expiry: the expired cookie
    st.title("Routes")
    st.write("Sign in to see California's shared map of human-trafficking intelligence.")
    if st.session_state.pop(EXPIRED_KEY, False):
        st.info(f"You were signed out after {settings.idle_minutes():g} minutes without activity.")
    if oidc_configured():
        if st.button("Sign in with your organisation", key="routes_oidc_sign_in", type="primary"):
            st.login()
        st.caption("Or with a local account:")
    with st.form("routes_sign_in"):
        user = st.text_input("User name", key="routes_sign_in_user")
        password = st.text_input("Password", type="password", key="routes_sign_in_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            viewer = accounts.authenticate(user.strip(), password)
        except RoutesError as exc:
            st.error(str(exc))
            return
        st.session_state[VIEWER_KEY] = viewer
        st.session_state[LAST_ACTIVE_KEY] = clock()
        st.session_state[EXPIRED_KEY] = False
        st.rerun()
