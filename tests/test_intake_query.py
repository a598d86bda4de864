"""What the Data intake page reads (query/intake.py), and the page itself."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from query import intake
from query.viewer import Viewer
from routes import settings, warehouse
from routes.errors import AccessDenied
from tests.warehouse_fixture import make_small_warehouse

REPO = Path(__file__).resolve().parent.parent

ADMIN = Viewer("root", "admin")
LA_ANALYST = Viewer("ana", "analyst", "la")
SD_LEAD = Viewer("sam", "lead", "san_diego")
PARTNER = Viewer("ngo", "partner")
LEADERSHIP = Viewer("cal", "leadership")


@pytest.fixture
def wh(tmp_env):
    path = settings.warehouse_path()
    make_small_warehouse(path, n=600, seed=3)
    with warehouse.write_snapshot(path=path) as con:
        con.execute(
            "INSERT INTO batches VALUES ('b-la', 'lapd', 'lapd.csv', 'y', 'p.toml', ?, ?, 5, 2, 0, 0, 3)",
            [datetime(2026, 1, 2), datetime(2026, 1, 2)],
        )
        for n, reasons in enumerate([["bad_date"], ["bad_date", "bad_count"], ["outside_california"]]):
            con.execute(
                "INSERT INTO quarantine VALUES ('lapd', 'b-la', ?, ?, ?, ?)",
                [n + 1, reasons, json.dumps({"CaseID": f"Q{n}", "Phone": "ab" * 32}),
                 datetime(2026, 1, 2)],
            )
    return path


def test_summary_counts_for_everyone(wh):
    for viewer in (ADMIN, LA_ANALYST, PARTNER, LEADERSHIP):
        summary = intake.source_summary(viewer)
        lapd = summary.set_index("source_id").loc["lapd"]
        assert lapd["batches"] == 1 and lapd["quarantined"] == 3 and lapd["rows_read"] == 5
        assert set(intake.PRECISIONS) <= set(summary.columns)
    reasons = intake.quarantine_reasons(PARTNER, source_id="lapd")
    assert dict(zip(reasons["reason"], reasons["rows"], strict=True)) == {"bad_date": 2, "outside_california": 1}
    assert "row" not in reasons.columns


def test_precision_counts_under_k_are_suppressed_for_count_only_roles(wh):
    full = intake.source_summary(ADMIN).set_index("source_id")
    shown = intake.source_summary(PARTNER).set_index("source_id")
    for col in intake.PRECISIONS:
        for sid in full.index:
            value = full.loc[sid, col]
            if 0 < value < PARTNER.k:
                assert shown.loc[sid, col] is None or shown.loc[sid, col] != shown.loc[sid, col] or str(shown.loc[sid, col]) == "<NA>"
            else:
                assert shown.loc[sid, col] == value
    assert full[list(intake.PRECISIONS)].to_numpy().sum() > 0


def test_quarantine_rows_only_for_own_task_force_or_admin(wh):
    rows = intake.quarantine_rows(ADMIN, "lapd")
    assert len(rows) == 3 and set(rows["reasons"]) == {"bad_date", "bad_date, bad_count", "outside_california"}
    assert len(intake.quarantine_rows(LA_ANALYST, "lapd", batch_id="b-la")) == 3
    for viewer, message in ((SD_LEAD, "may not read quarantined rows"),
                            (PARTNER, "counts only"), (LEADERSHIP, "counts only")):
        with pytest.raises(AccessDenied, match=message):
            intake.quarantine_rows(viewer, "lapd")
    flags = intake.source_summary(LA_ANALYST).set_index("source_id")["may_browse"]
    assert flags["lapd"] and not flags["sdsheriff"]
    assert not intake.source_summary(PARTNER)["may_browse"].any()


def test_browsing_quarantine_is_audited(wh):
    from query import audit

    intake.quarantine_rows(ADMIN, "lapd")
    log = audit.read_log(ADMIN)
    assert any("quarantined rows of source lapd" in str(w) for w in log["what"])


def test_upload_sources_by_role(wh):
    assert len(intake.upload_sources(ADMIN)) == 4
    assert list(intake.upload_sources(LA_ANALYST)["source_id"]) == ["lapd"]
    assert intake.upload_sources(LEADERSHIP).empty
    assert intake.upload_sources(PARTNER).empty  # a partner bound to no task force


def test_unknown_source(wh):
    with pytest.raises(AccessDenied, match="no source 'nope'"):
        intake.source_batches(ADMIN, "nope")


def _page(viewer: Viewer):
    import time

    from streamlit.testing.v1 import AppTest

    from ui import session

    at = AppTest.from_file(str(REPO / "pages" / "data_intake.py"), default_timeout=60)
    at.session_state[session.VIEWER_KEY] = viewer
    at.session_state[session.LAST_ACTIVE_KEY] = time.time()
    return at.run()


def test_page_renders_for_admin_and_shows_quarantine_when_asked(wh):
    at = _page(ADMIN)
    assert not at.exception
    assert any("Data intake" in m.value for m in at.markdown)
    at.selectbox(key="intake_source").select("lapd").run()
    at.toggle(key="intake_show_quarantine").set_value(True).run()
    assert not at.exception
    assert any("Q1" in d.value.to_csv() for d in at.dataframe)


def test_page_for_partner_has_counts_only(wh):
    at = _page(PARTNER)
    assert not at.exception
    assert not [t for t in at.toggle if t.key == "intake_show_quarantine"]
    text = "\n".join(d.value.to_csv() for d in at.dataframe)
    assert "Q1" not in text
    assert any("are suppressed" in c.value for c in at.caption)
