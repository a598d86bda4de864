"""Data intake: what each source sent, what was quarantined and why, and uploads.

Per source: batches, rows loaded, updated, duplicated and quarantined by reason,
the last update and the geocoding-precision mix. A user of a source uploads a
file (and optionally its mapping profile), sees the mapping and a validation
preview (what will load, what will be quarantined and why) and commits it.
Quarantined rows are shown only to those allowed (never partners or leadership).
The rules live in ``query/intake.py`` and ``pipelines/ingest/__init__.py``.
"""

from __future__ import annotations

import streamlit as st

from pipelines import ingest
from pipelines.ingest import preview
from query import intake, release
from routes import settings
from ui import chrome, tables
from ui.session import current_viewer
from ui.upload import show_upload

COUNT_LABELS = {
    "source_id": "Source", "name": "Name", "kind": "Kind", "task_force": "Task force",
    "batches": "Files", "rows_read": "Rows read", "loaded": "Loaded", "updated": "Updated",
    "duplicates": "Duplicates", "quarantined": "Quarantined", "last_update": "Last update",
}


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

with chrome.errors_shown():
    summary = intake.source_summary(viewer)
    reasons = intake.quarantine_reasons(viewer)

count_cols = [COUNT_LABELS[c] for c in intake.VOLUME_COLUMNS] + [*intake.PRECISIONS, "origin only"]
st.markdown("#### Sources")
if summary.empty:
    st.info("Your role sees the intake of its own task force's sources only, and none is registered for it.")
table = summary.drop(columns=["may_browse"]).rename(columns=COUNT_LABELS)
words = release.hidden_text(viewer)  # how a hidden count reads
if table[count_cols].isna().any().any():
    table = tables.counts_as_text(table, count_cols, hidden=words, only_hidden=True)
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
    wide = tables.counts_pivot(reasons, index="source_id", columns="reason", values="rows", hidden=words)
    tables.show_table(wide, viewer=viewer, name="Quarantined rows by reason", hide_index=True, width="stretch")

sources = list(summary["source_id"])
if sources:
    st.markdown("#### One source")
    chosen = st.selectbox("Source", sources, key="intake_source")
    with chrome.errors_shown():
        batches = intake.source_batches(viewer, chosen)
    shown_batches = tables.counts_as_text(batches, intake.VOLUME_COLUMNS, hidden=words, only_hidden=True)
    tables.show_table(shown_batches, viewer=viewer, name=f"Batches of {chosen}",
                      hide_index=True, width="stretch")
    allowed = bool(summary.loc[summary["source_id"] == chosen, "may_browse"].iloc[0])
    if allowed:
        if st.toggle("Show quarantined rows (audited)", key="intake_show_quarantine"):
            with chrome.errors_shown():
                rows = intake.quarantine_rows(viewer, chosen)
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
    show_upload(viewer, list(targets["source_id"]), preview_file=preview.preview_file, ingest_upload=ingest.ingest_upload)

chrome.attribution_footer()
