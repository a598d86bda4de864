"""Shared fixtures. Every test runs quiet, offline, and against temporary paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ROUTES_QUIET", "1")


@pytest.fixture
def tmp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the warehouse, control store, key file and demo folder at ``tmp_path``."""
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(tmp_path / "warehouse" / "routes.duckdb"))
    monkeypatch.setenv("ROUTES_CONTROL", str(tmp_path / "warehouse" / "control.sqlite"))
    monkeypatch.setenv("ROUTES_KEY_FILE", str(tmp_path / "secrets" / "routes.key"))
    monkeypatch.setenv("ROUTES_DEMO_DIR", str(tmp_path / "demo"))
    return tmp_path
