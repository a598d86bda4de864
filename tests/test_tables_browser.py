"""In a real browser: a table's toolbar offers no unlogged download; the page's own download is safe and audited.

AppTest cannot see Streamlit's table toolbar (its "Download as CSV" and
clipboard copy live in the browser), so this test hovers a table with data on
the Data intake page and reads the toolbar's buttons, then downloads the table
through the page's "Download CSV" button and reads the file and the audit log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import browser
from tests.support.warehouse_fixture import make_small_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE = "=HYPERLINK(\"http://evil.example\",\"x\")"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    browser.require_chromium()
    from query.viewer import Viewer
    from routes import accounts, warehouse

    root = tmp_path_factory.mktemp("tables-browser")
    path = root / "warehouse" / "routes.duckdb"
    make_small_warehouse(path, n=600, seed=3, is_demo=False)
    with warehouse.write_snapshot(path=path) as con:
        con.execute("UPDATE sources SET name = ? WHERE source_id = 'lapd'", [HOSTILE])
    env = {"ROUTES_WAREHOUSE": str(path), "ROUTES_CONTROL": str(path.parent / "control.sqlite"),
           "ROUTES_KEY_FILE": str(path.parent.parent / "secrets" / "routes.key")}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        accounts.add_account("root", PASSWORD, role="admin", by=Viewer("setup", "admin"))
    with browser.streamlit_server(warehouse=path, env=env) as url:
        yield url, path


def test_no_toolbar_download_and_an_audited_safe_one(served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, path = served
    with browser.chromium_page() as (page, _recorder):
        browser.open_app_page(page, url, name="tables-sign-in", expect_canvas=False)
        page.get_by_label("User name").fill("root")  # type: ignore[attr-defined]
        page.get_by_label("Password", exact=True).fill(PASSWORD)  # type: ignore[attr-defined]
        page.get_by_role("button", name="Sign in", exact=True).click()  # type: ignore[attr-defined]
        page.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=60_000)  # type: ignore[attr-defined]
        browser.wait_for_run(page)
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Data intake").click()  # type: ignore[attr-defined]
        page.wait_for_selector('h3:has-text("Data intake")', timeout=60_000)  # type: ignore[attr-defined]
        browser.wait_for_run(page)
        page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)  # type: ignore[attr-defined]
        table = page.locator('[data-testid="stDataFrame"]').first  # type: ignore[attr-defined]
        table.hover()
        page.wait_for_selector('[data-testid="stElementToolbar"]', timeout=10_000)  # type: ignore[attr-defined]
        toolbar = page.locator('[data-testid="stElementToolbar"]').first  # type: ignore[attr-defined]
        labels = [b.get_attribute("aria-label") or b.inner_text()
                  for b in toolbar.locator("button").all()]
        assert labels, "the table toolbar did not show: the test proves nothing"
        assert not [label for label in labels if "download" in label.lower()], labels
        with page.expect_download() as download:  # type: ignore[attr-defined]
            page.get_by_role("button", name="Download CSV").first.click()  # type: ignore[attr-defined]
        text = Path(download.value.path()).read_text(encoding="utf-8")
        browser.wait_for_run(page)  # the click's rerun writes the audit entry
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert f"'{HOSTILE}" in cells and not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    monkeypatch.setenv("ROUTES_CONTROL", str(path.parent / "control.sqlite"))
    monkeypatch.setenv("ROUTES_KEY_FILE", str(path.parent.parent / "secrets" / "routes.key"))
    from query import audit
    from query.viewer import Viewer

    log = audit.read_log(Viewer("check", "admin"), action="download_table")
    assert len(log) == 1 and log.iloc[0]["user"] == "root" and "Sources" in log.iloc[0]["what"], log
