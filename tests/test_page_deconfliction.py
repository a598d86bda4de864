"""AppTest smoke tests for ``pages/deconfliction.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from query import matches, operations
from query.viewer import Viewer
from tests.support.apptest import page_app, page_script
from tests.support.deconfliction_fixture import IDENTIFIERS, build_warehouse

PAGE = page_script("deconfliction.py")


def _page(viewer: Viewer) -> AppTest:
    return page_app(PAGE, viewer, timeout=30).run()


@pytest.fixture
def built(tmp_env: Path) -> Path:
    build_warehouse()
    operations.add_operation("lapd", lat=34.0522, lng=-118.2437, radius_m=150,
                             start="2026-12-03 05:00", end="2026-12-03 09:00",
                             contact="Det. A", kind="undercover", task_force="la")
    operations.add_operation("sdso", lat=34.0530, lng=-118.2437, radius_m=50,
                             start="2026-12-03 08:00", end="2026-12-03 10:00",
                             contact="Sgt. B 555-0200", kind="raid", task_force="san_diego")
    return tmp_env


def _text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [d.value.to_csv() for d in app.dataframe]
    return "\n".join(str(p) for p in parts)


def test_analyst_sees_matches_and_conflicts_of_their_task_force(built: Path) -> None:
    app = _page(Viewer("ana", "analyst", "la"))
    assert not app.exception
    text = _text(app)
    assert "Subject matches (2)" in text and "Operation conflicts (1)" in text
    assert "SD-7" in text and "Sgt. B 555-0200" in text
    assert not any(raw[5] in text for raw in IDENTIFIERS)
    assert "raid" not in text  # the other side's plan


def test_acknowledge_from_the_page(built: Path) -> None:
    app = _page(Viewer("ana", "analyst", "la"))
    form_id = app.selectbox(key="ack_match_id").value
    app.text_input(key="ack_match_note").input("spoke to Sgt. B")
    app.button[0].click()  # the first form's submit
    app.run()
    assert not app.exception
    assert "Subject matches (1)" in _text(app)
    acked = matches.open_matches(Viewer("ana", "analyst", "la"), include_acknowledged=True)
    assert acked.set_index("match_id").loc[form_id, "note"] == "spoke to Sgt. B"


def test_plan_an_operation_from_the_page(built: Path) -> None:
    app = _page(Viewer("sam", "lead", "san_diego"))
    app.text_input(key="op_place").input("Lodi, CA")
    app.text_input(key="op_contact").input("Sgt. B")
    submit = [b for b in app.button if b.label == "Record operation"][0]
    submit.click()
    app.run()
    assert not app.exception
    assert any("Recorded operation" in s.value for s in app.success)
    ops = operations.list_operations()
    assert len(ops) == 3 and set(ops.created_by.dropna()) == {"sam"}


def test_a_bad_plan_shows_the_reason(built: Path) -> None:
    app = _page(Viewer("sam", "lead", "san_diego"))
    app.text_input(key="op_contact").input("Sgt. B")
    [b for b in app.button if b.label == "Record operation"][0].click()
    app.run()
    assert not app.exception
    assert any("needs a place" in e.value for e in app.error)


def test_leadership_sees_counts_only(built: Path) -> None:
    app = _page(Viewer("lee", "leadership"))
    assert not app.exception
    text = _text(app)
    assert "fewer than 11" in text and "SD-7" not in text and "Sgt. B" not in text


def test_partner_sees_nothing(built: Path) -> None:
    app = _page(Viewer("pat", "partner"))
    assert not app.exception
    assert "partners see nothing" in app.info[0].value
    assert not app.dataframe
