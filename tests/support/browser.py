"""Real-browser harness: the app under ``streamlit run`` and Debian's chromium via Playwright.

What AppTest cannot check (the map canvas draws, nothing leaves the machine,
injected HTML stays text) is checked here:

- :func:`streamlit_server` starts ``streamlit run app.py`` on a free 127.0.0.1 port
  with ``ROUTES_WAREHOUSE`` pointing at the given warehouse and stops it after;
- :func:`chromium_page` opens a headless chromium page at 1366 x 768 that records
  every request, websocket and dialog;
- :func:`open_app_page` loads one page, waits for ``load``, for the script run to
  finish and (where there is one) for the map canvas, and saves a screenshot.

:func:`require_chromium` skips with a visible message when ``/usr/bin/chromium``
is missing, except under ``CI=true`` where it fails: the offline promise must be
checked in CI.

Chromium and the app server start only here (:func:`launch_chromium`,
:func:`streamlit_server`), and only for a test marked ``browser``
(``tests/conftest.py`` tells this module before the test's fixtures start): an
unmarked test fails instead of starting them, so ``make test-fast``
(``-m "not browser and not slow"``) never starts Chromium.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("ROUTES_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = REPO / "tests" / "artifacts"
#: Whether the running test is marked ``browser`` (set by ``tests/conftest.py``).
MARKED = False
#: The app under test (``ROUTES_BROWSER_APP`` overrides it, to debug the harness itself).
APP = Path(os.environ.get("ROUTES_BROWSER_APP", str(REPO / "app.py")))
VIEWPORT = {"width": 1366, "height": 768}
#: Schemes that never reach the network.
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}
LOCAL_HOSTS = {"127.0.0.1"}
#: The canvas deck.gl draws a map on (charts have canvases of their own).
MAP_CANVAS = '[data-testid="stDeckGlJsonChart"] canvas'


def require_browser_marker(what: str) -> None:
    """Fail the running test unless it is marked ``browser``: ``what`` must not start under ``make test-fast``."""
    if not MARKED:
        pytest.fail(
            f"{what} started by a test without the browser marker; `make test-fast` deselects only "
            "marked tests: add pytestmark = pytest.mark.browser (and slow) to the test module"
        )


def launch_chromium(playwright: object) -> object:
    """Debian's headless chromium through a running ``sync_playwright()``; only for a test marked ``browser``."""
    require_browser_marker("chromium")
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


def require_chromium() -> None:
    """Skip (visibly) when chromium is missing; under ``CI=true`` fail instead."""
    if CHROMIUM.exists():
        return
    message = f"browser tests need {CHROMIUM} (apt-get install chromium); it is missing"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " and CI=true forbids skipping them")
    print(f"\nSKIPPED: {message}", file=sys.stderr)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(
    *,
    warehouse: Path,
    env: dict[str, str] | None = None,
    app: Path | None = None,
    port: int | None = None,
    timeout_s: float = 90.0,
) -> Iterator[str]:
    """Run ``streamlit run app.py`` (or ``app``) on ``port`` (default: a free loopback port).

    Yields the base URL. ``env`` overrides the defaults (paths beside ``warehouse``).
    Only for a test marked ``browser``.
    """
    require_browser_marker("the app server (streamlit run)")
    port = port or free_port()
    run_env = {
        **os.environ,
        "ROUTES_WAREHOUSE": str(warehouse),
        "ROUTES_CONTROL": str(warehouse.parent / "control.sqlite"),
        "ROUTES_KEY_FILE": str(warehouse.parent.parent / "secrets" / "routes.key"),  # never inside the warehouse folder
        "ROUTES_QUIET": "1",
        "ROUTES_TILE_URL": "",
        "PYTHONPATH": str(REPO),
        **(env or {}),
    }
    log_path = warehouse.parent / f"streamlit-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(app or APP),
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ],
        cwd=REPO, env=run_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, timeout_s=timeout_s, log_path=log_path)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen, *, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        time.sleep(0.25)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout_s} s: {log_path.read_text()[-2000:]}")


@dataclass
class Recorder:
    """What a page did: every request URL, websocket URL, dialog and console error."""

    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def off_machine(self) -> list[str]:
        """Every request or websocket that did not go to 127.0.0.1."""
        bad = []
        for url in [*self.requests, *self.websockets]:
            parsed = urlparse(url)
            if parsed.scheme in LOCAL_SCHEMES:
                continue
            if parsed.hostname not in LOCAL_HOSTS:
                bad.append(url)
        return bad


@contextlib.contextmanager
def chromium_page() -> Iterator[tuple[object, Recorder]]:
    """A fresh headless chromium page (1366 x 768) and the :class:`Recorder` watching it."""
    from playwright.sync_api import sync_playwright

    recorder = Recorder()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport=VIEWPORT, service_workers="block")
            page = context.new_page()
            page.on("request", lambda r: recorder.requests.append(r.url))
            page.on("websocket", lambda w: recorder.websockets.append(w.url))

            def on_dialog(dialog: object) -> None:
                recorder.dialogs.append(f"{dialog.type}: {dialog.message}")  # type: ignore[attr-defined]
                dialog.dismiss()  # type: ignore[attr-defined]

            page.on("dialog", on_dialog)
            page.on(
                "console",
                lambda m: recorder.console_errors.append(m.text) if m.type == "error" else None,
            )
            yield page, recorder
        finally:
            browser.close()


def wait_for_run(page: object, *, timeout_ms: int = 60_000) -> None:
    """Wait until the Streamlit script run has finished (the status widget is gone)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMain\"]')",
        timeout=timeout_ms,
    )


def open_app_page(
    page: object,
    url: str,
    *,
    name: str,
    expect_canvas: bool,
    timeout_ms: int = 60_000,
) -> dict[str, float]:
    """Open ``url``, wait for the run (and the canvas), save ``tests/artifacts/<name>.png``.

    Returns timings in seconds: ``load``, ``canvas`` (when expected), ``done``.
    """
    started = time.perf_counter()
    page.goto(url, wait_until="load", timeout=timeout_ms)  # type: ignore[attr-defined]
    timings = {"load": time.perf_counter() - started}
    if expect_canvas:
        page.wait_for_selector(MAP_CANVAS, state="visible", timeout=timeout_ms)  # type: ignore[attr-defined]
        timings["canvas"] = time.perf_counter() - started
    wait_for_run(page, timeout_ms=timeout_ms)
    if expect_canvas:
        page.wait_for_timeout(1200)  # type: ignore[attr-defined]  # let deck.gl draw its layers
    timings["done"] = time.perf_counter() - started
    save_screenshot(page, name)
    return timings


def save_screenshot(page: object, name: str) -> Path:
    """Save a screenshot of the viewport as ``tests/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path


def choose_in_selectbox(page: object, label: str, option: str, *, timeout_ms: int = 30_000) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label`` and wait for the rerun."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first  # type: ignore[attr-defined]
    box.get_by_role("combobox").first.click()
    page.get_by_role("option", name=option, exact=True).click()  # type: ignore[attr-defined]
    wait_for_run(page, timeout_ms=timeout_ms)


def nav_links(page: object) -> list[tuple[str, str]]:
    """``(title, href)`` of every page in the sidebar navigation."""
    links = page.locator('[data-testid="stSidebarNavLink"]')  # type: ignore[attr-defined]
    out = []
    for i in range(links.count()):
        link = links.nth(i)
        title = link.inner_text().strip().splitlines()[-1].strip()  # after the icon's name
        out.append((title, link.get_attribute("href") or ""))
    return out
