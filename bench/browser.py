"""Time to first map in headless Chromium, and the app process's memory.

:func:`measure_browser` starts ``streamlit run app.py`` on a free 127.0.0.1 port
against the built warehouse (demo data, so the demo role switcher lets a browser
in without signing in), opens a fresh Chromium context, and times ``goto`` to the
first frame in which the first deck.gl chart's ``canvas`` (the statewide county
map) is visible *and* has been drawn on (:data:`FIRST_MAP_PROBE`): the cold
figure, with a server that has run no script yet. A second fresh context gives the warm figure. Then it
opens every page the navigation lists and reads the server's RSS (``VmRSS``) and
peak (``VmHWM``) from ``/proc``.

Issue 23's figures (:func:`measure_views`, read by :func:`speed_rows`): every view
of :data:`VIEWS` (each page, and the heatmap's side-by-side compare) from navigation
to its maps drawn with their data (:data:`SETTLE_PROBE`, :func:`settled`), a filter
change on Statewide and the Heatmap, and playback steps on the Heatmap (the
map component's own stamps, :func:`component_steps`); each divided by the same measurement of a trivial page,
``bench/floor_app.py``, on its own server in the same run (:func:`measure_floor`),
and judged PASS/MISS against :data:`TARGETS_S` without failing the run.
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
from typing import TYPE_CHECKING

from bench import REPO

if TYPE_CHECKING:  # pragma: no cover
    from playwright.sync_api import ViewportSize

CHROMIUM = Path(os.environ.get("ROUTES_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
#: The first map's canvas. Not any ``canvas``: ``st.dataframe`` draws on one too (the
#: statewide ranking table beside the map), often before deck.gl's code has loaded,
#: so a bare ``canvas`` could stop the clock on the table instead of the map.
#: The synchronised maps (``ui/deck_map.py``) draw in a frame of their own: one map in its
#: ``routesDeckMap`` element, the side-by-side pair on one canvas (two views of one deck).
MAP_CANVAS = ('[data-testid="stDeckGlJsonChart"] canvas, [data-testid="routesDeckMap"] canvas, '
              '[data-testid="routesDeckMaps"] canvas')
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


#: Run in the page before any of its scripts: records what the user sees settle.
#: ``__routesDraws``: for every frame in which WebGL drew on a visible map canvas
#: (:data:`MAP_CANVAS`), the time (``performance.now()``) of the animation frame two
#: frames later, when that frame has been handed to the screen, and which canvas (by
#: order of first draw). ``__routesMain``: the last change to the page's main area
#: (the content of a page without a map). ``__routesRunning``: whether Streamlit's
#: running indicator is shown. :func:`settled` reads these after a navigation, a
#: filter change or a playback step.
SETTLE_PROBE = """
(() => {
  // in a map component's frame (same origin), draws are recorded on the page, on the page's clock
  const root = self !== self.top ? self.top : self;
  const ids = new WeakMap();
  let frame = 0, lastTick = 0, drewIn = new Map();
  if (root === self) { self.__routesDraws = []; self.__routesMain = 0; self.__routesRunning = false; self.__routesCanvases = 0; }
  for (const proto of [self.WebGL2RenderingContext, self.WebGLRenderingContext].map(c => c && c.prototype)) {
    if (!proto) continue;
    for (const name of ['drawArrays', 'drawElements', 'drawArraysInstanced', 'drawElementsInstanced']) {
      const draw = proto[name];
      if (!draw) continue;
      proto[name] = function (...args) {
        const canvas = this.canvas;
        if (canvas && canvas.matches && canvas.matches(MAP_CANVAS)) {
          const box = canvas.getBoundingClientRect();
          if (box.width > 0 && box.height > 0 && canvas.checkVisibility()) {
            if (!ids.has(canvas)) ids.set(canvas, root.__routesCanvases++);
            drewIn.set(ids.get(canvas), frame);
            // a component frame's loop can stall (its first frames drawn at height 0): restart it
            if (performance.now() - lastTick > 100) { lastTick = performance.now(); requestAnimationFrame(tick); }
          }
        }
        return draw.apply(this, args);
      };
    }
  }
  const tick = () => {
    frame += 1;
    lastTick = performance.now();
    for (const [canvas, drawn] of drewIn) {
      if (frame >= drawn + 2) { root.__routesDraws.push([root.performance.now(), canvas]); drewIn.delete(canvas); }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  if (root !== self) return;
  const watch = () => {
    if (!document.body) { setTimeout(watch, 5); return; }
    new MutationObserver(records => {
      const now = performance.now();
      self.__routesRunning = !!document.querySelector('[data-testid="stStatusWidget"]');
      if (records.some(r => r.target.closest && r.target.closest('[data-testid="stMain"]'))) self.__routesMain = now;
    }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  };
  watch();
})();
""".replace("MAP_CANVAS", json.dumps(MAP_CANVAS))
#: No map drawn and nothing changed in the main area for this long (and Streamlit
#: not running): the page has settled; its figure is the last change before.
QUIET_MS = 1500
#: The issue's targets (issue 23, "Speed you can feel"), seconds.
#: After a filter change, this long without a map frame: the page shows no map (a refusal, say).
NO_MAP_MS = 10_000
TARGETS_S = {"map": 2.0, "filter": 1.0, "playback": 0.5}


def settled(draws: list[list[float]], main_changed: float, *, since: float, maps: int = 1) -> dict:
    """When a page settled after ``since`` (ms, the page's clock), from :data:`SETTLE_PROBE`'s records.

    ``draws`` are ``[time, canvas]`` pairs; ``maps`` is how many map canvases the
    view has. Returns ``{"s": seconds, "what": "map" | "content"}``: the last map
    frame after ``since`` when at least ``maps`` canvases drew (the view's maps with
    their data, not only a first outline), else the main area's last change.
    """
    after = [(t, c) for t, c in draws if t >= since]
    if after and len({c for _, c in after}) >= maps:
        return {"s": (max(t for t, _ in after) - since) / 1000, "what": "map"}
    return {"s": max(main_changed - since, 0.0) / 1000, "what": "content"}


def playback_steps(draws: list[list[float]], *, since: float, gap_ms: float = 400) -> list[float]:
    """Seconds between successive months' maps while playing.

    Map frames after ``since`` come in bursts, one per month (deck.gl draws a few
    frames as a new layer's data arrives); a pause longer than ``gap_ms`` starts the
    next month. A step is the time from one burst's last frame to the next one's.
    """
    times = sorted(t for t, _ in draws if t >= since)
    ends: list[float] = []
    for i, t in enumerate(times):
        if i + 1 == len(times) or times[i + 1] - t > gap_ms:
            ends.append(t)
    return [(b - a) / 1000 for a, b in zip(ends, ends[1:], strict=False)]


def verdict(seconds: float | None, target: float) -> str:
    """``PASS`` or ``MISS`` against a target (``–`` when not measured)."""
    if seconds is None:
        return "–"
    return "PASS" if seconds <= target else "MISS"


def speed_rows(speed: dict) -> list[dict]:
    """One row per figure of :func:`measure_views`: its floor, ratio, target and verdict.

    Navigation is divided by the floor page's navigation to its map, a filter
    change and a playback step (the median of the steps) by the floor page's redraw.
    """
    floor = speed.get("floor", {})
    rows = []
    for view, f in speed.get("views", {}).items():
        rows.append({"what": f"open {view} ({f['what']})", "s": f["s"], "floor_s": floor.get("map_s"),
                     "target_s": TARGETS_S["map"]})
    for view, f in speed.get("filter", {}).items():
        rows.append({"what": f"filter change on {view} ({f['what']})", "s": f["s"],
                     "floor_s": floor.get("redraw_s"), "target_s": TARGETS_S["filter"]})
    steps = sorted(speed.get("playback_steps_s") or [])
    if steps:
        median = steps[len(steps) // 2] if len(steps) % 2 else (steps[len(steps) // 2 - 1] + steps[len(steps) // 2]) / 2
        rows.append({"what": f"playback step on heatmap (median of {len(steps)})", "s": median,
                     "floor_s": floor.get("redraw_s"), "target_s": TARGETS_S["playback"]})
    for row in rows:
        row["ratio"] = row["s"] / row["floor_s"] if row["floor_s"] else None
        row["verdict"] = verdict(row["s"], row["target_s"])
    return rows


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


#: The views timed, ``(name, path and query, map canvases it draws)``; 0 maps: the
#: page's main content is what is timed. Pages the navigation does not list are skipped.
#: The side-by-side compare draws its two maps on one canvas (two views of one deck).
VIEWS = (
    ("statewide", "", 1), ("heatmap", "heatmap", 1), ("flows_and_corridors", "flows_and_corridors", 1),
    ("region", "region", 1), ("data_intake", "data_intake", 0), ("deconfliction", "deconfliction", 0),
    ("heatmap_compare_side", "heatmap?cmp=side", 1),
)
#: The filter change timed on these pages: "Record type" set to :data:`FILTER_OPTION`.
FILTER_VIEWS = ("statewide", "heatmap")
FILTER_OPTION = "tip"


def _settle(page, *, since: float, maps: int, timeout_ms: int, no_map_ms: float | None = None) -> dict:
    """Wait until the page is quiet (:data:`QUIET_MS`) after ``since``; when it settled.

    Quiet only counts once ``maps`` canvases drew: deck.gl loading its code, or
    building a large layer's attributes, is a pause with nothing else to see. With
    ``no_map_ms`` (after a filter change, whose result may be a refusal instead of
    a map), that long a quiet without a map frame settles too.
    """
    page.wait_for_function(
        """([since, maps, quiet, noMap]) => {
          const draws = self.__routesDraws.filter(d => d[0] >= since);
          const last = Math.max(since, self.__routesMain, ...draws.map(d => d[0]));
          const idle = performance.now() - last;
          if (self.__routesRunning || document.querySelector('[data-testid="stStatusWidget"]')) return false;
          if (maps && new Set(draws.map(d => d[1])).size < maps) return noMap !== null && idle >= noMap;
          return idle >= quiet;
        }""", arg=[since, maps, QUIET_MS, no_map_ms], polling=100, timeout=timeout_ms)
    draws, main = page.evaluate("[self.__routesDraws, self.__routesMain]")
    return settled(draws, main, since=since, maps=maps)


def _open_view(context, url: str, maps: int, timeout_ms: int):
    page = context.new_page()
    page.add_init_script(SETTLE_PROBE)
    page.goto(url, wait_until="commit", timeout=timeout_ms)
    return page, _settle(page, since=0.0, maps=maps, timeout_ms=timeout_ms)


def _change_filter(page, maps: int, timeout_ms: int) -> dict:
    """Pick :data:`FILTER_OPTION` as the record type in the sidebar; when the page settled after the pick."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Record type").first
    option = page.get_by_role("option", name=FILTER_OPTION, exact=True)
    for _ in range(5):
        box.get_by_role("combobox").first.focus(timeout=timeout_ms)
        page.keyboard.press("ArrowDown")  # opens the list (a click on the box only focuses it)
        with contextlib.suppress(Exception):
            option.wait_for(timeout=3_000)
            break
    since = page.evaluate("performance.now()")
    option.click(timeout=timeout_ms)
    return _settle(page, since=since, maps=maps, timeout_ms=timeout_ms, no_map_ms=NO_MAP_MS)


def component_steps(log: list[list[float | None]]) -> list[float]:
    """Seconds per playback step from the map component's stamps (``data-step-log``).

    Each entry is ``[month index, switched, drawn, shown]`` (``ui/deck_map_frontend``):
    a step is from the switch to the month until the frame drawn with it is on
    screen (two animation frames after deck.gl drew it). The first entry is the
    first month shown as the map appears, not a step; entries not yet on screen
    are left out.

    >>> component_steps([[0, 100.0, 900.0, 1000.0], [1, 1500.0, 1510.0, 1600.0], [2, 2100.0, 2105.0, None]])
    [0.1]
    """
    return [(shown - switched) / 1000 for _, switched, _, shown in log[1:]
            if shown is not None and switched is not None]


#: The map component's frame, and the element on which it stamps each playback step.
PLAY_FRAME = 'iframe[title*="deck_map"]'
PLAY_STAMPS = '[data-testid="routesDeckMap"]'


def _playback(page, timeout_ms: int, *, steps: int = 4) -> list[float]:
    """Press "Play months" and time ``steps`` months after the first, as the map component stamps them.

    The Heatmap sends every month once and the component steps in the browser
    (``ui/deck_map.py``'s ``played_months``); each step is the time from the
    switch to the month until its frame is on screen (:func:`component_steps`).
    """
    page.get_by_role("button", name=re.compile("Play months")).click(timeout=timeout_ms)
    page.wait_for_selector(PLAY_FRAME, timeout=timeout_ms)
    frame = page.frame_locator(PLAY_FRAME).first
    stamps = frame.locator(PLAY_STAMPS).first
    deadline = time.monotonic() + timeout_ms / 1000
    log: list = []
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            log = json.loads(stamps.get_attribute("data-step-log", timeout=1_000) or "[]")
        if len(component_steps(log)) >= steps:
            break
        page.wait_for_timeout(200)
    return component_steps(log)[:steps]


def measure_views(url: str, browser, *, timeout_ms: int, available: set[str]) -> dict:
    """Every view's navigation, the filter change and a playback step, against the floor's.

    Each view opens in a fresh context after one untimed visit (the server has run
    that page's script once: the warm figure a second user sees).
    """
    out: dict = {"views": {}, "filter": {}, "errors": {}}
    for name, path, maps in VIEWS:
        if path.split("?")[0] and path.split("?")[0] not in available:
            continue
        try:
            for attempt in ("untimed", "timed"):
                context = browser.new_context(viewport=VIEWPORT, service_workers="block")
                try:
                    page, nav = _open_view(context, f"{url}/{path}", maps, timeout_ms)
                    if attempt == "timed":
                        out["views"][name] = nav
                        if name in FILTER_VIEWS:
                            try:
                                out["filter"][name] = _change_filter(page, maps, timeout_ms)
                            except Exception as exc:  # noqa: BLE001 - reported; playback still timed
                                out["errors"][f"{name} filter"] = f"{type(exc).__name__}: {exc}"[:300]
                        if name == "heatmap":  # on a fresh page: not after the filter change
                            page.close()
                            page, _ = _open_view(context, f"{url}/{path}", maps, timeout_ms)
                            out["playback_steps_s"] = _playback(page, timeout_ms)
                finally:
                    context.close()
        except Exception as exc:  # noqa: BLE001 - one view failing leaves the others' figures
            out["errors"][name] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def measure_floor(browser, log_dir: Path, *, timeout_ms: int) -> dict:
    """:mod:`bench.floor_app` on its own server: navigation to its map and one redraw."""
    with _server(Path(os.environ.get("ROUTES_WAREHOUSE", "")), log_dir / "streamlit_floor.log",
                 REPO / "bench" / "floor_app.py") as (url, _pid):
        for attempt in ("untimed", "timed"):
            context = browser.new_context(viewport=VIEWPORT, service_workers="block")
            try:
                page, nav = _open_view(context, url, 1, timeout_ms)
                if attempt == "timed":
                    box = page.locator('[data-testid="stSelectbox"]').first
                    box.get_by_role("combobox").first.click(timeout=timeout_ms)
                    option = page.get_by_role("option", name="red", exact=True)
                    option.wait_for(timeout=timeout_ms)
                    since = page.evaluate("performance.now()")
                    option.click(timeout=timeout_ms)
                    redraw = _settle(page, since=since, maps=1, timeout_ms=timeout_ms)
                    return {"map_s": nav["s"], "redraw_s": redraw["s"]}
            finally:
                context.close()
    raise AssertionError("unreachable")


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
                available = {h.split("?")[0].rstrip("/").rsplit("/", 1)[-1] for h in hrefs}
                out["speed"] = measure_views(url, browser, timeout_ms=timeout_ms, available=available)
                try:
                    out["speed"]["floor"] = measure_floor(browser, log_dir, timeout_ms=timeout_ms)
                except Exception as exc:  # noqa: BLE001 - the figures stand without their ratio
                    out["speed"]["errors"]["floor"] = f"{type(exc).__name__}: {exc}"[:300]
                for row in speed_rows(out["speed"]):
                    ratio = f"{row['ratio']:.1f}× floor" if row["ratio"] else "no floor"
                    print(f"[bench browser] {row['verdict']} {row['what']}: {row['s']:.2f} s ({ratio}; "
                          f"target ≤ {row['target_s']:g} s)", file=sys.stderr, flush=True)
            finally:
                browser.close()
            memory = _memory_mib(pid)
            out["app_rss_mib"] = memory["VmRSS"]
            out["app_peak_rss_mib"] = memory["VmHWM"]
    except Exception as exc:  # noqa: BLE001 - reported in RESULTS.md, the other figures still count
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return out
