"""pipelines/ingest/upload_audit.py: ingests and uploads logged; matching uploads rate-limited (issue 18).

The report: 25 guessed phone numbers uploaded as an export gave 338 matches showing
another agency's case numbers and contacts, and nothing was logged. Here on a small
warehouse: another agency holds 30 cases with phones; an analyst uploads 25 numbers
of which 10 are theirs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.ingest import ingest_files, ingest_upload
from pipelines.ingest.sources import add_source
from query import audit
from query.viewer import Viewer
from routes import files
from routes.errors import AccessDenied

ADMIN = Viewer("root", "admin")
SAM = Viewer("sam", "analyst", "san_diego")


def _phone(i: int) -> str:
    return f"(619) 555-{1000 + i:04d}"


def _export(phones: list[str], *, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": [f"{prefix}{i}" for i in range(len(phones))],
        "record_type": "tip", "occurred_at": "2025-06-01", "trafficking_type": "sex",
        "location": "San Diego", "case_number": [f"{prefix.upper()}-CASE-{i}" for i in range(len(phones))],
        "contact": "Det. X", "phone": phones,
    })


@pytest.fixture
def two_agencies(tmp_env: Path) -> Path:
    files._token_keys.clear()
    add_source("lapd", name="LAPD", kind="law_enforcement", task_force="la")
    add_source("sdso", name="SD Sheriff", kind="law_enforcement", task_force="san_diego")
    theirs = tmp_env / "lapd.csv"
    _export([_phone(i) for i in range(30)], prefix="la").to_csv(theirs, index=False)
    ingest_files([theirs], source_id="lapd")
    yield tmp_env
    files._token_keys.clear()


def _guesses(first: int) -> bytes:
    # 10 real numbers (LAPD holds 0-29) and 15 that match nothing
    phones = [_phone(first + i) for i in range(10)] + [f"(619) 555-{8000 + first + i:04d}" for i in range(15)]
    return _export(phones, prefix=f"g{first}x").to_csv(index=False).encode()


def test_an_upload_of_guessed_phone_numbers_is_logged_with_its_matches(two_agencies: Path) -> None:
    data = _guesses(0)
    summary = ingest_upload(data, file_name="guesses.csv", source_id="sdso", by=SAM)
    assert summary.loaded == 25
    [entry] = audit.read_log(ADMIN, action="upload").to_dict("records")
    assert (entry["user"], entry["task_force"]) == ("sam", "san_diego")
    details = json.loads(entry["filters"])
    assert details["file_sha256"] == hashlib.sha256(data).hexdigest()
    assert (details["matched_identifiers"], details["matched_cases"]) == (10, 10)
    assert "10 identifiers matched 10 cases of other agencies" in entry["what"]
    assert _phone(0) not in json.dumps(entry) and "CASE" not in json.dumps(entry)  # never content
    [ingest] = audit.read_log(ADMIN, action="ingest").to_dict("records")  # LAPD's file, by the CLI
    assert ingest["user"].startswith("cli:") and json.loads(ingest["filters"])["source_id"] == "lapd"


def test_matching_uploads_are_rate_limited_per_user(two_agencies: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_UPLOAD_MATCH_LIMIT", "2")
    ingest_upload(_guesses(0), file_name="a.csv", source_id="sdso", by=SAM)
    quiet = _export([f"(858) 555-{i:04d}" for i in range(5)], prefix="q").to_csv(index=False).encode()
    ingest_upload(quiet, file_name="quiet.csv", source_id="sdso", by=SAM)  # matches nothing: not counted
    ingest_upload(_guesses(10), file_name="b.csv", source_id="sdso", by=SAM)
    with pytest.raises(AccessDenied, match="ROUTES_UPLOAD_MATCH_LIMIT=2"):
        ingest_upload(_guesses(20), file_name="c.csv", source_id="sdso", by=SAM)
    refused = audit.read_log(ADMIN, action="upload_refused")
    assert refused["what"].str.contains("'c.csv'").all() and len(refused) == 1
    assert len(audit.read_log(ADMIN, action="upload")) == 3  # c.csv was never loaded
    other = Viewer("ana", "analyst", "la")  # the limit is per user
    ingest_upload(_guesses(20), file_name="c.csv", source_id="lapd", by=other)
