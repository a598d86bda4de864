"""The Region page's briefing export: audience, purpose, one audited export, its files kept for the session.

The export itself is :func:`briefings.export_briefing`, which the page passes in
(``ui/`` does not import ``briefings``, and the page imports it late: the PDF and
map libraries behind it load after the page is drawn on a cold start).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import streamlit as st

from query.viewer import Viewer
from routes.errors import RoutesError
from ui import chrome

#: The session key of the exported files: ``(export key, [(file name, bytes), …])``, the pack first.
EXPORTED_KEY = "region_briefing"


def show_briefing_export(
    viewer: Viewer, *, kind: str, place: str, start: date | None, end: date | None,
    export: Callable[..., Any], audiences: Iterable[str],
) -> None:
    """The export form for one region or county over ``start``–``end`` and, once exported, its downloads."""
    if kind == "task_force":
        st.info("Briefings are exported for a Cal OES region or a county: choose one above.")
        return
    audience = st.selectbox("Audience", list(audiences), key="region_audience", format_func=lambda a: str(a).replace("_", " "))
    purpose = st.text_input("Purpose (printed on the briefing and written to the audit log)", key="region_purpose")
    export_key = (kind, place, str(start), str(end), audience, purpose.strip())
    if st.button(":material/description: Export briefing", key="region_export", disabled=not purpose.strip()):
        out_dir = Path(tempfile.mkdtemp(prefix="routes-briefing-"))
        with chrome.errors_shown(RoutesError, ValueError):
            written = export(
                viewer, **{kind: place}, start=start, end=end,
                audience=audience, purpose=purpose.strip(), out_dir=out_dir, pack=True,
            )
        # kept for this session: downloading one file must not take the others away
        st.session_state[EXPORTED_KEY] = (
            export_key, [(p.name, p.read_bytes()) for p in [written.pack, *written.paths] if p is not None],
        )
        shutil.rmtree(out_dir, ignore_errors=True)
    exported = st.session_state.get(EXPORTED_KEY)
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
