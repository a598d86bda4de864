"""Identifier normalisation and keyed tokens (pipelines/ingest/tokens.py)."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from pipelines.ingest import tokens
from routes import files
from routes.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_keys(tmp_env):
    files._token_keys.clear()
    yield
    files._token_keys.clear()


@pytest.mark.parametrize(
    "raw",
    ["(415) 555-0123", "415.555.0123", "+1 415 555 0123", "1-415-555-0123", "4155550123",
     "415-555-0123 ext. 12", "011 1 415 555 0123"],
)
def test_phone_forms_normalise_to_one_e164(raw):
    assert tokens.normalise_phone(raw) == "+14155550123"


@pytest.mark.parametrize("raw", ["", None, "12", "n/a", "555-0123"])
def test_unusable_phones_are_none(raw):
    assert tokens.normalise_phone(raw) is None


def test_emails_plates_handles_names():
    assert tokens.normalise_email("MAILTO:Ana@Example.org ") == "ana@example.org"
    assert tokens.normalise_email("not an email") is None
    assert tokens.normalise_plate(" 7abc-123 ") == "7ABC123"
    assert tokens.normalise_handle("@Sunny Day") == "sunnyday"
    assert tokens.fold_name("Peña, José") == tokens.fold_name("JOSE PENA") == "jose pena"


def test_same_identifier_typed_differently_gives_same_token():
    a = tokens.tokenise("phone", "(415) 555-0123")
    assert a == tokens.tokenise("phone", "+14155550123")
    assert a is not None and len(a) == 64 and "4155550123" not in a
    assert tokens.tokenise("subject", "Ana García", dob="02/03/1990") == tokens.tokenise(
        "subject", "GARCIA, ANA", dob="1990-02-03"
    )
    assert tokens.tokenise("subject", "Ana García") is None  # no date of birth
    assert tokens.tokenise("email", "x@y.org") != tokens.tokenise("ad_handle", "x@y.org")


def test_column_variant_matches_scalar():
    raw = pd.Series(["(415) 555-0123", None, "12", "415 555 0123"])
    col = tokens.tokenise_column("phone", raw)
    assert col.tolist() == [tokens.tokenise("phone", v) for v in raw]
    assert col[0] == col[3] and col[1] is None and col[2] is None


def test_key_is_created_once_with_mode_0600(tmp_env):
    key_path = tmp_env / "secrets" / "routes.key"
    first = tokens.tokenise("email", "a@b.org")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    files._token_keys.clear()
    assert tokens.tokenise("email", "a@b.org") == first  # the same key is read back


def test_another_key_gives_other_tokens(tmp_env, monkeypatch):
    first = tokens.tokenise("email", "a@b.org")
    monkeypatch.setenv("ROUTES_KEY_FILE", str(tmp_env / "other.key"))
    assert tokens.tokenise("email", "a@b.org") != first


def test_key_inside_the_warehouse_folder_is_refused(tmp_env, monkeypatch):
    monkeypatch.setenv("ROUTES_KEY_FILE", str(tmp_env / "warehouse" / "routes.key"))
    with pytest.raises(ConfigError, match="inside the warehouse folder"):
        tokens.tokenise("email", "a@b.org")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'ssn'"):
        tokens.tokenise("ssn", "123")
