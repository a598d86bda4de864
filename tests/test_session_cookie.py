"""The signed, expiring session cookie of ``ui/session_cookie.py``."""

from __future__ import annotations

from pathlib import Path

from ui import session_cookie


def test_a_cookie_names_its_user_until_idle_expiry(tmp_env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ROUTES_IDLE_MINUTES", "30")
    value = session_cookie.make_value("alice.o'neil|x", last=1_000_000)
    assert session_cookie.user_of(value, now=1_000_000 + 29 * 60) == "alice.o'neil|x"
    assert session_cookie.user_of(value, now=1_000_000 + 31 * 60) is None  # idle too long
    assert session_cookie.user_of(value, now=1_000_000 - 10) is None  # from the future


def test_a_tampered_cookie_names_nobody(tmp_env: Path) -> None:
    value = session_cookie.make_value("alice", last=1_000_000)
    user_b64, last, signature = value.split(".")
    forged = session_cookie.make_value("root", last=1_000_000).split(".")[0]
    assert session_cookie.user_of(f"{forged}.{last}.{signature}", now=1_000_000) is None
    assert session_cookie.user_of(f"{user_b64}.{int(last) + 600}.{signature}", now=1_000_600) is None
    assert session_cookie.user_of("garbage", now=1_000_000) is None
    assert session_cookie.user_of("a.b.c", now=1_000_000) is None
