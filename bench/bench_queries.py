"""p50/p95 of each query-layer reader, with varied random filters, for two viewers.

``run(warehouse_path)`` times every public reader of ``query/trends.py``,
``query/intake.py`` and ``query/matches.py`` and ``query.suppression.guard_filters``
(which every filtered reader calls), plus, for comparison, the readers of
``query/cells.py`` and ``query/flows.py`` that the same pages call, as a
``leadership`` viewer and as an ``analyst`` of the demo's first task force.

Each repetition draws one set of filters (:func:`bench.pages.random_filters`,
fixed seed) and calls every reader once with them, uncached (no
``st.cache_data``), each through its own :func:`routes.warehouse.open_snapshot`
cursor as in the app. In the same repetition the *reference* runs: a plain
filtered ``GROUP BY dest_county_fips`` over ``records`` (no roles, no
suppression) on a cursor of the same shared database, so it is slowed by the
machine's load exactly as the readers are. The machine is shared: compare each
reader's figure with the reference of the same run, not with another run's.

``suppression.guard_filters`` runs first in each repetition with its remembered
verdicts cleared, so its figure is the uncached cost; the readers after it find
the verdict for these filters remembered (per trend build), as every reader of a
page after the first does.

A call the query layer refuses (a ``RoutesError``: filters that would isolate a
few records, a role that may not read) is timed and counted as refused; any other
exception is counted as an error and its first message kept (that is how the
``TypeError`` of ``_check_atoms`` was found).

Command line::

    .venv/bin/python -m bench.bench_queries data/bench/perf/routes.duckdb --repeats 30 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import load_average, percentile
from bench.pages import _months, random_filters, viewers

Call = Callable[[], object]


def _readers(viewer, filters, rng: random.Random, *, others: bool) -> list[tuple[str, Call]]:
    """``(name, call)`` of every reader timed, for one viewer and one set of filters."""
    from geo import reference
    from query import intake, matches, suppression, trends
    from routes import warehouse

    dims = reference.county_dimensions()
    kind = rng.choice(["region", "task_force", "county"])
    column = {"region": "region", "task_force": "task_force", "county": "county_fips"}[kind]
    place = rng.choice(sorted(dims[column].dropna().unique()))
    res, step = rng.choice([5, 6]), rng.choice(["month", "quarter"])
    against = rng.choice(["previous", "year_before"])

    def guard() -> None:
        # cold: forget remembered verdicts first (the readers timed after it then
        # find this verdict remembered, as the second and later readers of a page do)
        verdicts = getattr(suppression, "_VERDICTS", None)
        if verdicts is not None:
            with suppression._VERDICTS_LOCK:
                verdicts.clear()
        with warehouse.open_snapshot() as con:
            suppression.guard_filters(con, filters, k=viewer.k)

    def first_source() -> str:
        """A source of the viewer's own task force when it has one (else the first)."""
        with warehouse.open_snapshot() as con:
            row = con.execute(
                "SELECT coalesce(min(source_id) FILTER (WHERE task_force = ?), min(source_id)) FROM sources",
                [viewer.task_force],
            ).fetchall()
        return str(row[0][0])

    source = first_source()
    calls: list[tuple[str, Call]] = [
        ("suppression.guard_filters", guard),
        ("trends.resolve_period", lambda: trends.resolve_period(viewer, filters)),
        ("trends.headline_figures", lambda: trends.headline_figures(viewer, filters)),
        ("trends.monthly_series", lambda: trends.monthly_series(viewer, filters)),
        ("trends.monthly_series(by=region)", lambda: trends.monthly_series(viewer, filters, by="region")),
        ("trends.county_rates", lambda: trends.county_rates(viewer, filters)),
        ("trends.counties_ranked_by_change",
         lambda: trends.counties_ranked_by_change(viewer, filters, against=against)),
        ("trends.emerging_hot_spots", lambda: trends.emerging_hot_spots(viewer, filters, res=res, step=step)),
        ("trends.region_profile", lambda: trends.region_profile(viewer, **{kind: place}, filters=filters)),
        ("trends.county_neighbours", lambda: trends.county_neighbours([place] if kind == "county" else ["06037"])),
        ("intake.source_summary", lambda: intake.source_summary(viewer)),
        ("intake.quarantine_reasons", lambda: intake.quarantine_reasons(viewer)),
        ("intake.source_batches", lambda: intake.source_batches(viewer, source)),
        ("intake.quarantine_rows", lambda: intake.quarantine_rows(viewer, source, audit=False)),
        ("intake.upload_sources", lambda: intake.upload_sources(viewer)),
    ]
    if viewer.has_record_access:
        calls += [
            ("matches.open_matches", lambda: matches.open_matches(viewer)),
            ("matches.operation_conflicts", lambda: matches.operation_conflicts(viewer)),
            ("matches.own_agencies", lambda: matches.own_agencies(viewer)),
        ]
    else:
        calls += [
            ("matches.match_counts", lambda: matches.match_counts(viewer)),
            ("matches.conflict_counts", lambda: matches.conflict_counts(viewer)),
        ]
    if others:
        from query import cells, flows

        no_period = filters.with_period(None, None)
        level = rng.choice(["county", "region", "task_force", "res5", "res6"])
        calls += [
            ("(other) cells.histogram_by_month", lambda: cells.histogram_by_month(viewer, no_period)),
            ("(other) cells.cell_counts", lambda: cells.cell_counts(viewer, filters, res=rng.choice([4, 5, 6, 7]))),
            ("(other) flows.flow_edges(county)", lambda: flows.flow_edges(viewer, filters, level="county")),
            ("(other) flows.flow_edges", lambda: flows.flow_edges(viewer, filters, level=level)),
            ("(other) flows.location_totals", lambda: flows.location_totals(viewer, filters, level=level)),
            ("(other) flows.corridor_loads", lambda: flows.corridor_loads(viewer, filters)),
            ("(other) flows.coordination_pairs", lambda: flows.coordination_pairs(viewer, filters, level="region")),
        ]
    return calls


def _reference(filters) -> Call:
    from routes import warehouse
    from routes.contract.sql import compose

    def call() -> None:
        where, params = filters.where()
        with warehouse.open_snapshot() as con:
            con.execute(
                compose("SELECT dest_county_fips, count(*) FROM records WHERE {where} GROUP BY 1", where=where),
                params,
            ).fetchall()

    return call


def _timed(call: Call) -> tuple[float, str]:
    """Seconds and outcome (``ok``, ``refused`` or ``error: …``) of one call."""
    from routes.errors import RoutesError

    started = time.perf_counter()
    try:
        call()
        outcome = "ok"
    except RoutesError:
        outcome = "refused"
    except Exception as exc:  # noqa: BLE001 - a bug in a reader is reported, not fatal
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        outcome = f"error: {type(exc).__name__}: {exc}"[:200] + f" (at {Path(frame.filename).name}:{frame.lineno})"
    return time.perf_counter() - started, outcome


def run(
    warehouse_path: Path | str,
    *,
    repeats: int = 30,
    seed: int = 7,
    roles: tuple[str, ...] = ("leadership", "analyst"),
    others: bool = True,
    control_path: Path | str | None = None,
) -> dict:
    """Time every reader ``repeats`` times per viewer; p50/p95 per reader and the reference.

    Parameters
    ----------
    warehouse_path
        A built warehouse (``python -m pipelines setup-demo``).
    repeats
        Random filter sets per viewer.
    roles
        Which of :func:`bench.pages.viewers` to measure.
    others
        Also time the cells and flows readers the same pages call.
    control_path
        The control store (``ROUTES_CONTROL``); defaults to ``control.sqlite``
        beside the warehouse.

    Returns
    -------
    dict
        ``{"viewers": {role: {reader: {p50_ms, p95_ms, max_ms, n, refused, errors,
        first_error}}}, "reference": {p50_ms, p95_ms, n}, "load_average": [...]}``.
    """
    warehouse_path = Path(warehouse_path).resolve()
    saved = {name: os.environ.get(name) for name in ("ROUTES_WAREHOUSE", "ROUTES_CONTROL", "ROUTES_QUIET")}
    os.environ["ROUTES_WAREHOUSE"] = str(warehouse_path)
    os.environ["ROUTES_CONTROL"] = str(control_path or warehouse_path.with_name("control.sqlite"))
    os.environ["ROUTES_QUIET"] = "1"
    try:
        months = _months(warehouse_path)
        rng = random.Random(seed)
        chosen = {role: v for role, v in viewers(warehouse_path).items() if role in roles}
        times: dict[str, dict[str, list[float]]] = {role: {} for role in chosen}
        outcomes: dict[str, dict[str, list[str]]] = {role: {} for role in chosen}
        reference: list[float] = []
        loads = [load_average()]
        # one untimed pass per viewer: imports, reference data, the OS file cache
        for viewer in chosen.values():
            for _, call in _readers(viewer, random_filters(rng, months), rng, others=others):
                _timed(call)
        for _ in range(repeats):
            filters = random_filters(rng, months)
            reference.append(_timed(_reference(filters))[0])
            for role, viewer in chosen.items():
                for name, call in _readers(viewer, filters, rng, others=others):
                    seconds, outcome = _timed(call)
                    times[role].setdefault(name, []).append(seconds)
                    outcomes[role].setdefault(name, []).append(outcome)
            loads.append(load_average())
        out: dict = {"repeats": repeats, "viewers": {}, "load_average": [min(loads), max(loads)]}
        for role in chosen:
            out["viewers"][role] = {
                name: {
                    "p50_ms": 1000 * percentile(t, 50), "p95_ms": 1000 * percentile(t, 95),
                    "max_ms": 1000 * max(t), "n": len(t),
                    "refused": outcomes[role][name].count("refused"),
                    "errors": sum(o.startswith("error") for o in outcomes[role][name]),
                    "first_error": next((o for o in outcomes[role][name] if o.startswith("error")), None),
                }
                for name, t in times[role].items()
            }
        out["reference"] = {"p50_ms": 1000 * percentile(reference, 50),
                            "p95_ms": 1000 * percentile(reference, 95), "n": len(reference)}
        return out
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def format_table(result: dict) -> str:
    """The result as a Markdown table (one row per viewer and reader)."""
    ref = result["reference"]
    lines = [
        f"reference GROUP BY: p50 {ref['p50_ms']:.1f} ms, p95 {ref['p95_ms']:.1f} ms "
        f"(n {ref['n']}; load average {result['load_average'][0]:.1f}–{result['load_average'][1]:.1f})",
        "",
        "| viewer | reader | p50 ms | p95 ms | p95 / ref p95 | refused | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for role, readers in result["viewers"].items():
        for name, r in readers.items():
            lines.append(
                f"| {role} | {name} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                f"{r['p95_ms'] / ref['p95_ms']:.2f} | {r['refused']} | {r['errors']} |"
            )
    errors = [(role, name, r["first_error"]) for role, readers in result["viewers"].items()
              for name, r in readers.items() if r["first_error"]]
    lines += ["", *[f"- {role} {name}: {err}" for role, name, err in errors]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warehouse", help="a built warehouse file")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-others", action="store_true", help="skip the cells and flows readers")
    parser.add_argument("--json", help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = run(args.warehouse, repeats=args.repeats, seed=args.seed, others=not args.no_others)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
