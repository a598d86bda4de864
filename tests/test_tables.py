"""Tests for ``ui/tables.py``: no unlogged table export; one safe, audited download.

Streamlit's table toolbar (CSV download, clipboard copy) is off in
``.streamlit/config.toml``; pages draw tables with a "Download CSV" button whose
file is formula-safe and whose click writes an audit entry.
"""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from query import audit
from query.viewer import Viewer
from routes import safe_output, settings
from tests.support.apptest import page_app, page_script
from tests.support.deconfliction_fixture import IDENTIFIERS, build_warehouse

ADMIN = Viewer("root", "admin")
HOSTILE = '=HYPERLINK("http://evil.example","x")'
DDE = "=cmd|' /C calc'!A0"


def test_the_built_in_table_export_is_off() -> None:
    config = tomllib.loads((settings.REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True


def _page(name: str, viewer: Viewer) -> AppTest:
    return page_app(page_script(name), viewer, timeout=60).run()


@pytest.fixture()
def hostile(tmp_env: Path) -> Path:
    rows = [(s, r, HOSTILE if s == "sdso" else c, DDE if s == "sdso" else ct, k, raw, seen)
            for s, r, c, ct, k, raw, seen in IDENTIFIERS]
    build_warehouse(rows)
    return tmp_env


def test_a_table_download_is_safe_and_audited(hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[bytes] = []
    real = safe_output.csv_bytes

    def spy(frame, **kwargs):  # type: ignore[no-untyped-def]
        written.append(real(frame, **kwargs))
        return written[-1]

    monkeypatch.setattr(safe_output, "csv_bytes", spy)
    viewer = Viewer("ana", "analyst", "la")
    app = _page("deconfliction.py", viewer)
    assert not app.exception
    buttons = [b for b in app.get("download_button")]
    assert buttons, "the deconfliction page offers no audited download"
    match_csv = next(w for w in written if b"HYPERLINK" in w).decode()
    cells = [cell for row in csv.reader(io.StringIO(match_csv)) for cell in row]
    assert f"'{HOSTILE}" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    before = audit.read_log(ADMIN, action="download_table")
    buttons[0].click().run()
    after = audit.read_log(ADMIN, action="download_table")
    assert len(after) == len(before) + 1
    entry = after.iloc[0]
    assert entry["user"] == "ana" and "Subject matches" in entry["what"] and "rows" in entry["what"]


def test_a_viewer_without_download_capability_gets_no_button(hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from query import policy

    monkeypatch.setitem(policy.POLICY, "analyst",  # type: ignore[arg-type]
                        policy.POLICY["analyst"] - {policy.Capability.DOWNLOAD_TABLES})
    app = _page("deconfliction.py", Viewer("ana", "analyst", "la"))
    assert not app.exception and app.dataframe
    assert not list(app.get("download_button"))
