"""Data intake: what each source sent, what was quarantined and why, and uploads.

Per source: batches, rows loaded, updated, duplicated and quarantined by reason,
the last update and the geocoding-precision mix. A user of a source uploads a
file (and optionally its mapping profile), sees the mapping and a validation
preview (what will load, what will be quarantined and why) and commits it.
Quarantined rows are shown only to those allowed (never partners or leadership).
The rules live in ``query/intake.py`` and ``pipelines/ingest.py``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines import ingest
from query import intake, release
from routes import settings
from routes.errors import RoutesError
from ui import chrome, tables
from ui.session import current_viewer

FILE_TYPES = ["csv", "tsv", "txt", "xlsx", "json", "jsonl", "ndjson", "geojson", "parquet"]
COUNT_LABELS = {
    "source_id": "Source", "name": "Name", "kind": "Kind", "task_force": "Task force",
    "batches": "Files", "rows_read": "Rows read", "loaded": "Loaded", "updated": "Updated",
    "duplicates": "Duplicates", "quarantined": "Quarantined", "last_update": "Last update",
}


def _error(exc: Exception) -> None:
    chrome.show_error(exc)
    st.error(str(exc))
    st.stop()


def _hidden_as_text(frame: pd.DataFrame, columns: list[str], hidden: str) -> pd.DataFrame:
    shown = frame.copy()
    for col in columns:
        shown[col] = [hidden if pd.isna(v) else f"{int(v):,}" for v in shown[col]]
    return shown


viewer = current_viewer()
st.markdown("### Data intake")
st.caption(
    "Each file a source sends is one batch: every row is loaded, updated, a duplicate or "
    "quarantined with its reasons. Identifiers are stored only as keyed tokens; free-text "
    "narratives are never loaded."
)

if not settings.warehouse_path().exists():
    st.info("No warehouse yet: run `make run` (builds the demo) or `python -m pipelines ingest`.")
    st.stop()

try:
    summary = intake.source_summary(viewer)
    reasons = intake.quarantine_reasons(viewer)
except RoutesError as exc:
    _error(exc)

count_cols = [COUNT_LABELS[c] for c in intake.VOLUME_COLUMNS] + [*intake.PRECISIONS, "origin only"]
st.markdown("#### Sources")
if summary.empty:
    st.info("Your role sees the intake of its own task force's sources only, and none is registered for it.")
table = summary.drop(columns=["may_browse"]).rename(columns=COUNT_LABELS)
hidden = [c for c in count_cols if table[c].isna().any()]
if hidden:
    words = release.hidden_text(viewer)
    table = _hidden_as_text(table, hidden, words)
    st.caption(
        f"Counts under {viewer.k} of sources whose records you may not see read “{words}”; so does the next "
        "smallest count of the same source where needed, so that none can be worked out by subtraction."
    )
tables.show_table(table, viewer=viewer, name="Sources", hide_index=True, width="stretch")
st.caption("Geocoding precision: how many loaded records sit at a point, ZIP, place or "
           "county centroid (or have only an origin).")

st.markdown("#### Quarantined rows by first reason")
if reasons.empty:
    st.write("Nothing quarantined.")
else:
    words = release.hidden_text(viewer)
    shown_rows = reasons.assign(rows=[words if pd.isna(v) else f"{int(v):,}" for v in reasons["rows"]])
    wide = shown_rows.pivot(index="source_id", columns="reason", values="rows").fillna("0").reset_index()
    tables.show_table(wide, viewer=viewer, name="Quarantined rows by reason", hide_index=True, width="stretch")

sources = list(summary["source_id"])
if sources:
    st.markdown("#### One source")
    chosen = st.selectbox("Source", sources, key="intake_source")
    try:
        batches = intake.source_batches(viewer, chosen)
    except RoutesError as exc:
        _error(exc)
    hidden = [c for c in intake.VOLUME_COLUMNS if batches[c].isna().any()]
    shown_batches = _hidden_as_text(batches, hidden, release.hidden_text(viewer)) if hidden else batches
    tables.show_table(shown_batches, viewer=viewer, name=f"Batches of {chosen}",
                      hide_index=True, width="stretch")
    allowed = bool(summary.loc[summary["source_id"] == chosen, "may_browse"].iloc[0])
    if allowed:
        if st.toggle("Show quarantined rows (audited)", key="intake_show_quarantine"):
            try:
                rows = intake.quarantine_rows(viewer, chosen)
            except RoutesError as exc:
                _error(exc)
            st.caption("Rows as the source sent them, identifiers replaced by tokens. "
                       "Untrusted text: shown as plain text only.")
            tables.show_table(rows, viewer=viewer, name=f"Quarantined rows of {chosen}", hide_index=True,
                              width="stretch")
    else:
        st.caption("Quarantined rows of this source are visible to its own task force and admins.")

st.markdown("#### Upload a file")
targets = intake.upload_sources(viewer)
if targets.empty:
    st.write("Your role has no source to upload for.")
else:
    with st.form("intake_upload"):
        target = st.selectbox("For source", list(targets["source_id"]), key="upload_source")
        upload = st.file_uploader("Export file", type=FILE_TYPES, key="upload_file")
        profile_file = st.file_uploader("Mapping profile (optional, TOML)", type=["toml"],
                                        key="upload_profile")
        previewed = st.form_submit_button("Preview")
    if previewed and upload is not None:
        data = upload.getvalue()
        profile_text = profile_file.getvalue().decode("utf-8") if profile_file else None
        try:
            preview = ingest.preview_file(data, source_id=target, file_name=upload.name,
                                          profile_text=profile_text)
        except RoutesError as exc:
            _error(exc)
        st.session_state["intake_pending"] = (target, upload.name, data, profile_text, preview)
    pending = st.session_state.get("intake_pending")
    if pending:
        target, name, data, profile_text, preview = pending
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
        if st.button("Commit this file", key="intake_commit", type="primary"):
            try:
                done = ingest.ingest_upload(data, file_name=name, source_id=target,
                                            profile_text=profile_text, by=viewer)
            except RoutesError as exc:
                _error(exc)
            st.session_state.pop("intake_pending", None)
            st.success(done.format())

chrome.attribution_footer()
