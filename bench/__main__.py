"""``python -m bench --sizes 100000 1000000 [--out bench/RESULTS.md] [--quick]``.

For each size, in this order, each pipeline step a child process (so its peak
RSS is its own):

1. demo generation (``python -m pipelines demo``);
2. ingest of every demo file as an agency runs the CLI: one ``ingest`` per
   source with its files in ``setup-demo`` order (register, read, validate,
   geocode, index, load), then the warehouse is marked as demo data;
3. build (aggregates, flows, corridors, hot spots, matches; seconds per table);
4. the physical reference: ``records`` written as Parquet, scanned and copied by DuckDB;
5. the analyst baseline on the demo's largest CSV export (:mod:`bench.baseline`);
6. every page's query-layer calls, p50/p95 (:mod:`bench.pages`);
7. time to first map in headless Chromium, every page's map, a filter change and a
   playback step against a floor page, and the app's RSS (:mod:`bench.browser`).

Once per run: the geocoder (1 M rows / 50 k distinct) and matching (1 M tokens /
32 sources) benchmarks. Results go to ``data/bench/results.json`` and the report
to ``--out``. ``--quick`` shrinks every repetition count (for the test).
``--merge`` keeps sizes from an earlier ``results.json`` that this run does not
measure (to add 10 M from a separate run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import REPO, WORK_DIR, load_average, machine, run_step, versions

SEED = 7


# ------------------------------------------------------------------ steps run in a child


def _step_ingest(demo: Path, warehouse_path: Path) -> dict:
    """Register the sources, then one ``ingest_files`` call per source, as an agency runs the CLI.

    Each source's files go in ``setup-demo`` order (originals, then repeats), the
    sources in the order their first file comes.
    """
    from pipelines.demo.setup import demo_ingest_order, read_demo_sources
    from pipelines.ingest import ingest_files
    from pipelines.ingest.sources import add_source

    started = time.perf_counter()
    for row in read_demo_sources(demo):
        add_source(row["source_id"], name=row["name"], kind=row["kind"],
                   task_force=row.get("task_force") or None, contact=row.get("contact") or None,
                   warehouse_path=warehouse_path)
    totals: dict[str, float] = {"files": 0, "rows_read": 0, "loaded": 0, "updated": 0, "duplicates": 0,
                                "quarantined": 0}
    by_source: dict[str, list[Path]] = {}
    for sid, path in demo_ingest_order(demo):
        by_source.setdefault(sid, []).append(path)
    for sid, paths in by_source.items():
        profile = demo / "profiles" / f"{sid}.toml"
        summaries = ingest_files(paths, source_id=sid, warehouse_path=warehouse_path,
                                 profile_path=profile if profile.exists() else None)
        for summary in summaries:
            totals["files"] += 1
            for key in ("rows_read", "loaded", "updated", "duplicates", "quarantined"):
                totals[key] += getattr(summary, key)
    totals["seconds"] = time.perf_counter() - started
    return totals


def _step_build(warehouse_path: Path) -> dict:
    from pipelines import build
    from routes import warehouse

    started = time.perf_counter()
    table_seconds = build.TableSeconds()
    counts = build.build_warehouse(warehouse_path=warehouse_path, table_seconds=table_seconds)
    seconds = time.perf_counter() - started
    tables = dict(table_seconds.wall)
    with warehouse.write_snapshot(path=warehouse_path) as con:  # what setup-demo does last
        warehouse.mark_demo(con)
    return {"seconds": seconds, "table_seconds": tables, "rows": counts}


def _run_child_step(args: argparse.Namespace) -> int:
    if args.step == "ingest":
        result = _step_ingest(Path(args.demo), Path(args.warehouse))
    elif args.step == "build":
        result = _step_build(Path(args.warehouse))
    elif args.step == "build-engine-steps":
        from bench import engines

        return engines.build_engine_steps(Path(args.warehouse))
    else:
        raise SystemExit(f"unknown step {args.step!r}")
    print(json.dumps(result, default=str))
    return 0


# ------------------------------------------------------------------ one size


def _build_step_seconds(log_text: str) -> dict[str, float]:
    """``pipelines.build.flows took 1.23 s`` lines of the build's progress output."""
    return {m.group(1).removeprefix("pipelines."): float(m.group(2))
            for m in re.finditer(r"(pipelines\.\S+) took ([\d.]+) s", log_text)}


def _say(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def measure_size(size: int, *, work: Path, quick: bool, browser: bool = True) -> dict:
    """Every measurement at one size; working files under ``work/<size>``."""
    from bench import baseline, pages
    from bench import browser as browser_bench

    folder = work / str(size)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    demo, wh = folder / "demo", folder / "warehouse" / "routes.duckdb"
    wh.parent.mkdir()
    env = {
        "ROUTES_WAREHOUSE": str(wh), "ROUTES_DEMO_DIR": str(demo),
        "ROUTES_KEY_FILE": str(folder / "secrets" / "routes.key"),
        "ROUTES_CONTROL": str(wh.parent / "control.sqlite"),
        "ROUTES_QUIET": "1", "ROUTES_TILE_URL": "",
    }
    os.environ.update(env)  # the in-process page queries read the same warehouse
    out: dict = {"size": size, "load_average_start": load_average()}

    _say(f"{size:,}: demo generation")
    run = run_step(["-m", "pipelines", "demo", "--records", str(size), "--seed", str(SEED), "--out", str(demo)],
                   env=env, log_path=folder / "demo.log")
    out["demo"] = {**run.as_dict(), "records_per_s": size / run.wall_s}

    _say(f"{size:,}: ingest")
    run = run_step(["-m", "bench", "--step", "ingest", "--demo", str(demo), "--warehouse", str(wh)],
                   env=env, log_path=folder / "ingest.log")
    rows = run.result["rows_read"]
    out["ingest"] = {**run.as_dict(), "records_per_s": rows / run.result["seconds"]}

    _say(f"{size:,}: build")
    from pipelines.build.memory import build_memory
    run = run_step(["-m", "bench", "--step", "build", "--warehouse", str(wh)],
                   env={**env, "ROUTES_QUIET": "0"}, log_path=folder / "build.log")
    out["build"] = {**run.as_dict(), "step_seconds": _build_step_seconds((folder / "build.log").read_text()),
                    "build_memory": build_memory()}  # the child's ROUTES_BUILD_MEMORY
    out["warehouse_mib"] = wh.stat().st_size / 2**20

    _say(f"{size:,}: physical reference")
    out["reference"] = baseline.physical_reference(wh, folder / "reference")

    _say(f"{size:,}: analyst baseline")
    out["baseline"] = baseline.run_baseline(demo, folder / "baseline", quick=quick)

    _say(f"{size:,}: page queries")
    # 30 views: a p95 of 10 is the slowest view give or take; of 30 it is a percentile
    out["pages"] = pages.measure_pages(wh, repeats=3 if quick else 30)

    if browser:
        _say(f"{size:,}: browser")
        out["browser"] = browser_bench.measure_browser(wh, log_dir=folder)
    out["load_average_end"] = load_average()
    for parquet in (folder / "reference").glob("*.parquet"):
        parquet.unlink()
    return out


def _module_benches(quick: bool) -> dict:
    """The geocoder and matching benchmarks of their own modules, once per run."""
    out: dict = {}
    try:
        from bench import bench_geocode

        rows, distinct = (20_000, 2_000) if quick else (1_000_000, 50_000)
        started = time.perf_counter()
        out["geocode"] = bench_geocode.run(rows, distinct)
        out["geocode"]["wall_s"] = time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - a broken module is reported, not fatal
        out["geocode"] = {"error": repr(exc)}
    try:
        from bench import bench_matches

        tokens, sources = (20_000, 8) if quick else (1_000_000, 32)
        out["matches"] = {"tokens": tokens, "sources": sources,
                          "seconds": bench_matches.run(tokens, sources)}
    except Exception as exc:  # noqa: BLE001
        out["matches"] = {"error": repr(exc)}
    return out


def run(sizes: list[int], *, out_path: Path, work: Path, quick: bool, merge: bool = False,
        browser: bool = True, modules: bool = True) -> dict:
    """Measure every size, then write the JSON results, ``RESULTS.md`` and the chart."""
    from bench import report

    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "results.json"
    previous = json.loads(results_path.read_text()) if merge and results_path.exists() else {}
    started = datetime.now(UTC)
    results: dict = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"), "quick": quick,
        "machine": machine(), "versions": versions(), "sizes": {},
        "command": "python -m bench " + " ".join(sys.argv[1:]),
    }
    for size in sorted(sizes):
        results["sizes"][str(size)] = measure_size(size, work=work, quick=quick, browser=browser)
        results_path.write_text(json.dumps({**previous, **results}, indent=1, default=str))
    if merge:
        for size, figures in previous.get("sizes", {}).items():
            results["sizes"].setdefault(size, {**figures, "from_earlier_run": previous.get("date")})
    if modules:
        _say("geocoder and matching benchmarks")
        results["modules"] = _module_benches(quick)
    elif previous.get("modules"):
        results["modules"] = previous["modules"]
    results["seconds"] = (datetime.now(UTC) - started).total_seconds()
    results_path.write_text(json.dumps(results, indent=1, default=str))
    report.write_report(results, out_path=out_path, chart_path=out_path.with_name("scaling.png"))
    _say(f"wrote {out_path} and {out_path.with_name('scaling.png')}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    parser.add_argument("--work", type=Path, default=WORK_DIR, help="working folder (default data/bench)")
    parser.add_argument("--quick", action="store_true", help="few repetitions (tests)")
    parser.add_argument("--merge", action="store_true", help="keep sizes of the previous results.json")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium measurement")
    parser.add_argument("--no-modules", action="store_true", help="skip the geocoder and matching benchmarks")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from results.json")
    parser.add_argument("--engines", action="store_true",
                        help="only the engine section: the build on DuckDB and on Spark local[2] at --sizes")
    parser.add_argument("--step", choices=["ingest", "build", "build-engine-steps"], help=argparse.SUPPRESS)
    parser.add_argument("--demo", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        return _run_child_step(args)
    if args.report_only and args.engines:
        from bench import report

        results = json.loads((args.work / "engines.json").read_text())
        report.write_engine_section(results, out_path=args.out, chart_path=args.out.with_name("engines.png"))
        return 0
    if args.report_only:
        from bench import report

        results = json.loads((args.work / "results.json").read_text())
        report.write_report(results, out_path=args.out, chart_path=args.out.with_name("scaling.png"))
        return 0
    if args.engines:
        from bench import engines

        engines.run(args.sizes, work=args.work, out_path=args.out)
        return 0
    run(args.sizes, out_path=args.out, work=args.work, quick=args.quick, merge=args.merge,
        browser=not args.no_browser, modules=not args.no_modules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
