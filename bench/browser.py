"""Time to first map in headless Chromium, and the app process's memory.

:func:`measure_browser` starts ``streamlit run app.py`` on a free 127.0.0.1 port
against the built warehouse (demo data, so the demo role switcher lets a browser
in without signing in), opens a fresh Chromium context, and times ``goto`` to the
first frame in which the first deck.gl chart's ``canvas`` (the statewide county
map) is visible *and* has been drawn on (:data:`FIRST_MAP_PROBE`): the cold
figure, with a server that has run no script yet. A second fresh context gives the warm figure. Then it
opens every page the navigation lists and reads the server's RSS (``VmRSS``) and
peak (``VmHWM``) from ``/proc``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench import REPO

CHROMIUM = Path(os.environ.get("ROUTES_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
#: The first map's canvas. Not any ``canvas``: ``st.dataframe`` draws on one too (the
#: statewide ranking table beside the map), often before deck.gl's code has loaded,
#: so a bare ``canvas`` could stop the clock on the table instead of the map.
MAP_CANVAS = '[data-testid="stDeckGlJsonChart"] canvas'
#: Run in the page before any of its scripts: marks the frame in which the first map
#: is shown. deck.gl puts its canvas in the page (visible, blank) before it can draw:
#: it first loads its WebGL code and compiles its shaders, which in software WebGL
#: takes up to a second or more. So the clock stops at the first animation frame
#: that begins after a frame in which WebGL drew on :data:`MAP_CANVAS` while it was
#: visible (non-empty box, not hidden: Playwright's "visible"), i.e. once that frame
#: has been handed to the screen. Checked on every frame, not at Playwright's polling
#: intervals (0, 20, 50, 100, 100 ms, then every 500 ms), which made the figure up
#: to half a second late.
FIRST_MAP_PROBE = """
(() => {
  let frame = 0, drawnIn = null;
  for (const proto of [self.WebGL2RenderingContext, self.WebGLRenderingContext].map(c => c && c.prototype)) {
    if (!proto) continue;
    for (const name of ['drawArrays', 'drawElements', 'drawArraysInstanced', 'drawElementsInstanced']) {
      const draw = proto[name];
      if (!draw) continue;
      proto[name] = function (...args) {
        if (drawnIn === null && this.canvas === document.querySelector(MAP_CANVAS)) {
          const box = this.canvas.getBoundingClientRect();
          if (box.width > 0 && box.height > 0 && this.canvas.checkVisibility()) drawnIn = frame;
        }
        return draw.apply(this, args);
      };
    }
  }
  const tick = () => {
    frame += 1;
    if (drawnIn !== null && frame >= drawnIn + 2) { self.__routesFirstMapShown = performance.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
""".replace("MAP_CANVAS", json.dumps(MAP_CANVAS))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory_mib(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` of a process, in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


@contextlib.contextmanager
def _server(warehouse_path: Path, log_path: Path, app: Path):
    port = _free_port()
    env = {**os.environ, "ROUTES_WAREHOUSE": str(warehouse_path), "ROUTES_QUIET": "1", "ROUTES_TILE_URL": "",
           "PYTHONPATH": str(REPO)}
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer at {url}")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        log.close()


def app_script(folder: Path) -> tuple[Path, str | None]:
    """``app.py``, or a copy without the pages whose file is not in the tree yet.

    Streamlit refuses to start the navigation when one ``st.Page`` file is missing,
    so while a page is being written the copy (page paths made absolute, the
    missing ones dropped) is what gets measured; the note says so.
    """
    source = (REPO / "app.py").read_text()
    missing = sorted({m for m in re.findall(r'st\.Page\("(pages/[^"]+)"', source) if not (REPO / m).exists()})
    if not missing:
        return REPO / "app.py", None
    lines = [line for line in source.splitlines() if not any(f'"{m}"' in line for m in missing)]
    copy = folder / "app_bench.py"
    copy.write_text("\n".join(lines).replace('st.Page("pages/', f'st.Page("{REPO}/pages/') + "\n")
    return copy, f"app.py lists {', '.join(missing)}, not in the tree yet: measured a copy without it"


def _wait_for_run(page, timeout_ms: int) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMain\"]')", timeout=timeout_ms)


def _first_map(browser, url: str, timeout_ms: int) -> float:
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    try:
        page = context.new_page()
        page.add_init_script(FIRST_MAP_PROBE)
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        page.wait_for_function("() => self.__routesFirstMapShown", polling="raf", timeout=timeout_ms)
        return time.perf_counter() - started
    finally:
        context.close()


def measure_browser(warehouse_path: Path, *, log_dir: Path, timeout_ms: int = 90_000) -> dict:
    """Cold and warm time to first map, every page's load, and the app's RSS."""
    if not CHROMIUM.exists():
        return {"error": f"{CHROMIUM} is missing"}
    from playwright.sync_api import sync_playwright

    app, note = app_script(log_dir)
    out: dict = {"note": note} if note else {}
    try:
        with _server(warehouse_path, log_dir / "streamlit.log", app) as (url, pid), sync_playwright() as pw:
            out["server_rss_idle_mib"] = _memory_mib(pid)["VmRSS"]
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                out["first_map_cold_s"] = _first_map(browser, url, timeout_ms)
                out["first_map_warm_s"] = _first_map(browser, url, timeout_ms)
                context = browser.new_context(viewport=VIEWPORT, service_workers="block")
                page = context.new_page()
                page.goto(url, wait_until="load", timeout=timeout_ms)
                _wait_for_run(page, timeout_ms)
                links = page.locator('[data-testid="stSidebarNavLink"]')
                hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
                loads: dict[str, float] = {}
                for href in hrefs:
                    target = href if href.startswith("http") else url + "/" + href.lstrip("/")
                    started = time.perf_counter()
                    page.goto(target, wait_until="load", timeout=timeout_ms)
                    _wait_for_run(page, timeout_ms)
                    loads[target.removeprefix(url).strip("/") or "statewide"] = time.perf_counter() - started
                out["page_loads_s"] = loads
                context.close()
            finally:
                browser.close()
            memory = _memory_mib(pid)
            out["app_rss_mib"] = memory["VmRSS"]
            out["app_peak_rss_mib"] = memory["VmHWM"]
    except Exception as exc:  # noqa: BLE001 - reported in RESULTS.md, the other figures still count
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return out
