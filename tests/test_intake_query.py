"""What the Data intake page reads (query/intake.py), and the page itself."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from query import intake
from query.suppression import max_visible_count_below_k
from query.viewer import Viewer
from routes import settings
from routes.errors import AccessDenied
from tests.support.apptest import page_app, page_script
from tests.support.warehouse_fixture import add_quarantined_batch, make_small_warehouse

ADMIN = Viewer("root", "admin")
LA_ANALYST = Viewer("ana", "analyst", "la")
SD_LEAD = Viewer("sam", "lead", "san_diego")
PARTNER = Viewer("ngo", "partner")
LA_PARTNER = Viewer("ngo-la", "partner", "la")  # a partner whose own source is LA's
LEADERSHIP = Viewer("cal", "leadership")
VOLUMES = ["rows_read", "loaded", "updated", "duplicates", "quarantined"]


@pytest.fixture
def wh(tmp_env):
    path = settings.warehouse_path()
    make_small_warehouse(path, n=600, seed=3)
    add_quarantined_batch(path)
    return path


def test_exact_small_counts_only_with_record_access(wh):
    for viewer in (ADMIN, LA_ANALYST):  # every source / its own source: exact, under k too
        lapd = intake.source_summary(viewer).set_index("source_id").loc["lapd"]
        assert lapd["batches"] == 1 and lapd["quarantined"] == 3 and lapd["rows_read"] == 5
        reasons = intake.quarantine_reasons(viewer, source_id="lapd")
        assert dict(zip(reasons["reason"], reasons["rows"], strict=True)) == {"bad_date": 2, "outside_california": 1}
        assert "row" not in reasons.columns
    for viewer in (LEADERSHIP, SD_LEAD, LA_PARTNER):  # no record access to lapd: nothing from 1 to k-1
        summary = intake.source_summary(viewer)
        lapd = summary.set_index("source_id").loc["lapd"]
        assert lapd["batches"] == 1  # files, not rows
        assert all(pd.isna(lapd[c]) for c in ("rows_read", "loaded", "quarantined")), (viewer.role, lapd[VOLUMES].to_dict())
        assert lapd["updated"] == 0 and lapd["duplicates"] == 0  # a true zero is no small count
        assert intake.quarantine_reasons(viewer, source_id="lapd")["rows"].isna().all()
        batches = intake.source_batches(viewer, "lapd")
        assert batches[["rows_read", "loaded", "quarantined"]].isna().all().all()
        assert max_visible_count_below_k(summary.drop(columns=["batches"]), k=viewer.k) is None


def test_a_partner_sees_only_its_own_sources(wh):
    own = intake.source_summary(LA_PARTNER)
    assert list(own["source_id"]) == ["lapd"]
    assert set(intake.quarantine_reasons(LA_PARTNER)["source_id"]) <= {"lapd"}
    assert intake.source_summary(PARTNER).empty and intake.quarantine_reasons(PARTNER).empty
    with pytest.raises(AccessDenied, match="own task force's sources only"):
        intake.source_batches(LA_PARTNER, "sdsheriff")
    with pytest.raises(AccessDenied, match="own task force's sources only"):
        intake.source_batches(PARTNER, "lapd")
    assert list(intake.upload_sources(LA_PARTNER)["source_id"]) == ["lapd"]


def test_hidden_parts_are_not_the_total_minus_the_visible_ones():
    assert intake.hide_small_counts([20, 15, 3, 0], k=11) == [20, None, None, 0]
    assert intake.hide_small_counts([3, 4, 5, 30], k=11) == [None, None, None, 30]
    assert intake.hide_small_counts([0, 0, 12], k=11) == [0, 0, 12]


def test_precision_counts_under_k_are_suppressed_without_record_access(wh):
    full = intake.source_summary(ADMIN).set_index("source_id")
    shown = intake.source_summary(LEADERSHIP).set_index("source_id")
    for col in intake.PRECISIONS:
        for sid in full.index:
            value = full.loc[sid, col]
            if 0 < value < LEADERSHIP.k:
                assert pd.isna(shown.loc[sid, col])
            else:  # shown, or hidden by complement (then the hidden ones add up to k at least)
                assert pd.isna(shown.loc[sid, col]) or shown.loc[sid, col] == value
        hidden = [full.loc[sid, c] for c in intake.PRECISIONS if pd.isna(shown.loc[sid, c])]
        assert sum(hidden) == 0 or sum(hidden) >= LEADERSHIP.k
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


def _page(viewer: Viewer) -> AppTest:
    return page_app(page_script("data_intake.py"), viewer, timeout=60).run()


def test_page_renders_for_admin_and_shows_quarantine_when_asked(wh):
    at = _page(ADMIN)
    assert not at.exception
    assert any("Data intake" in m.value for m in at.markdown)
    at.selectbox(key="intake_source").select("lapd").run()
    at.toggle(key="intake_show_quarantine").set_value(True).run()
    assert not at.exception
    assert any("Q1" in d.value.to_csv() for d in at.dataframe)


def test_page_for_partner_has_counts_only(wh):
    at = _page(LA_PARTNER)
    assert not at.exception
    assert not [t for t in at.toggle if t.key == "intake_show_quarantine"]
    text = "\n".join(d.value.to_csv() for d in at.dataframe)
    assert "Q1" not in text
    assert any("read “fewer than 11”" in c.value for c in at.caption)


def test_page_for_partner_names_no_other_source(wh):
    at = _page(LA_PARTNER)
    assert not at.exception
    text = "\n".join(d.value.to_csv() for d in at.dataframe)
    others = ("sdsheriff", "hotline", "ngo_bay", "San Diego Sheriff", "sacramento", "alameda", "Bay Area NGO")
    assert "lapd" in text and not [o for o in others if o.lower() in text.lower()], text
    assert at.selectbox(key="intake_source").options == ["lapd"]
    for frame in (d.value.drop(columns=["Files", "row_number"], errors="ignore") for d in at.dataframe):
        numbers = frame.apply(lambda s: pd.to_numeric(s.astype(str).str.replace(",", ""), errors="coerce"))
        small = numbers[(numbers > 0) & (numbers < LA_PARTNER.k)].stack().dropna()
        assert small.empty, f"a count under k shows: {small.to_dict()}"
    at = _page(PARTNER)
    assert not at.exception and any("own task force's sources only" in i.value for i in at.info)
