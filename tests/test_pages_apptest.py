"""AppTest of every page in ``pages/`` for every role, and of the widget paths of the map pages.

The fixture warehouse is built once (records, then ``pipelines build``); each
test signs a viewer in through session state as ``ui/session.py`` documents.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from routes import settings
from tests.support.apptest import FLOWS, HEATMAP, VIEWERS, page_app, ran_ok
from tests.support.exact_path import exact_viewer, read_the_whole_warehouse
from tests.support.warehouse_fixture import make_small_warehouse

PAGES = sorted((settings.REPO_ROOT / "pages").glob("*.py"))
STATEWIDE = str(settings.REPO_ROOT / "pages" / "statewide.py")
#: An analyst in the own-records scope: the exact path, over every record of the fixture in the tests
#: that take ``exact_path`` (tests/support/exact_path.py); the default scope reads the release like a partner.
EXACT_ANALYST = exact_viewer("ana", "analyst", "la")


@pytest.fixture
def exact_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exact path reads the whole fixture warehouse (its guard, breakdowns and suppression)."""
    read_the_whole_warehouse(monkeypatch)


#: A page reads its widgets, calls library functions and draws: at most this many lines (issue 20).
PAGE_BUDGET_LINES = 100


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_page_is_thin(page: Path) -> None:
    lines = len(page.read_text(encoding="utf-8").splitlines())
    assert lines <= PAGE_BUDGET_LINES, f"{page.name} has {lines} lines: move its logic into ui/, maps/ or query/"


@pytest.mark.parametrize("role", list(VIEWERS))
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_page_runs_for_every_role(pages_warehouse: Path, page: Path, role: str) -> None:
    ran_ok(page_app(str(page), VIEWERS[role]).run())


def test_heatmap_widget_paths(pages_warehouse: Path, exact_path: None) -> None:
    app = ran_ok(page_app(HEATMAP, EXACT_ANALYST).run())
    assert len(app.get("deck_gl_json_chart")) == 1
    caption = " ".join(c.value for c in app.caption)
    assert "Counts:" in caption and "Period:" in caption and "Precision:" in caption
    for res in (4, 5, 7, 8, 9, 6):
        ran_ok(app.select_slider(key="url_res").set_value(res).run())
    for measure in ("victims", "per_capita", "records"):
        ran_ok(app.radio(key="url_measure").set_value(measure).run())
    ran_ok(app.toggle(key="url_rescale").set_value(True).run())
    ran_ok(app.selectbox(key="heatmap_cell").select_index(0).run())
    assert [t.label for t in app.tabs] == ["Type", "Record type", "Source kind", "Indicators", "Month"]
    ran_ok(app.button(key="heatmap_show_records").click().run())  # analyst: own records, audited
    assert any("records (newest first)" in c.value for c in app.caption)
    for mode in ("side", "change", "off"):
        ran_ok(app.radio(key="cmp_mode").set_value(mode).run())
    ran_ok(app.multiselect(key="f_trafficking_types").set_value(["sex"]).run())
    ran_ok(app.multiselect(key="f_indicators").set_value(["motel"]).run())
    ran_ok(app.multiselect(key="f_regions").set_value(["Region I"]).run())
    ran_ok(app.multiselect(key="f_counties").set_value(["06037"]).run())


def test_heatmap_restores_a_bookmarked_view(pages_warehouse: Path) -> None:
    params = {"res": "5", "measure": "victims", "from": "2024-06", "to": "2025-05", "trafficking_types": "sex,labor", "cmp": "change"}
    app = ran_ok(page_app(HEATMAP, VIEWERS["leadership"], params=params).run())
    assert app.select_slider(key="url_res").value == 5
    assert app.radio(key="url_measure").value == "victims"
    assert app.multiselect(key="f_trafficking_types").value == ["sex", "labor"]
    start, end = app.select_slider(key="f_period").value
    assert (start.isoformat(), end.isoformat()) == ("2024-06-01", "2025-05-01")
    assert app.radio(key="cmp_mode").value == "change"
    caption = " ".join(c.value for c in app.caption)
    assert "Jun 2024 – May 2025" in caption


def test_heatmap_for_partner_shows_no_records(pages_warehouse: Path) -> None:
    app = ran_ok(page_app(HEATMAP, VIEWERS["partner"]).run())
    assert app.get("deck_gl_json_chart"), "the partner's heatmap draws"
    if app.selectbox(key="heatmap_cell").options:  # the release may round every small cell to 0
        ran_ok(app.selectbox(key="heatmap_cell").select_index(0).run())
    assert not [b for b in app.button if b.key == "heatmap_show_records"]


def test_play_steps_through_the_months(pages_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import filters as ui_filters

    monkeypatch.setattr(ui_filters, "PLAY_INTERVAL_S", 0.0)
    # Statewide steps the period by reruns; the Heatmap plays in its map (tests/test_playback.py)
    app = ran_ok(page_app(STATEWIDE, VIEWERS["leadership"]).run())
    play = next(b for b in app.button if b.key == "f_play_button")
    ran_ok(play.click().run())
    assert app.session_state["f_playing"] is False  # played to the end, then stopped
    start, end = app.select_slider(key="f_period").value
    assert start == end  # the last month played


def test_flows_widget_paths(pages_warehouse: Path) -> None:
    app = ran_ok(page_app(FLOWS, VIEWERS["lead"]).run())
    assert len(app.get("deck_gl_json_chart")) == 1
    # statewide: no hexagons finer than res 4 (aggregation follows the zoom)
    assert "res6" not in app.select_slider(key="url_level").options
    for level in ("region", "task_force", "res4", "county"):
        ran_ok(app.select_slider(key="url_level").set_value(level).run())
    ran_ok(app.multiselect(key="f_counties").set_value(["06073"]).run())
    for level in ("res5", "res6"):
        ran_ok(app.select_slider(key="url_level").set_value(level).run())
        assert app.query_params["level"] in (level, [level])
    # clearing the county takes the map back to a statewide grouping
    ran_ok(app.multiselect(key="f_counties").set_value([]).run())
    assert app.select_slider(key="url_level").value == "county"
    ran_ok(app.select_slider(key="url_level").set_value("res4").run())
    ran_ok(app.selectbox(key="url_top").set_value(50).run())
    ran_ok(app.radio(key="flows_mode").set_value("incoming").run())
    ran_ok(app.selectbox(key="flows_place").select_index(0).run())
    ran_ok(app.radio(key="flows_mode").set_value("outgoing").run())
    ran_ok(app.radio(key="flows_mode").set_value("between").run())
    ran_ok(app.selectbox(key="flows_other").select_index(1).run())
    ran_ok(app.toggle(key="url_corridors").set_value(False).run())
    assert app.query_params["corridors"] in ("0", ["0"])


@pytest.mark.parametrize(("scope", "hidden"), [("all", "fewer than 11"), ("own", "suppressed")])
def test_flows_tables_say_suppressed_where_a_count_is_hidden(
    pages_warehouse: Path, monkeypatch: pytest.MonkeyPatch, scope: str, hidden: str
) -> None:
    """Hidden counts in the flow, pair and shift tables never read None, blank or 0: a released one reads
    "fewer than 11" (the lead's default scope), an exact one "suppressed" (its own-records scope, here
    over the whole fixture)."""
    viewer = VIEWERS["lead"]
    if scope == "own":
        read_the_whole_warehouse(monkeypatch)
        viewer = exact_viewer("lee", "lead", "san_diego")
    app = ran_ok(page_app(FLOWS, viewer).run())
    ran_ok(app.select_slider(key="url_level").set_value("res4").run())
    tables = [frame.value for frame in app.dataframe]
    assert tables
    counts = ("Records", "Victims", "Tips", "Confirmed", "Services", "Recent", "Baseline")
    cells = pd.concat([t[c] for t in tables for c in counts if c in t.columns], ignore_index=True)
    assert not cells.isna().any()
    assert cells.eq(hidden).any()  # the res 4 table hides some parts
    assert not cells.eq({"fewer than 11": "suppressed", "suppressed": "fewer than 11"}[hidden]).any()
    flows = tables[0]
    assert list(flows.columns[:2]) == ["From", "To"] and "Rolled up" in flows.columns


def test_flows_without_built_tables_says_how_to_build(tmp_env: Path) -> None:
    make_small_warehouse(settings.warehouse_path(), n=500, seed=4, is_demo=False)
    app = ran_ok(page_app(FLOWS, VIEWERS["leadership"]).run())
    assert any("python -m pipelines build" in i.value for i in app.info)


def test_demo_mode_role_switcher(pages_warehouse: Path, tmp_env: Path) -> None:
    from ui import session

    make_small_warehouse(settings.warehouse_path(), n=1500, seed=5, is_demo=True)
    for role in ("partner", "admin", "analyst"):
        app = page_app(HEATMAP, None)
        app.session_state[session.DEMO_ROLE_KEY] = role
        ran_ok(app.run())


def test_stop_while_playing_keeps_the_page(pages_warehouse: Path) -> None:
    """Pressing Stop mid-play resets the period; it used to raise StreamlitAPIException
    (a widget's state set after the widget was drawn). On a page that steps by reruns (Statewide);
    the Heatmap plays in its map and keeps the period (tests/test_playback.py)."""
    app = ran_ok(page_app(STATEWIDE, VIEWERS["leadership"]).run())
    months = app.select_slider(key="f_period").options
    app.session_state["f_playing"] = True  # as after Play, between two steps
    app.session_state["f_play_step"] = 3
    app.session_state["f_period"] = (app.select_slider(key="f_period").value[0],) * 2
    stop = next(b for b in app.button if b.key == "f_play_button")
    ran_ok(stop.click().run())
    assert app.session_state["f_playing"] is False
    first, last = app.select_slider(key="f_period").value
    assert (first.strftime("%b %Y"), last.strftime("%b %Y")) == (months[0], months[-1])


def test_error_boxes_offer_no_outside_links() -> None:
    """Streamlit's error box would show internals and "Ask Google"/"Ask ChatGPT" links."""
    import tomllib

    config = tomllib.loads((settings.REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorLinks"] is False
    assert config["client"]["showErrorDetails"] == "none"


def test_an_unexpected_page_error_is_a_friendly_logged_message(caplog: pytest.LogCaptureFixture) -> None:
    def script() -> None:
        from ui.chrome import run_guarded

        def broken_page() -> None:
            raise KeyError("a bug")

        run_guarded(broken_page)

    with caplog.at_level("ERROR", logger="ui.chrome"):
        app = AppTest.from_function(script).run()
    assert not app.exception
    assert "Something went wrong on this page" in app.error[0].value
    reference = app.error[0].value.split("reference ")[1][:8]
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)


APP = str(settings.REPO_ROOT / "app.py")


def test_filters_follow_the_user_across_pages(pages_warehouse: Path) -> None:
    """Filters chosen on one page stay chosen on the next, in its widgets and its link."""
    app = ran_ok(page_app(APP, VIEWERS["analyst"]).run())
    app.switch_page("pages/heatmap.py")
    ran_ok(app.run())
    ran_ok(app.multiselect(key="f_record_types").set_value(["tip"]).run())
    ran_ok(app.multiselect(key="f_regions").set_value(["Region I"]).run())
    for page in ("pages/flows_and_corridors.py", "pages/statewide.py", "pages/region.py"):
        app.switch_page(page)
        for key in list(app.query_params):  # a click on the sidebar's page link drops the query string
            del app.query_params[key]
        ran_ok(app.run())
        assert app.multiselect(key="f_record_types").value == ["tip"], page
        assert app.multiselect(key="f_regions").value == ["Region I"], page
        assert app.query_params["record_types"] in ("tip", ["tip"]), page
    # clearing a filter on a page clears it for the next one too
    ran_ok(app.multiselect(key="f_record_types").set_value([]).run())
    app.switch_page("pages/heatmap.py")
    for key in list(app.query_params):
        del app.query_params[key]
    ran_ok(app.run())
    assert app.multiselect(key="f_record_types").value == []
    assert app.multiselect(key="f_regions").value == ["Region I"]


def test_a_deep_link_lands_on_its_page_after_sign_in(pages_warehouse: Path) -> None:
    """Signed out, /heatmap?res=5 shows the sign-in form; after sign-in, the heatmap with res 5."""
    from ui import session

    app = AppTest.from_file(APP, default_timeout=90)
    app.query_params["res"] = "5"
    app.switch_page("pages/heatmap.py")
    ran_ok(app.run())
    assert app.text_input(key="routes_sign_in_user").label == "User name"  # the sign-in form
    assert not app.get("deck_gl_json_chart")
    app.session_state[session.VIEWER_KEY] = VIEWERS["analyst"]  # what a successful sign-in stores
    app.session_state[session.LAST_ACTIVE_KEY] = time.time()
    ran_ok(app.run())
    assert app.select_slider(key="url_res").value == 5  # the heatmap, with the link's settings


@pytest.mark.parametrize("script", [HEATMAP, FLOWS, str(settings.REPO_ROOT / "pages" / "statewide.py")])
def test_a_small_county_is_explained_by_name_and_keeps_the_period(pages_warehouse: Path, exact_path: None, script: str) -> None:
    """Alpine alone is refused: the message names counties (no FIPS codes), offers to add
    them or clear the filter, and the period stays as chosen (it used to jump)."""
    import re

    from geo import reference

    # an analyst's own-records scope: the guard refuses isolating filters on the exact path; viewers
    # who read the protected release (everyone's default scope) are never refused
    app = ran_ok(page_app(script, EXACT_ANALYST, params={"from": "2024-03", "to": "2024-08"}).run())
    ran_ok(app.multiselect(key="f_counties").set_value(["06003"]).run())
    start, end = app.select_slider(key="f_period").value
    assert (start.isoformat(), end.isoformat()) == ("2024-03-01", "2024-08-01")
    assert app.query_params["from"] in ("2024-03", ["2024-03"])
    shown = " ".join(w.value for w in app.warning) + " ".join(b.label for b in app.button)
    assert not re.search(r"\b06\d{3}\b", shown), shown
    assert "Alpine county alone" in shown, shown
    add = next(b for b in app.button if b.key == "routes_fix_add_counties")
    named = set(re.findall(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*", add.label.removeprefix("Add ")))
    ran_ok(add.click().run())
    regions = reference.load_regions()
    names = dict(zip(regions["county_fips"], regions["county"], strict=True))
    assert {names[c] for c in app.multiselect(key="f_counties").value} == named | {"Alpine"}
    assert app.select_slider(key="f_period").value == (start, end)
    app.session_state["f_counties"] = ["06003"]
    ran_ok(app.run())
    ran_ok(app.button(key="routes_fix_clear_counties").click().run())
    assert app.multiselect(key="f_counties").value == []
    assert app.select_slider(key="f_period").value == (start, end)


def test_a_mostly_suppressed_heatmap_says_so_and_offers_coarser_cells(pages_warehouse: Path, exact_path: None) -> None:
    """A change map of LA tips by year: most cells are hidden; say so, one click to coarser."""
    params = {"res": "8", "counties": "06037", "record_types": "tip", "from": "2025-01", "to": "2025-12",
              "cmp": "change", "cmp_from": "2024-01", "cmp_to": "2024-12"}
    # an analyst's exact, k-suppressed map (own-records scope; the protected map takes no type filter)
    app = ran_ok(page_app(HEATMAP, EXACT_ANALYST, params=params).run())
    assert any("of these cells read “suppressed”" in w.value for w in app.warning), [w.value for w in app.warning]
    ran_ok(app.button(key="heatmap_coarser").click().run())
    assert app.select_slider(key="url_res").value == 7
    assert app.query_params["res"] in ("7", ["7"])


def test_change_tooltips_give_the_percentage_beside_the_count() -> None:
    from maps import decks

    change = pd.DataFrame({
        "res": [6, 6], "county_fips": ["06037", "06037"], "suppressed": [False, False],
        "before": [20, 0], "after": [30, 12], "change": [10, 12],
    })
    assert decks.change_tips(change) == [
        "res-6 cell, Los Angeles\n20 → 30 (+10 records, +50 %)",
        "res-6 cell, Los Angeles\n0 → 12 (+12 records, new)",
    ]


def test_maps_carry_place_county_and_highway_names(pages_warehouse: Path) -> None:
    """Zoomed in, a map says where it is: gazetteer places (sized by population), counties, routes."""
    import json

    app = ran_ok(page_app(HEATMAP, VIEWERS["analyst"], params={"counties": "06037"}).run())
    spec = json.loads(app.get("deck_gl_json_chart")[0].proto.json)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert {"county-labels", "place-labels", "highway-labels"} <= set(layers)
    assert list(layers)[-3:] == ["county-labels", "place-labels", "highway-labels"]  # over the data
    places = {row["label"]: row["s"] for row in layers["place-labels"]["data"]}
    assert places["Los Angeles"] > places["Lancaster"] > 0  # larger places in larger type
    first = {row["label"]: next(i for i, px in enumerate(row["z"]) if px) for row in layers["place-labels"]["data"]}
    assert first["Los Angeles"] < first["Long Beach"] <= first["Lancaster"]  # large cities appear first
    assert "LOS ANGELES" in {row["label"] for row in layers["county-labels"]["data"]}


@pytest.mark.parametrize(("script", "name"), [(HEATMAP, "heatmap_map"), (FLOWS, "flows_map")])
def test_fit_to_selection_redraws_the_map_at_its_starting_view(pages_warehouse: Path, script: str, name: str) -> None:
    import json

    app = ran_ok(page_app(script, VIEWERS["analyst"], params={"counties": "06037"}).run())
    button = app.button(key=f"routes_reset_{name}")
    assert "Fit to selection" in button.label
    first = json.loads(app.get("deck_gl_json_chart")[0].proto.json)["initialViewState"]
    ran_ok(button.click().run())
    again = json.loads(app.get("deck_gl_json_chart")[0].proto.json)["initialViewState"]
    assert again != first and abs(again["longitude"] - first["longitude"]) < 1e-5  # the same view, anew
