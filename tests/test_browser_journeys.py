"""A day's work in a real browser: links, sign-in, filters across pages, playback.

What AppTest cannot show: what the browser's address bar and Streamlit's
frontend do (a deep link before sign-in, a click on a page link that drops the
query string, a press on Stop while the script is rerunning). Screenshots land in
``tests/artifacts/journey-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support import browser
from tests.support.warehouse_fixture import make_small_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER, PASSWORD = "alice", "correct horse battery staple"
LEADER = "lena"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    browser.require_chromium()
    from pipelines.build import build_warehouse
    from query.viewer import Viewer
    from routes import accounts

    root = tmp_path_factory.mktemp("journeys")
    path = root / "warehouse" / "routes.duckdb"
    make_small_warehouse(path, n=6000, seed=3, is_demo=False)
    build_warehouse(warehouse_path=path)
    with pytest.MonkeyPatch.context() as patch:  # the same control store the server uses
        patch.setenv("ROUTES_WAREHOUSE", str(path))
        patch.setenv("ROUTES_CONTROL", str(path.parent / "control.sqlite"))
        patch.setenv("ROUTES_KEY_FILE", str(root / "secrets" / "routes.key"))
        accounts.add_account(USER, PASSWORD, role="analyst", task_force="la", by=Viewer("setup", "admin"))
        accounts.add_account(LEADER, PASSWORD, role="leadership", by=Viewer("setup", "admin"))
    # the key outside the warehouse folder, as pipelines.ingest.tokens.load_key insists (the session cookie is signed with it)
    with browser.streamlit_server(warehouse=path, env={"ROUTES_KEY_FILE": str(root / "secrets" / "routes.key")}) as url:
        yield url


def _sign_in(page: object, user: str = USER) -> None:
    page.get_by_label("User name").fill(user)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=60_000)  # type: ignore[attr-defined]
    browser.wait_for_run(page)


def _no_error_box(page: object) -> None:
    exception = page.locator('[data-testid="stException"]')  # type: ignore[attr-defined]
    assert exception.count() == 0, exception.first.inner_text()[:500]
    body = page.locator("body").inner_text()  # type: ignore[attr-defined]
    assert "Ask Google" not in body and "Ask ChatGPT" not in body


def test_a_deep_link_survives_sign_in(app_url: str) -> None:
    """/heatmap?res=5 before sign-in: the sign-in form (no "Page not found"), then that view."""
    with browser.chromium_page() as (page, recorder):
        page.goto(f"{app_url}/heatmap?res=5&trafficking_types=labor", wait_until="load")
        page.get_by_label("User name").wait_for(timeout=60_000)
        browser.wait_for_run(page)
        browser.save_screenshot(page, "journey-deep-link-sign-in")
        assert "Page not found" not in page.locator("body").inner_text()
        _sign_in(page)
        # the protected release has no cells by trafficking type (it has them by record type,
        # source kind and indicator): the analyst is offered their own task force's exact
        # records, where the filter works
        browser.wait_for_run(page)
        browser.save_screenshot(page, "journey-deep-link-after-sign-in")
        assert re.search(r"/heatmap\?", page.url), page.url
        assert "res=5" in page.url and "trafficking_types=labor" in page.url, page.url
        page.get_by_role("button", name=re.compile("Count my task force's records instead")).click()
        page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
        browser.wait_for_run(page)
        browser.save_screenshot(page, "journey-deep-link-own-records")
        assert "scope=own" in page.url and "trafficking_types=labor" in page.url, page.url
        assert "Heatmap" in page.locator('[data-testid="stMain"]').inner_text()
        _no_error_box(page)
        assert recorder.off_machine() == [], recorder.off_machine()


def test_filters_follow_a_click_on_a_page_link(app_url: str) -> None:
    with browser.chromium_page() as (page, _):
        page.goto(f"{app_url}/heatmap?record_types=tip&regions=Region+I&scope=own", wait_until="load")
        _sign_in(page)
        page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
        for title, path in (("Flows and corridors", "flows_and_corridors"), ("Statewide", ""), ("Region", "region")):
            page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first.click()
            page.wait_for_function(
                f"() => location.pathname.replace(/\\/$/, '').endsWith('/{path}'.replace(/\\/$/, ''))",
                timeout=30_000,
            )
            browser.wait_for_run(page)
            page.wait_for_function(
                "() => location.search.includes('record_types=tip') && location.search.includes('scope=own')",
                timeout=30_000,
            )
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
            assert "tip" in sidebar and "Region I" in sidebar, (title, sidebar[:400])
            _no_error_box(page)
        browser.save_screenshot(page, "journey-filters-followed")


def test_play_then_stop_keeps_the_page(app_url: str) -> None:
    with browser.chromium_page() as (page, _):
        page.goto(f"{app_url}/heatmap", wait_until="load")
        _sign_in(page)
        page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
        browser.wait_for_run(page)
        page.get_by_role("button", name=re.compile("Play months")).click()
        page.get_by_role("button", name=re.compile("Stop")).wait_for(timeout=30_000)
        page.wait_for_timeout(2500)  # a month or two played
        page.get_by_role("button", name=re.compile("Stop")).click()
        page.get_by_role("button", name=re.compile("Play months")).wait_for(timeout=30_000)
        browser.wait_for_run(page)
        browser.save_screenshot(page, "journey-play-stopped")
        _no_error_box(page)
        assert page.locator(browser.MAP_CANVAS).count() >= 1




def test_leadership_headline_is_readable_at_1024_px(app_url: str) -> None:
    """Every headline figure whole at 1024 x 768 with the sidebar open (was cut to "6,…")."""
    with browser.chromium_page() as (page, _):
        page.set_viewport_size({"width": 1024, "height": 768})
        page.goto(app_url, wait_until="load")
        _sign_in(page, LEADER)
        page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
        browser.wait_for_run(page)
        values = page.locator('[data-testid="stMetricValue"]')
        assert values.count() >= 4
        cut = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stMetricValue"] *')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
        )
        browser.save_screenshot(page, "journey-leadership-1024")
        assert cut == [], f"figures cut at 1024 px: {cut}"


#: axe-core's rule tags for WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = ["", "heatmap", "flows_and_corridors", "region", "data_intake", "deconfliction"]


def test_every_page_passes_axe_wcag_21_aa(app_url: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found: dict[str, list[str]] = {}
    with browser.chromium_page() as (page, recorder):
        page.goto(app_url, wait_until="load")
        _sign_in(page)
        for path in PAGES:
            # a click on the page link: a new load would be a new, signed-out session
            page.locator(f'[data-testid="stSidebarNavLink"][href$="/{path}"]').first.click()
            page.wait_for_function(f"() => location.pathname.replace(/\\/$/, '') === '/{path}'.replace(/\\/$/, '')",
                                   timeout=30_000)
            browser.wait_for_run(page)
            if path in ("", "heatmap", "flows_and_corridors", "region"):
                page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
            results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
            violations = results.response["violations"]
            if violations:
                found[path or "statewide"] = [
                    f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
                    for v in violations
                ]
        assert recorder.off_machine() == [], recorder.off_machine()  # axe-core is injected locally
    assert found == {}, "\n".join(f"{page}: {v}" for page, vs in found.items() for v in vs)


def test_place_names_draw_offline_when_zoomed_in(app_url: str) -> None:
    """The heatmap of one county shows place and county names; deck.gl's font atlas is drawn
    in the page (no font or tile request leaves 127.0.0.1)."""
    with browser.chromium_page() as (page, recorder):
        page.goto(f"{app_url}/heatmap?counties=06037&res=6", wait_until="load")
        _sign_in(page)
        page.wait_for_selector(browser.MAP_CANVAS, state="visible", timeout=60_000)
        browser.wait_for_run(page)
        page.wait_for_timeout(2000)
        path = browser.save_screenshot(page, "journey-heatmap-place-names")
        assert path.stat().st_size > 0
        _no_error_box(page)
        assert recorder.off_machine() == [], recorder.off_machine()
        assert not [u for u in recorder.requests if re.search(r"\.(woff2?|ttf|otf)(\?|$)|fonts\.", u)
                    and "127.0.0.1" not in u]


def test_a_reload_keeps_the_user_signed_in_until_sign_out(app_url: str) -> None:
    with browser.chromium_page() as (page, recorder):
        page.goto(f"{app_url}/region", wait_until="load")
        _sign_in(page)
        page.wait_for_function(
            "() => document.cookie.includes('routes_session=')", timeout=30_000
        )
        assert "routes_session" not in page.url  # nothing in the URL
        page.reload(wait_until="load")
        page.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=60_000)
        browser.wait_for_run(page)
        assert "Signed in as alice" in page.locator('[data-testid="stSidebar"]').inner_text().replace("**", "")
        assert re.search(r"/region(\?|$)", page.url), page.url
        browser.save_screenshot(page, "journey-reload-signed-in")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("User name").wait_for(timeout=30_000)
        page.wait_for_function("() => !document.cookie.includes('routes_session=')", timeout=30_000)
        page.reload(wait_until="load")
        page.get_by_label("User name").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
        _no_error_box(page)
