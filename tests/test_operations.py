"""Tests for ``query/operations.py``: planned operations and their conflicts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from query import operations
from routes import warehouse
from routes.errors import ConfigError, IngestError, UnknownSourceError

# Sacramento Capitol and a point ~600 m east of it
CAPITOL = (38.5767, -121.4934)
EAST_600M = (38.5767, -121.4865)


def _add(source: str, lat_lng: tuple[float, float], start: str, end: str, **kw: object) -> str:
    kw.setdefault("task_force", "sacramento")
    return operations.add_operation(
        source, lat=lat_lng[0], lng=lat_lng[1], start=start, end=end,
        contact=f"{source} desk", kind="raid", **kw,  # type: ignore[arg-type]
    )


def test_haversine_known_distance() -> None:
    # one degree of latitude is about 111.2 km
    assert operations.haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195, rel=1e-3)


def test_overlapping_operations_of_two_agencies_conflict(tmp_env: Path) -> None:
    a = _add("sacpd", CAPITOL, "2026-12-01 06:00", "2026-12-01 10:00", radius_m=100)
    b = _add("sheriff", EAST_600M, "2026-12-01 09:00", "2026-12-01 12:00", radius_m=100)
    found = operations.find_conflicts(distance_m=500)
    assert len(found) == 1
    row = found.iloc[0]
    assert {row.operation_a, row.operation_b} == {a, b}
    assert 350 < row.gap_m < 450  # ~600 m between centres minus two 100 m radii
    assert row.region_a == "Region IV"
    # the same pair, the same id
    assert operations.find_conflicts(distance_m=500).conflict_id.tolist() == [row.conflict_id]


@pytest.mark.parametrize(
    ("other", "start", "end", "distance_m"),
    [
        ("sacpd", "2026-12-01 09:00", "2026-12-01 12:00", 500),     # same agency
        ("sheriff", "2026-12-01 10:00", "2026-12-01 12:00", 500),   # times only touch
        ("sheriff", "2026-12-02 09:00", "2026-12-02 12:00", 500),   # another day
        ("sheriff", "2026-12-01 09:00", "2026-12-01 12:00", 300),   # too far apart
    ],
)
def test_no_conflict(tmp_env: Path, other: str, start: str, end: str, distance_m: float) -> None:
    _add("sacpd", CAPITOL, "2026-12-01 06:00", "2026-12-01 10:00", radius_m=100)
    _add(other, EAST_600M, start, end, radius_m=100)
    assert operations.find_conflicts(distance_m=distance_m).empty


def test_distance_setting_read_at_call_time(tmp_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _add("sacpd", CAPITOL, "2026-12-01 06:00", "2026-12-01 10:00", radius_m=0)
    _add("sheriff", EAST_600M, "2026-12-01 09:00", "2026-12-01 12:00", radius_m=0)
    assert operations.find_conflicts().empty  # 600 m > default 500 m
    monkeypatch.setenv("ROUTES_DECONFLICT_DISTANCE_M", "1000")
    assert len(operations.find_conflicts()) == 1
    monkeypatch.setenv("ROUTES_DECONFLICT_DISTANCE_M", "far")
    with pytest.raises(ConfigError, match="'far'"):
        operations.find_conflicts()


def test_place_text_is_geocoded_and_readding_updates(tmp_env: Path) -> None:
    op = operations.add_operation(
        "sacpd", place="Lodi, CA", start="2026-12-01 06:00", end="2026-12-01 08:00",
        contact="Det. X", kind="surveillance", task_force="san_joaquin",
    )
    again = operations.add_operation(
        "sacpd", place="Lodi, CA", start="2026-12-01 06:00", end="2026-12-01 08:00",
        contact="Det. Y", kind="surveillance", task_force="san_joaquin",
    )
    ops = operations.list_operations()
    assert op == again and len(ops) == 1
    row = ops.iloc[0]
    assert row.contact == "Det. Y" and row.county_fips == "06077"
    assert row.lat == pytest.approx(38.13, abs=0.05)


def test_task_force_comes_from_the_source_registry(tmp_env: Path) -> None:
    with warehouse.write_snapshot() as con:
        con.execute("INSERT INTO sources VALUES ('sacpd', 'Sac PD', 'law_enforcement', "
                    "'sacramento', 'desk', NULL)")
    operations.add_operation("sacpd", lat=CAPITOL[0], lng=CAPITOL[1], start="2026-12-01 06:00",
                             end="2026-12-01 07:00", contact="desk")
    assert operations.list_operations().task_force.tolist() == ["sacramento"]
    with pytest.raises(UnknownSourceError, match="'nobody'"):
        operations.add_operation("nobody", lat=CAPITOL[0], lng=CAPITOL[1],
                                 start="2026-12-01 06:00", end="2026-12-01 07:00", contact="x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"end": "2026-12-01 05:00"}, "must come after start"),
        ({"start": "someday"}, "'someday'"),
        ({"kind": "party"}, "'party'"),
        ({"radius_m": -5}, "-5"),
        ({"contact": " "}, "needs a contact"),
        ({"lat": None, "lng": None}, "needs a place"),
        ({"lat": None, "lng": None, "place": "Reno, NV"}, "Reno"),
    ],
)
def test_bad_operations_are_refused(tmp_env: Path, kwargs: dict, message: str) -> None:
    args: dict = {"lat": CAPITOL[0], "lng": CAPITOL[1], "start": "2026-12-01 06:00",
                  "end": "2026-12-01 07:00", "contact": "desk", "kind": "raid",
                  "task_force": "sacramento"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        operations.add_operation("sacpd", **args)


def test_aware_times_become_california_time(tmp_env: Path) -> None:
    _add("sacpd", CAPITOL, "2026-12-01T14:00:00+00:00", "2026-12-01T15:00:00+00:00")
    row = operations.list_operations().iloc[0]
    assert row.start_at == datetime(2026, 12, 1, 6, 0)


def test_load_operations_file_is_idempotent(tmp_env: Path) -> None:
    csv = tmp_env / "operations.csv"
    csv.write_text(
        "operation_id,source_id,task_force,kind,lat,lon,radius_m,start,end,contact\n"
        f"op1,sacpd,sacramento,raid,{CAPITOL[0]},{CAPITOL[1]},100,2026-12-01 06:00,2026-12-01 10:00,A\n"
        f"op2,sheriff,sacramento,undercover,{EAST_600M[0]},{EAST_600M[1]},150,"
        "2026-12-01 08:00,2026-12-01 09:00,B\n"
    )
    assert operations.load_operations_file(csv) == 2
    assert operations.load_operations_file(csv) == 2
    assert operations.list_operations().operation_id.tolist() == ["op1", "op2"]
    assert len(operations.find_conflicts()) == 1


def test_load_operations_file_names_the_bad_line(tmp_env: Path) -> None:
    csv = tmp_env / "bad.csv"
    csv.write_text("source_id,start,end,contact,lat,lng\nsacpd,2026-12-01,2026-11-01,A,38.5,-121.4\n")
    with pytest.raises(IngestError, match="line 2"):
        operations.load_operations_file(csv)
    (tmp_env / "cols.csv").write_text("who,when\nx,y\n")
    with pytest.raises(IngestError, match="source_id"):
        operations.load_operations_file(tmp_env / "cols.csv")


def test_conflicts_are_kept_with_their_first_raised_time(tmp_env: Path) -> None:
    _add("sacpd", CAPITOL, "2026-12-01 06:00", "2026-12-01 10:00", radius_m=100)
    _add("sheriff", EAST_600M, "2026-12-01 09:00", "2026-12-01 12:00", radius_m=100)
    con = operations.connect()
    first = con.execute("SELECT conflict_id, first_raised_at FROM operation_conflicts").fetchall()
    con.close()
    assert len(first) == 1
    counts = operations.refresh_conflicts(now=datetime(2030, 1, 1))
    assert counts == {"operation_conflicts": 1, "new_conflicts": 0}
    con = operations.connect()
    again = con.execute("SELECT conflict_id, first_raised_at FROM operation_conflicts").fetchall()
    con.close()
    assert [tuple(r) for r in again] == [tuple(r) for r in first]
    assert operations.refresh_conflicts(distance_m=100) == {
        "operation_conflicts": 0, "new_conflicts": 0}


# -- issue 18: adding operations is logged; a run of them is flagged ---------------------


def test_adding_and_importing_operations_is_logged(tmp_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from query import audit
    from query.viewer import Viewer

    admin = Viewer("root", "admin")
    lead = Viewer("lee", "lead", "sacramento")
    op = _add("sacpd", CAPITOL, "2026-12-01 06:00", "2026-12-01 10:00", by=lead)
    entry = audit.read_log(admin, action="operation_add").iloc[0]
    assert (entry["user"], entry["task_force"]) == ("lee", "sacramento")
    assert entry["what"] == f"operation {op} of 'sacpd'"
    csv = tmp_env / "ops.csv"
    csv.write_text("source_id,task_force,lat,lng,start,end,contact\n"
                   f"sheriff,sacramento,{EAST_600M[0]},{EAST_600M[1]},2026-12-02 06:00,2026-12-02 07:00,B\n")
    operations.load_operations_file(csv)
    imported = audit.read_log(admin, action="operations_import").iloc[0]
    assert imported["user"].startswith("cli:")
    assert hashlib.sha256(csv.read_bytes()).hexdigest() in imported["what"]
    monkeypatch.setenv("ROUTES_PROBE_OPERATIONS", "2")
    for hour in range(3):
        _add("sacpd", CAPITOL, f"2026-12-05 0{hour}:00", f"2026-12-05 0{hour}:30", by=lead)
    flagged = audit.read_log(admin, action="operation_probe")
    assert len(flagged) == 2 and flagged["what"].str.contains("added [34] operations").all()
