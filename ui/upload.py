"""The Data intake page's upload: a file (and optionally its mapping profile) for a source, previewed, then committed.

The preview and the ingest are :func:`pipelines.ingest.preview.preview_file` and
:func:`pipelines.ingest.ingest_upload`, which the page passes in (``ui/`` does
not import ``pipelines``). The previewed file waits in the session until it is
committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from query.viewer import Viewer
from ui import chrome

#: The file types the uploader takes.
FILE_TYPES = ["csv", "tsv", "txt", "xlsx", "json", "jsonl", "ndjson", "geojson", "parquet"]
#: The session key of the previewed file: ``(source, file name, bytes, profile text, preview)``.
PENDING_KEY = "intake_pending"


def show_upload(viewer: Viewer, sources: list[str], *, preview_file: Callable[..., Any],
                ingest_upload: Callable[..., Any]) -> None:
    """The upload form for one of ``sources``, the preview of the file sent and the button that commits it."""
    with st.form("intake_upload"):
        target = st.selectbox("For source", sources, key="upload_source")
        upload = st.file_uploader("Export file", type=FILE_TYPES, key="upload_file")
        profile_file = st.file_uploader("Mapping profile (optional, TOML)", type=["toml"],
                                        key="upload_profile")
        previewed = st.form_submit_button("Preview")
    if previewed and upload is not None:
        data = upload.getvalue()
        profile_text = profile_file.getvalue().decode("utf-8") if profile_file else None
        with chrome.errors_shown():
            preview = preview_file(data, source_id=target, file_name=upload.name, profile_text=profile_text)
        st.session_state[PENDING_KEY] = (target, upload.name, data, profile_text, preview)
    pending = st.session_state.get(PENDING_KEY)
    if not pending:
        return
    target, name, data, profile_text, preview = pending
    _show_preview(preview, name=name, target=target)
    if st.button("Commit this file", key="intake_commit", type="primary"):
        with chrome.errors_shown():
            done = ingest_upload(data, file_name=name, source_id=target, profile_text=profile_text, by=viewer)
        st.session_state.pop(PENDING_KEY, None)
        st.success(done.format())


def _show_preview(preview: Any, *, name: str, target: str) -> None:
    """What the file holds and what will happen to its rows (``pipelines.ingest.preview.IngestPreview``)."""
    st.markdown(f"**{name}** for **{target}**: {preview.format.upper()}"
                + (f", {preview.encoding}" if preview.encoding else "")
                + (f", delimiter {preview.delimiter!r}" if preview.delimiter else ""))
    if preview.already_ingested:
        st.warning("This exact file was already ingested: every row will count as a duplicate.")
    left, right = st.columns(2)
    left.metric("Rows read", f"{preview.rows_read:,}")
    left.metric("Will load or update", f"{preview.will_load:,}")
    right.metric("Will be quarantined", f"{preview.will_quarantine:,}")
    st.markdown("Mapping (contract field ← file columns)")
    st.dataframe(preview.mapping, hide_index=True, width="stretch")
    if preview.not_loaded:
        st.caption("Not loaded: " + ", ".join(preview.not_loaded))
    if preview.reasons:
        st.dataframe(pd.DataFrame(preview.reasons.items(), columns=["first reason", "rows"]),
                     hide_index=True)
        st.dataframe(preview.quarantine_sample, hide_index=True, width="stretch")
