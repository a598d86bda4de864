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


#: Views of the Los Angeles basin the names are checked at: the downtown, zoomed from the county to the streets.
LA_VIEWS = ((7.5, "la-county"), (9.2, "la-basin"), (10.6, "la-downtown"))

_LABEL_BOXES = """() => {
  const box = document.getElementById('routes-map-labels');
  if (!box) return null;
  const shown = [...box.querySelectorAll('span')].filter(s => s.style.display !== 'none');
  return {band: box.dataset.band, labels: shown.map(s => {
    const r = s.getBoundingClientRect();
    return {text: s.textContent, kind: s.className, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
  })};
}"""


def _overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    """Pairs of drawn names whose boxes (as the browser laid them out) overlap by more than a pixel."""
    out = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            if min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > 1 and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > 1:
                out.append((a["text"], b["text"]))
    return out


def test_html_map_names_places_without_overlaps_zoomed_into_los_angeles(html_file: Path) -> None:
    """The exported map names places, counties and highways offline, and no two names drawn overlap,
    at the export's view and zoomed into Los Angeles (screenshots in tests/artifacts/ for a person to look at)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import save_screenshot

    own = html_file.resolve().as_uri()
    requests: list[str] = []
    errors: list[str] = []
    seen: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(own, wait_until="load")
            page.wait_for_selector("canvas", state="attached", timeout=20_000)
            page.wait_for_function("() => Number(document.getElementById('routes-map-labels')?.dataset.shown) > 0",
                                   timeout=20_000)
            seen["export"] = page.evaluate(_LABEL_BOXES)
            save_screenshot(page, "briefing-html-names-export-view")
            for zoom, name in LA_VIEWS:
                page.evaluate("""([zoom]) => deckInstance.setProps({initialViewState: {longitude: -118.25, latitude: 34.03,
                    zoom: zoom, pitch: 0, bearing: 0}})""", [zoom])
                page.wait_for_function("(b) => document.getElementById('routes-map-labels').dataset.band === b",
                                       arg=str(int(zoom)), timeout=20_000)
                page.wait_for_timeout(500)
                seen[name] = page.evaluate(_LABEL_BOXES)
                save_screenshot(page, f"briefing-html-names-{name}")
        finally:
            browser.close()
    assert requests and all(url == own for url in requests), requests
    assert errors == []
    for name, found in seen.items():
        texts = {label["text"] for label in found["labels"]}
        assert "Los Angeles" in texts, (name, sorted(texts))
        assert _overlapping(found["labels"]) == [], (name, _overlapping(found["labels"])[:5])
    assert "LOS ANGELES" in {label["text"] for label in seen["la-county"]["labels"]}
    basin = {label["text"] for label in seen["la-basin"]["labels"]}
    assert {"Long Beach", "Glendale"} <= basin and len(basin) > 15, sorted(basin)
    assert any("highway" in label["kind"] for view in seen.values() for label in view["labels"])
