"""Every page in a real browser: the map draws, nothing leaves 127.0.0.1, injected HTML stays text.

The fixture warehouse carries HTML and script payloads in the fields agencies
fill in (source names, contacts, case numbers, indicators, matched place names);
a payload that ran would open a dialog, which the recorder counts.
Screenshots land in ``tests/artifacts/<page>.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support import browser
from tests.support.warehouse_fixture import make_small_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Pages that draw a map (their canvas must appear); keyed by URL path.
MAP_PAGES = {"", "statewide", "heatmap", "flows_and_corridors", "region"}
PAYLOADS = {
    "source": "<img src=x onerror=alert('xss-source')>",
    "contact": "<script>alert('xss-contact')</script>",
    "case": "<img src=x onerror=alert('xss-case')>",
    "indicator": "<svg onload=alert('xss-indicator')>",
    "place": "<b onmouseover=alert('xss-place')>Los Angeles</b>",
}


def _inject(path: Path) -> None:
    from routes import warehouse

    with warehouse.write_snapshot(path=path) as con:
        con.execute("UPDATE sources SET name = ?, contact = ? WHERE source_id = 'lapd'", [PAYLOADS["source"], PAYLOADS["contact"]])
        con.execute(
            "UPDATE records SET contact = ?, case_number = ?, dest_matched = ?, "
            "indicators = list_append(indicators, ?) WHERE source_id = 'lapd'",
            [PAYLOADS["contact"], PAYLOADS["case"], PAYLOADS["place"], PAYLOADS["indicator"]],
        )


#: Local accounts the tests sign in with (a real warehouse: no demo role switcher).
ACCOUNTS = {"admin": ("root", None), "analyst": ("alice", "la"), "partner": ("pat", None)}
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    browser.require_chromium()
    from pipelines.build import build_warehouse
    from query.viewer import Viewer
    from routes import accounts

    root = tmp_path_factory.mktemp("browser")
    path = root / "warehouse" / "routes.duckdb"
    make_small_warehouse(path, n=6000, seed=3, is_demo=False)
    _inject(path)
    build_warehouse(warehouse_path=path)
    with pytest.MonkeyPatch.context() as patch:  # the same control store the server uses
        patch.setenv("ROUTES_WAREHOUSE", str(path))
        patch.setenv("ROUTES_CONTROL", str(path.parent / "control.sqlite"))
        patch.setenv("ROUTES_KEY_FILE", str(path.parent.parent / "secrets" / "routes.key"))
        for role, (user, task_force) in ACCOUNTS.items():
            accounts.add_account(user, PASSWORD, role=role, task_force=task_force, by=Viewer("setup", "admin"))
    with browser.streamlit_server(warehouse=path) as url:
        yield url


def _sign_in(page: object, role: str) -> None:
    user, _ = ACCOUNTS[role]
    page.get_by_label("User name").fill(user)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=60_000)  # type: ignore[attr-defined]
    browser.wait_for_run(page)


def _path_of(href: str) -> str:
    return re.sub(r"^https?://[^/]+/?", "", href).split("?")[0].strip("/")


def _visit_every_page(url: str, *, role: str) -> tuple[list[str], browser.Recorder]:
    visited: list[str] = []
    with browser.chromium_page() as (page, recorder):
        browser.open_app_page(page, url, name=f"{role}-sign-in", expect_canvas=False)
        started = time.perf_counter()
        _sign_in(page, role)
        page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
        print(f"\nfirst map after sign-in ({role}): {time.perf_counter() - started:.2f} s")
        for index, (title, href) in enumerate(browser.nav_links(page)):
            name = _path_of(href) or "statewide"
            page.locator('[data-testid="stSidebarNavLink"]').nth(index).click()
            page.wait_for_url(re.compile(re.escape(_path_of(href)) + r"(\?|$)"), timeout=30_000)
            browser.wait_for_run(page)
            if _path_of(href) in MAP_PAGES:
                page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
                page.wait_for_timeout(1200)
            exception = page.locator('[data-testid="stException"]')
            assert exception.count() == 0, f"{title}: {exception.first.inner_text()[:500]}"
            browser.save_screenshot(page, name if role == "admin" else f"{role}-{name}")
            visited.append(name)
        assert page.evaluate("() => window.__routes_xss === undefined")
    return visited, recorder


def test_every_page_draws_offline_as_admin(app_url: str) -> None:
    visited, recorder = _visit_every_page(app_url, role="admin")
    assert {"heatmap", "flows_and_corridors", "audit_log", "accounts"} <= set(visited), visited
    assert recorder.requests, "the recorder saw no request at all"
    assert recorder.off_machine() == [], recorder.off_machine()
    assert recorder.dialogs == [], f"injected HTML ran: {recorder.dialogs}"


@pytest.mark.parametrize("role", ["analyst", "partner"])
def test_every_page_draws_offline_per_role(app_url: str, role: str) -> None:
    visited, recorder = _visit_every_page(app_url, role=role)
    assert "heatmap" in visited
    assert recorder.off_machine() == [], recorder.off_machine()
    assert recorder.dialogs == [], f"injected HTML ran: {recorder.dialogs}"


def test_heatmap_tooltip_and_cell_breakdown(app_url: str) -> None:
    with browser.chromium_page() as (page, recorder):
        browser.open_app_page(page, app_url, name="heatmap-sign-in", expect_canvas=False)
        _sign_in(page, "analyst")
        # the analyst's own task force's exact records around Los Angeles: cells a pointer
        # finds (every agency's protected cells are few and far apart on this small warehouse)
        page.locator('[data-testid="stSidebarNavLink"]').first.wait_for()
        page.goto(f"{app_url}/heatmap?scope=own&counties=06037", wait_until="load")
        page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
        browser.wait_for_run(page)
        page.locator('[data-testid="stSidebarNavLink"]').first.wait_for()
        browser.save_screenshot(page, "heatmap-default")
        # coarser cells are easier to point at: Detail slider to its first stop (res 4)
        detail = page.locator('[data-testid="stSlider"]').filter(has_text="Detail").first
        detail.get_by_role("slider").first.focus()
        page.keyboard.press("Home")
        page.wait_for_function("() => location.search.includes('res=4')", timeout=30_000)
        browser.wait_for_run(page)
        page.wait_for_timeout(1500)
        browser.save_screenshot(page, "heatmap-res4")
        canvas = page.locator(browser.MAP_CANVAS).first
        box = canvas.bounding_box()
        assert box and box["width"] > 600, box
        tips, cell_at, best = [], None, 0
        for fx in (0.45, 0.5, 0.55, 0.6, 0.65):
            for fy in (0.45, 0.55, 0.6, 0.7, 0.75, 0.8, 0.9):
                x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
                page.mouse.move(x, y)
                page.wait_for_timeout(150)
                tip = page.locator(".deck-tooltip")
                if tip.count() and tip.first.is_visible():
                    text = tip.first.inner_text()
                    tips.append(text)
                    # innerText turns line breaks into <br>; nothing else may be an element
                    tags = tip.first.evaluate("e => [...e.querySelectorAll('*')].map(c => c.tagName)")
                    assert set(tags) <= {"BR"}, f"tooltip holds HTML elements: {tags}"
                    found = re.search(r"([\d,]+) records", text)
                    records = int(found.group(1).replace(",", "")) if found else 0
                    if text.startswith("res-") and "rolled up" not in text and records > best:
                        cell_at, best = (x, y), records
        assert tips, "no tooltip appeared over the map"
        assert any("records" in t or "fewer than 11" in t for t in tips), tips
        assert cell_at is not None, tips
        # selecting a hexagon reruns the page with its breakdown; on a loaded machine a click that lands
        # while the page is still re-running after the Detail change is dropped by the map, so click again
        for attempt in range(3):
            page.mouse.click(*cell_at)
            try:
                page.wait_for_selector('[data-testid="stTabs"]', timeout=30_000)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
                browser.wait_for_run(page)
        browser.wait_for_run(page)
        page.locator('[data-testid="stTabs"]').scroll_into_view_if_needed()
        browser.save_screenshot(page, "heatmap-cell")
        assert recorder.dialogs == [], recorder.dialogs
        assert recorder.off_machine() == [], recorder.off_machine()
