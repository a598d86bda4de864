"""A circuit drawn in a real headless Chromium, zoomed in: its legs along one line lie apart (issue 23)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pydeck as pdk
import pytest

from maps import decks, moves_maps
from tests.support.browser import launch_chromium, require_chromium, save_screenshot

pytestmark = pytest.mark.browser

LOOP = ["06067", "06077", "06019", "06029", "06067"]  # Sacramento, San Joaquin, Fresno, Kern, back


def _magenta_columns(png: bytes, row: int) -> list[int]:
    """x of the circuit-magenta pixels along one row of a screenshot."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    r, g, b = moves_maps.CIRCUIT_RGBA[:3]
    return [x for x in range(image.width) if sum(abs(c - t) for c, t in zip(image.getpixel((x, row)), (r, g, b), strict=True)) < 60]


def test_a_loop_zoomed_in_shows_each_leg_apart(tmp_path: Path) -> None:
    """At zoom 7.5 over Merced, the row through the middle of the loop crosses the magenta of two legs
    (San Joaquin → Fresno and Kern → Sacramento), with the map between them: drawn straight they were one line."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    circuit = pd.Series({"rank": 1, "shape": "loop", "places": LOOP})
    view = pdk.ViewState(longitude=-120.45, latitude=37.3, zoom=7.5, pitch=0, bearing=0)
    deck = decks.make_deck(moves_maps.circuit_layers(circuit), view_state=view, height=700)
    path = tmp_path / "circuit.html"
    deck.to_html(str(path), offline=True, notebook_display=False, open_browser=False)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_selector("canvas", state="attached", timeout=20_000)
            page.wait_for_timeout(2_000)
            shot = save_screenshot(page, "circuit-loop-zoomed")
            png = shot.read_bytes()
        finally:
            browser.close()
    xs = _magenta_columns(png, 350)
    runs = [x for i, x in enumerate(xs) if i == 0 or x - xs[i - 1] > 3]  # starts of separate magenta runs
    assert len(runs) >= 2, xs
    assert max(xs) - min(xs) > 30, xs  # tens of pixels of map between the two legs
