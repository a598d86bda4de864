"""routes/warehouse.py: atomic snapshot writes and stable read-only snapshots."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from routes import warehouse
from routes.errors import WarehouseBusyError, WarehouseMissingError


def _count(path: Path) -> int:
    with warehouse.open_snapshot(path=path) as con:
        return int(con.execute("SELECT count(*) FROM sources").fetchone()[0])


def _add_source(con, source_id: str) -> None:
    con.execute("INSERT INTO sources VALUES (?, 'S', 'ngo', NULL, NULL, NULL)", [source_id])


def test_snapshot_swaps_in_on_success(tmp_path: Path) -> None:
    live = tmp_path / "w.duckdb"
    with warehouse.write_snapshot(path=live) as con:
        _add_source(con, "a")
    with warehouse.write_snapshot(path=live) as con:
        _add_source(con, "b")
    assert _count(live) == 2
    assert not list(tmp_path.glob(".w.duckdb.*"))


def test_failure_leaves_live_file_untouched(tmp_path: Path) -> None:
    live = tmp_path / "w.duckdb"
    with warehouse.write_snapshot(path=live) as con:
        _add_source(con, "a")
    before = live.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with warehouse.write_snapshot(path=live) as con:
            _add_source(con, "b")
            raise RuntimeError("boom")
    assert live.read_bytes() == before
    assert _count(live) == 1


def test_open_reader_keeps_its_snapshot_across_a_swap(tmp_path: Path) -> None:
    live = tmp_path / "w.duckdb"
    with warehouse.write_snapshot(path=live) as con:
        _add_source(con, "a")
    version = warehouse.snapshot_version(live)
    reader = warehouse.connect_readonly(path=live)
    try:
        with warehouse.write_snapshot(path=live) as con:
            _add_source(con, "b")
        assert reader.execute("SELECT count(*) FROM sources").fetchone()[0] == 1
    finally:
        reader.close()
    assert _count(live) == 2
    assert warehouse.snapshot_version(live) != version


def test_second_writer_waits_then_reports_busy(tmp_path: Path) -> None:
    live = tmp_path / "w.duckdb"
    holder = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from pathlib import Path
        from routes import warehouse
        with warehouse.write_snapshot(path=Path({str(live)!r})) as con:
            print("holding", flush=True)
            time.sleep(5)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        with pytest.raises(WarehouseBusyError, match="another pipeline is writing"):
            with warehouse.write_snapshot(path=live, wait_s=0.3):
                pass
    finally:
        proc.kill()
        proc.communicate()


def test_missing_warehouse_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(WarehouseMissingError, match="make demo"):
        warehouse.connect_readonly(path=tmp_path / "nope.duckdb")


def test_meta_round_trip(tmp_path: Path) -> None:
    live = tmp_path / "w.duckdb"
    with warehouse.write_snapshot(path=live) as con:
        warehouse.set_meta(con, "is_demo", "true")
        warehouse.set_meta(con, "is_demo", "false")
    with warehouse.open_snapshot(path=live) as con:
        assert warehouse.get_meta(con, "is_demo") == "false"
        assert warehouse.get_meta(con, "schema_version") == warehouse.SCHEMA_VERSION


def test_shared_reader_follows_swaps_and_keeps_open_cursors_stable(tmp_path: Path) -> None:
    live = tmp_path / "w.duckdb"
    with warehouse.write_snapshot(path=live) as con:
        _add_source(con, "a")
    assert _count(live) == 1
    with warehouse.open_snapshot(path=live) as held:
        with warehouse.write_snapshot(path=live) as con:
            _add_source(con, "b")
        assert _count(live) == 2  # a new cursor sees the new snapshot
        assert held.execute("SELECT count(*) FROM sources").fetchone()[0] == 1
    with warehouse.write_snapshot(path=live) as con:
        _add_source(con, "c")
    assert _count(live) == 3
    assert len(list((tmp_path / ".readers").iterdir())) == 1  # old links cleaned up
