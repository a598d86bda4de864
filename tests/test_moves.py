"""Circuits are frequent county sequences that enough distinct subjects each follow."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import h3
import pandas as pd
import pytest

from pipelines.build.moves import build, find_circuits
from routes import warehouse

LOOP = ["06067", "06077", "06019", "06029", "06067"]  # Sacramento, San Joaquin, Fresno, Kern, back
OTHER = ["06001", "06013", "06075", "06001"]


def _rows(route: list[str], subjects: range) -> list[tuple[int, str, datetime, str]]:
    start = datetime(2025, 1, 1)
    return [(s, f"src{i % 2}", start + timedelta(days=s + 10 * i), c)
            for s in subjects for i, c in enumerate(route)]


def test_loop_of_k_subjects_is_found_in_order_and_one_of_k_minus_1_is_not() -> None:
    frame = pd.DataFrame(_rows(LOOP, range(5)) + _rows(OTHER, range(5, 9)),
                         columns=["subject", "source_id", "seen_at", "county"])
    circuits = find_circuits(frame, window_days=60, min_tokens=5)
    assert len(circuits) == 1
    top = circuits.iloc[0]
    assert top["shape"] == "loop" and top["tokens"] == 5
    places = list(top["places"])
    assert places[0] == places[-1]
    start = places.index("06067")
    assert places[start:-1] + places[:start] == LOOP[:-1]  # the loop's order, from Sacramento
    assert not any(str(s) in map(str, places) for s in range(9))


def _tiny_warehouse(subjects: dict[str, list[str]], route: list[str]) -> duckdb.DuckDBPyConnection:
    """Each subject seen along ``route``, every record carrying all of its identifiers."""
    con = duckdb.connect()
    warehouse.ensure_schema(con)
    start = datetime(2025, 3, 1)
    for s, (name, kinds) in enumerate(subjects.items()):
        for i, county in enumerate(route):
            record = f"{name}-{i}"
            con.execute(
                "INSERT INTO records (source_id, record_id, batch_id, occurred_at, dest_county_fips) "
                "VALUES (?, ?, 'b', ?, ?)", [f"src{i % 2}", record, start + timedelta(days=s + 9 * i), county])
            for kind in kinds:
                con.execute("INSERT INTO record_identifiers VALUES (?, ?, ?, ?, NULL)",
                            [f"src{i % 2}", record, kind, f"{kind}-of-{name}"])
    return con


def test_identifiers_on_one_record_are_one_subject() -> None:
    route = ["06067", "06077", "06019"]
    two_subjects_six_tokens = {"a": ["phone", "email", "ad_handle"], "b": ["phone", "email", "ad_handle"]}
    con = _tiny_warehouse(two_subjects_six_tokens, route)
    build(con, window_days=60, min_tokens=5)
    assert con.execute("SELECT count(*) FROM circuits").fetchone() == (0,)
    moves = con.execute("SELECT origin, destination, moves, tokens FROM moves WHERE level = 'county' "
                        "ORDER BY origin").fetchall()
    assert moves == [("06067", "06077", 2, 2), ("06077", "06019", 2, 2)]
    con = _tiny_warehouse({f"s{k}": ["phone"] for k in range(5)}, route)
    build(con, window_days=60, min_tokens=5)
    assert con.execute("SELECT shape, places, tokens FROM circuits").fetchall() == [("path", route, 5)]


# ----------------------------------------------------- on the 60 k demo warehouse

MOVE_COLUMNS = ["level", "month", "origin", "destination", "moves", "tokens", "sources",
                "corroborated_share"]
CIRCUIT_COLUMNS = ["rank", "circuit_id", "shape", "places", "n_places", "tokens", "cross_source_tokens", "sources",
                   "median_dwell_days"]



def _read(path: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _in_loop_order(places: list[str], expected: list[str]) -> bool:
    """Whether a listed loop (ending where it began) is ``expected`` travelled in order."""
    cycle = places[:-1]
    if places[0] != places[-1] or sorted(cycle) != sorted(expected):
        return False
    start = cycle.index(expected[0])
    return cycle[start:] + cycle[:start] == expected


@pytest.mark.slow
def test_planted_circuits_rank_first_in_order_and_the_loop_is_a_loop(demo: tuple[Path, dict]) -> None:
    path, truth = demo
    circuits = _read(path, "SELECT * FROM circuits ORDER BY rank")
    planted = truth["planted_circuits"]
    found = [c for c in planted if c["subjects"] >= 5]
    assert len(found) == 2 and found[0]["shape"] == "loop" and found[1]["shape"] == "path"
    top = circuits.head(len(found))
    loop, route = top.iloc[0], top.iloc[1]
    assert loop["shape"] == "loop", circuits.head(5).to_string()
    assert _in_loop_order(list(loop["places"]), found[0]["county_fips"])
    assert loop["tokens"] >= found[0]["subjects"] and loop["sources"] >= 2
    assert route["shape"] == "path"
    assert list(route["places"]) == found[1]["county_fips"]
    assert route["tokens"] >= found[1]["subjects"]
    assert all(0 < d <= 60 for d in loop["median_dwell_days"])  # hops of 6-28 days
    below = next(c for c in planted if c["subjects"] < 5)
    assert not any(set(p) == set(below["county_fips"]) for p in circuits["places"].map(list))
    assert (circuits["tokens"] >= 5).all()


@pytest.mark.slow
def test_moves_and_circuits_hold_no_token_and_no_subject(demo: tuple[Path, dict]) -> None:
    path, _ = demo
    moves = _read(path, "SELECT * FROM moves")
    circuits = _read(path, "SELECT * FROM circuits")
    assert list(moves.columns) == MOVE_COLUMNS and list(circuits.columns) == CIRCUIT_COLUMNS
    tokens = set(_read(path, "SELECT DISTINCT token FROM record_identifiers")["token"])
    assert len(tokens) > 1000
    values = set(moves["origin"]) | set(moves["destination"]) | set(circuits["circuit_id"])
    values |= {p for places in circuits["places"] for p in places}
    assert not values & tokens
    assert not any(any(t in v for t in tokens) for v in values if len(v) >= 16)
    tables = set(_read(path, "SELECT table_name FROM information_schema.tables")["table_name"])
    assert not {t for t in tables if t.startswith("_move") or t == "_sightings"}


# ------------------------------------------ an independent computation (pandas only)

def _pandas_subjects(ids: pd.DataFrame) -> pd.Series:
    """Connected components of identifiers linked through records (union-find)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    node = ids.groupby(["kind", "token"]).ngroup()
    record = ids.groupby(["source_id", "record_id"]).ngroup()
    first_node: dict[int, int] = {}
    for n, r in zip(node, record, strict=True):
        if r in first_node:
            a, b = find(first_node[r]), find(int(n))
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            first_node[r] = int(n)
    return node.map(lambda n: find(int(n)))


def _pandas_moves(path: Path, *, window_days: int = 60, max_cases: int = 50) -> pd.DataFrame:
    """The ``moves`` table recomputed from ``records`` and ``record_identifiers`` in pandas."""
    ids = _read(path, "SELECT source_id, record_id, kind, token, seen_at FROM record_identifiers")
    recs = _read(path, "SELECT source_id, record_id, case_number, occurred_at, dest_county_fips, "
                       "dest_region, dest_task_force, dest_cell, dest_res FROM records")
    ids = ids[ids["token"].notna()].merge(recs, on=["source_id", "record_id"], how="left",
                                          indicator=True)
    case = ids["case_number"].fillna("").str.strip()
    ids["case_key"] = ids["source_id"] + "\x00" + case.where(case != "", ids["record_id"])
    cases = ids.groupby(["kind", "token"])["case_key"].transform("nunique")
    ids["seen"] = ids["seen_at"].fillna(ids["occurred_at"])
    ids = ids[(cases <= max_cases) & (ids["_merge"] == "both") & ids["seen"].notna()].copy()
    ids["subject"] = _pandas_subjects(ids).to_numpy()
    sightings = ids.groupby(["subject", "source_id", "record_id"], as_index=False).agg(
        seen=("seen", "min"), county=("dest_county_fips", "first"), region=("dest_region", "first"),
        task_force=("dest_task_force", "first"), cell=("dest_cell", "first"), res=("dest_res", "first"))
    for res in (4, 5, 6):
        sightings[f"res{res}"] = [
            str(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res))) if pd.notna(r) and r >= res
            else None for c, r in zip(sightings["cell"], sightings["res"], strict=True)]
    out: list[pd.DataFrame] = []
    for level in ("county", "region", "task_force", "res4", "res5", "res6"):
        s = sightings[sightings[level].notna()].sort_values(["subject", "seen", "source_id", "record_id"])
        prev = s.groupby("subject")[[level, "seen", "source_id"]].shift()
        move = prev[level].notna() & (prev[level] != s[level]) & (s["seen"] - prev["seen"] <= pd.Timedelta(days=window_days))
        m = pd.DataFrame({
            "level": level, "month": s["seen"].dt.to_period("M").dt.to_timestamp().dt.date,
            "origin": prev[level], "destination": s[level], "subject": s["subject"],
            "source": s["source_id"], "prev_source": prev["source_id"],
        })[move]
        m["corroborated"] = (m["source"] != m["prev_source"]).astype(int)
        keys = ["level", "month", "origin", "destination"]
        counts = m.groupby(keys).agg(moves=("subject", "size"), tokens=("subject", "nunique"),
                                     corroborated=("corroborated", "sum"))
        either = pd.concat([m[keys + ["source"]], m[keys + ["prev_source"]].rename(
            columns={"prev_source": "source"})])
        counts["sources"] = either.groupby(keys)["source"].nunique()
        out.append(counts.reset_index())
    return pd.concat(out, ignore_index=True)


@pytest.mark.slow
def test_moves_equal_an_independent_pandas_computation_at_every_level(demo: tuple[Path, dict]) -> None:
    path, _ = demo
    expected = _pandas_moves(path)
    got = _read(path, "SELECT * FROM moves")
    got["month"] = pd.to_datetime(got["month"]).dt.date
    got["corroborated"] = (got["corroborated_share"] * got["moves"]).round().astype(int)
    assert (abs(got["corroborated_share"] * got["moves"] - got["corroborated"]) < 1e-6).all()
    keys = ["level", "month", "origin", "destination"]
    counts = ["moves", "tokens", "sources", "corroborated"]
    assert set(expected["level"]) == {"county", "region", "task_force", "res4", "res5", "res6"}
    assert expected.groupby("level")["moves"].sum().min() > 500
    both = got[keys + counts].merge(expected, on=keys, how="outer", suffixes=("", "_pandas"),
                                    indicator=True)
    assert (both["_merge"] == "both").all(), both[both["_merge"] != "both"].head().to_string()
    for col in counts:
        assert (both[col] == both[f"{col}_pandas"]).all(), col
    # and so per level x month
    per_month = got.groupby(["level", "month"])[["moves", "corroborated"]].sum()
    assert per_month.equals(expected.groupby(["level", "month"])[["moves", "corroborated"]].sum())
