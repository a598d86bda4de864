"""The protected release of moves and circuits, and the readers in ``query/moves.py``."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from geo import reference
from pipelines.build import release_moves as brm
from query import moves
from query.filters import Filters
from query.viewer import OWN_RECORDS, Viewer

LOOP = ["06067", "06077", "06019", "06029", "06067"]  # Sacramento, San Joaquin, Fresno, Kern, back
LONE = ["06001", "06013", "06075", "06081"]  # one subject's own path


def _rows(route: list[str], subjects: range) -> list[tuple[int, str, datetime, str, int]]:
    start = datetime(2025, 1, 1)
    return [(s, f"src{i % 2}", start + timedelta(days=s % 7 + 10 * i), c, s * 100 + i)
            for s in subjects for i, c in enumerate(route)]


def _released_circuits(seed_subjects: int) -> pd.DataFrame:
    rows = pd.DataFrame(_rows(LOOP, range(seed_subjects)) + _rows(LONE, range(1000, 1001)),
                        columns=["subject", "source_id", "seen_at", "county", "record_id"])
    con = duckdb.connect()
    con.execute("CREATE TABLE release_noise (measurement VARCHAR, key BIGINT, true_value BIGINT, noise BIGINT)")
    out, charge = brm._circuits_release(con, rows, 60)
    assert charge["rho"] == pytest.approx(brm.circuits_rho())
    return out


def test_a_sequence_of_one_subject_is_never_released_and_a_loop_of_ten_nearly_always() -> None:
    assert brm.circuit_delta() < 1e-7
    loops = 0
    for _ in range(60):
        out = _released_circuits(10)
        assert not any(set(p) & {"06001", "06013", "06075", "06081"} for p in out["places"])
        loops += int((out["shape"] == "loop").any())
    assert loops >= 54  # Pr[N(0, 1) >= 7 - 10] > 0.99 each


def test_each_subject_supports_one_sequence() -> None:
    rows = pd.DataFrame(_rows(LOOP, range(3)), columns=["subject", "source_id", "seen_at", "county", "record_id"])
    support = brm._one_sequence(rows, 60)
    assert sum(len(s) for s in support.values()) == 3
    assert [k[0] for k in support] == ["loop"]



def _in_loop_order(places: list[str], expected: list[str]) -> bool:
    cycle = places[:-1]
    if places[0] != places[-1] or sorted(cycle) != sorted(expected):
        return False
    start = cycle.index(expected[0])
    return cycle[start:] + cycle[:start] == expected


@pytest.mark.slow
def test_release_readers_on_the_demo(demo: tuple[Path, dict]) -> None:
    path, truth = demo
    partner = Viewer("p", "partner")
    top = moves.circuits(partner)
    assert list(top.columns) == list(moves.CIRCUIT_COLUMNS)
    loop = next(c for c in truth["planted_circuits"] if c["shape"] == "loop")
    released = [i for i, p in enumerate(top["places"]) if _in_loop_order(list(p), loop["county_fips"])]
    assert released, top  # missed with chance Pr[N(0, 1) <= 7 - 10 - 1] < 0.01 %
    row = top.iloc[released[0]]
    assert row["shape"] == "loop" and row["place_names"][0] == row["place_names"][-1]
    assert len(row["place_names"]) == len(row["places"])
    through = moves.circuits(partner, Filters(counties=(loop["county_fips"][1],)))
    assert all(loop["county_fips"][1] in p for p in through["places"])
    edges = moves.observed_moves(partner)
    assert list(edges.columns) == list(moves.MOVE_COLUMNS)
    shown = edges["moves"].dropna()
    assert len(shown) and (shown >= partner.k).all() and edges["sources"].isna().all()
    assert moves.observed_moves(partner, level="region")["dest_kind"].eq("region").all()
    con = duckdb.connect(str(path), read_only=True)
    tokens = {str(t) for t in con.execute("SELECT DISTINCT token FROM record_identifiers WHERE token IS NOT NULL")
              .df()["token"]}
    con.close()
    assert len(tokens) > 1000
    own = Viewer("a", "analyst", "sacramento", OWN_RECORDS)
    own_moves, own_circuits = moves.observed_moves(own), moves.circuits(own)
    assert (own_moves["moves"].dropna() >= own.k).all() and (own_circuits["subjects"] >= own.k).all()
    for frame in (top, edges, own_moves, own_circuits):
        values = [str(x) for x in frame.to_numpy().ravel()]
        assert not any(t in v for v in values for t in tokens if len(t) >= 8)


@pytest.mark.slow
def test_the_planted_loop_is_the_top_released_circuit_over_many_draws(demo: tuple[Path, dict], tmp_path: Path) -> None:
    """The rule, over 200 fresh noise draws on the demo's own sightings: the loop is released and first."""
    path, truth = demo
    loop = next(c for c in truth["planted_circuits"] if c["shape"] == "loop")
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    con = duckdb.connect(str(copy))
    rows = brm._sightings(con)
    con.close()
    support = brm._one_sequence(rows, 60)
    ranked = sorted(support.items(), key=lambda kv: -len(kv[1]))
    assert ranked[0][0][0] == "loop" and _in_loop_order([*ranked[0][0][1], ranked[0][0][1][0]], loop["county_fips"])
    first = released = 0
    for _ in range(200):
        mem = duckdb.connect()
        mem.execute("CREATE TABLE release_noise (measurement VARCHAR, key BIGINT, true_value BIGINT, noise BIGINT)")
        out, _charge = brm._circuits_release(mem, rows, 60)
        mem.close()
        singles = {k for k, v in support.items() if len(v) == 1}
        assert not {(s, tuple(p[:-1]) if s == "loop" else tuple(p)) for s, p in zip(out["shape"], out["places"],
                                                                               strict=True)} & singles
        is_loop = [_in_loop_order(list(p), loop["county_fips"]) for p in out["places"]]
        released += int(any(is_loop))
        first += int(bool(len(out)) and is_loop[int(out["subjects"].to_numpy().argmax())])
    # first: ≈ 88 % a draw (10 followers against 8, both with noise, plus the threshold); 170 of 200 was 1.3 sd
    # under that mean and failed a clean run at 169, so the bound sits 5 sd under it (a real regression, the
    # loop no longer ahead, still fails: it would be first in about half the draws)
    assert released >= 195 and first >= 150, (released, first)


def _true_moves(path: Path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(
            "SELECT month, origin, destination, moves FROM moves WHERE level = 'county'"
        ).df()
    finally:
        con.close()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def _judge(pairs: list[tuple[float, float]]) -> None:
    """Small true counts (1..k-1) among ``(recovered, true)``: exact hit ≤ 1/4 and mean error ≥ 1.5, or none shown."""
    small = [(got, true) for got, true in pairs if 1 <= true < 11]
    if not small:
        return  # the small counts are not shown at all
    hits = sum(got == true for got, true in small) / len(small)
    error = sum(abs(got - true) for got, true in small) / len(small)
    assert hits <= 0.25 and error >= 1.5, (hits, error, len(small))


@pytest.mark.slow
def test_differencing_observed_moves_does_not_recover_small_counts(demo: tuple[Path, dict]) -> None:
    path, _ = demo
    partner = Viewer("attacker", "partner")
    true = _true_moves(path)
    months = sorted(true["month"].unique())
    pairs: list[tuple[float, float]] = []
    # one more month: the difference is that month's moves
    for before, after in zip(months[:-1], months[1:], strict=True):
        a = moves.observed_moves(partner, Filters(start=months[0], end=before)).set_index(["origin_id", "dest_id"])
        b = moves.observed_moves(partner, Filters(start=months[0], end=after)).set_index(["origin_id", "dest_id"])
        month = true[true["month"] == after].set_index(["origin", "destination"])["moves"]
        both = a.index[a["moves"].notna()].intersection(b.index[b["moves"].notna()])
        pairs += [(float(b.at[key, "moves"] - a.at[key, "moves"]), float(month.get(key, 0))) for key in both]
    # a region pair minus the county pairs shown inside it: the hidden county pairs
    regions = reference.load_regions().set_index("county_fips")["region"]
    counties = moves.observed_moves(partner)
    shown = counties[counties["moves"].notna()]
    total = true.groupby(["origin", "destination"], as_index=False)["moves"].sum()
    total["o"], total["d"] = total["origin"].map(regions), total["destination"].map(regions)
    visible = set(zip(shown["origin_id"], shown["dest_id"], strict=True))
    total["hidden"] = [(o, d) not in visible for o, d in zip(total["origin"], total["destination"], strict=True)]
    for row in moves.observed_moves(partner, level="region").dropna(subset=["moves"]).itertuples():
        inside = shown[(shown["origin_id"].map(regions) == row.origin_id) & (shown["dest_id"].map(regions) == row.dest_id)]
        hidden = total[(total["o"] == row.origin_id) & (total["d"] == row.dest_id) & total["hidden"]]
        pairs.append((float(row.moves) - float(inside["moves"].sum()), float(hidden["moves"].sum())))
    assert len(pairs) > 20
    _judge(pairs)


@pytest.mark.slow
def test_cli_query_moves_and_circuits(demo: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli import main

    assert main(["query", "circuits", "--as", "partner"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rank,circuit_id,shape,places,place_names") and "loop" in out
    assert main(["query", "moves", "--as", "analyst", "--task-force", "sacramento", "--scope", "own"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("level,origin_id")


@pytest.mark.slow
def test_a_lead_sees_the_planted_loop_in_order_on_the_flows_page(demo: tuple[Path, dict]) -> None:
    """The Flows page lists released circuits with their places in travel order, and never a token."""
    from tests.support.apptest import FLOWS, VIEWERS, page_app, ran_ok

    path, truth = demo
    loop = next(c for c in truth["planted_circuits"] if c["shape"] == "loop")
    names = dict(zip(loop["county_fips"], loop["places"], strict=True))
    app = ran_ok(page_app(FLOWS, VIEWERS["lead"]).run())
    tables = [t.value for t in app.dataframe if "Places in order" in t.value.columns]
    assert len(tables) == 1, [list(t.value.columns) for t in app.dataframe]
    shown = tables[0]
    loops = [p.split(" → ") for p, s in zip(shown["Places in order"], shown["Shape"], strict=True) if s == "loop"]
    fips = {name: code for code, name in reference_names(loop["county_fips"]).items()}
    in_order = [ps for ps in loops if _in_loop_order([fips.get(p, p) for p in ps], loop["county_fips"])]
    assert in_order, (shown, names)
    with duckdb.connect(str(path), read_only=True) as con:
        tokens = [str(t) for (t,) in con.execute("SELECT DISTINCT token FROM record_identifiers").fetchall()]
    text = " ".join(str(v) for v in shown.to_numpy().ravel()) + " ".join(c.value for c in app.caption)
    assert not any(t in text for t in tokens if len(t) >= 8)


def reference_names(fips: list[str]) -> dict[str, str]:
    """County FIPS -> county name, as the page writes them."""
    counties = reference.load_counties()
    return dict(counties.loc[counties["county_fips"].isin(fips), ["county_fips", "name"]].itertuples(index=False))
