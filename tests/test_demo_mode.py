"""Demo mode is a property of the data (routes.warehouse.is_demo), not a flag that sticks.

Issue 18, failure 1: a warehouse made by ``setup-demo`` stayed in demo mode after
an agency's source and export were loaded into it, so an anonymous visitor could
pick "analyst" and read the new agency's records. These tests load real data by
every path that writes (``sources add``, ``ingest``, a batch written by a path
that forgot to end the demo) and check that the app then asks for sign-in.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from pipelines import cli
from pipelines.ingest.sources import add_source
from routes import files, settings, warehouse
from tests.support.warehouse_fixture import make_small_warehouse

PAGE = textwrap.dedent(
    """
    import streamlit as st
    from ui.session import current_viewer

    viewer = current_viewer()
    st.markdown(f"VIEWER {viewer.user} {viewer.role} {viewer.task_force}")
    """
)

EXPORT = (
    "record_id,record_type,occurred_at,trafficking_type,location,case_number,contact\n"
    "SJ-1,incident,2026-09-03,sex,Stockton,SJ26-000123,HT unit desk\n"
    "SJ-2,tip,2026-09-12,labor,Lodi,SJ26-000124,HT unit desk\n"
)


def _is_demo(path: Path) -> bool:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return warehouse.is_demo(con)
    finally:
        con.close()


def _app_text(tmp_path: Path) -> tuple[str, AppTest]:
    import ui.session

    ui.session._DEMO_CACHE.clear()
    script = tmp_path / "page.py"
    script.write_text(PAGE)
    at = AppTest.from_file(str(script), default_timeout=30).run()
    return " ".join(m.value for m in at.markdown), at


@pytest.fixture
def demo_warehouse(tmp_env: Path) -> Path:
    files._token_keys.clear()
    path = settings.warehouse_path()
    make_small_warehouse(path, n=300, is_demo=True)
    assert _is_demo(path)
    return path


def test_the_demo_itself_opens_without_sign_in(demo_warehouse: Path, tmp_env: Path) -> None:
    shown, at = _app_text(tmp_env)
    assert "VIEWER demo-analyst analyst" in shown
    assert "Demo mode" in at.warning[0].value
    # Streamlit's bundled icon font, never an emoji: a closed network's browser may have no emoji font
    # (the banner then showed an empty box)
    assert at.warning[0].proto.icon.startswith(":material/"), at.warning[0].proto.icon


def test_a_new_source_ends_demo_mode_for_good(demo_warehouse: Path, tmp_env: Path) -> None:
    add_source("sjso", name="San Joaquin County Sheriff", kind="law_enforcement",
               task_force="san_joaquin", contact="HT unit desk")
    assert not _is_demo(demo_warehouse)
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    assert warehouse.get_meta(con, "is_demo") == "false"
    con.close()
    shown, at = _app_text(tmp_env)
    assert "VIEWER" not in shown
    assert not any("Demo mode" in w.value for w in at.warning)
    assert at.text_input  # the sign-in form


def test_the_readme_steps_end_demo_mode(demo_warehouse: Path, tmp_env: Path) -> None:
    """``sources add``, ``ingest``, ``build`` into the demo's file, as the README says."""
    export = tmp_env / "sjso_2026-10.csv"
    export.write_text(EXPORT)
    assert cli.main(["sources", "add", "sjso", "--name", "San Joaquin County Sheriff",
                     "--kind", "law_enforcement", "--task-force", "san_joaquin",
                     "--contact", "HT unit desk"]) == 0
    assert cli.main(["ingest", str(export), "--source", "sjso"]) == 0
    assert cli.main(["build"]) == 0
    assert not _is_demo(demo_warehouse)
    shown, _ = _app_text(tmp_env)
    assert "VIEWER" not in shown and "SJ26-000123" not in shown


def test_an_ingest_of_a_known_source_ends_demo_mode(demo_warehouse: Path, tmp_env: Path) -> None:
    export = tmp_env / "more_hotline.csv"
    export.write_text(EXPORT)
    assert cli.main(["ingest", str(export), "--source", "hotline"]) == 0
    assert not _is_demo(demo_warehouse)


def test_a_batch_written_by_any_other_path_ends_demo_mode(demo_warehouse: Path) -> None:
    """Even a writer that forgets :func:`warehouse.end_demo` cannot keep the demo open."""
    with warehouse.write_snapshot(path=demo_warehouse) as con:
        con.execute(
            "INSERT INTO batches VALUES ('late-batch', 'hotline', 'late.csv', 'y', NULL, "
            "now(), now(), 1, 1, 0, 0, 0)"
        )
    assert not _is_demo(demo_warehouse)


def test_a_changed_source_ends_demo_mode(demo_warehouse: Path) -> None:
    with warehouse.write_snapshot(path=demo_warehouse) as con:
        con.execute("UPDATE sources SET contact = 'someone else' WHERE source_id = 'hotline'")
    assert not _is_demo(demo_warehouse)


def test_a_flag_without_the_demo_fingerprint_is_not_a_demo(tmp_env: Path) -> None:
    """A warehouse whose ``meta.is_demo`` says 'true' by hand is still not a demo."""
    path = settings.warehouse_path()
    make_small_warehouse(path, n=200, is_demo=False)
    with warehouse.write_snapshot(path=path) as con:
        warehouse.set_meta(con, "is_demo", "true")
    assert not _is_demo(path)
