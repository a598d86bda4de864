"""p50 and p95 of every page's query-layer calls, with varied filters.

Each repetition draws one random set of filters (period, types, record types,
source kinds, regions or counties, indicators; a fixed seed) and makes the calls a
page makes when it is drawn, in the order it makes them, for three viewers:
``admin``, ``leadership`` and an ``analyst`` of the demo's first task force. The
calls go to the query functions directly (``con=None``: each opens its own
read-only snapshot, as in the app), without the app's ``st.cache_data``, so every
figure is a cold query. A call the query layer refuses (a ``RoutesError``, such
as filters that would isolate a few records) is timed and counted as refused;
any other exception is timed, counted as an error and its first message kept.

Per page the result holds the p50/p95 of a whole page view (the sum of its calls)
and of each function.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from bench import percentile
from routes.contract.sql import compose

REGIONS_TASK_FORCE_KINDS = ("region", "task_force", "county")


def _months(warehouse_path: Path) -> list[date]:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT month FROM records WHERE month IS NOT NULL ORDER BY 1").fetchall()
    return [r[0] if type(r[0]) is date else r[0].date() for r in rows]


def random_filters(rng: random.Random, months: list[date]):
    """One random :class:`query.filters.Filters`, about as varied as users make them."""
    from geo import reference
    from query.filters import INDICATORS, RECORD_TYPES, SOURCE_KINDS, TRAFFICKING_TYPES, Filters

    regions = reference.load_regions()
    kwargs: dict[str, object] = {}
    if months and rng.random() < 0.7:
        i = rng.randrange(len(months))
        j = min(len(months) - 1, i + rng.choice([0, 2, 5, 11, 23]))
        kwargs["start"], kwargs["end"] = months[i], months[j]
    if rng.random() < 0.4:
        kwargs["trafficking_types"] = tuple(rng.sample(TRAFFICKING_TYPES, rng.randint(1, 2)))
    if rng.random() < 0.25:
        kwargs["record_types"] = tuple(rng.sample(RECORD_TYPES, rng.randint(1, 3)))
    if rng.random() < 0.15:
        kwargs["source_kinds"] = tuple(rng.sample(SOURCE_KINDS, rng.randint(1, 3)))
    roll = rng.random()
    if roll < 0.3:
        kwargs["regions"] = tuple(rng.sample(sorted(regions["region"].dropna().unique()), rng.randint(1, 2)))
    elif roll < 0.45:
        kwargs["counties"] = tuple(rng.sample(regions["county_fips"].tolist(), rng.randint(1, 4)))
    if rng.random() < 0.15:
        kwargs["indicators"] = tuple(rng.sample(INDICATORS, 1))
    return Filters(**kwargs)  # type: ignore[arg-type]


def _page_calls(page: str, viewer, filters, rng: random.Random, state: dict) -> list[tuple[str, Callable]]:
    """The ``(name, call)`` pairs a page makes for ``viewer`` under ``filters``."""
    from query import audit, cells, flows, matches, moves, records, trends
    from query.filters import Filters

    no_period = filters.with_period(None, None)
    hist = ("cells.histogram_by_month", lambda: cells.histogram_by_month(viewer, no_period))
    if page == "statewide":
        res, step = rng.choice([5, 6]), rng.choice(["month", "quarter"])
        against = rng.choice(["previous", "year_before"])
        return [
            hist,
            ("trends.resolve_period", lambda: trends.resolve_period(viewer, filters)),
            ("trends.headline_figures", lambda: trends.headline_figures(viewer, filters)),
            ("trends.monthly_series", lambda: trends.monthly_series(viewer, filters)),
            ("trends.monthly_series(by=region)", lambda: trends.monthly_series(viewer, filters, by="region")),
            ("trends.county_rates", lambda: trends.county_rates(viewer, filters)),
            ("trends.counties_ranked_by_change",
             lambda: trends.counties_ranked_by_change(viewer, filters, against=against)),
            ("trends.emerging_hot_spots", lambda: trends.emerging_hot_spots(viewer, filters, res=res, step=step)),
        ]
    if page == "heatmap":
        res = rng.choice([4, 5, 6, 7])
        measure = rng.choice(["records", "records", "victims", "per_capita"])

        def counts():
            state["counts"] = cells.cell_counts(viewer, filters, res=res, measure=measure)
            return state["counts"]

        def breakdown():
            top = cells.top_cells(state.get("counts"), n=1) if state.get("counts") is not None else None
            if top is None or top.empty:
                return None
            state["cell"] = cells.cell_from_hex(top["hex"].iloc[0])
            return cells.cell_breakdown(viewer, filters, cell=state["cell"][0], res=state["cell"][1])

        calls = [
            hist,
            ("cells.cell_counts(statewide)", lambda: cells.cell_counts(viewer, Filters(), res=res, measure=measure)),
            ("cells.cell_counts", counts),
            ("cells.cell_breakdown", breakdown),
        ]
        if viewer.has_record_access:
            calls.append(("records.records_in_cell", lambda: records.records_in_cell(
                viewer, filters, cell=state["cell"][0], res=state["cell"][1]) if state.get("cell") else None))
        return calls
    if page == "flows_and_corridors":
        # the levels the page offers under these filters (res 5/6 only for part of the state)
        level = rng.choice([lv for lv in ["county", "county", "region", "task_force", "res4", "res5", "res6"]
                            if lv in flows.levels_for(filters)])
        pair_level = "task_force" if level == "task_force" else "region"
        calls = [
            hist,
            ("flows.flow_edges", lambda: flows.flow_edges(viewer, filters, level=level)),
            ("flows.location_totals", lambda: flows.location_totals(viewer, filters, level=level)),
            ("flows.corridor_loads", lambda: flows.corridor_loads(viewer, filters)),
            ("flows.coordination_pairs", lambda: flows.coordination_pairs(viewer, filters, level=pair_level)),
            ("flows.route_shifts", lambda: flows.route_shifts(viewer, level="county")),
            ("moves.circuits", lambda: moves.circuits(viewer, filters)),
        ]
        # the page's evidence choice: observed moves (issue 22) in one view out of two
        if rng.random() < 0.5:
            move_level = "region" if level == "region" else "county"
            calls.append(("moves.observed_moves", lambda: moves.observed_moves(viewer, filters, level=move_level)))
        return calls
    if page == "region":
        from geo import reference

        dims = reference.county_dimensions()
        kind = rng.choice(REGIONS_TASK_FORCE_KINDS)
        column = {"region": "region", "task_force": "task_force", "county": "county_fips"}[kind]
        place = rng.choice(sorted(dims[column].dropna().unique()))
        return [hist, ("trends.region_profile", lambda: trends.region_profile(viewer, **{kind: place},
                                                                              filters=filters))]
    if page == "deconfliction":
        if viewer.has_record_access:
            return [
                ("matches.open_matches", lambda: matches.open_matches(viewer)),
                ("matches.operation_conflicts", lambda: matches.operation_conflicts(viewer)),
                ("matches.own_agencies", lambda: matches.own_agencies(viewer)),
            ]
        return [("matches.match_counts", lambda: matches.match_counts(viewer)),
                ("matches.conflict_counts", lambda: matches.conflict_counts(viewer))]
    if page == "audit_log":
        return [("audit.read_log", lambda: audit.read_log(viewer))] if viewer.role == "admin" else []
    raise ValueError(f"unknown page {page!r}")


PAGES = ("statewide", "heatmap", "flows_and_corridors", "region", "deconfliction", "audit_log")


def viewers(warehouse_path: Path) -> dict:
    """The three viewers measured: admin, leadership, and an analyst of a demo task force."""
    from query.viewer import Viewer

    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        row = con.execute("SELECT min(task_force) FROM sources WHERE task_force IS NOT NULL").fetchone()
    task_force = (row[0] if row else None) or "demo"
    return {
        "admin": Viewer(user="bench-admin", role="admin"),
        "leadership": Viewer(user="bench-leadership", role="leadership"),
        "analyst": Viewer(user="bench-analyst", role="analyst", task_force=task_force),
    }


def measure_pages(warehouse_path: Path, *, repeats: int = 30, seed: int = 11) -> dict:
    """p50/p95 per page (whole view) and per function, for each viewer.

    The query layer reads the warehouse ``ROUTES_WAREHOUSE`` names, so that must
    be ``warehouse_path`` (else this would time another warehouse, the demo's say).
    """
    from routes import settings
    from routes.errors import RoutesError

    if settings.warehouse_path().resolve() != Path(warehouse_path).resolve():
        raise ValueError(
            f"the query layer reads {settings.warehouse_path()}, not {warehouse_path}: "
            f"set ROUTES_WAREHOUSE={warehouse_path} to measure that warehouse"
        )

    months = _months(warehouse_path)
    rng = random.Random(seed)
    out: dict = {"repeats": repeats, "viewers": {}}
    for name, viewer in viewers(warehouse_path).items():
        # one untimed view of every page first: imports, reference data, the OS file cache
        for page in PAGES:
            for _, call in _page_calls(page, viewer, random_filters(rng, months), rng, {}):
                try:
                    call()
                except Exception:  # noqa: BLE001 - counted in the timed runs below
                    pass
        per_viewer: dict = {}
        for page in PAGES:
            views: list[float] = []
            functions: dict[str, list[float]] = {}
            refused: dict[str, int] = {}
            errors: dict[str, list[str]] = {}
            for _ in range(repeats):
                calls = _page_calls(page, viewer, random_filters(rng, months), rng, {})
                if not calls:
                    break
                total = 0.0
                for fname, call in calls:
                    started = time.perf_counter()
                    try:
                        call()
                    except RoutesError:
                        refused[fname] = refused.get(fname, 0) + 1
                    except Exception as exc:  # noqa: BLE001 - a bug in a reader is reported, not fatal
                        frame = traceback.extract_tb(exc.__traceback__)[-1]
                        where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
                        errors.setdefault(fname, []).append(f"{type(exc).__name__}: {exc}"[:200] + f" (at {where})")
                    elapsed = time.perf_counter() - started
                    functions.setdefault(fname, []).append(elapsed)
                    total += elapsed
                views.append(total)
            if not views:
                continue
            per_viewer[page] = {
                "view_p50_ms": 1000 * percentile(views, 50), "view_p95_ms": 1000 * percentile(views, 95),
                "functions": {f: {"p50_ms": 1000 * percentile(t, 50), "p95_ms": 1000 * percentile(t, 95),
                                  "max_ms": 1000 * max(t), "n": len(t), "refused": refused.get(f, 0),
                                  "errors": len(errors.get(f, [])),
                                  "first_error": next(iter(errors.get(f, [])), None)}
                              for f, t in functions.items()},
            }
        out["viewers"][name] = per_viewer
    out["reference"] = _reference_query(warehouse_path, months, repeats=repeats, seed=seed)
    return out


def _reference_query(warehouse_path: Path, months: list[date], *, repeats: int, seed: int) -> dict:
    """A plain filtered ``GROUP BY`` county over ``records`` (no roles, no suppression): the floor."""
    rng = random.Random(seed)
    times = []
    for _ in range(repeats):
        where, params = random_filters(rng, months).where()
        started = time.perf_counter()
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            con.execute(compose("SELECT dest_county_fips, count(*) FROM records WHERE {where} GROUP BY 1", where=where),
                        params).fetchall()
        times.append(time.perf_counter() - started)
    return {"p50_ms": 1000 * percentile(times, 50), "p95_ms": 1000 * percentile(times, 95)}
