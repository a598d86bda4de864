"""Ingest (pipelines/ingest/__init__.py): accounting, idempotence, atomicity, no raw identifiers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from geo import grid
from pipelines import cli
from pipelines.ingest import ingest_files, ingest_upload, tokens
from pipelines.ingest.preview import preview_file
from pipelines.ingest.sources import add_source
from routes import files, settings
from routes.contract.sql import compose, ident
from routes.errors import IngestError, ProfileError, UnknownSourceError

REPO = Path(__file__).resolve().parent.parent

PLACES = ["Fresno", "Oakland, CA", "93721", "San Diego", "Sacramento", "Los Angeles",
          "Bakersfield", "Kern County"]
PHONE_FORMS = ["({a}) {b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "{a}{b}{c}", "1-{a}-{b}-{c}"]


def identifiers(i: int) -> dict[str, str]:
    """The raw identifiers of row ``i``, as an agency might type them."""
    a, b, c = f"{410 + i % 80}", f"{200 + i % 700:03d}", f"{1000 + i:04d}"
    return {
        "phone": PHONE_FORMS[i % len(PHONE_FORMS)].format(a=a, b=b, c=c),
        "email": f"Person.{i}@Example.ORG",
        "vehicle_plate": f"{i % 9 + 1}xyz {100 + i % 800}",
        "ad_handle": f"@Sunny_{i}",
        "subject_name": f"Zed{i} Q{i}ington" if i % 2 else f"Q{i}ington, Zed{i}",
        "subject_dob": f"{1 + i % 12:02d}/{1 + i % 27:02d}/{1970 + i % 30}",
    }


def make_export(n: int = 60, *, seed: int = 1, start: int = 0) -> pd.DataFrame:
    """A clean export in contract column names (no profile needed)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(start, start + n):
        row = {
            "record_id": f"R{i:05d}",
            "record_type": ["tip", "incident", "recovery", "service"][i % 4],
            "occurred_at": f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}",
            "reported_at": f"{1 + i % 12:02d}/{1 + i % 27:02d}/2024",
            "trafficking_type": ["sex", "labor", "both", "unknown"][i % 4],
            "location": PLACES[int(rng.integers(len(PLACES)))],
            "lat": "", "lon": "",
            "origin_location": ["Reno, NV", "Stockton", "", "Tijuana, Mexico"][i % 4],
            "victim_count": str(1 + i % 3),
            "minor_involved": ["Y", "N", ""][i % 3],
            "indicators": ["motel;online_ads", "", "agriculture"][i % 3],
            "case_number": f"C-{i}",
            "contact": "Det. <b>X</b>",
            "narrative": f"SECRET NARRATIVE {i}",
            **identifiers(i),
        }
        if i % 5 == 0:  # a point instead of a place; every 10th swapped
            row["location"] = ""
            lat, lon = 36.7 + (i % 7) * 0.01, -119.78
            row["lat"], row["lon"] = (str(lon), str(lat)) if i % 10 == 0 else (str(lat), str(lon))
        rows.append(row)
    return pd.DataFrame(rows)


def bad_rows() -> pd.DataFrame:
    """One row per quarantine reason, in the order of the reason codes."""
    base = make_export(10, start=900).iloc[[1] * 10].reset_index(drop=True)
    base["record_id"] = [f"BAD{i}" for i in range(10)]
    base.loc[0, "record_id"] = ""
    base.loc[1, ["location", "lat", "lon", "origin_location"]] = ""
    base.loc[2, "occurred_at"] = "the day before yesterday"
    base.loc[3, "occurred_at"] = "2099-01-01"
    base.loc[4, "occurred_at"] = "1950-06-01"
    base.loc[5, "trafficking_type"] = "organ"
    base.loc[6, "victim_count"] = "-2"
    base.loc[7, ["location", "lat", "lon"]] = ["", "95", "200"]
    base.loc[8, "location"] = "Reno, NV"
    base.loc[9, "location"] = "Qwxzzq Blorp"
    base.loc[9, "victim_count"] = "lots"  # several reasons; the first is bad_count
    return base


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def env(tmp_env):
    files._token_keys.clear()
    add_source("hot", name="Hotline", kind="hotline", task_force="sacramento")
    yield tmp_env
    files._token_keys.clear()


def snapshot(path: Path | None = None) -> dict[str, list]:
    con = duckdb.connect(str(path or settings.warehouse_path()), read_only=True)
    try:
        return {
            t: sorted(map(repr, con.execute(compose("SELECT * FROM {t}", t=ident(t))).fetchall()))
            for t in ("sources", "records", "record_identifiers", "record_history", "quarantine")
        }
    finally:
        con.close()


def query(sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path()), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_every_row_is_accounted_for(env):
    frame = pd.concat([make_export(40), bad_rows()], ignore_index=True)
    [s] = ingest_files([write(frame, env / "mixed.csv")], source_id="hot")
    assert s.rows_read == 50
    assert s.rows_read == s.loaded + s.updated + s.duplicates + s.quarantined
    assert (s.loaded, s.quarantined) == (40, 10)
    assert s.reasons == {
        "missing_record_id": 1, "missing_location": 1, "bad_date": 1, "future_date": 1,
        "too_old_date": 1, "bad_enum": 1, "bad_count": 2, "bad_coordinates": 1,
        "outside_california": 1,
    }
    rows = query("SELECT row_number, reasons, \"row\" FROM quarantine ORDER BY row_number")
    assert [r[0] for r in rows] == list(range(41, 51))
    assert rows[-1][1] == ["bad_count", "unresolvable_location"]
    assert json.loads(rows[0][2])["record_id"] is None
    batch = query("SELECT rows_read, loaded, updated, duplicates, quarantined, batch_id FROM batches")
    assert batch == [(50, 40, 0, 0, 10, s.batch_id)]
    assert s.batch_id in s.format() and "quarantined 10" in s.format()


def test_records_are_geocoded_and_indexed(env):
    [s] = ingest_files([write(make_export(60), env / "a.csv")], source_id="hot")
    assert s.loaded == 60
    con = duckdb.connect(str(settings.warehouse_path()), read_only=True)
    recs = con.sql("SELECT * FROM records").df()
    con.close()
    assert recs["dest_county_fips"].notna().all() and recs["dest_region"].notna().all()
    assert recs["dest_task_force"].notna().all()
    assert (recs["source_kind"] == "hotline").all() and (recs["source_task_force"] == "sacramento").all()
    assert recs["content_hash"].notna().all() and recs["validated_at"].notna().all()
    assert (pd.to_datetime(recs["month"]) == pd.to_datetime(recs["occurred_at"]).dt.to_period("M").dt.start_time).all()
    for _, r in recs.iterrows():
        max_res = grid.PRECISION_MAX_RES.get(r["dest_precision"])
        if max_res is None:
            assert pd.isna(r["dest_cell"])
        else:
            assert r["dest_res"] == max_res
            assert grid.cell_resolution(int(r["dest_cell"])) == max_res
            assert int(r["dest_cell"]) == grid.latlng_to_cell(r["dest_lat"], r["dest_lng"], max_res)
    points = recs[recs["dest_precision"] == "point"]
    assert len(points) == 12 and points["dest_lng"].lt(-119).all()  # swapped pairs corrected
    reno = recs[recs["origin_state"] == "NV"]
    assert len(reno) and reno["origin_cell"].isna().all()
    stockton = recs[recs["origin_matched"].fillna("").str.contains("Stockton")]
    assert (stockton["origin_county_fips"] == "06077").all() and stockton["origin_cell"].notna().all()
    assert list(recs.loc[recs["record_id"] == "R00000", "indicators"].iloc[0]) == ["motel", "online_ads"]
    assert set(recs["contact"]) == {"Det. <b>X</b>"}  # kept as given (and untrusted)
    kinds = dict(query("SELECT kind, count(*) FROM record_identifiers GROUP BY kind"))
    assert kinds == {"phone": 60, "email": 60, "vehicle_plate": 60, "ad_handle": 60, "subject": 60}
    assert query("SELECT count(*) FROM record_identifiers WHERE seen_at IS NULL") == [(0,)]


def test_same_file_again_changes_nothing(env):
    path = write(pd.concat([make_export(30), bad_rows()], ignore_index=True), env / "a.csv")
    ingest_files([path], source_id="hot")
    before = snapshot()
    copy = env / "a_copy.csv"
    copy.write_bytes(path.read_bytes())
    for again in (path, copy):
        [s] = ingest_files([again], source_id="hot")
        assert (s.rows_read, s.duplicates, s.loaded, s.updated, s.quarantined) == (40, 40, 0, 0, 0)
        assert s.resent
    assert snapshot() == before
    assert query("SELECT count(*) FROM batches") == [(3,)]


def test_same_rows_in_another_file_are_duplicates(env):
    ingest_files([write(make_export(30), env / "a.csv")], source_id="hot")
    before = snapshot()
    frame = make_export(30).sample(frac=1.0, random_state=3)  # other bytes, same records
    [s] = ingest_files([write(frame, env / "b.csv")], source_id="hot")
    assert (s.duplicates, s.loaded, s.updated, s.resent) == (30, 0, 0, False)
    assert snapshot() == before


def test_a_changed_row_updates_and_keeps_history(env):
    ingest_files([write(make_export(20), env / "a.csv")], source_id="hot")
    old_hash = query("SELECT content_hash FROM records WHERE record_id = 'R00003'")[0][0]
    later = make_export(20)
    later.loc[3, "victim_count"] = "7"
    later.loc[4, "phone"] = "(999) 555-0000"
    extra = make_export(2, start=500)
    [s] = ingest_files([write(pd.concat([later, extra]), env / "b.csv")], source_id="hot")
    assert (s.updated, s.duplicates, s.loaded) == (2, 18, 2)
    assert query("SELECT victim_count FROM records WHERE record_id = 'R00003'") == [(7,)]
    assert query("SELECT count(*) FROM records") == [(22,)]
    history = query("SELECT record_id, previous, batch_id FROM record_history ORDER BY record_id")
    assert [h[0] for h in history] == ["R00003", "R00004"] and history[0][2] == s.batch_id
    previous = json.loads(history[0][1])
    assert previous["record"]["victim_count"] == 1 and previous["record"]["content_hash"] == old_hash
    assert {i["kind"] for i in previous["identifiers"]} == set(tokens.KINDS)
    new_phone = tokens.tokenise("phone", "(999) 555-0000")
    assert query("SELECT token FROM record_identifiers WHERE record_id = 'R00004' AND kind = 'phone'") == [(new_phone,)]


def test_repeated_record_ids_inside_one_file(env):
    frame = make_export(3)
    changed = frame.iloc[[0]].assign(victim_count="3")
    same = frame.iloc[[1]]
    [s] = ingest_files([write(pd.concat([frame, changed, same]), env / "a.csv")], source_id="hot")
    assert (s.rows_read, s.loaded, s.updated, s.duplicates) == (5, 3, 1, 1)
    assert query("SELECT victim_count FROM records WHERE record_id = 'R00000'") == [(3,)]
    [(previous,)] = query("SELECT previous FROM record_history")
    assert json.loads(previous)["record"]["victim_count"] == 1


def test_no_raw_identifier_or_narrative_is_stored_anywhere(env):
    first = pd.concat([make_export(40), bad_rows()], ignore_index=True)
    later = make_export(40)
    later["victim_count"] = "2"  # every record updated: history written
    later.loc[:, "phone"] = [identifiers(i + 7)["phone"] for i in range(40)]
    ingest_files([write(first, env / "a.csv")], source_id="hot")
    ingest_files([write(later, env / "b.csv")], source_id="hot")
    assert query("SELECT count(*) FROM record_history")[0][0] == 40
    assert query("SELECT count(*) FROM quarantine")[0][0] == 10
    needles: set[str] = set()
    for frame in (first, later):
        for kind in ("phone", "email", "vehicle_plate", "ad_handle", "subject_name", "subject_dob"):
            for raw in frame[kind].dropna():
                if not raw:
                    continue
                needles.add(raw)
                needles.add(raw.lower())
                needles.add(raw.upper())
                if kind == "phone":
                    digits = "".join(ch for ch in raw if ch.isdigit())
                    needles.update({digits, digits[-10:], "+1" + digits[-10:]})
                if kind == "vehicle_plate":
                    needles.add(tokens.normalise_plate(raw))
                if kind == "ad_handle":
                    needles.add(tokens.normalise_handle(raw))
                if kind == "subject_name":
                    needles.add(tokens.fold_name(raw))
                    needles.update(w for w in raw.replace(",", " ").split() if len(w) > 3)
        needles.update(frame["narrative"])
    needles.add("SECRET NARRATIVE")
    con = duckdb.connect(str(settings.warehouse_path()), read_only=True)
    texts: list[str] = []
    for table, column, dtype in con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
    ).fetchall():
        if "VARCHAR" in dtype or "STRUCT" in dtype or "JSON" in dtype:
            texts += [str(v) for (v,) in con.table(table).project(duckdb.ColumnExpression(column)).fetchall()]
    con.close()
    blob = "\n".join(texts)
    assert len(blob) > 10_000
    found = sorted(n for n in needles if n and n in blob)
    assert found == []


def test_profile_maps_columns_codes_and_dates(env):
    frame = pd.DataFrame({
        "CaseID": ["A1", "A2", "A3"], "When": ["03/04/2024", "12/31/2023", "2023-13-45"],
        "Kind": ["T", "I", "T"], "Cat": ["ST", "LT", "ST"], "Town": ["Fresno", "Oakland", "Fresno"],
        "First": ["Ana", "Bo", None], "Last": ["Ruiz", "Li", None], "DOB": ["1990-01-02"] * 3,
        "Flags": ["MOT|web", "", "MOT"], "Notes": ["private"] * 3,
    })
    profile = env / "p.toml"
    profile.write_text(textwrap.dedent("""
        source = "hot"
        date_formats = ["%m/%d/%Y"]
        list_separator = "|"
        ignore = ["Notes"]
        [columns]
        record_id = "CaseID"
        occurred_at = "When"
        record_type = "Kind"
        trafficking_type = "Cat"
        city = "Town"
        subject_name = ["First", "Last"]
        subject_dob = "DOB"
        indicators = "Flags"
        [values.record_type]
        T = "tip"
        I = "incident"
        [values.trafficking_type]
        ST = "sex"
        LT = "labor"
        [values.indicators]
        MOT = "motel"
        web = "online_ads"
    """))
    [s] = ingest_files([write(frame, env / "agency.csv")], source_id="hot", profile_path=profile)
    assert (s.loaded, s.quarantined, s.reasons) == (2, 1, {"bad_date": 1})
    rows = query("SELECT record_id, record_type, trafficking_type, occurred_at, indicators FROM records ORDER BY 1")
    assert [(r[0], r[1], r[2], str(r[3].date()), r[4]) for r in rows] == [
        ("A1", "tip", "sex", "2024-03-04", ["motel", "online_ads"]),
        ("A2", "incident", "labor", "2023-12-31", []),
    ]
    assert query("SELECT count(*) FROM record_identifiers WHERE kind = 'subject'") == [(2,)]
    [(row,)] = query('SELECT "row" FROM quarantine')
    assert "Notes" not in json.loads(row) and "private" not in row
    other = env / "other.toml"
    other.write_text('source = "lapd"\n[columns]\nrecord_id = "CaseID"\n')
    with pytest.raises(ProfileError, match="for source 'lapd', not 'hot'"):
        ingest_files([env / "agency.csv"], source_id="hot", profile_path=other)


def test_unknown_source_and_unreadable_files(env, capsys):
    path = write(make_export(3), env / "a.csv")
    with pytest.raises(UnknownSourceError, match="sources add nope"):
        ingest_files([path], source_id="nope")
    (env / "broken.json").write_text("{not json")
    with pytest.raises(IngestError, match="could not be read as JSON"):
        ingest_files([env / "broken.json"], source_id="hot")
    (env / "noid.csv").write_text("city\nFresno\n")
    with pytest.raises(ProfileError, match="record_id"):
        ingest_files([env / "noid.csv"], source_id="hot")
    assert cli.main(["ingest", str(path), str(env / "broken.json"), "--source", "hot"]) == 1
    captured = capsys.readouterr()
    assert "a.csv → batch" in captured.out and "rows read 3" in captured.out
    assert "broken.json" in captured.err and "could not be read" in captured.err
    assert cli.main(["ingest", str(path), "--source", "nope"]) == 2
    assert "sources add" in capsys.readouterr().err


def test_several_files_in_one_call_take_one_snapshot(env, monkeypatch, capsys):
    from routes import warehouse

    a = write(make_export(20), env / "a.csv")
    later = make_export(20)
    later.loc[3, "victim_count"] = "7"
    b = write(pd.concat([later, make_export(5, start=500)]), env / "b.csv")
    (env / "broken.json").write_text("{not json")
    snapshots = []
    real = warehouse.write_snapshot

    def counting(**kwargs):
        snapshots.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(warehouse, "write_snapshot", counting)
    errors = []
    summaries = ingest_files([a, env / "broken.json", b, a], source_id="hot",
                             on_error=lambda path, exc: errors.append((path.name, str(exc))))
    assert len(snapshots) == 1
    assert [e[0] for e in errors] == ["broken.json"] and "could not be read" in errors[0][1]
    assert [s.file_name for s in summaries] == ["a.csv", "b.csv", "a.csv"]
    assert [(s.loaded, s.updated, s.duplicates, s.resent) for s in summaries] == [
        (20, 0, 0, False), (5, 1, 19, False), (0, 0, 20, True)]
    assert len({s.batch_id for s in summaries}) == 3
    assert query("SELECT count(*) FROM records") == [(25,)]
    assert query("SELECT count(*) FROM record_history") == [(1,)]
    assert query("SELECT file_name, loaded, updated, duplicates FROM batches ORDER BY started_at") == [
        ("a.csv", 20, 0, 0), ("b.csv", 5, 1, 19), ("a.csv", 0, 0, 20)]
    # without on_error the first unreadable file is raised, after the others landed
    c = write(make_export(3, start=700), env / "c.csv")
    with pytest.raises(IngestError, match="could not be read"):
        ingest_files([env / "broken.json", c], source_id="hot")
    assert query("SELECT count(*) FROM records") == [(28,)]
    # the CLI reports the unreadable file, lands the others, and exits 1
    d = write(make_export(4, start=800), env / "d.csv")
    assert cli.main(["ingest", str(env / "broken.json"), str(d), "--source", "hot"]) == 1
    captured = capsys.readouterr()
    assert "d.csv → batch" in captured.out and "broken.json" in captured.err
    assert captured.err.startswith("error: ")
    assert query("SELECT count(*) FROM records") == [(32,)]


def test_a_call_whose_files_all_fail_leaves_the_warehouse_untouched(env):
    live = settings.warehouse_path()
    before = (live.stat().st_ino, live.stat().st_mtime_ns)
    (env / "broken.json").write_text("{not json")
    (env / "noid.csv").write_text("city\nFresno\n")
    errors = []
    assert ingest_files([env / "broken.json", env / "noid.csv"], source_id="hot",
                        on_error=lambda path, exc: errors.append(type(exc).__name__)) == []
    assert errors == ["IngestError", "ProfileError"]
    assert (live.stat().st_ino, live.stat().st_mtime_ns) == before
    assert not list(live.parent.glob(f".{live.name}.*.tmp*"))


def test_preview_and_upload_from_bytes(env):
    frame = pd.concat([make_export(12), bad_rows()], ignore_index=True)
    data = frame.to_csv(index=False).encode()
    preview = preview_file(data, source_id="hot", file_name="upload.csv")
    assert (preview.rows_read, preview.will_load, preview.will_quarantine) == (22, 12, 10)
    assert preview.reasons["bad_count"] == 2 and not preview.already_ingested
    assert "narrative" in preview.not_loaded
    assert set(preview.mapping["field"]) >= {"record_id", "phone", "location"}
    sample = preview.quarantine_sample
    assert len(sample) == 10 and set(sample.columns) == {"row_number", "reasons", "row"}
    assert identifiers(901)["email"] not in "".join(sample["row"])
    assert not settings.warehouse_path().with_name("x").exists()
    assert query("SELECT count(*) FROM records") == [(0,)]
    summary = ingest_upload(data, file_name="upload.csv", source_id="hot")
    assert (summary.loaded, summary.quarantined) == (12, 10)
    assert preview_file(data, source_id="hot", file_name="upload.csv").already_ingested


# -- atomicity and concurrent readers, with real processes --------------------------------

_INGEST_SCRIPT = """
import sys
from pipelines.ingest import ingest_files
ingest_files(sys.argv[2:], source_id=sys.argv[1])
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["ROUTES_QUIET"] = "1"
    return env


def big_export(n: int) -> pd.DataFrame:
    frame = make_export(200)
    frame = frame.iloc[np.arange(n) % 200].reset_index(drop=True)
    frame["record_id"] = [f"B{i:07d}" for i in range(n)]
    return frame


@pytest.mark.slow
def test_a_killed_ingest_leaves_the_warehouse_before_or_after(env):
    ingest_files([write(make_export(20), env / "a.csv")], source_id="hot")
    before = snapshot()
    path = write(big_export(60_000), env / "big.csv")
    live = settings.warehouse_path()
    kills_before_commit = 0
    for delay in (0.0, 0.2, 0.5, 0.8, 1.2, 1.6):
        proc = subprocess.Popen([sys.executable, "-c", _INGEST_SCRIPT, "hot", str(path)],
                                env=_child_env(), cwd=REPO)
        work = live.with_name(f".{live.name}.{proc.pid}.tmp")
        deadline = time.monotonic() + 60
        while not work.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        if proc.poll() is not None:  # finished before the kill: that is "after"
            proc.wait()
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = snapshot()
        if state == before:
            kills_before_commit += 1
            continue
        # Killed after the swap (while the process was still exiting): then the
        # warehouse must hold the whole batch, never part of it.
        assert len(state["records"]) == 20 + 60_000, f"a partial batch after a kill at +{delay}s"
        assert query("SELECT count(*) FROM batches")[0][0] == 2
        break
    assert kills_before_commit >= 3, "every kill came too late to test a mid-batch kill"
    proc = subprocess.run([sys.executable, "-c", _INGEST_SCRIPT, "hot", str(path)],
                          env=_child_env(), cwd=REPO, timeout=240)
    assert proc.returncode == 0
    after = snapshot()
    assert len(after["records"]) == 20 + 60_000
    assert not list(live.parent.glob(f".{live.name}.*.tmp*"))


_READER_SCRIPT = """
import json, sys, time
from routes import warehouse
from pathlib import Path
stop = Path(sys.argv[1]); out = []
while not stop.exists():
    try:
        with warehouse.open_snapshot() as con:
            recs = con.execute("SELECT count(*) FROM records").fetchone()[0]
            loaded = con.execute("SELECT coalesce(sum(loaded), 0) FROM batches").fetchone()[0]
            ids = con.execute("SELECT count(DISTINCT record_id) FROM record_identifiers").fetchone()[0]
        out.append([recs, int(loaded), ids])
    except Exception as exc:
        out.append(["error", repr(exc)])
    time.sleep(0.005)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_reader_sees_a_consistent_snapshot_throughout(env):
    ingest_files([write(make_export(10), env / "a.csv")], source_id="hot")
    files = [write(big_export(15_000).assign(record_id=lambda f, k=k: f["record_id"] + f"-{k}"),
                   env / f"f{k}.csv") for k in range(4)]
    stop = env / "stop"
    reader = subprocess.Popen([sys.executable, "-c", _READER_SCRIPT, str(stop)],
                              env=_child_env(), cwd=REPO, stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    ingest_files(files[:2], source_id="hot")  # two commands of two files each
    time.sleep(0.3)
    ingest_files(files[2:], source_id="hot")
    time.sleep(0.3)
    stop.touch()
    out, _ = reader.communicate(timeout=60)
    seen = json.loads(out)
    assert len(seen) > 20
    errors = [s for s in seen if s[0] == "error"]
    assert errors == []
    assert all(recs == loaded == ids for recs, loaded, ids in seen), seen[:5]
    # each command is swapped in whole: never one file of a command without the other
    totals = sorted({s[0] for s in seen})
    assert totals == [10, 10 + 2 * 15_000, 10 + 4 * 15_000]
