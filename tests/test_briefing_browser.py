"""The briefing's HTML map in a real headless Chromium: it draws, and asks nothing of the network.

Skipped, with the reason shown, where Chromium or Playwright is missing, except
in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import briefings
from query.viewer import Viewer
from tests.support.browser import CHROMIUM, launch_chromium
from tests.support.warehouse_fixture import make_built_warehouse

pytestmark = pytest.mark.browser  # `make test-fast` must not start Chromium



def _browser_missing() -> str | None:
    if not (CHROMIUM.exists() or shutil.which("chromium")):
        return f"Chromium is not installed at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


@pytest.fixture(scope="module")
def html_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{missing}; CI must run the browser tests")
        pytest.skip(missing)
    root = tmp_path_factory.mktemp("briefing-browser")
    with pytest.MonkeyPatch.context() as mp:
        make_built_warehouse(root, mp)
        files = briefings.export_briefing(
            Viewer("ana", "admin"), region="Region I", start="2025-01", end="2025-12",
            audience="partner", purpose="<img src=x onerror=alert(1)>", out_dir=root / "out",
        )
        assert files.html is not None
        yield files.html


def test_html_map_draws_offline(html_file: Path) -> None:
    from playwright.sync_api import sync_playwright

    own = html_file.resolve().as_uri()
    requests: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(own, wait_until="load")
            page.wait_for_selector("canvas", state="attached", timeout=20_000)
            page.wait_for_timeout(1_000)
            size = page.evaluate("() => { const c = document.querySelector('canvas'); return [c.width, c.height]; }")
            marking = page.locator(".marking.top").inner_text()
            purpose = page.locator("#briefing-panel").inner_text()
        finally:
            browser.close()
    assert requests and all(url == own for url in requests), requests
    assert size[0] > 300 and size[1] > 300
    assert marking.startswith("FOR OFFICIAL USE ONLY")
    assert "<img src=x onerror=alert(1)>" in purpose  # shown as text, never run
    assert dialogs == [] and errors == []
