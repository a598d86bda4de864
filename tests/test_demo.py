"""The demo generator (pipelines/demo/__init__.py): deterministic, parseable, and labelled truthfully.

These tests read the files back on their own (pandas, pyarrow, zipfile, json),
not through the ingest, and recount what ground truth claims.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import math
import re
import tomllib
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.cli import demos as demo_cli
from pipelines.demo import _chunks, generate_demo
from pipelines.demo import _world as world
from routes.errors import ConfigError

RECORDS = 4000
SEED = 7
KINDS = {"law_enforcement", "ngo", "hotline", "fusion"}
FORMATS_REQUIRED = {"csv", "xlsx", "json", "geojson", "parquet", "tsv"}
REASON_ORDER = ("missing_record_id", "missing_location", "bad_date", "future_date",
                "too_old_date", "bad_enum", "bad_count", "bad_coordinates",
                "outside_california", "unresolvable_location")
DEST_FIELDS = ("location", "address", "city", "zip", "county", "lat", "lon")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo_a")
    truth = generate_demo(out, records=RECORDS, seed=SEED)
    return out, truth


@pytest.fixture(scope="module")
def frames(demo) -> dict[str, pd.DataFrame]:
    """Every file as read by its declared format and encoding, all cells as text."""
    out, truth = demo
    return {rel: read_file(out / rel, t["format"]) for rel, t in truth["files"].items()}


def read_file(path: Path, fmt: str) -> pd.DataFrame:
    if fmt in ("csv", "tsv"):
        raw = path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        return pd.read_csv(io.StringIO(text), sep="\t" if fmt == "tsv" else ",", dtype=str,
                           keep_default_na=False)
    if fmt == "xlsx":
        return pd.read_excel(path, sheet_name="Export", dtype=str).fillna("")
    if fmt == "parquet":
        frame = pq.read_table(path).to_pandas()
        return frame.astype(object).where(frame.notna(), "").astype(str)
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return _flat_frame(rows)
    if fmt == "json":
        return _flat_frame(json.loads(path.read_text(encoding="utf-8")))
    if fmt == "geojson":
        doc = json.loads(path.read_text(encoding="utf-8"))
        rows = []
        for feature in doc["features"]:
            row = dict(feature["properties"])
            geom = feature["geometry"]
            row["lon"], row["lat"] = geom["coordinates"] if geom else ("", "")
            rows.append(row)
        return _flat_frame(rows)
    raise AssertionError(f"unexpected format {fmt!r}")


def _flat_frame(rows: list[dict]) -> pd.DataFrame:
    flat = []
    for row in rows:
        item = {}
        for key, value in row.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    item[f"{key}.{k}"] = v
            else:
                item[key] = value
        flat.append(item)
    frame = pd.DataFrame(flat)
    return frame.map(_cell_text)


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def profile_of(out: Path, truth: dict, rel: str) -> dict:
    return tomllib.loads((out / truth["files"][rel]["profile"]).read_text(encoding="utf-8"))


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- determinism

def test_same_seed_gives_the_same_bytes_and_another_seed_differs(demo, tmp_path):
    out, _ = demo
    again = tmp_path / "again"
    generate_demo(again, records=RECORDS, seed=SEED)
    assert file_hashes(again) == file_hashes(out)
    other = tmp_path / "other"
    generate_demo(other, records=RECORDS, seed=SEED + 1)
    a, b = file_hashes(out), file_hashes(other)
    exports = [k for k in a if k.startswith("files/")] + ["operations.csv", "ground_truth.json"]
    assert sum(a[k] != b.get(k) for k in exports) > len(exports) * 0.9


def test_bad_arguments_raise_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="records"):
        generate_demo(tmp_path, records=10)
    with pytest.raises(ConfigError, match="dirt_rate"):
        generate_demo(tmp_path, records=1000, dirt_rate=0.9)


# ------------------------------------------------------------ layout, sources

def test_registry_profiles_and_formats(demo):
    out, truth = demo
    with open(out / "sources.csv", newline="", encoding="utf-8") as fh:
        sources = list(csv.DictReader(fh))
    assert list(sources[0]) == ["source_id", "name", "kind", "task_force", "contact"]
    task_forces = set(pd.read_csv(Path("data/task_forces.csv"), dtype=str)["task_force"])
    assert {s["kind"] for s in sources} == KINDS
    assert all(s["task_force"] in task_forces for s in sources)
    ids = {s["source_id"] for s in sources}
    assert len(ids) >= 6
    assert {p.stem for p in (out / "profiles").glob("*.toml")} == ids
    formats = {t["format"] for t in truth["files"].values()}
    assert FORMATS_REQUIRED <= formats
    for rel, t in truth["files"].items():
        assert (out / rel).exists() and t["source_id"] in ids
        assert t["rows"] == t["loaded"] + t["updated"] + t["duplicates"] + t["quarantined"]
        assert t["quarantined"] == sum(t["quarantine_reasons"].values())
        assert list(t["quarantine_reasons"]) == [r for r in REASON_ORDER if r in t["quarantine_reasons"]]
    assert truth["file_order"] == list(truth["files"])


def test_profiles_load_with_the_ingest_parser(demo):
    profiles = pytest.importorskip("pipelines.ingest.profiles")
    out, _ = demo
    for path in sorted((out / "profiles").glob("*.toml")):
        profile = profiles.load_profile(path)
        assert "record_id" in profile.columns
        assert profile.ignore, f"{path.name} ignores no narrative column"  # every source has one


def test_every_file_parses_with_its_profile_and_codes_cover_it(demo, frames):
    out, truth = demo
    for rel, frame in frames.items():
        prof = profile_of(out, truth, rel)
        assert len(frame) == truth["files"][rel]["rows"], rel
        mapped = [c for cols in prof["columns"].values()
                  for c in ([cols] if isinstance(cols, str) else cols)]
        missing = [c for c in mapped + prof.get("ignore", []) if c not in frame.columns]
        assert not missing, f"{rel}: {missing}"
        values = prof.get("values", {})
        rt = {k.strip().lower() for k in values["record_type"]}
        assert frame[prof["columns"]["record_type"]].str.strip().str.lower().isin(rt).all(), rel
        tt = {k.strip().lower() for k in values["trafficking_type"]}
        unknown = ~frame[prof["columns"]["trafficking_type"]].str.strip().str.lower().isin(tt)
        expected_bad = truth["files"][rel]["quarantine_reasons"].get("bad_enum", 0)
        if truth["files"][rel]["duplicates"] == truth["files"][rel]["rows"]:
            expected_bad = 0
        assert int(unknown.sum()) == expected_bad, rel
        sep = prof.get("list_separator")
        table = {k.strip().lower() for k in values.get("indicators", {})}
        for cell in frame[prof["columns"]["indicators"]]:
            items = json.loads(cell) if cell.startswith("[") else (cell.split(sep) if cell else [])
            for item in items:
                code = item.strip().lower()
                assert code in table or not table, f"{rel}: indicator {item!r}"


# ------------------------------------------------------------ ground truth

def _parse_date(text: str, formats: list[str]) -> dt.datetime | None:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _first_reason(row: pd.Series, cols: dict, prof: dict) -> str | None:
    """Recount a row's quarantine reason from its text, independently of the ingest."""
    def get(field: str) -> str:
        col = cols.get(field)
        return "" if col is None else str(row[col]).strip()

    if not get("record_id"):
        return "missing_record_id"
    dest = [get(f) for f in DEST_FIELDS]
    if not any(dest) and not get("origin_location"):
        return "missing_location"
    formats = prof.get("date_formats", [])
    dates = [_parse_date(get(f), formats) for f in ("occurred_at", "reported_at") if get(f)]
    if None in dates:
        return "bad_date"
    if any(d > dt.datetime(2026, 11, 1) for d in dates):
        return "future_date"
    if any(d < dt.datetime(1990, 1, 1) for d in dates):
        return "too_old_date"
    codes = {k.strip().lower() for k in prof["values"]["trafficking_type"]}
    if get("trafficking_type").lower() not in codes:
        return "bad_enum"
    if not re.fullmatch(r"\d+", get("victim_count")):
        return "bad_count"
    if get("lat"):
        lat, lon = float(get("lat")), float(get("lon"))
        if abs(lat) > 90 and abs(lon) > 90:
            return "bad_coordinates"
    text = " ".join(dest)
    if re.search(r"\b(NV|AZ)\b", text):
        return "outside_california"
    if "zzqx-unknown" in text:
        return "unresolvable_location"
    return None


def test_ground_truth_matches_the_rows_of_every_file(demo, frames):
    out, truth = demo
    for rel, frame in frames.items():
        t = truth["files"][rel]
        prof = profile_of(out, truth, rel)
        cols = {f: (c if isinstance(c, str) else c[0]) for f, c in prof["columns"].items()}
        if t["format"] == "parquet":  # typed timestamps: compare as ISO text
            prof = {**prof, "date_formats": ["%Y-%m-%d %H:%M:%S", *prof.get("date_formats", [])]}
        reasons = Counter(r for r in (_first_reason(row, cols, prof) for _, row in frame.iterrows())
                          if r)
        dup_rows = int(frame.duplicated().sum())
        if t["duplicates"] == t["rows"]:  # the file sent twice: every row repeats
            continue
        if t["updated"]:
            continue
        assert dict(reasons) == t["quarantine_reasons"], rel
        assert dup_rows == t["duplicates"], rel
        assert t["loaded"] == len(frame) - dup_rows - sum(reasons.values()), rel


def test_the_resent_file_is_a_byte_copy_and_updates_change_known_records(demo, frames):
    out, truth = demo
    resent = [r for r, t in truth["files"].items() if t["duplicates"] == t["rows"] > 0]
    assert len(resent) == 1
    original = resent[0].replace("_resent", "")
    assert (out / resent[0]).read_bytes() == (out / original).read_bytes()
    assert truth["files"][original]["quarantined"] == 0
    assert truth["file_order"].index(original) < truth["file_order"].index(resent[0])

    updates = [r for r, t in truth["files"].items() if t["updated"]]
    assert len(updates) == 1
    upd = frames[updates[0]]
    assert len(upd) == truth["files"][updates[0]]["updated"] > 0
    source = truth["files"][updates[0]]["source_id"]
    earlier = pd.concat([f for r, f in frames.items() if r != updates[0]
                         and truth["files"][r]["source_id"] == source])
    id_col = upd.columns[0]
    known = earlier.drop_duplicates().set_index(id_col)
    assert upd[id_col].isin(known.index).all()
    for _, row in upd.iterrows():
        assert not known.loc[row[id_col]].equals(row.drop(id_col)), "an update must change content"
    assert truth["file_order"].index(updates[0]) > max(
        truth["file_order"].index(r) for r in truth["files"]
        if truth["files"][r]["source_id"] == source and r != updates[0])


def test_text_fields_carry_html_and_formula_strings_in_loaded_rows(demo, frames):
    out, truth = demo
    injected = sum(t["injected_text"] for t in truth["files"].values())
    assert injected > 0
    text = "\n".join(frame.to_csv(index=False) for frame in frames.values())
    for marker in ("<script>alert(1)</script>", "=HYPERLINK(", "+cmd|", "@SUM("):
        assert marker in text


def test_shared_subjects_appear_in_each_named_source_in_several_forms(demo, frames):
    out, truth = demo
    subjects = truth["shared_subjects"]
    assert len(subjects) >= 10
    cells: dict[str, set[str]] = {}
    for rel, frame in frames.items():
        sid = truth["files"][rel]["source_id"]
        cells.setdefault(sid, set()).update(frame.to_numpy().ravel().tolist())
    varied = 0
    for subject in subjects:
        assert len(subject["sources"]) >= 2
        assert "harbor_ngo" not in subject["sources"]  # the NGO carries no identifiers
        for sid in subject["sources"]:
            assert subject["record_ids"][sid]
            assert set(subject["record_ids"][sid]) <= cells[sid]
        for kind, forms in subject["typed_forms"].items():
            assert kind in subject["identifier_kinds"]
            for form in forms:
                parts = form.split(" / ") if kind == "subject_name+dob" else [form]
                for part in parts:
                    found = any(part in cells[s] for s in subject["sources"])
                    if not found and kind == "subject_name+dob":  # split first/last columns
                        found = all(any(p in cells[s] for s in subject["sources"])
                                    for p in part.split(" "))
                    assert found, f"{subject['subject_id']}: {form!r}"
            if len(set(forms)) > 1:
                varied += 1
    assert varied >= len(subjects) * 0.8


def _normalise(kind: str, text: str) -> str:
    text = text.strip()
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    if kind == "vehicle_plate":
        return re.sub(r"[^0-9A-Za-z]", "", text).upper()
    if kind == "ad_handle":
        return text.lstrip("@").lower()
    return text.lower()


def test_only_planted_subjects_are_shared_between_agencies(demo, frames):
    out, truth = demo
    seen: dict[tuple[str, str], set[str]] = {}
    roles = {"phone": "phone", "email": "email", "vehicle_plate": "vehicle_plate",
             "ad_handle": "ad_handle"}
    for rel, frame in frames.items():
        prof = profile_of(out, truth, rel)
        sid = truth["files"][rel]["source_id"]
        for kind, field in roles.items():
            col = prof["columns"].get(field)
            if col is None:
                continue
            for value in frame[col]:
                if value.strip():
                    seen.setdefault((kind, _normalise(kind, value)), set()).add(sid)
    planted = {(kind, _normalise(kind, form)) for subject in truth["shared_subjects"]
               for kind, forms in subject["typed_forms"].items() if kind in roles
               for form in forms}
    shared = {key for key, sources in seen.items() if len(sources) > 1}
    assert shared <= planted
    assert len(shared) >= len(planted) * 0.5


# ------------------------------------------------------------ formats

def test_sheriff_tsv_is_latin1_with_a_bom_and_crlf(demo):
    out, truth = demo
    tsvs = [r for r, t in truth["files"].items() if t["format"] == "tsv"]
    assert tsvs
    for rel in tsvs:
        raw = (out / rel).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        body = raw[3:]
        assert body.count(b"\r\n") == truth["files"][rel]["rows"] + 1
        assert body.count(b"\n") == body.count(b"\r\n")
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        text = body.decode("latin-1")
        assert text.startswith("ORI\tNº Caso\t")
        assert re.search("[áéíóúñÑ]", text)


def test_geojson_is_a_valid_feature_collection(demo):
    gpd = pytest.importorskip("geopandas")
    out, truth = demo
    rel = next(r for r, t in truth["files"].items() if t["format"] == "geojson")
    doc = json.loads((out / rel).read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == truth["files"][rel]["rows"]
    for feature in doc["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
        geom = feature["geometry"]
        assert geom is None or (geom["type"] == "Point" and len(geom["coordinates"]) == 2
                                and all(isinstance(c, float) for c in geom["coordinates"]))
    assert len(gpd.read_file(out / rel)) == len(doc["features"])


def test_xlsx_keeps_formula_text_as_text_and_is_a_plain_workbook(demo):
    out, truth = demo
    rel = next(r for r, t in truth["files"].items() if t["format"] == "xlsx")
    with zipfile.ZipFile(out / rel) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
        assert zf.testzip() is None
    assert "<f>" not in sheet
    frame = read_file(out / rel, "xlsx")
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", frame["RPT_DT"].iloc[0])


# ------------------------------------------------------------ what it looks like

def test_volumes_follow_the_published_hotline_counts_and_type_mix():
    counts = Counter()
    months = world.month_list()
    for chunk in _chunks(600_000):
        for m, n in chunk:
            counts[months[m][0]] += n
    for year, published in world.PUBLISHED_HOTLINE.items():
        assert counts[year] / counts[2016] == pytest.approx(published / 1323, rel=0.001)
    assert sum(counts.values()) == 600_000


def test_mix_flows_hot_spots_and_operations_in_ground_truth(demo):
    out, truth = demo
    mix = truth["volumes"]["type_mix_loaded"]
    assert mix["sex"] == pytest.approx(0.75, abs=0.04)
    assert mix["labor"] == pytest.approx(0.10, abs=0.03)
    assert mix["both"] == pytest.approx(0.05, abs=0.02)
    flows = truth["planted_flows"]
    assert {f["expected_corridor"] for f in flows} <= set(truth["planted_corridors"])
    assert all(f["records"] > RECORDS * 0.02 for f in flows)
    assert all(len(f["by_source"]) >= 3 for f in flows)  # corroborated by distinct agencies
    spots = truth["emerging_hot_spots"]
    assert len(spots) >= 3
    by_q = [sum(q) for q in zip(*(list(s["loaded_by_quarter"].values()) for s in spots),
                                strict=True)]
    assert sum(by_q[-4:-1]) > 1.5 * sum(by_q[:3])  # last three full quarters vs a year before

    with open(out / "operations.csv", newline="", encoding="utf-8") as fh:
        ops = {row["operation_id"]: row for row in csv.DictReader(fh)}
    pairs = truth["operations"]["conflicting_pairs"]
    assert len(pairs) >= 5
    for a, b in pairs:
        assert ops[a]["agency_source_id"] != ops[b]["agency_source_id"]
        assert ops[a]["start"] < ops[b]["end"] and ops[b]["start"] < ops[a]["end"]
        assert _dist_m(ops[a], ops[b]) <= 500
    for a, b in truth["operations"]["near_misses"]:
        overlap = ops[a]["start"] < ops[b]["end"] and ops[b]["start"] < ops[a]["end"]
        assert not overlap or _dist_m(ops[a], ops[b]) > 1500


def _dist_m(a: dict, b: dict) -> float:
    la1, lo1, la2, lo2 = (math.radians(float(x)) for x in (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def test_cli_registers_demo_and_writes_the_layout(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    demo_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", "--records", "500", "--seed", "3", "--out",
                              str(tmp_path / "d"), "--dirt-rate", "0.05"])
    assert args.func(args) == 0
    for name in ("sources.csv", "operations.csv", "ground_truth.json"):
        assert (tmp_path / "d" / name).exists()
    truth = json.loads((tmp_path / "d" / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 3 and truth["dirt_rate"] == 0.05
    assert "Wrote" in capsys.readouterr().out


def test_planted_circuits_are_shared_subjects_typed_differently_along_their_places(demo):
    out, truth = demo
    circuits = truth["planted_circuits"]
    assert [c["name"] for c in circuits] == [c.name for c in world.CIRCUITS]
    loop = circuits[0]
    assert loop["shape"] == "loop"
    assert loop["places"] == ["Sacramento", "Stockton", "Fresno", "Bakersfield"]  # I-5 / SR-99
    assert loop["county_fips"] == ["06067", "06077", "06019", "06029"]
    subjects = {s["subject_id"]: s for s in truth["shared_subjects"]}
    for circuit in circuits:
        assert circuit["subjects"] == len(circuit["subject_ids"]) >= 3
        assert len(set(circuit["county_fips"])) == len(circuit["places"])
        for sid in circuit["subject_ids"]:
            subject = subjects[sid]
            assert subject["circuit"] == circuit["name"]
            assert subject["identifier_kinds"] == ["phone"]
            assert len(subject["sources"]) >= 2
            forms = subject["typed_forms"]["phone"]
            # one sighting per place (a loop returns), a noise sighting, sometimes a second
            assert len(forms) >= len(circuit["places"]) + 1 + (circuit["shape"] == "loop")
            assert len(set(forms)) >= 3 and len({_normalise("phone", f) for f in forms}) == 1
    phones = [_normalise("phone", subjects[sid]["typed_forms"]["phone"][0])
              for c in circuits for sid in c["subject_ids"]]
    assert len(set(phones)) == len(phones)  # one phone per subject, never another's
    min_tokens = 5  # routes.settings.circuit_min_tokens() by default
    assert [c["subjects"] >= min_tokens for c in circuits] == [True, True, False]


def test_every_demo_place_text_geocodes_to_its_own_county():
    """The demo's truth counts no place text as unresolvable: a geocoder rule that starts refusing a
    demo place (as 'Oak Park' and 'San Joaquin' did) must be met by EXCLUDED_PLACES, not found later
    as a mismatch of the ground-truth counts."""
    from geo.geocode import geocode_locations

    places = world.build_places()
    for pool, per_place in (("loc_pool", len(world.LOC_VARIANTS)), ("city_pool", 4)):
        texts = pd.Series(getattr(places, pool).to_pylist())
        expected = pd.Series(places.county_fips).repeat(per_place).to_numpy()
        got = geocode_locations(texts, role="destination")["county_fips"].to_numpy()
        wrong = sorted({t for t, e, g in zip(texts, expected, got, strict=True) if g != e})
        assert not wrong, f"{pool}: {wrong[:10]}"
