"""The demo end to end (pipelines/demo/setup.py): every file ingested as ground truth says."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from pipelines import cli
from pipelines.demo.setup import demo_ingest_order, setup_demo
from pipelines.ingest import _readers, tokens
from pipelines.ingest.prepare import map_columns
from pipelines.ingest.profiles import load_profile
from routes import files
from tests.support.demo_truth import assert_ground_truth_met

pytest.importorskip("pipelines.demo")
pytestmark = pytest.mark.slow

RECORDS = 3000
SEED = 7


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTES_WAREHOUSE", str(root / "warehouse" / "routes.duckdb"))
        mp.setenv("ROUTES_CONTROL", str(root / "warehouse" / "control.sqlite"))
        mp.setenv("ROUTES_KEY_FILE", str(root / "secrets" / "routes.key"))
        mp.setenv("ROUTES_DEMO_DIR", str(root / "demo"))
        files._token_keys.clear()
        done = setup_demo(records=RECORDS, seed=SEED)
        yield done, mp
    files._token_keys.clear()


def connect(done) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(done.warehouse_path), read_only=True)


def test_ground_truth_counts_are_met_exactly(demo):
    done, _ = demo
    truth = json.loads((done.demo_dir / "ground_truth.json").read_text())
    con = connect(done)
    try:
        assert_ground_truth_met(con, truth)
    finally:
        con.close()
    assert sum(b.rows_read for b in done.batches) == truth["rows_written"]


def test_order_sources_and_demo_flag(demo):
    done, _ = demo
    order = [p.name for _, p in demo_ingest_order(done.demo_dir)]
    assert order.index("FCSO_HT_2019_resent.tsv") > order.index("FCSO_HT_2019.tsv")
    con = connect(done)
    assert con.execute("SELECT value FROM meta WHERE key = 'is_demo'").fetchone() == ("true",)
    n_sources = con.execute("SELECT count(*) FROM sources").fetchone()[0]
    assert n_sources == len((done.demo_dir / "sources.csv").read_text().splitlines()) - 1
    every = con.execute(
        "SELECT count(*) FILTER (WHERE source_kind IS NULL OR month IS NULL "
        "OR content_hash IS NULL OR (dest_precision IS NULL AND origin_precision IS NULL)) "
        "FROM records"
    ).fetchone()[0]
    con.close()
    assert every == 0


def _raw_identifier_forms(done) -> set[str]:
    """Every identifier value of every demo file, as read, in several typed forms."""
    truth = json.loads((done.demo_dir / "ground_truth.json").read_text())
    forms: set[str] = set()
    for rel, t in truth["files"].items():
        profile = load_profile(done.demo_dir / t["profile"])
        reader = _readers.open_table(done.demo_dir / rel, fmt=profile.format,
                                     encoding=profile.encoding, sheet=profile.sheet)
        for chunk in reader.chunks:
            mapped = map_columns(chunk, profile)
            for fld in ("phone", "email", "vehicle_plate", "ad_handle", "subject_name"):
                for raw in mapped[fld].dropna().astype(str):
                    raw = raw.strip()
                    if len(raw) < 5:
                        continue
                    forms.update({raw, raw.lower(), raw.upper()})
                    if fld == "phone":
                        forms.add(tokens.normalise_phone(raw) or raw)
                    if fld == "vehicle_plate":
                        forms.add(tokens.normalise_plate(raw) or raw)
                    if fld == "ad_handle":
                        forms.add(tokens.normalise_handle(raw) or raw)
                    if fld == "subject_name":
                        forms.add(tokens.fold_name(raw) or raw)
    for subject in truth.get("shared_subjects", []):
        for typed in subject.get("typed_forms", {}).values():
            for raw in typed:
                forms.update(part.strip() for part in raw.split(" / ") if len(part.strip()) >= 8)
    return {f for f in forms if len(f) >= 5}


def test_no_raw_identifier_in_any_text_column(demo):
    done, _ = demo
    forms = _raw_identifier_forms(done)
    assert len(forms) > 200
    con = connect(done)
    texts = []
    for table, column, dtype in con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
    ).fetchall():
        if any(t in dtype for t in ("VARCHAR", "STRUCT", "JSON", "MAP")):
            texts += [str(v) for (v,) in con.table(table).project(duckdb.ColumnExpression(column)).distinct().fetchall()]
    con.close()
    # tokens and hashes are hex: a short all-hex plate can occur inside one by chance
    blob = re.sub(r"[0-9a-f]{16,}", "#", "\n".join(texts))
    assert len(blob) > 100_000
    assert sorted(f for f in forms if f in blob) == []


def test_narratives_are_not_loaded(demo):
    done, _ = demo
    from pipelines.demo._agencies import SOURCES

    con = connect(done)
    blob = "\n".join(
        str(v) for (v,) in con.execute(
            "SELECT \"row\" FROM quarantine UNION ALL SELECT previous FROM record_history "
            "UNION ALL SELECT contact FROM records UNION ALL SELECT case_number FROM records"
        ).fetchall()
    )
    con.close()
    for src in SOURCES:
        for text in src.narratives:
            assert text[:30] not in blob


def test_again_without_force_changes_nothing(demo, capsys):
    done, _ = demo
    before = done.warehouse_path.stat().st_mtime_ns
    assert setup_demo(records=RECORDS, seed=SEED).skipped
    assert cli.main(["setup-demo", "--records", str(RECORDS)]) == 0
    assert "already exists" in capsys.readouterr().out
    assert done.warehouse_path.stat().st_mtime_ns == before


def test_make_runs_warehouse_is_owner_only_in_an_owner_only_folder(demo):
    import stat

    done, _ = demo
    live = done.warehouse_path
    assert stat.S_IMODE(live.stat().st_mode) == 0o600
    assert stat.S_IMODE(live.parent.stat().st_mode) == 0o700


def test_a_key_inside_the_warehouse_folder_is_refused_before_any_file_is_generated(tmp_path, monkeypatch, capsys):
    """Refused up front: a 10 M demo spent 1 min 38 s generating files before the ingest said this."""
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(tmp_path / "wh" / "routes.duckdb"))
    monkeypatch.setenv("ROUTES_KEY_FILE", str(tmp_path / "wh" / "routes.key"))
    monkeypatch.setenv("ROUTES_DEMO_DIR", str(tmp_path / "demo"))
    assert cli.main(["setup-demo", "--records", "500"]) == 2
    err = capsys.readouterr().err
    assert "sits inside the warehouse folder" in err and "ROUTES_KEY_FILE" in err, err
    assert not (tmp_path / "demo").exists() and not (tmp_path / "wh" / "routes.key").exists()
