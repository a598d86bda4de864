"""Sign-in in a real browser: local accounts, lockout, idle expiry, and the OIDC round trip.

``streamlit run app.py`` on a free 127.0.0.1 port, Debian's chromium through
Playwright, and for OIDC ``oidc-provider-mock`` on 127.0.0.1 with a generated
``secrets.toml`` (in a temporary ``HOME``, so nothing is written to the repo).
Skipped with a visible reason when ``/usr/bin/chromium`` is missing, never
under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines.ingest.sources import add_source
from query import audit
from query.viewer import Viewer
from routes import accounts
from tests.support.browser import (
    chromium_page,
    free_port,
    require_chromium,
    streamlit_server,
    wait_for_run,
)
from tests.support.warehouse_fixture import make_small_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = Viewer("root", "admin")
PASSWORD = "correct horse battery"


@contextlib.contextmanager
def app_server(root: Path, *, env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """``streamlit run app.py`` with the warehouse, control store and key of ``root``.

    ``HOME`` points into ``root`` so a generated ``.streamlit/secrets.toml`` stays there.
    """
    (root / "home").mkdir(exist_ok=True)
    overrides = {"ROUTES_KEY_FILE": str(root / "secrets" / "routes.key"), "HOME": str(root / "home"), **env}
    with streamlit_server(warehouse=root / "warehouse" / "routes.duckdb", env=overrides, port=port) as url:
        yield url


@pytest.fixture
def real_warehouse(tmp_env: Path) -> Path:
    require_chromium()
    make_small_warehouse(tmp_env / "warehouse" / "routes.duckdb", n=600, is_demo=False)
    return tmp_env


def _sign_in(page: object, user: str, password: str) -> None:
    page.get_by_label("User name").fill(user)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in", exact=True).click()  # type: ignore[attr-defined]
    wait_for_run(page)


def _failed(user: str) -> int:
    row = accounts.list_accounts().set_index("user").loc[user]
    return int(row["failed_attempts"])


def _locked(user: str) -> bool:
    value = accounts.list_accounts().set_index("user").loc[user, "locked_until"]
    return isinstance(value, str) and bool(value)


def _refusals(user: str, reason: str) -> int:
    log = audit.read_log(Viewer("root", "admin"), action="sign_in_failed", user=user)
    return int(log["what"].str.contains(reason).sum())


def _wait_until(condition: Callable[[], bool], *, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not record the attempt in time")
        time.sleep(0.2)


def _text(page: object) -> str:
    return page.locator('[data-testid="stApp"]').inner_text()  # type: ignore[attr-defined]


def test_local_sign_in_lockout_and_idle_expiry(real_warehouse: Path) -> None:
    accounts.add_account("alice", PASSWORD, role="analyst", task_force="la", by=ADMIN)
    accounts.add_account("bob", PASSWORD, role="leadership", by=ADMIN)
    with app_server(real_warehouse, env={"ROUTES_IDLE_MINUTES": "0.15"}) as url, chromium_page() as (page, rec):
        page.goto(url, wait_until="load")
        wait_for_run(page)
        page.get_by_label("User name").wait_for()
        assert "Signed in" not in _text(page)
        assert page.locator('[data-testid="stDataFrame"], [data-testid="stMetric"], canvas').count() == 0

        for attempt in range(1, 5):
            _sign_in(page, "alice", "not the password")
            _wait_until(lambda n=attempt: _failed("alice") == n)
            page.get_by_text("wrong password").wait_for()
        _sign_in(page, "alice", "not the password")
        _wait_until(lambda: _locked("alice"))  # locked, but the page does not say so (issue 18)
        _sign_in(page, "alice", PASSWORD)
        _wait_until(lambda: _refusals("alice", "account locked") == 1)
        page.get_by_text(accounts.SIGN_IN_FAILED).wait_for(timeout=30_000)
        assert "Signed in" not in _text(page) and "failed sign-ins" not in _text(page)

        _sign_in(page, "bob", PASSWORD)
        page.get_by_text("Signed in as").wait_for(timeout=60_000)
        assert "leadership" in _text(page)

        page.wait_for_timeout(10_000)  # idle for longer than 0.15 minutes
        page.locator('[data-testid="stSidebarNavLink"]').nth(1).click()
        wait_for_run(page)
        page.get_by_text("without activity").wait_for(timeout=60_000)
        assert "Signed in as" not in _text(page)
        assert not rec.off_machine(), rec.off_machine()


def test_a_demo_warehouse_with_one_real_source_asks_for_sign_in(tmp_env: Path) -> None:
    """Issue 18, failure 1: the first real source ends demo mode, in the browser too."""
    require_chromium()
    make_small_warehouse(tmp_env / "warehouse" / "routes.duckdb", n=600, is_demo=True)
    with app_server(tmp_env, env={}) as url, chromium_page() as (page, rec):
        page.goto(url, wait_until="load")
        wait_for_run(page)
        page.get_by_text("Demo mode").wait_for(timeout=60_000)  # the demo opens as before
    add_source("sjso", name="San Joaquin County Sheriff", kind="law_enforcement",
               task_force="san_joaquin", contact="HT unit desk")
    with app_server(tmp_env, env={}) as url, chromium_page() as (page, rec):
        page.goto(url, wait_until="load")
        wait_for_run(page)
        page.get_by_label("User name").wait_for(timeout=60_000)
        text = _text(page)
        assert "Demo mode" not in text and "Demo role" not in text
        assert page.locator('[data-testid="stDataFrame"], [data-testid="stMetric"], canvas').count() == 0
        assert not rec.off_machine(), rec.off_machine()


MOCK_PROVIDER = """
import sys, warnings
warnings.simplefilter("ignore")
import werkzeug.serving
from oidc_provider_mock import User, app
users = [User(sub="alice", claims={"email": "alice@example.org", "groups": ["staff", "la-htf"]}),
         User(sub="mallory", claims={"email": "m@example.org", "groups": ["staff"]})]
server = werkzeug.serving.make_server("127.0.0.1", int(sys.argv[1]), app(user_claims=users), threaded=True)
print("ready", flush=True)
server.serve_forever(0.1)
"""


@contextlib.contextmanager
def oidc_provider(root: Path) -> Iterator[int]:
    """``oidc-provider-mock`` on 127.0.0.1 in its own process (its deprecation warnings stay there)."""
    port = free_port()
    with open(root / "oidc.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-c", MOCK_PROVIDER, str(port)], stdout=subprocess.PIPE,
                                   stderr=log, text=True, start_new_session=True)
        try:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready", (
                (root / "oidc.log").read_text()
            )
            yield port
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


#: The mock provider's own login page pulls a stylesheet from a CDN (blocked
#: offline; it is the test double, not Routes).
MOCK_PAGE_ASSETS = ("https://cdn.jsdelivr.net/npm/@picocss/",)


def _off_machine(rec: object) -> list[str]:
    return [u for u in rec.off_machine() if not u.startswith(MOCK_PAGE_ASSETS)]  # type: ignore[attr-defined]


def _oidc_sign_in(page: object, url: str, provider_port: int, sub: str) -> None:
    page.goto(url, wait_until="load")  # type: ignore[attr-defined]
    wait_for_run(page)
    page.get_by_role("button", name="Sign in with your organisation").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"http://127.0.0.1:{provider_port}/**", wait_until="load")  # type: ignore[attr-defined]
    page.get_by_role("button", name=sub, exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{url}/**", wait_until="load")  # type: ignore[attr-defined]
    wait_for_run(page)


def test_oidc_round_trip(real_warehouse: Path) -> None:
    port = free_port()
    env = {"ROUTES_OIDC_ROLES": "ht-admins=admin,la-htf=analyst:la"}
    with oidc_provider(real_warehouse) as provider_port:
        home = real_warehouse / "home" / ".streamlit"
        home.mkdir(parents=True)
        (home / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "routes"\n'
            'client_secret = "routes-secret"\n'
            f'server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"\n'
        )
        with app_server(real_warehouse, env=env, port=port) as url, chromium_page() as (page, rec):
            _oidc_sign_in(page, url, provider_port, "alice")
            page.get_by_text("Signed in as").wait_for(timeout=60_000)
            assert "alice@example.org" in _text(page) and "analyst · la" in _text(page)
            assert not _off_machine(rec), _off_machine(rec)

        # a user whose groups map to no role sees nothing but the refusal
        with app_server(real_warehouse, env=env, port=port) as url, chromium_page() as (page, _):
            _oidc_sign_in(page, url, provider_port, "mallory")
            page.get_by_text("belongs to no group").wait_for(timeout=60_000)
            assert "Signed in as" not in _text(page)
            assert page.locator('[data-testid="stDataFrame"], [data-testid="stMetric"], canvas').count() == 0
