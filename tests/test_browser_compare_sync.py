"""Side-by-side compare in a real browser: one view for both maps, and the view in the link.

Panning or zooming the left map moves the right one to the same view (read
from each map's ``data-view-state``, which the component writes from the
viewport deck.gl rendered); the URL gains ``view=lng,lat,zoom``; that URL,
opened anew, draws both maps at that view. Nothing leaves the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support import browser
from tests.support.warehouse_fixture import make_small_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The synchronised maps' frame (ui/deck_map.py) and each map in it.
FRAME = 'iframe[src*="ui.deck_map.deck_map"]'
MAPS = '[data-testid="routesDeckMap"]'


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    browser.require_chromium()
    from pipelines.build import build_warehouse

    path: Path = tmp_path_factory.mktemp("compare") / "warehouse" / "routes.duckdb"
    make_small_warehouse(path, n=4000, seed=5, is_demo=True)
    build_warehouse(warehouse_path=path)
    with browser.streamlit_server(warehouse=path) as url:
        yield url


def _open_side_by_side(page: object, url: str) -> object:
    """Open ``url``, wait for both maps of the synchronised pair to draw; return their frame."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url, wait_until="load")  # type: ignore[attr-defined]
    try:
        page.wait_for_selector(FRAME, timeout=90_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(FRAME)  # type: ignore[attr-defined]
        frame.locator(f"{MAPS}[data-view-state]").nth(1).wait_for(timeout=60_000)
    except PlaywrightTimeout:
        pytest.fail("no pair of synchronised maps (ui.deck_map) drew on the compare page")
    browser.wait_for_run(page)
    return frame


def _views(frame: object) -> list[dict[str, float]]:
    maps = frame.locator(MAPS)  # type: ignore[attr-defined]
    return [json.loads(maps.nth(i).get_attribute("data-view-state")) for i in range(maps.count())]


def _same(a: dict[str, float], b: dict[str, float], *, degrees: float = 1e-9, zoom: float = 1e-9) -> bool:
    return (abs(a["longitude"] - b["longitude"]) <= degrees and abs(a["latitude"] - b["latitude"]) <= degrees
            and abs(a["zoom"] - b["zoom"]) <= zoom)


def _view_param(url: str) -> dict[str, float] | None:
    values = parse_qs(urlparse(url).query).get("view")
    if not values:
        return None
    lng, lat, zoom = (float(v) for v in values[0].split(","))
    return {"longitude": lng, "latitude": lat, "zoom": zoom}


def _label_at(frame: object, view: int, name: str) -> str | None:
    """Where map ``view`` (0: left) shows the place name ``name``: its HTML label's transform, if shown."""
    return frame.locator(".routes-map-labels").nth(view).evaluate(  # type: ignore[attr-defined]
        "(box, name) => { const s = [...box.children].find(e => e.textContent === name && e.style.display !== 'none');"
        " return s ? s.style.transform : null; }", name)


def test_side_by_side_maps_share_one_view_and_the_link_keeps_it(demo_url: str) -> None:
    with browser.chromium_page() as (page, recorder):
        frame = _open_side_by_side(page, f"{demo_url}/heatmap?counties=06037&cmp=side")
        left, right = _views(frame)
        assert _same(left, right), (left, right)
        assert _view_param(page.url) is None  # nothing moved yet: the link names no view
        start = left
        # one canvas for both maps (two views of one deck), the place names as HTML over each
        assert frame.locator("canvas").count() == 1
        labelled = [_label_at(frame, i, "Long Beach") for i in (0, 1)]
        assert labelled[0] is not None and labelled[0] == labelled[1], labelled

        # zoom in with the wheel over the left map, then drag it east and south
        box = frame.locator(MAPS).first.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.wheel(0, -500)
        page.wait_for_timeout(600)
        page.mouse.down()
        page.mouse.move(x - 80, y - 50, steps=10)
        page.mouse.up()
        page.wait_for_function("() => location.search.includes('view=')", timeout=30_000)
        browser.wait_for_run(page)
        page.wait_for_timeout(1000)  # a last debounced report, if the drag ended after the wheel's
        browser.wait_for_run(page)

        left, right = _views(frame)
        assert left["zoom"] > start["zoom"] + 0.5, (start, left)  # the wheel zoomed in
        assert left["longitude"] > start["longitude"] and left["latitude"] < start["latitude"], (start, left)  # dragged
        assert _same(left, right), f"the right map did not follow the left: {left} vs {right}"
        moved = [_label_at(frame, i, "Long Beach") for i in (0, 1)]
        assert moved[0] is not None and moved[0] == moved[1] != labelled[0], (labelled, moved)  # the names follow the view
        linked = _view_param(page.url)
        assert linked is not None and _same(linked, left, degrees=1e-5, zoom=0.01), (page.url, left)
        browser.save_screenshot(page, "compare-sync-moved")

        # the link, opened anew (a new session), draws both maps at that view
        link = page.url
        frame = _open_side_by_side(page, link)
        left, right = _views(frame)
        assert _same(left, linked, degrees=1e-9, zoom=1e-9) and _same(right, linked), (linked, left, right)
        assert _view_param(page.url) == linked  # and the link keeps it
        browser.save_screenshot(page, "compare-sync-link-opened")
        assert recorder.off_machine() == [], recorder.off_machine()


def _drawn_label_boxes(frame: object, view: int) -> list[dict]:
    return frame.locator(".routes-map-labels").nth(view).evaluate(  # type: ignore[attr-defined]
        "box => [...box.children].filter(s => s.style.display !== 'none').map(s => {"
        " const r = s.getBoundingClientRect(); return {text: s.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })")


def test_side_by_side_names_never_overlap_in_los_angeles(demo_url: str) -> None:
    """The compare of Los Angeles (the names piled up there, issue 23): at the starting view and zoomed
    in twice, no two names drawn over a map overlap, and the big cities are among them."""
    with browser.chromium_page() as (page, recorder):
        frame = _open_side_by_side(page, f"{demo_url}/heatmap?counties=06037&cmp=side&view=-118.25,34.0,8.6")
        seen = {}
        for step in range(3):
            page.wait_for_timeout(800)
            labels = _drawn_label_boxes(frame, 0)
            clashes = [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
                       if min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > 1 and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > 1]
            zoom = _views(frame)[0]["zoom"]
            seen[zoom] = {label["text"] for label in labels}
            assert clashes == [], (zoom, clashes[:5])
            browser.save_screenshot(page, f"compare-la-names-{step}")
            box = frame.locator(MAPS).first.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, -400)
        first = seen[min(seen)]
        assert {"Los Angeles", "Long Beach"} <= first and len(first) > 10, sorted(first)
        assert len(seen[max(seen)]) >= 5
        assert recorder.off_machine() == [], recorder.off_machine()
