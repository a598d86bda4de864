"""The synchronised maps (ui/deck_map.py) under AppTest: the view a link carries reaches the maps.

What the browser does with the view (both maps follow a pan, the URL gains it)
is in ``tests/test_browser_compare_sync.py``; here: the side-by-side compare
draws one component with both decks, a linked view starts it and stays in the
link, and a malformed view is named and dropped rather than failing the page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from query.viewer import Viewer
from routes import settings
from tests.support.warehouse_fixture import make_small_warehouse

HEATMAP = str(settings.REPO_ROOT / "pages" / "heatmap.py")
ANALYST = Viewer("ana", "analyst", "la")


@pytest.fixture(scope="module")
def warehouse_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from pipelines.build import build_warehouse

    root = tmp_path_factory.mktemp("deck_map")
    patch = pytest.MonkeyPatch()
    patch.setenv("ROUTES_WAREHOUSE", str(root / "warehouse" / "routes.duckdb"))
    patch.setenv("ROUTES_CONTROL", str(root / "warehouse" / "control.sqlite"))
    patch.setenv("ROUTES_KEY_FILE", str(root / "secrets" / "routes.key"))
    path = settings.warehouse_path()
    make_small_warehouse(path, n=3000, seed=4, is_demo=False)
    build_warehouse(warehouse_path=path)
    yield path
    patch.undo()


def _side_by_side(view: str | None) -> AppTest:
    from ui import session

    app = AppTest.from_file(HEATMAP, default_timeout=90)
    app.session_state[session.VIEWER_KEY] = ANALYST
    app.session_state[session.LAST_ACTIVE_KEY] = time.time()
    app.query_params["cmp"] = "side"
    if view is not None:
        app.query_params["view"] = view
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _component_args(app: AppTest) -> dict[str, object]:
    (element,) = [e for e in app.get("component_instance") if "deck_map" in e.proto.component_name]  # type: ignore[attr-defined]
    return json.loads(element.proto.json_args)  # type: ignore[attr-defined]


def test_side_by_side_is_one_component_with_both_decks(warehouse_env: Path) -> None:
    app = _side_by_side(None)
    args = _component_args(app)
    assert len(args["specs"]) == 2  # type: ignore[arg-type]
    assert not app.get("deck_gl_json_chart")  # no map drawn on its own, with a view of its own
    assert "view" not in app.query_params  # nothing moved: the link names no view
    assert str(args["bundle_url"]).endswith("ui.deck_map.deckgl_bundle/index.js")  # served locally, not a CDN
    assert all(json.loads(spec).get("mapProvider") is None and "://" not in spec for spec in args["specs"])  # type: ignore[union-attr]


def test_a_linked_view_starts_the_maps_and_stays_in_the_link(warehouse_env: Path) -> None:
    app = _side_by_side("-118.3,34.05,8.5")
    assert _component_args(app)["view"] == {"longitude": -118.3, "latitude": 34.05, "zoom": 8.5}
    assert app.query_params["view"] == "-118.30000,34.05000,8.50"  # normalised


def test_a_malformed_view_is_named_and_dropped(warehouse_env: Path) -> None:
    app = _side_by_side("34.05,-118.3")
    captions = " ".join(c.value for c in app.caption)
    assert "map view '34.05,-118.3' is not 'longitude,latitude,zoom'" in captions, captions
    assert "view" not in app.query_params
    args = _component_args(app)
    assert args["view"]["zoom"] < 8  # type: ignore[index]  # the default view: all of California
