"""A day's work in a real browser, one test per user, with a screenshot at each step.

- the analyst finds a cluster on the heatmap, drills into a county, follows a
  corridor (a click on the busiest highway segment lists the flows routed over
  it), compares two periods side by side and shares the view;
- the lead downloads the briefing pack from the Region page and opens the zip;
- leadership reads the statewide story at 1024 px;
- a partner (an NGO) sees only its own source on Data intake, uploads and commits
  an export, reads the protected heatmap and is refused deconfliction.

And keyboard focus on a map is visible (a ring around the map) and passes axe.
Screenshots: ``docs/screenshots/<user>-<n>-<step>.png``, overwritten by each run.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support import browser
from tests.support.warehouse_fixture import make_small_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
USERS = {"ana": ("analyst", "la"), "leo": ("lead", "san_diego"), "lena": ("leadership", None),
         "nina": ("partner", "alameda")}  # the small warehouse's NGO source ngo_bay is Alameda's
#: Each run's screenshots (ignored by git); the reviewed copies live in docs/screenshots/.
SHOTS = browser.ARTIFACTS / "journeys"
MAP = '[data-testid="stDeckGlJsonChart"]'
SYNCED = 'iframe[src*="ui.deck_map.deck_map"]'  # the side-by-side maps with one view (ui/deck_map.py)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    browser.require_chromium()
    from pipelines.build import build_warehouse
    from query.viewer import Viewer
    from routes import accounts

    root = tmp_path_factory.mktemp("day")
    path = root / "warehouse" / "routes.duckdb"
    make_small_warehouse(path, n=6000, seed=3, is_demo=False)
    build_warehouse(warehouse_path=path)
    env = {"ROUTES_KEY_FILE": str(root / "secrets" / "routes.key")}
    with pytest.MonkeyPatch.context() as patch:  # the same control store and key the server uses
        patch.setenv("ROUTES_WAREHOUSE", str(path))
        patch.setenv("ROUTES_CONTROL", str(path.parent / "control.sqlite"))
        patch.setenv("ROUTES_KEY_FILE", env["ROUTES_KEY_FILE"])
        for user, (role, task_force) in USERS.items():
            accounts.add_account(user, PASSWORD, role=role, task_force=task_force, by=Viewer("setup", "admin"))
        with browser.streamlit_server(warehouse=path, env=env) as url:
            yield url


def _shot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path


def _sign_in(page: object, user: str) -> None:
    page.get_by_label("User name").fill(user)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=60_000)  # type: ignore[attr-defined]
    browser.wait_for_run(page)


def _sign_in_at(page: object, url: str, user: str, *, settle_ms: int = 0) -> None:
    """Open ``url`` signed out, sign in as ``user`` and wait until its map is drawn."""
    page.goto(url, wait_until="load")  # type: ignore[attr-defined]
    _sign_in(page, user)
    page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)  # type: ignore[attr-defined]
    browser.wait_for_run(page)
    if settle_ms:
        page.wait_for_timeout(settle_ms)  # type: ignore[attr-defined]  # deck.gl draws its layers


def _open(page: object, url: str, *, maps: int = 1) -> None:
    """Go to ``url`` (the session cookie keeps the user signed in) and wait for its maps.

    A map is a ``st.pydeck_chart`` canvas or one in the synchronised maps' frame
    (``ui.deck_map``: the side-by-side compare).
    """
    page.goto(url, wait_until="load")  # type: ignore[attr-defined]
    if maps:
        page.wait_for_function(  # type: ignore[attr-defined]
            f"() => document.querySelectorAll('{MAP} canvas').length + [...document.querySelectorAll('{SYNCED}')]"
            f".reduce((n, f) => n + (f.contentDocument ? f.contentDocument.querySelectorAll('canvas').length : 0), 0)"
            f" >= {maps}",
            timeout=60_000,
        )
    browser.wait_for_run(page)
    page.wait_for_timeout(1200)  # type: ignore[attr-defined]  # deck.gl draws its layers


def _pixel(canvas_box: dict[str, float], view: object, lng: float, lat: float) -> tuple[float, float]:
    """Where (lng, lat) falls on a deck.gl map of ``view`` (web mercator, 512-px tiles)."""
    world = 512 * 2 ** float(view.zoom)  # type: ignore[attr-defined]

    def merc(x: float, y: float) -> tuple[float, float]:
        return (x + 180) / 360 * world, (1 - math.log(math.tan(math.pi / 4 + math.radians(y) / 2)) / math.pi) / 2 * world

    cx, cy = merc(float(view.longitude), float(view.latitude))  # type: ignore[attr-defined]
    px, py = merc(lng, lat)
    return (canvas_box["x"] + canvas_box["width"] / 2 + px - cx, canvas_box["y"] + canvas_box["height"] / 2 + py - cy)


def _hover_segment(page: object, canvas: dict[str, float], view: object, seg: object, seen: list[str]) -> tuple[float, float] | None:
    """Point at ``seg`` (its middle, then either side of it) until deck.gl's tooltip names a corridor segment.

    deck.gl picks on the next animation frame, which a busy machine delays: the
    tooltip is awaited for up to 2 s at each point rather than read after a fixed
    pause. A tooltip naming something else (an arc or a place drawn over the
    segment) moves on to the next point. Returns the point, or None.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for frac in (0.5, 0.35, 0.65):
        lng = seg.from_lng + (seg.to_lng - seg.from_lng) * frac  # type: ignore[attr-defined]
        lat = seg.from_lat + (seg.to_lat - seg.from_lat) * frac  # type: ignore[attr-defined]
        x, y = _pixel(canvas, view, lng, lat)
        page.mouse.move(x - 6, y - 6)  # type: ignore[attr-defined]  # arrive from off the line, so deck.gl sees a move onto it
        page.mouse.move(x, y, steps=3)  # type: ignore[attr-defined]
        try:
            page.wait_for_function(  # type: ignore[attr-defined]
                "() => { const t = document.querySelector('.deck-tooltip');"
                " return !!t && getComputedStyle(t).display !== 'none' && t.innerText.trim().length > 0 }",
                timeout=2_000,
            )
        except PlaywrightTimeout:
            seen.append("(none)")
            continue
        text = page.locator(".deck-tooltip").first.inner_text()  # type: ignore[attr-defined]
        seen.append(text.splitlines()[0] if text else "")
        if "schematic segment" in text:  # the corridor, not an arc or a place over it
            return x, y
    return None


def test_keyboard_focus_on_a_map_is_a_visible_ring(app_url: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    with browser.chromium_page() as (page, recorder):
        _sign_in_at(page, f"{app_url}/heatmap", "ana")
        chart = page.locator(MAP).first
        assert chart.evaluate("e => getComputedStyle(e).outlineStyle") == "none"  # no ring before focus
        for _ in range(80):  # Tab through the page until the focus is on the map
            page.keyboard.press("Tab")
            if page.evaluate(f"() => !!document.activeElement.closest('{MAP}')"):
                break
        else:
            pytest.fail("Tab never reached the map")
        ring = chart.evaluate("e => { const s = getComputedStyle(e); return [s.outlineStyle, parseFloat(s.outlineWidth)] }")
        chart.scroll_into_view_if_needed()
        _shot(page, "keyboard-focus-on-the-map")
        assert ring[0] == "solid" and ring[1] >= 2, f"no visible focus ring on the map: {ring}"
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
        assert results.response["violations"] == [], [v["id"] for v in results.response["violations"]]
        assert recorder.off_machine() == []


def test_the_analysts_day(app_url: str) -> None:
    from maps import decks
    from query import flows
    from query.filters import Filters
    from query.viewer import Viewer

    with browser.chromium_page() as (page, recorder):
        # 1. find a cluster: the statewide heatmap of the analyst's own task force's records
        # (exact, so the breakdown has every tab), then the busiest cell's breakdown
        _sign_in_at(page, f"{app_url}/heatmap?res=6&scope=own", "ana", settle_ms=1200)
        _shot(page, "analyst-1-heatmap")
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="busiest cells").first
        box.get_by_role("combobox").first.click()
        page.keyboard.press("ArrowDown")  # at the foot of the page a click alone leaves the list shut
        busiest = page.get_by_role("option").first
        cluster = busiest.inner_text()
        busiest.click()
        browser.wait_for_run(page)
        page.get_by_role("tab", name="Record type").wait_for(timeout=30_000)
        page.get_by_role("tab", name="Type", exact=True).scroll_into_view_if_needed()
        page.wait_for_selector('[role="tabpanel"] [data-testid="stDataFrame"] canvas', timeout=30_000)
        page.wait_for_timeout(800)  # the table grid paints its rows
        _shot(page, "analyst-2-cluster-breakdown")
        assert "Los Angeles" in cluster, cluster  # the demo's busiest cells are in LA

        # 2. drill in: Los Angeles County at city detail
        _open(page, f"{app_url}/heatmap?counties=06037&res=7")
        _shot(page, "analyst-3-drill-in")
        assert "res 7" in page.locator('[data-testid="stMain"]').inner_text()

        # 3. follow a corridor into Los Angeles: click the busiest highway segment in view,
        # read the flows routed over it (the county is in the link: filters follow the
        # user across pages, so a link without it would still carry LA from step 2)
        _open(page, f"{app_url}/flows_and_corridors?level=county&counties=06037")
        view = decks.view_for_counties(["06037"])
        page.locator(browser.MAP_CANVAS).first.scroll_into_view_if_needed()
        canvas = page.locator(browser.MAP_CANVAS).first.bounding_box()
        loads = flows.corridor_loads(Viewer("ana", "analyst", "la"), Filters(counties=("06037",)))
        # the longest busy segments whose middles are on the map: away from the place circles drawn over them
        loads = loads[~loads["suppressed"].astype(bool)].head(40)
        middles = [_pixel(canvas, view, (r.from_lng + r.to_lng) / 2, (r.from_lat + r.to_lat) / 2) for r in loads.itertuples()]
        on_map = [canvas["x"] + 20 < x < canvas["x"] + canvas["width"] - 20 and canvas["y"] + 20 < y < canvas["y"] + canvas["height"] - 20
                  for x, y in middles]
        loads = loads[on_map].head(20).sort_values("length_km", ascending=False)
        assert len(loads), "no busy corridor segment lies on the Los Angeles map"
        seen: list[str] = []
        for seg in loads.itertuples():
            point = _hover_segment(page, canvas, view, seg, seen)
            if point:
                page.mouse.click(*point)
                page.get_by_text("Flows routed over the selected").first.wait_for(timeout=60_000)
                browser.wait_for_run(page)
                break
        else:
            pytest.fail(f"no busy corridor segment answered the pointer; tooltips seen: {seen[:8]}")
        page.wait_for_timeout(1000)
        _shot(page, "analyst-4-corridor-selected")
        page.get_by_text("Flows routed over the selected").scroll_into_view_if_needed()
        _shot(page, "analyst-5-flows-over-the-corridor")

        # 4. compare periods: two maps side by side
        shared = f"{app_url}/heatmap?counties=06037&res=6&cmp=side"
        _open(page, shared, maps=1)  # one canvas: the two maps are two views of one deck (ui/deck_map.py)
        maps = page.frame_locator(SYNCED).locator('[data-testid="routesDeckMap"]')
        page.frame_locator(SYNCED).locator('[data-testid="routesDeckMap"][data-view-state]').nth(1).wait_for(timeout=60_000)
        _shot(page, "analyst-6-compare-side-by-side")
        assert page.get_by_text("Before:").count() and page.get_by_text("After:").count()
        box = maps.first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -300)  # zoom in on the left map: both maps follow, the address gains the view
        page.wait_for_function("() => location.search.includes('view=')", timeout=30_000)
        browser.wait_for_run(page)
        zoomed = [maps.nth(i).get_attribute("data-view-state") for i in range(2)]
        assert zoomed[0] == zoomed[1], zoomed

        # 5. share the view: the address is the view; opened anew it shows the same
        link = page.url
        assert all(p in link for p in ("counties=06037", "cmp=side", "cmp_from=", "view=")), link  # res 6 is the default
        _open(page, link, maps=1)
        page.frame_locator(SYNCED).locator('[data-testid="routesDeckMap"][data-view-state]').nth(1).wait_for(timeout=60_000)
        _shot(page, "analyst-7-shared-link-opened")
        assert "Los Angeles" in page.locator('[data-testid="stSidebar"]').inner_text()
        opened = [json.loads(maps.nth(i).get_attribute("data-view-state") or "{}") for i in range(2)]
        linked = dict(zip(("longitude", "latitude", "zoom"), map(float, parse_qs(urlparse(link).query)["view"][0].split(",")), strict=True))
        assert all(abs(view[k] - linked[k]) < 1e-6 for view in opened for k in linked), (opened, linked)
        assert recorder.off_machine() == [], recorder.off_machine()


def test_the_leads_briefing_pack(app_url: str) -> None:
    with browser.chromium_page() as (page, recorder):
        _sign_in_at(page, f"{app_url}/region?kind=region&place=Region%20VI", "leo")
        _shot(page, "lead-1-region")
        page.get_by_label("Purpose (printed on the briefing and written to the audit log)").fill("Quarterly meeting")
        page.keyboard.press("Tab")  # the text is committed when the box loses focus
        browser.wait_for_run(page)
        export = page.get_by_role("button", name="Export briefing")
        page.wait_for_function("() => [...document.querySelectorAll('button')].some("
                               "b => b.innerText.includes('Export briefing') && !b.disabled)", timeout=30_000)
        export.click()
        pack_button = page.get_by_role("button", name="Download briefing pack")
        pack_button.wait_for(timeout=90_000)
        pack_button.scroll_into_view_if_needed()
        _shot(page, "lead-2-pack-ready")
        with page.expect_download() as download:
            pack_button.click()
        pack = download.value
        data = Path(pack.path()).read_bytes()
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert pack.suggested_filename.endswith("_pack.zip")
        assert {Path(n).suffix for n in names} >= {".pdf", ".png", ".html", ".csv", ".geojson"}, names
        assert page.get_by_role("button", name="Download briefing pack").count() == 1  # still there after a download
        _shot(page, "lead-3-after-download")
        assert recorder.off_machine() == []


def test_the_statewide_story_at_1024_px(app_url: str) -> None:
    with browser.chromium_page() as (page, recorder):
        page.set_viewport_size({"width": 1024, "height": 768})
        _sign_in_at(page, app_url, "lena", settle_ms=1200)
        _shot(page, "leadership-1-headline-1024")
        cut = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stMetricValue"] *')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
        )
        assert page.locator('[data-testid="stMetricValue"]').count() >= 4 and cut == [], cut
        page.mouse.move(660, 500)  # over the page, not the sidebar, so the wheel scrolls the story
        page.mouse.wheel(0, 700)
        page.wait_for_timeout(500)
        _shot(page, "leadership-2-map-and-trend-1024")
        page.mouse.wheel(0, 1400)
        page.wait_for_timeout(500)
        _shot(page, "leadership-3-further-down-1024")
        assert recorder.off_machine() == []


def _partner_export() -> bytes:
    rows = ["record_id,record_type,occurred_at,trafficking_type,location,case_number,contact"]
    rows += [f"nb-{i},service,2025-0{1 + i % 9}-15,labor,Oakland,NB-{i},Intake desk" for i in range(12)]
    rows.append("nb-bad,service,not a date,labor,Oakland,NB-X,Intake desk")  # quarantined: the preview says why
    return ("\n".join(rows) + "\n").encode()


def test_the_partners_day(app_url: str) -> None:
    others = ("Los Angeles PD", "San Diego Sheriff", "Hotline", "lapd", "sdsheriff")
    with browser.chromium_page() as (page, recorder):
        # 1. Data intake: only the NGO's own source, no other agency's name or volume
        page.goto(f"{app_url}/data_intake", wait_until="load")
        _sign_in(page, "nina")
        page.get_by_text("Upload a file").first.wait_for(timeout=60_000)
        main = page.locator('[data-testid="stMain"]')
        _shot(page, "partner-1-own-intake")
        text = main.inner_text()
        assert not [o for o in others if o in text], text[:1200]
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="For source").first
        box.scroll_into_view_if_needed()
        box.get_by_role("combobox").first.click()
        page.keyboard.press("ArrowDown")  # at the foot of the page a click alone leaves the list shut
        page.get_by_role("option").first.wait_for(timeout=10_000)
        options = [o.inner_text() for o in page.get_by_role("option").all()]
        page.keyboard.press("Escape")
        assert options == ["ngo_bay"], options  # the sources table above is a canvas grid: its rows are the same

        # 2. upload an export: preview (what loads, what is quarantined and why), then commit
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
            files=[{"name": "ngo_bay_2025.csv", "mimeType": "text/csv", "buffer": _partner_export()}])
        page.get_by_text("ngo_bay_2025.csv").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Preview").click()
        page.get_by_text("Will be quarantined").first.wait_for(timeout=60_000)
        browser.wait_for_run(page)
        page.get_by_text("Will be quarantined").first.scroll_into_view_if_needed()
        _shot(page, "partner-2-upload-preview")
        preview = main.inner_text()
        assert "Rows read" in preview and "13" in preview, preview[-1500:]
        page.get_by_role("button", name="Commit this file").click()
        page.locator('[data-testid="stAlertContentSuccess"]').first.wait_for(timeout=120_000)
        browser.wait_for_run(page)
        _shot(page, "partner-3-committed")
        done = page.locator('[data-testid="stAlertContentSuccess"]').first.inner_text()
        assert "ngo_bay_2025.csv" in done or "12" in done, done

        # 3. the heatmap: protected figures with their error margin, no own-records scope
        _open(page, f"{app_url}/heatmap?res=6")
        _shot(page, "partner-4-heatmap-protected")
        heat = main.inner_text()
        assert "protected" in heat and "±" in heat, heat[:800]
        assert page.get_by_text("My task force's records (exact)").count() == 0

        # 4. deconfliction: not for partners; no other agency's case or contact on the page
        _open(page, f"{app_url}/deconfliction", maps=0)
        _shot(page, "partner-5-deconfliction-refused")
        refused = main.inner_text()
        assert not any(c in refused for c in ("Det. A", "Sgt. B", "CASE-")), refused[:800]
        assert recorder.off_machine() == [], recorder.off_machine()
