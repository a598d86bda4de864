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

#: The pages, by section: (file, title, icon). Administration pages need a capability (NEEDS).
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "Explore": [
        ("pages/statewide.py", "Statewide", ":material/monitoring:"),
        ("pages/heatmap.py", "Heatmap explorer", ":material/hexagon:"),
        ("pages/flows_and_corridors.py", "Flows and corridors", ":material/conversion_path:"),
        ("pages/region.py", "Region", ":material/map:"),
    ],
    "Work": [
        ("pages/data_intake.py", "Data intake", ":material/upload_file:"),
        ("pages/deconfliction.py", "Deconfliction", ":material/handshake:"),
    ],
    "Administration": [
        ("pages/audit_log.py", "Audit log", ":material/policy:"),
        ("pages/accounts.py", "Accounts", ":material/group:"),
    ],
}
DEFAULT_PAGE = "pages/statewide.py"
#: Pages shown only to viewers with a capability (``query.policy.Capability`` names).
NEEDS = {"pages/audit_log.py": "READ_AUDIT_LOG", "pages/accounts.py": "MANAGE_ACCOUNTS"}


def main() -> None:
    """One script run: sign-in or the role's navigation, then the chosen page."""
    from pathlib import Path

    from query.policy import Capability
    from ui.chrome import run_guarded
    from ui.session import sign_in_page, viewer_or_none

    # page_icon: an emoji favicon is drawn locally; a ":material/…:" one is fetched from fonts.gstatic.com
    st.set_page_config(page_title="Routes", page_icon="🧭", layout="wide")

    viewer = viewer_or_none()
    if viewer is None:
        # nobody signed in: every page's address leads to the sign-in form (no page names
        # show, and a deep link is no "Page not found"); the same address after sign-in
        # is that page, with its query string
        sign_in = [
            st.Page(sign_in_page, title="Sign in", url_path=Path(path).stem, default=path == DEFAULT_PAGE)
            for pages in SECTIONS.values() for path, _, _ in pages
        ]
        st.navigation(sign_in, position="hidden").run()
        st.stop()

    # one flat list, in the sections' order: Streamlit draws section headers inside the
    # list (<ul><div><header>), which screen readers and axe-core's WCAG rules reject
    pages = [
        st.Page(path, title=title, icon=icon, default=path == DEFAULT_PAGE)
        for section in SECTIONS.values()
        for path, title, icon in section
        if path not in NEEDS or viewer.can(Capability[NEEDS[path]])
    ]
    run_guarded(st.navigation(pages).run)


if __name__ == "__main__":
    main()
else:  # imported by `streamlit run app.py` to find the server to start: this file, warmed up first
    from ui.warmup import lifespan

    app = st.App(__file__, lifespan=lifespan)
