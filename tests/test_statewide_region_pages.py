"""AppTest for ``pages/statewide.py`` and ``pages/region.py`` on the fixture warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines import build
from query.viewer import Viewer
from routes import settings
from tests.support.apptest import page_app, page_script
from tests.support.exact_path import exact_viewer, read_the_whole_warehouse
from tests.support.warehouse_fixture import make_small_warehouse

STATEWIDE = page_script("statewide.py")
REGION = page_script("region.py")
LEADER = Viewer("lee", "leadership")
#: Reads the exact path over every record of the fixture (tests/support/exact_path.py): the page's exact numbers
#: and its "not built" notes are checked through it. In the product the exact path serves an analyst's
#: own-records scope on its own records only (tests/test_scope.py); leadership, and analysts by default,
#: read the protected release (test_statewide_leadership_sees_the_release).
ANALYST = exact_viewer("ana", "analyst", "la")


@pytest.fixture(autouse=True)
def _exact_path_over_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    read_the_whole_warehouse(monkeypatch)


@pytest.fixture
def built(tmp_env: Path) -> Path:
    path = settings.warehouse_path()
    make_small_warehouse(path, is_demo=False)
    build.build_warehouse(warehouse_path=path)
    return path


def _page(script: str, viewer: Viewer = LEADER, *, params: dict[str, str] | None = None) -> AppTest:
    return page_app(script, viewer, params=params, timeout=60).run()


def _text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption] + [i.value for i in app.info]
    parts += [d.value.to_csv() for d in app.dataframe]
    parts += [h.proto.body for h in app.get("html")]  # legends
    return "\n".join(str(p) for p in parts)


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_statewide_shows_headline_series_counties_and_hot_spots(built: Path) -> None:
    from ui import deferred

    app = _page(STATEWIDE, ANALYST)
    assert not app.exception
    metrics = _metrics(app)
    # the default period is the last full quarter (Oct-Dec 2025 in this fixture), against a year before
    assert metrics["Records"] == "356" and "Tips" in metrics
    # a session's first view: the county map only; the hot-spot map waits for the browser
    assert len(app.get("deck_gl_json_chart")) == 1
    assert "drawn once the county map is on screen" in _text(app)
    app.session_state[deferred.ready_key("statewide_hot_spots")] = True  # what the browser's trigger sets
    app.run()
    assert not app.exception
    assert len(app.get("deck_gl_json_chart")) == 2  # county rates, hot spots
    text = _text(app)
    assert "Oct 2025 – Dec 2025 (the last full quarter)" in text
    assert "Los Angeles" in text and "suppressed" in text  # Alpine's 3 records never show
    assert "fewer than 11" not in text  # an exact count hidden here may be 11 or more: never "fewer than 11"
    assert "Emerging hot spots" in text and "Persistent hot spot" in text


def test_statewide_widgets_change_the_view(built: Path) -> None:
    app = _page(STATEWIDE)
    assert app.radio(key="url_against").value == "year_before"  # the default: like with like
    app.radio(key="url_against").set_value("previous").run()
    assert not app.exception
    assert app.query_params["against"] == "previous"
    app.radio(key="url_hs_res").set_value(5).run()
    app.radio(key="url_hs_step").set_value("quarter").run()
    app.toggle(key="url_hs_all").set_value(False).run()
    assert not app.exception
    assert "res-5 hexagon" in _text(app) and "each quarter" in _text(app)
    app.multiselect(key="f_regions").set_value(["Region I"]).run()
    assert not app.exception
    assert "Alameda" not in app.dataframe[0].value.to_csv()


def test_statewide_opens_a_bookmarked_view(built: Path) -> None:
    app = _page(STATEWIDE, params={"from": "2025-04", "to": "2025-06", "hs_step": "quarter"})
    assert not app.exception
    assert "Apr 2025 – Jun 2025" in _text(app)


def test_statewide_says_when_hot_spots_are_not_built(tmp_env: Path) -> None:
    make_small_warehouse(settings.warehouse_path(), n=500, is_demo=False)
    app = _page(STATEWIDE, ANALYST)
    assert not app.exception
    assert "have not been computed" in _text(app)
    # a viewer who reads the protected release is told it is not built, never shown exact counts
    app = _page(STATEWIDE)
    assert not app.exception
    assert "protected release" in " ".join(w.value for w in app.warning) and not _metrics(app)


def test_statewide_leadership_sees_the_release(built: Path) -> None:
    from query import trends
    from query.filters import Filters

    app = _page(STATEWIDE)
    assert not app.exception
    released = trends.headline_figures(LEADER, Filters(start=date(2025, 10, 1), end=date(2025, 12, 1)))  # the default: last full quarter
    assert _metrics(app)["Records"] == f"{int(released.loc[0, 'records']):,}"
    assert "Figures for this viewer are protected" in _text(app)


def test_statewide_release_says_fewer_than_11_never_suppressed(built: Path) -> None:
    """A hidden released value reads one way on the page: header, captions, legend, tables and map tooltips."""
    import json

    from ui import deferred

    app = _page(STATEWIDE)
    app.session_state[deferred.ready_key("statewide_hot_spots")] = True
    app.run()
    assert not app.exception
    text = _text(app)
    assert "counts under 11 read “fewer than 11”" in text
    assert "suppressed" not in text

    def tips(node: object) -> list[str]:
        if isinstance(node, dict):
            return [str(v) for k, v in node.items() if k == "tip"] + [t for v in node.values() for t in tips(v)]
        return [t for v in node for t in tips(v)] if isinstance(node, list) else []

    shown = [t for chart in app.get("deck_gl_json_chart") for t in tips(json.loads(chart.proto.json))]
    assert shown and not [t for t in shown if "suppressed" in t]


def test_statewide_partner_never_sees_a_small_count(built: Path) -> None:
    app = _page(STATEWIDE, Viewer("ngo", "partner"), params={"regions": "Region III"})
    assert not app.exception
    for value in _metrics(app).values():  # a hidden released figure reads as the hotline's "fewer than 11"
        assert value == "fewer than 11" or int(value.replace(",", "")) >= 11 or value == "0"


def test_region_page_for_a_region_task_force_and_county(built: Path) -> None:
    app = _page(REGION)
    assert not app.exception
    assert "Cal OES Mutual Aid Region I" in _text(app)
    assert len(app.get("deck_gl_json_chart")) == 1
    app.radio(key="url_kind").set_value("county").run()
    app.selectbox(key="url_place").set_value("06037").run()
    assert not app.exception
    text = _text(app)
    assert "Los Angeles County" in text and "Orange" in text  # a neighbour
    assert app.query_params["place"] == "06037"
    app.radio(key="url_kind").set_value("task_force").run()
    assert not app.exception


def test_region_page_starts_at_the_analysts_task_force(built: Path) -> None:
    app = _page(REGION, Viewer("ana", "analyst", "san_diego"))
    assert not app.exception
    assert "San Diego" in _text(app)
    assert "Briefing export" in _text(app)


def test_region_page_shows_flows_and_exports_a_briefing(built: Path) -> None:
    app = _page(REGION, params={"kind": "county", "place": "06037"})
    assert not app.exception
    text = _text(app)
    assert "Flows in and out" in text and "From" in app.dataframe[1].value.columns
    app.text_input(key="region_purpose").input("quarterly task force meeting").run()
    app.button(key="region_export").click().run()
    assert not app.exception
    assert any("Briefing written" in s.value for s in app.success)
    assert any(b.label.startswith("Download briefing_") for b in app.get("download_button"))


def test_region_briefing_pack_and_files_stay_after_a_download(built: Path) -> None:
    """One export: a pack zip of every file, one audit entry; the buttons survive a rerun."""
    import io
    import zipfile

    from query import audit

    admin = Viewer("adm", "admin")
    app = _page(REGION, params={"kind": "county", "place": "06037"})
    app.text_input(key="region_purpose").input("quarterly task force meeting").run()
    before = len(audit.read_log(admin, action="export"))
    app.button(key="region_export").click().run()
    assert not app.exception
    def briefing_labels() -> list[str]:  # the tables' own audited "Download CSV" buttons aside
        return [b.label for b in app.get("download_button") if b.label != "Download CSV"]

    labels = briefing_labels()
    assert labels[0] == ":material/folder_zip: Download briefing pack" and len(labels) >= 7
    app.run()  # a click on a download button reran the page, and every button was gone
    assert briefing_labels() == labels
    pack_name, pack_bytes = app.session_state["region_briefing"][1][0]
    assert pack_name.endswith("_pack.zip")
    names = zipfile.ZipFile(io.BytesIO(pack_bytes)).namelist()
    assert {Path(n).suffix for n in names} == {".pdf", ".png", ".html", ".csv", ".geojson"}
    assert len(names) == len(labels) - 1  # the pack holds every single file
    assert len(audit.read_log(admin, action="export")) == before + 1


def test_region_flows_cover_the_headers_period(built: Path) -> None:
    """The flows tables count the period the header names (they were all-time, so a PDF of
    that period showed other numbers)."""
    from datetime import date

    from maps import statewide_maps as sm
    from query import release, trends
    from query.filters import Filters
    from ui.tables import hidden_as_released

    app = _page(REGION, params={"kind": "county", "place": "06037"})
    assert not app.exception
    period = trends.resolve_period(LEADER, Filters())
    assert period is not None and period[0] > date(2000, 1, 1)
    expected = trends.region_profile(LEADER, county="06037", filters=Filters().with_period(*period))
    everything = trends.region_profile(LEADER, county="06037", filters=Filters())
    shown_in = app.dataframe[1].value

    def as_shown(flows: pd.DataFrame) -> pd.DataFrame:  # no unmeasured victims; hidden reads "fewer than 11"
        return hidden_as_released(sm.flows_table(release.drop_unreleased(LEADER, flows), side="origin"), viewer=LEADER)

    expected_in = as_shown(expected.flows_in)
    assert not as_shown(everything.flows_in).equals(expected_in)  # the test can tell
    pd.testing.assert_frame_equal(shown_in.reset_index(drop=True), expected_in.reset_index(drop=True))


@pytest.mark.parametrize("script", [STATEWIDE, REGION])
def test_headline_and_tiles_follow_the_record_type_filter(built: Path, script: str) -> None:
    """Filtered to tips: the header names tips only, and no tile shows another type as 0."""
    app = _page(script, params={"record_types": "tip"})
    assert not app.exception
    caption = " ".join(c.value for c in app.caption)
    assert "records (tips only)" in caption and "service intakes" not in caption
    labels = set(_metrics(app))
    assert {"Records", "Victims"} <= labels
    assert not labels & {"Incidents", "Recoveries", "Service intakes"}, labels
    app = _page(script, params={"record_types": "tip,recovery"})
    assert {"Tips", "Recoveries"} <= set(_metrics(app)) and "Incidents" not in _metrics(app)


@pytest.mark.parametrize("script", [STATEWIDE, REGION])
def test_trend_shows_the_long_series_with_the_period_shaded(built: Path, script: str) -> None:
    """A quarter chosen: the trend still runs over every month, the quarter shaded (was 3 points)."""
    app = _page(script, params={"from": "2025-10", "to": "2025-12"})
    assert not app.exception
    import base64

    images = [
        base64.b64decode(img.url.split(",", 1)[1]).decode()
        for element in app.get("image") for img in element.proto.imgs if img.url.startswith("data:image/svg")
    ]
    trend = [i for i in images if "chosen period" in i]
    assert trend, images[:1]
    assert "2024" in trend[0] and "2025" in trend[0]  # the long series' year ticks


def test_statewide_default_comparison_means_something(built: Path) -> None:
    """The default period is a quarter, so 'previous' and 'a year before' are other months
    (with 12 months both were the same, and the toggle changed nothing)."""
    app = _page(STATEWIDE)
    year_before = [m.proto.delta for m in app.metric]
    app.radio(key="url_against").set_value("previous").run()
    assert not app.exception
    assert [m.proto.delta for m in app.metric] != year_before


@pytest.mark.parametrize("params", [{"source_kinds": "ngo"}, {"source_kinds": "ngo,hotline"}, {"indicators": "drugs"}],
                         ids=["one kind", "two kinds", "one indicator"])
def test_statewide_and_region_answer_source_kind_and_indicator_filters_from_the_release(
    built: Path, params: dict[str, str]
) -> None:
    """Leadership reads the release: under a source-kind or one-indicator filter the pages show the released count
    parts (before, they refused these filters with a message) and no refusal."""
    from query import trends
    from query.filters import Filters

    app = _page(STATEWIDE, params=params)
    assert not app.exception
    text = _text(app) + "\n".join(str(e.value) for e in app.error) + "\n".join(str(w.value) for w in app.warning)
    assert "no breakdown" not in text and "refused" not in text.lower()
    chosen = {k: tuple(v.split(",")) for k, v in params.items()}
    released = trends.headline_figures(LEADER, Filters(start=date(2025, 10, 1), end=date(2025, 12, 1), **chosen))
    value = released.loc[0, "records"]
    if pd.notna(value):  # a released count of k or more is shown as released
        assert _metrics(app)["Records"] == f"{int(value):,}"
    region = _page(REGION, params=params)
    assert not region.exception
    assert not region.error
    # the page stands: its headline counts are the released parts; only the flows, which the release has no
    # kind or indicator breakdown of, are left out, and the page says so where they would be
    assert "Records" in _metrics(region)
    warnings = "\n".join(str(w.value) for w in region.warning)
    assert "no breakdown" not in warnings
    assert "Flows in and out are not shown" in _text(region) and "no breakdown by" in _text(region)
    assert not [d for d in region.dataframe if "From" in d.value.columns or "To" in d.value.columns]
