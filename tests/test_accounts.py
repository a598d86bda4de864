"""Tests of routes/accounts.py and ui/session.py: local sign-in, lockout, idle expiry, demo roles."""

from __future__ import annotations

import re
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from query import audit
from query.viewer import Viewer
from routes import accounts, settings
from routes.errors import AccessDenied, AuthError, ConfigError
from tests.support.warehouse_fixture import make_small_warehouse

ADMIN = Viewer("root", "admin")
PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def alice(tmp_env: Path) -> str:
    accounts.add_account("alice", PASSWORD, role="analyst", task_force="la", by=ADMIN)
    return "alice"


def test_sign_in_returns_the_accounts_viewer(alice: str) -> None:
    viewer = accounts.authenticate(alice, PASSWORD, now=T0)
    assert viewer == Viewer("alice", "analyst", "la")
    listed = accounts.list_accounts().set_index("user").loc["alice"]
    assert listed["last_sign_in"].startswith("2026-03-01T09:00")
    assert "password_hash" not in accounts.list_accounts().columns


def test_passwords_are_stored_as_argon2id(alice: str) -> None:
    import sqlite3

    con = sqlite3.connect(str(settings.control_path()))
    (stored,) = con.execute("SELECT password_hash FROM accounts WHERE user = 'alice'").fetchone()
    con.close()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_wrong_password_and_unknown_user_say_the_same(alice: str) -> None:
    with pytest.raises(AuthError) as wrong:
        accounts.authenticate(alice, "not the password", now=T0)
    with pytest.raises(AuthError) as unknown:
        accounts.authenticate("nobody", "not the password", now=T0)
    assert str(wrong.value) == str(unknown.value)


def _locked_until(user: str) -> str | None:
    value = accounts.list_accounts().set_index("user").loc[user, "locked_until"]
    return None if value is None or pd.isna(value) else str(value)


def test_five_failures_lock_for_ten_minutes(alice: str) -> None:
    # The lock used to be announced ("locked for 10 minutes … after 09:10 UTC"): that told
    # anyone which accounts exist. The message is now the same; the state is the admin's.
    for i in range(5):
        with pytest.raises(AuthError, match="^" + re.escape(accounts.SIGN_IN_FAILED) + "$"):
            accounts.authenticate(alice, "bad", now=T0 + timedelta(seconds=i))
    assert _locked_until(alice) == (T0 + timedelta(seconds=4, minutes=10)).isoformat()
    # even the right password is refused while locked
    with pytest.raises(AuthError, match=re.escape(accounts.SIGN_IN_FAILED)):
        accounts.authenticate(alice, PASSWORD, now=T0 + timedelta(minutes=9, seconds=59))
    assert accounts.authenticate(alice, PASSWORD, now=T0 + timedelta(minutes=10, seconds=6)).user == alice


def test_a_success_resets_the_failure_count(alice: str) -> None:
    for i in range(4):
        with pytest.raises(AuthError):
            accounts.authenticate(alice, "bad", now=T0 + timedelta(seconds=i))
    accounts.authenticate(alice, PASSWORD, now=T0 + timedelta(seconds=5))
    for i in range(4):
        with pytest.raises(AuthError, match="wrong password"):
            accounts.authenticate(alice, "bad", now=T0 + timedelta(seconds=10 + i))


def test_reset_unlocks_and_disable_refuses(alice: str) -> None:
    for i in range(5):
        with pytest.raises(AuthError):
            accounts.authenticate(alice, "bad", now=T0 + timedelta(seconds=i))
    accounts.reset_password(alice, "a brand new passphrase", by=ADMIN)
    assert accounts.authenticate(alice, "a brand new passphrase", now=T0 + timedelta(seconds=7)).role == "analyst"
    accounts.set_disabled(alice, by=ADMIN)
    with pytest.raises(AuthError, match=re.escape(accounts.SIGN_IN_FAILED)):
        accounts.authenticate(alice, "a brand new passphrase", now=T0 + timedelta(seconds=8))
    log = audit.read_log(ADMIN)
    assert log["action"].tolist() == ["sign_in_failed", "account_disable", "sign_in", "account_reset",
                                      *["sign_in_failed"] * 5, "account_add"]
    assert log["what"].iloc[0] == "local sign-in as 'alice': account disabled"
    assert audit.verify_chain() == 10


def test_account_rules_name_the_bad_value(tmp_env: Path) -> None:
    with pytest.raises(ConfigError, match="'chief'"):
        accounts.add_account("bob", PASSWORD, role="chief", by=ADMIN)
    with pytest.raises(ConfigError, match="task-force"):
        accounts.add_account("bob", PASSWORD, role="lead", by=ADMIN)
    with pytest.raises(ConfigError, match="12 characters"):
        accounts.add_account("bob", "short", role="partner", by=ADMIN)
    with pytest.raises(ConfigError, match="'bad name!'"):
        accounts.add_account("bad name!", PASSWORD, role="partner", by=ADMIN)
    with pytest.raises(AccessDenied, match="'analyst'"):
        accounts.add_account("bob", PASSWORD, role="partner", by=Viewer("a", "analyst", "la"))
    accounts.add_account("bob", PASSWORD, role="leadership", task_force="ignored", by=ADMIN)
    assert accounts.authenticate("bob", PASSWORD).task_force is None
    accounts.add_account("ngo-la", PASSWORD, role="partner", task_force="la", by=ADMIN)  # its own sources
    assert accounts.authenticate("ngo-la", PASSWORD).task_force == "la"
    with pytest.raises(ConfigError, match="exists already"):
        accounts.add_account("bob", PASSWORD, role="partner", by=ADMIN)
    with pytest.raises(ConfigError, match="no account 'carol'"):
        accounts.set_disabled("carol", by=ADMIN)


# -- issue 18: lockout under concurrency, one answer and one cost for every failure --------


@pytest.mark.slow  # forty argon2 hashes in threads
def test_forty_concurrent_wrong_passwords_lock_the_account(alice: str) -> None:
    start = threading.Barrier(40)
    failures: list[str] = []

    def attempt() -> None:
        start.wait()
        try:
            accounts.authenticate(alice, "a wrong guess")
        except AuthError as exc:
            failures.append(str(exc))

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(failures) == 40 and set(failures) == {accounts.SIGN_IN_FAILED}
    assert _locked_until(alice) is not None
    with pytest.raises(AuthError):
        accounts.authenticate(alice, PASSWORD)  # the right password waits out the lock
    assert (audit.read_log(ADMIN, action="sign_in_failed")["what"]
            .str.contains("account now locked").sum()) >= 1


def _failure_paths(user: str) -> dict[str, tuple[str, str]]:
    accounts.add_account("locked1", PASSWORD, role="partner", by=ADMIN)
    for _ in range(accounts.MAX_FAILED):
        with pytest.raises(AuthError):
            accounts.authenticate("locked1", "bad")
    accounts.add_account("off1", PASSWORD, role="partner", by=ADMIN)
    accounts.set_disabled("off1", by=ADMIN)
    return {"unknown user": ("nobody", "whatever"), "wrong password": (user, "bad"),
            "locked": ("locked1", PASSWORD), "disabled": ("off1", PASSWORD)}


def test_every_failure_says_the_same_and_runs_argon2(alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _failure_paths(alice)
    calls: list[str] = []
    real = accounts._HASHER

    class Spy:
        def verify(self, hash_: str, password: str) -> bool:
            calls.append(password)
            return real.verify(hash_, password)

    monkeypatch.setattr(accounts, "_HASHER", Spy())
    messages = {}
    for name, (user, password) in paths.items():
        calls.clear()
        with pytest.raises(AuthError) as caught:
            accounts.authenticate(user, password)
        messages[name] = str(caught.value)
        assert calls == [password], f"{name}: the password hash did not run"
    assert set(messages.values()) == {accounts.SIGN_IN_FAILED}, messages
    assert "locked1" not in accounts.SIGN_IN_FAILED


@pytest.mark.slow  # times many sign-in attempts
def test_every_failure_takes_about_as_long(alice: str) -> None:
    paths = _failure_paths(alice)

    def seconds(user: str, password: str) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            with pytest.raises(AuthError):
                accounts.authenticate(user, password)
            best = min(best, time.perf_counter() - t0)
        return best

    times = {name: seconds(*args) for name, args in paths.items()}
    # generous: the report measured 0.5 ms for locked against 248 ms for a wrong password
    assert min(times.values()) > 0.3 * max(times.values()), times


# ---------------------------------------------------------------- ui/session.py

PAGE = textwrap.dedent(
    """
    import streamlit as st
    from ui.session import current_viewer

    viewer = current_viewer()
    st.markdown(f"VIEWER {viewer.user} {viewer.role} {viewer.task_force}")
    """
)


def _app(tmp_path: Path) -> AppTest:
    script = tmp_path / "page.py"
    script.write_text(PAGE)
    return AppTest.from_file(str(script), default_timeout=30)


def _shown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_real_data_shows_nothing_before_sign_in(tmp_env: Path, alice: str) -> None:
    make_small_warehouse(settings.warehouse_path(), n=300, is_demo=False)
    at = _app(tmp_env).run()
    assert not at.exception
    assert "VIEWER" not in _shown(at)
    assert len(at.text_input) == 2 and not at.selectbox
    at.text_input(key="routes_sign_in_user").input("alice")
    at.text_input(key="routes_sign_in_password").input("wrong password!")
    at.button[0].click().run()
    assert "wrong password" in at.error[0].value and "VIEWER" not in _shown(at)
    at.text_input(key="routes_sign_in_user").input("alice")
    at.text_input(key="routes_sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    assert "VIEWER alice analyst la" in _shown(at)


def test_a_missing_warehouse_is_not_a_demo(tmp_env: Path) -> None:
    at = _app(tmp_env).run()
    assert "VIEWER" not in _shown(at) and not at.selectbox


def test_idle_session_expires(tmp_env: Path, alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_small_warehouse(settings.warehouse_path(), n=300, is_demo=False)
    monkeypatch.setenv("ROUTES_IDLE_MINUTES", "30")
    at = _app(tmp_env)
    at.session_state["routes_viewer"] = Viewer("alice", "analyst", "la")
    at.session_state["routes_last_active"] = 1_000_000.0
    monkeypatch.setattr("ui.session.clock", lambda: 1_000_000.0 + 29 * 60)
    at.run()
    assert "VIEWER alice" in _shown(at)
    monkeypatch.setattr("ui.session.clock", lambda: 1_000_000.0 + 29 * 60 + 30 * 60 + 1)
    at.run()
    assert "VIEWER" not in _shown(at)
    assert any("without activity" in i.value for i in at.info)


def test_demo_mode_switches_roles(tmp_env: Path) -> None:
    make_small_warehouse(settings.warehouse_path(), n=300, is_demo=True)
    at = _app(tmp_env).run()
    assert not at.exception
    assert "Demo mode" in at.warning[0].value
    assert "VIEWER demo-analyst analyst" in _shown(at)
    for role in ("partner", "leadership", "admin"):
        at.selectbox(key="routes_demo_role").select(role).run()
        assert f"VIEWER demo-{role} {role} None" in _shown(at)
    at.selectbox(key="routes_demo_role").select("lead").run()
    at.selectbox(key="routes_demo_task_force").select("san_diego").run()
    assert "VIEWER demo-lead lead san_diego" in _shown(at)


def test_current_viewer_twice_in_one_run(tmp_env: Path) -> None:
    make_small_warehouse(settings.warehouse_path(), n=300, is_demo=True)
    script = tmp_env / "twice.py"
    script.write_text(PAGE + "\nst.markdown(f'AGAIN {current_viewer().role}')\n")
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception and "AGAIN analyst" in _shown(at)
