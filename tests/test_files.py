"""routes/files.py: the warehouse, control store, snapshots and keys are owner-only (issue 18)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipelines.ingest import tokens
from query import audit
from routes import control, files, settings, warehouse
from routes.errors import ConfigError
from tests.support.warehouse_fixture import make_small_warehouse


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def small(tmp_env: Path) -> Path:
    live = settings.warehouse_path()
    make_small_warehouse(live, n=200)
    return live


def test_warehouse_snapshots_control_store_and_keys_are_owner_only(small: Path) -> None:
    with warehouse.open_snapshot() as con:  # links the reader snapshot
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 200
    store = control.connect()
    store.execute("CREATE TABLE t (x)")  # the -wal file exists while a connection is open
    files._token_keys.clear()
    tokens.load_key()
    audit.audit_key()
    readers = list((small.parent / ".readers").iterdir())
    assert readers, "no reader snapshot was linked"
    for path in (small, *readers, settings.control_path(), Path(str(settings.control_path()) + "-wal"),
                 settings.key_file(), settings.audit_key_file()):
        assert _mode(path) == 0o600, f"{path} has mode {_mode(path):04o}"
    for folder in (small.parent, small.parent / ".readers", settings.key_file().parent):
        assert _mode(folder) == 0o700, f"{folder} has mode {_mode(folder):04o}"
    store.close()


def test_a_rewritten_snapshot_stays_owner_only(small: Path) -> None:
    with warehouse.write_snapshot() as con:
        warehouse.set_meta(con, "built_at", "now")
    assert _mode(small) == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_warehouse_readable_by_others_is_refused_with_the_fix(small: Path, mode: int) -> None:
    os.chmod(small, mode)  # as versions before issue 18 created it
    fix = f"chmod 600 {small}"
    with pytest.raises(ConfigError, match=f"mode {mode:04o}.*{fix}"):
        with warehouse.open_snapshot():
            pass
    with pytest.raises(ConfigError, match=fix):
        warehouse.connect_readonly()
    os.chmod(small, 0o600)  # the fix the message gives works
    with warehouse.open_snapshot() as con:
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 200


def test_a_write_replaces_a_warehouse_others_could_read_with_an_owner_only_one(small: Path) -> None:
    os.chmod(small, 0o644)
    with warehouse.write_snapshot() as con:
        warehouse.set_meta(con, "built_at", "now")
    assert _mode(small) == 0o600


def test_a_control_store_readable_by_others_is_refused(tmp_env: Path) -> None:
    control.connect().close()
    os.chmod(settings.control_path(), 0o644)
    with pytest.raises(ConfigError, match=f"the control store .*chmod 600 {settings.control_path()}"):
        control.connect()


def test_a_token_key_readable_by_others_is_refused(tmp_env: Path) -> None:
    files._token_keys.clear()
    tokens.load_key()
    os.chmod(settings.key_file(), 0o644)
    files._token_keys.clear()
    with pytest.raises(ConfigError, match=f"the token key .*mode 0644.*chmod 600 {settings.key_file()}"):
        tokens.load_key()
    files._token_keys.clear()


def test_an_audit_key_readable_by_others_is_refused(tmp_env: Path) -> None:
    path = settings.audit_key_file()
    files.create_private(path)
    path.write_bytes(os.urandom(32))
    os.chmod(path, 0o640)
    audit._audit_keys.clear()
    with pytest.raises(ConfigError, match=f"the audit key .*chmod 600 {path}"):
        audit.record_event(audit.Viewer("root", "admin"), action="export", what="x")


def test_private_folder_creates_missing_parents_0700_and_leaves_existing_ones(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    made = files.private_folder(tmp_path / "a" / "b")
    assert _mode(tmp_path / "a") == _mode(made) == 0o700
    assert _mode(tmp_path) == 0o755


def test_the_message_quotes_a_path_with_spaces(tmp_path: Path) -> None:
    path = tmp_path / "my data" / "w.duckdb"
    path.parent.mkdir()
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=f"chmod 600 '{path}'"):
        files.check_owner_only(path, what="the warehouse")
