"""Routes dashboard: sets up and routes; every page lives in ``pages/``.

Run with ``make run`` (or ``streamlit run app.py``). Which pages a user gets
depends on their role; what each page may show is decided in ``query/``.

``streamlit run app.py`` first imports this file (``__name__ == "app"``), finds
the ``st.App`` at the end and serves it: the server warms up once
(:mod:`ui.warmup`), then runs this same file as the script of every browser
session (``__name__ == "__main__"``, as under ``AppTest``), which is :func:`main`.
"""

from __future__ import annotations

import streamlit as st


def main() -> None:
    """One script run: sign-in or the role's navigation, then the chosen page."""
    from ui.chrome import run_guarded
    from ui.session import sign_in_page, viewer_or_none

    # page_icon: an emoji favicon is drawn locally; a ":material/…:" one is fetched from fonts.gstatic.com
    st.set_page_config(page_title="Routes", page_icon="🧭", layout="wide")

    viewer = viewer_or_none()
    if viewer is None:  # nobody signed in: route to the sign-in form only; not even page names show
        st.navigation([st.Page(sign_in_page, title="Sign in")], position="hidden").run()
        st.stop()

    explore = [
        st.Page("pages/statewide.py", title="Statewide", icon=":material/monitoring:", default=True),
        st.Page("pages/heatmap.py", title="Heatmap explorer", icon=":material/hexagon:"),
        st.Page("pages/flows_and_corridors.py", title="Flows and corridors", icon=":material/conversion_path:"),
        st.Page("pages/region.py", title="Region", icon=":material/map:"),
    ]
    work = [
        st.Page("pages/data_intake.py", title="Data intake", icon=":material/upload_file:"),
        st.Page("pages/deconfliction.py", title="Deconfliction", icon=":material/handshake:"),
    ]
    admin = [
        st.Page("pages/audit_log.py", title="Audit log", icon=":material/policy:"),
        st.Page("pages/accounts.py", title="Accounts", icon=":material/group:"),
    ]

    sections = {"Explore": explore, "Work": work}
    if viewer.role == "admin":
        sections["Administration"] = admin

    run_guarded(st.navigation(sections).run)


if __name__ == "__main__":
    main()
else:  # imported by `streamlit run app.py` to find the server to start: this file, warmed up first
    from ui.warmup import lifespan

    app = st.App(__file__, lifespan=lifespan)
