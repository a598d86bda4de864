"""The control store: state the app itself writes, beside the warehouse.

The warehouse is rebuilt and swapped by pipelines, so nothing the app writes can
live in it. Accounts, the audit log, planned operations and acknowledgements live
in one SQLite file (``ROUTES_CONTROL``), which many processes may write safely.
Each owning module creates its own tables with :func:`ensure_table`. The file is
created mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same mode) in
a folder created 0700; a store the group or others may read is refused
(:mod:`routes.files`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from routes import files, settings


def connect(*, path: Path | None = None) -> sqlite3.Connection:
    """Open the control store (created on first use), in autocommit-free WAL mode."""
    target = path or settings.control_path()
    if not files.create_private(target):
        files.check_owner_only(target, what="the control store")
    con = sqlite3.connect(str(target), timeout=30.0, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.row_factory = sqlite3.Row
    return con


def ensure_table(con: sqlite3.Connection, ddl: str) -> None:
    """Run ``CREATE TABLE IF NOT EXISTS …`` DDL (idempotent)."""
    con.executescript(ddl)
