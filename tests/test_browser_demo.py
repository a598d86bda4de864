"""Demo mode in a real browser: the first page draws offline, the role switcher works.

This is the walking skeleton's promise (``make run`` → a populated statewide
map with no network) and the demo-mode promise of the access rules: a newcomer
switches roles and sees what each role sees. Real-browser only: it drives
Debian's chromium through Playwright (``tests/support/browser.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import browser
from tests.support.warehouse_fixture import make_small_warehouse

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    browser.require_chromium()
    from pipelines.build import build_warehouse

    path: Path = tmp_path_factory.mktemp("demo") / "warehouse" / "routes.duckdb"
    make_small_warehouse(path, n=4000, seed=5, is_demo=True)
    build_warehouse(warehouse_path=path)
    with browser.streamlit_server(warehouse=path) as url:
        yield url


def test_deep_link_as_a_fresh_servers_first_request_goes_through_app(demo_url: str) -> None:
    # Runs first in this module, so /heatmap is the server's very first request:
    # Streamlit's legacy pages/ mode would run the page without app.py's navigation.
    with browser.chromium_page() as (page, recorder):
        browser.open_app_page(page, demo_url.rstrip("/") + "/heatmap", name="demo-deep-link", expect_canvas=True)
        titles = [title for title, _ in browser.nav_links(page)]
        assert "Heatmap explorer" in titles, titles  # app.py's navigation, not file names
        assert "Audit log" not in titles  # the demo analyst gets no admin pages
    assert recorder.off_machine() == [], recorder.off_machine()


def test_first_page_draws_counties_and_hexagons_offline(demo_url: str) -> None:
    with browser.chromium_page() as (page, recorder):
        timings = browser.open_app_page(page, demo_url, name="demo-first-page", expect_canvas=True)
        assert page.get_by_text("Demo mode").count() >= 1  # type: ignore[attr-defined]
        assert page.locator(browser.MAP_CANVAS).count() >= 1  # type: ignore[attr-defined]
    assert recorder.requests, "the recorder saw no request at all"
    assert recorder.off_machine() == [], recorder.off_machine()
    print(f"\nfirst map in a cold browser: {timings['canvas']:.2f} s")


def test_demo_role_switcher_changes_what_the_app_shows(demo_url: str) -> None:
    with browser.chromium_page() as (page, recorder):
        browser.open_app_page(page, demo_url, name="demo-analyst", expect_canvas=False)
        titles = [title for title, _ in browser.nav_links(page)]
        assert "Audit log" not in titles  # the default demo role is an analyst
        browser.choose_in_selectbox(page, "Demo role", "admin")
        page.wait_for_selector('text="Audit log"', timeout=30_000)  # type: ignore[attr-defined]
        assert "Audit log" in [title for title, _ in browser.nav_links(page)]
        browser.choose_in_selectbox(page, "Demo role", "partner")
        page.wait_for_function(  # type: ignore[attr-defined]
            "() => ![...document.querySelectorAll('[data-testid=stSidebarNavLink]')]"
            ".some(a => a.innerText.includes('Audit log'))",
            timeout=30_000,
        )
        browser.save_screenshot(page, "demo-partner")
    assert recorder.off_machine() == [], recorder.off_machine()
