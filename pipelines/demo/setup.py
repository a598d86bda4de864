"""Demo files → a populated warehouse in one step (what ``make run`` calls).

``python -m pipelines setup-demo [--records N] [--seed S] [--force]``

1. generate the demo agency exports with :func:`pipelines.demo.generate_demo`
   (unless the demo folder already holds the same demo);
2. register every source of ``sources.csv``;
3. ingest every file with its source's profile, originals first, then files that
   repeat earlier ones (the byte copy, the corrections file) so they count as
   duplicates and updates exactly as ``ground_truth.json`` says;
4. run ``pipelines.build.build_warehouse()``;
5. mark the warehouse as demo data (:func:`routes.warehouse.mark_demo`): the
   first source or file loaded into it later by any other command ends demo mode.

Everything is built into a file beside the live warehouse and swapped in at the
end, so the app never sees a half-built demo.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import build, demo
from pipelines.ingest import BatchSummary, _readers, ingest_file_into, prepare_file
from pipelines.ingest.sources import make_source, upsert_source
from pipelines.ingest.timing import StageSeconds
from routes import files, settings, warehouse
from routes.errors import ConfigError

log = logging.getLogger(__name__)

#: The seed ``make run`` uses.
DEFAULT_SEED = 7

_MARKER = "setup_demo.json"


@dataclass
class DemoSetup:
    """What :func:`setup_demo` did."""

    warehouse_path: Path
    demo_dir: Path
    generated: bool
    built: bool
    skipped: bool = False
    batches: list[BatchSummary] = field(default_factory=list)


def setup_demo(
    *,
    records: int | None = None,
    seed: int = DEFAULT_SEED,
    out_dir: Path | None = None,
    warehouse_path: Path | None = None,
    force: bool = False,
) -> DemoSetup:
    """Generate (if needed) and ingest the demo, then build the derived tables.

    Parameters
    ----------
    records
        How many demo records; defaults to :func:`routes.settings.demo_records`.
    seed
        The generator's seed.
    out_dir
        The demo folder; defaults to :func:`routes.settings.demo_dir`.
    warehouse_path
        The live warehouse; defaults to :func:`routes.settings.warehouse_path`.
    force
        Regenerate the files and replace an existing warehouse.
    """
    records = settings.demo_records() if records is None else int(records)
    if records <= 0:
        raise ConfigError(f"records must be a positive number, not {records!r}")
    out = Path(out_dir or settings.demo_dir())
    live = Path(warehouse_path or settings.warehouse_path())
    if live.exists() and not force:
        log.info("A warehouse already exists at %s; nothing to do", live)
        return DemoSetup(live, out, generated=False, built=False, skipped=True)
    # before minutes of generating: the ingest would refuse a key that travels with the warehouse
    # (the same check as the ingest's, against the configured warehouse's folder)
    files.check_key_outside(settings.key_file(), what="the token key", setting="ROUTES_KEY_FILE",
                            warehouse_dir=settings.warehouse_path().parent)
    generated = _ensure_demo_files(out, records=records, seed=seed, force=force)
    files.private_folder(live.parent)  # 0700 when it creates it
    work = live.with_name(f".{live.name}.demo-{os.getpid()}.duckdb")
    _remove(work)
    try:
        batches = _ingest_demo(out, work)
        built = _build(work)
        with warehouse.write_snapshot(path=work) as con:
            warehouse.mark_demo(con)
        os.replace(work, live)
    finally:
        _remove(work)
    return DemoSetup(live, out, generated=generated, built=built, batches=batches)


def _remove(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal"), path.with_name(path.name + ".lock")):
        p.unlink(missing_ok=True)


def _ensure_demo_files(out: Path, *, records: int, seed: int, force: bool) -> bool:
    wanted = {"records": records, "seed": seed}
    marker = out / _MARKER
    if not force and (out / "ground_truth.json").exists() and marker.exists():
        try:
            if json.loads(marker.read_text()) == wanted:
                return False
        except ValueError:
            pass
    out.mkdir(parents=True, exist_ok=True)
    demo.generate_demo(out, records=records, seed=seed)
    marker.write_text(json.dumps(wanted))
    return True


def read_demo_sources(out: Path) -> list[dict[str, str]]:
    """The rows of the demo's ``sources.csv``."""
    path = out / "sources.csv"
    if not path.exists():
        raise ConfigError(f"no {str(path)!r}; regenerate the demo with --force")
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def demo_ingest_order(out: Path) -> list[tuple[str, Path]]:
    """``(source_id, file)`` in ingest order: originals first, then repeats.

    ``ground_truth.json``'s ``file_order`` decides when present. Otherwise a repeat is a file whose bytes equal an earlier file of the same source, or
    whose record ids were already sent by an earlier file of that source (a
    corrections file); repeats go last so that they count as duplicates and
    updates.
    """
    truth_path = out / "ground_truth.json"
    if truth_path.exists():
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        if truth.get("file_order") and truth.get("files"):
            return [(truth["files"][rel]["source_id"], out / rel) for rel in truth["file_order"]]
    originals: list[tuple[str, Path]] = []
    repeats: list[tuple[str, Path]] = []
    for row in read_demo_sources(out):
        sid = row["source_id"]
        folder = out / "files" / sid
        files = sorted(
            p for p in folder.rglob("*")
            if p.is_file() and p.suffix.lower() in _readers.EXTENSIONS
        ) if folder.exists() else []
        seen_hashes: set[str] = set()
        for path in sorted(files, key=_is_correction):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen_hashes or _is_correction(path):
                repeats.append((sid, path))
            else:
                originals.append((sid, path))
            seen_hashes.add(digest)
    return originals + repeats


def _is_correction(path: Path) -> bool:
    name = path.stem.lower()
    return any(word in name for word in ("correction", "update", "resend", "resent", "copy"))


def _ingest_demo(out: Path, work: Path, *, stage_seconds: StageSeconds | None = None) -> list[BatchSummary]:
    """Register the sources and ingest every file into ``work``, one transaction per batch.

    ``work`` is a private file nobody reads yet, so it is written through a single
    snapshot (copying it aside per batch would buy nothing); it is swapped in whole.
    Seconds per ingest stage are added to ``stage_seconds`` when given (``bench/bench_ingest.py``).
    """
    summaries = []
    with warehouse.write_snapshot(path=work) as con:
        for row in read_demo_sources(out):
            upsert_source(con, make_source(
                row["source_id"], name=row["name"], kind=row["kind"],
                task_force=row.get("task_force") or None, contact=row.get("contact") or None,
            ))
        order = demo_ingest_order(out)

        def profile_of(sid: str) -> Path | None:
            path = out / "profiles" / f"{sid}.toml"
            return path if path.exists() else None

        # the next file is read and validated in a thread while this one merges
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = {
                i: pool.submit(prepare_file, path, profile_path=profile_of(sid), stage_seconds=stage_seconds)
                for i, (sid, path) in enumerate(order[:1])
            }
            for i, (sid, path) in enumerate(order):
                if i + 1 < len(order):
                    nsid, npath = order[i + 1]
                    pending[i + 1] = pool.submit(prepare_file, npath, profile_path=profile_of(nsid),
                                                 stage_seconds=stage_seconds)
                prepared = pending.pop(i).result()
                summary = ingest_file_into(con, path, source_id=sid, profile_path=profile_of(sid),
                                           prepared=prepared, stage_seconds=stage_seconds)
                del prepared
                summaries.append(summary)
                if not settings.quiet():
                    print(summary.format(), flush=True)
    return summaries


def _build(work: Path) -> bool:
    build.build_warehouse(warehouse_path=work)
    return True
