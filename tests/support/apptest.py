"""AppTest helpers shared by the page tests: the signed-in viewers, the map pages, a run that must not raise."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from query.viewer import Viewer
from routes import settings

VIEWERS = {
    "analyst": Viewer("ana", "analyst", "la"),
    "lead": Viewer("lee", "lead", "san_diego"),
    "partner": Viewer("pat", "partner"),
    "leadership": Viewer("lea", "leadership"),
    "admin": Viewer("adm", "admin"),
}


def page_script(name: str) -> str:
    """The path of ``pages/<name>`` (what :func:`page_app` runs)."""
    return str(settings.REPO_ROOT / "pages" / name)


HEATMAP = page_script("heatmap.py")
FLOWS = page_script("flows_and_corridors.py")


def page_app(script: str, viewer: Viewer | None, *, params: dict[str, str] | None = None,
             timeout: float = 90) -> AppTest:
    """An AppTest of ``script`` with ``viewer`` signed in (as ``ui/session.py`` keeps it) and ``params`` in the URL.

    ``timeout`` is each run's limit in seconds.
    """
    from ui import session

    app = AppTest.from_file(script, default_timeout=timeout)
    if viewer is not None:
        app.session_state[session.VIEWER_KEY] = viewer
        app.session_state[session.LAST_ACTIVE_KEY] = time.time()
    for key, value in (params or {}).items():
        app.query_params[key] = value
    return app


def ran_ok(app: AppTest) -> AppTest:
    """``app`` after a run that raised nothing (else the test fails with the exceptions)."""
    assert not app.exception, [e.value for e in app.exception]
    return app
