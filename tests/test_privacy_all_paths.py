"""The product's promise: no path returns a count under k or a record its viewer may not see.

Every public reader of every ``query/*.py`` module (discovered: names in the
module's ``__all__`` whose first parameter is ``viewer``; writers, annotated
``-> None``, are left out) is called for every role, with arguments built from
its signature and filter combinations drawn by hypothesis, against a fixture
warehouse with a sparse county of 3 records. Then the same through the CLI
(``python -m pipelines query`` in-process) and the app (``AppTest`` of each page
under each demo role), and every export of ``briefings/`` (discovered the same
way) for every role: refused to a role that may not export, and no count under
k in what it writes. A differencing attack tries to recover the sparse county.

A reader that never answers (for any role, in any example), or exports that never
write, fail the test: a test that only ever sees refusals proves nothing.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import io
import json
import pkgutil
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import grid, reference
from pipelines.build import build_warehouse
from pipelines.cli import main as cli_main
from pipelines.cli import reading as query_cli
from query import viewer as viewer_module
from query.filters import INDICATORS, RECORD_TYPES, SOURCE_KINDS, TRAFFICKING_TYPES, Filters
from query.policy import Capability, aggregate_only_roles, task_force_roles
from query.suppression import COUNT_COLUMNS, FilterIsolationError, max_visible_count_below_k
from query.viewer import OWN_RECORDS, Viewer
from routes.errors import AccessDenied, RoutesError
from tests.support.readers import discover_readers, hint_of, plain_kwargs, viewers_from_policy
from tests.support.warehouse_fixture import (
    SOURCES,
    SPARSE_COUNTY,
    SPARSE_RECORDS,
    make_small_warehouse,
)

K = 11
REPO = Path(__file__).resolve().parent.parent


VIEWERS = viewers_from_policy()
#: A viewer that sees aggregates only (the strictest small-cell rules).
AGGREGATE_VIEWER = next(v for v in VIEWERS if v.role in aggregate_only_roles() and not v.task_force)
MONTHS = [date(2024 + m // 12, m % 12 + 1, 1) for m in range(24)]


# ------------------------------------------------------------------ the warehouse


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("privacy")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTES_WAREHOUSE", str(root / "warehouse" / "routes.duckdb"))
        mp.setenv("ROUTES_CONTROL", str(root / "warehouse" / "control.sqlite"))
        mp.setenv("ROUTES_KEY_FILE", str(root / "secrets" / "routes.key"))
        mp.setenv("ROUTES_K", str(K))
        path = root / "warehouse" / "routes.duckdb"
        records = make_small_warehouse(path, n=3000, is_demo=True)
        build_warehouse(warehouse_path=path)
        yield {"root": root, "path": path, "records": records}


# ---------------------------------------------------------------------- readers


READERS = discover_readers()
SUCCESSES: Counter[str] = Counter()


def test_readers_were_discovered() -> None:
    names = {f"{m}.{n}" for m, n, _ in READERS}
    assert {"records.records_in_cell", "records.records_for_source", "audit.read_log"} <= names
    for module in ("cells", "trends", "flows", "moves"):
        assert any(m == module for m, _, _ in READERS), f"query.{module} lists no reader in __all__"
    assert {"moves.observed_moves", "moves.circuits"} <= names


def _fixture_values(records: pd.DataFrame) -> dict[str, list[Any]]:
    return {
        "counties": sorted(records["dest_county_fips"].dropna().unique()),
        "regions": sorted(records["dest_region"].dropna().unique()),
        "task_forces": sorted(records["dest_task_force"].dropna().unique()),
        "source_ids": sorted(SOURCES["source_id"]),
        "cells9": records["dest_cell"][records["dest_res"] == 9].astype("int64").tolist(),
        "sparse_cell9": int(records.loc[records["dest_county_fips"] == SPARSE_COUNTY, "dest_cell"].iloc[0]),
    }


def filters_strategy(values: dict[str, list[Any]]) -> st.SearchStrategy[Filters]:
    counties = st.lists(st.sampled_from([SPARSE_COUNTY] * 3 + values["counties"]), max_size=4, unique=True)

    @st.composite
    def build(draw: st.DrawFn) -> Filters:
        start = draw(st.none() | st.sampled_from(MONTHS))
        end = draw(st.none() | st.sampled_from([m for m in MONTHS if start is None or m >= start]))
        pick = lambda choices, n=2: tuple(draw(st.lists(st.sampled_from(choices), max_size=n, unique=True)))  # noqa: E731
        return Filters(
            start=start, end=end,
            trafficking_types=pick(TRAFFICKING_TYPES), record_types=pick(RECORD_TYPES),
            source_kinds=pick(SOURCE_KINDS), regions=pick(values["regions"], 1),
            counties=tuple(draw(counties)), task_forces=pick(values["task_forces"], 1),
            indicators=pick(INDICATORS[:4] + ("motel",), 2),
        )

    return build()


def arguments_strategy(fn: Callable[..., Any], values: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``fn`` drawn from its signature (beyond ``viewer``)."""
    filters = filters_strategy(values)
    params = list(inspect.signature(fn).parameters.values())[1:]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        res = draw(st.sampled_from(grid.MAP_RESOLUTIONS))
        for p in params:
            hint, name = hint_of(fn, p.name), p.name
            if name in ("con", "control_path"):
                continue
            if name in ("filters", "before", "after") or hint is Filters:
                kwargs[name] = draw(filters)
            elif name == "res":
                kwargs[name] = res
            elif name == "cell":
                base = draw(st.sampled_from([values["sparse_cell9"], *values["cells9"][:200]]))
                kwargs[name] = grid.cell_to_parent(base, res)
                kwargs.setdefault("res", res)
            elif name in ("county", "county_fips"):
                kwargs[name] = draw(st.sampled_from([SPARSE_COUNTY, *values["counties"]]))
            elif name == "region":
                kwargs[name] = draw(st.sampled_from(values["regions"]))
            elif name == "task_force":
                kwargs[name] = draw(st.sampled_from(values["task_forces"]))
            elif name == "source_id":
                kwargs[name] = draw(st.sampled_from(values["source_ids"]))
            elif name in ("limit", "top_n"):
                kwargs[name] = 100
            elif name == "months":  # the heatmap's playback: several months read at once
                kwargs[name] = sorted(draw(st.lists(st.sampled_from(MONTHS), min_size=1, max_size=4, unique=True)))
            elif p.default is not inspect.Parameter.empty:
                continue
            elif hint is int:
                kwargs[name] = draw(st.integers(1, 50))
            elif hint is date:
                kwargs[name] = draw(st.sampled_from(MONTHS))
            else:
                raise AssertionError(
                    f"{fn.__module__}.{fn.__name__}: no argument builder for required parameter "
                    f"{name!r} ({hint!r}); teach tests/test_privacy_all_paths.py about it"
                )
        if any(name == "region" for name in kwargs) and "task_force" in kwargs and "county" in kwargs:
            keep = draw(st.sampled_from(["region", "task_force", "county"]))
            kwargs = {k: v for k, v in kwargs.items() if k not in {"region", "task_force", "county"} - {keep}}
        return kwargs

    return build()


# --------------------------------------------------------------------- checking


def scalars_frame(obj: object) -> pd.DataFrame | None:
    """Numeric scalar fields of a dataclass or mapping named like counts, as one row."""
    items = (
        {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type)
        else dict(obj) if isinstance(obj, dict) else {}
    )
    counts = {k: v for k, v in items.items() if k in COUNT_COLUMNS and isinstance(v, int | float)}
    return pd.DataFrame([counts]) if counts else None


def all_frames(result: object) -> list[pd.DataFrame]:
    frames = [f for _, f in query_cli.frames_in(result)]
    extra = scalars_frame(result)
    return frames + ([extra] if extra is not None else [])


def assert_safe(viewer: Viewer, result: object, *, records: pd.DataFrame, where: str) -> None:
    """No count under k, and no record row the viewer may not see."""
    owner = records.set_index(["source_id", "record_id"])["source_task_force"]
    for frame in all_frames(result):
        worst = max_visible_count_below_k(frame, k=K)
        assert worst is None, f"{where} as {viewer.role}: a count of {worst} (under k={K}) is visible"
        if "record_id" in frame.columns and len(frame):
            assert viewer.has_record_access, f"{where} gave record rows to {viewer.role!r}"
            if "source_id" in frame.columns:
                keys = list(zip(frame["source_id"], frame["record_id"], strict=True))
                task_forces = {owner.get(key) for key in keys}
            else:
                task_forces = set(records.loc[records["record_id"].isin(frame["record_id"]), "source_task_force"])
            assert task_forces <= {viewer.task_force}, (
                f"{where} showed records of {sorted(map(str, task_forces - {viewer.task_force}))!r} "
                f"to a {viewer.role} of {viewer.task_force!r}"
            )


def call_safely(fn: Callable[..., Any], viewer: Viewer, kwargs: dict[str, Any]) -> object | None:
    """Call a reader; a refusal (AccessDenied, a domain error) returns None."""
    try:
        return fn(viewer, **kwargs)
    except (AccessDenied, RoutesError, ValueError, LookupError):
        return None


# ------------------------------------------------------------ every reader, every role


@pytest.mark.parametrize(("module", "name", "fn"), READERS, ids=[f"{m}.{n}" for m, n, _ in READERS])
def test_every_reader_for_every_role(env: dict[str, Any], module: str, name: str, fn: Callable[..., Any]) -> None:
    records = env["records"]
    values = _fixture_values(records)
    where = f"query.{module}.{name}"
    answered: Counter[str] = Counter()

    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(arguments_strategy(fn, values))
    def run(kwargs: dict[str, Any]) -> None:
        for viewer in VIEWERS:
            result = call_safely(fn, viewer, kwargs)
            if result is not None:
                answered[viewer.role] += 1
                assert_safe(viewer, result, records=records, where=where)

    run()
    # the same reader with no narrowing at all must answer someone
    for viewer in VIEWERS:
        result = call_safely(fn, viewer, plain_kwargs(fn, values))
        if result is not None:
            answered[viewer.role] += 1
            assert_safe(viewer, result, records=records, where=where)
    assert answered, f"{where} refused every call for every role: the test proves nothing"


def test_record_readers_refuse_other_roles(env: dict[str, Any]) -> None:
    from query.records import records_for_source

    for viewer in VIEWERS:
        if viewer.has_record_access:
            out = records_for_source(viewer, Filters(), source_id="lapd", limit=5000)
            assert out.empty or set(out["source_task_force"]) == {viewer.task_force}
        else:
            with pytest.raises(AccessDenied):
                records_for_source(viewer, Filters(), source_id="lapd")


# ----------------------------------------------------------------- differencing


def _total(frame: pd.DataFrame, column: str = "records") -> int | None:
    """The sum of a fully visible count column, or None when part is hidden."""
    if column not in frame.columns or frame[column].isna().any():
        return None
    return int(pd.to_numeric(frame[column]).sum())


def _readers_with_filters() -> list[tuple[str, Callable[..., Any]]]:
    return [(f"{m}.{n}", fn) for m, n, fn in READERS
            if "filters" in inspect.signature(fn).parameters and m not in ("records", "audit")]


@pytest.mark.parametrize("viewer", VIEWERS, ids=[v.user for v in VIEWERS])
def test_two_overlapping_filters_cannot_isolate_the_sparse_county(env: dict[str, Any], viewer: Viewer) -> None:
    from query import release

    if release.reads_release(viewer):
        # The difference of two released answers is a released, noisy number: small ones are allowed
        # (they read the truth only at the rate the noise allows). tests/test_release_attacks.py
        # measures that rate over many filter sets; one pair of answers cannot.
        pytest.skip(f"{viewer.role} reads the protected release: see tests/test_release_attacks.py")
    values = _fixture_values(env["records"])
    neighbour = next(c for c in values["counties"] if c != SPARSE_COUNTY)
    pairs = [
        (Filters(counties=(SPARSE_COUNTY, neighbour)), Filters(counties=(neighbour,))),
        (Filters(regions=("Region IV",)),
         Filters(counties=tuple(c for c in values["counties"] if c != SPARSE_COUNTY and
                                env["records"].loc[env["records"]["dest_county_fips"] == c, "dest_region"].iloc[0] == "Region IV"))),
        (Filters(), Filters(counties=tuple(c for c in values["counties"] if c != SPARSE_COUNTY))),
    ]
    for where, fn in _readers_with_filters():
        for wide, narrow in pairs:
            kwargs = {k: v for k, v in plain_kwargs(fn, values).items() if k != "filters"}
            a = call_safely(fn, viewer, {**kwargs, "filters": wide})
            b = call_safely(fn, viewer, {**kwargs, "filters": narrow})
            if not isinstance(a, pd.DataFrame) or not isinstance(b, pd.DataFrame):
                continue
            for column in set(a.columns) & set(b.columns) & set(COUNT_COLUMNS):
                ta, tb = _total(a, column), _total(b, column)
                if ta is not None and tb is not None:
                    difference = ta - tb
                    assert difference == 0 or abs(difference) >= K, (
                        f"{where}({wide}) - {where}({narrow}) = {difference} {column} as {viewer.role}"
                    )


def test_statewide_total_minus_visible_parts(env: dict[str, Any]) -> None:
    """Whatever a breakdown hides together is k or more: the sparse 3 never stand alone."""
    viewer = AGGREGATE_VIEWER
    total = len(env["records"])
    for where, fn in _readers_with_filters():
        result = call_safely(fn, viewer, plain_kwargs(fn, _fixture_values(env["records"])))
        if not isinstance(result, pd.DataFrame) or "records" not in result.columns or "county_fips" not in result.columns:
            continue
        if result["county_fips"].duplicated().any():
            continue  # not one row per county
        hidden = total - int(pd.to_numeric(result["records"]).fillna(0).sum())
        assert hidden != SPARSE_RECORDS and (hidden == 0 or hidden >= K), f"{where}: total - visible = {hidden}"


def test_the_guard_refuses_the_isolating_selection_everywhere(env: dict[str, Any]) -> None:
    values = _fixture_values(env["records"])
    neighbour = next(c for c in values["counties"] if c != SPARSE_COUNTY)
    for where, fn in _readers_with_filters():
        kwargs = {k: v for k, v in plain_kwargs(fn, values).items() if k != "filters"}
        try:
            result = fn(AGGREGATE_VIEWER, **kwargs, filters=Filters(counties=(SPARSE_COUNTY, neighbour)))
        except (FilterIsolationError, AccessDenied):
            continue
        except (RoutesError, ValueError, LookupError):
            continue
        for frame in all_frames(result):
            assert max_visible_count_below_k(frame, k=K) is None, where


# ------------------------------------------------------------------------ CLI


def _cli(*argv: str) -> tuple[int, str]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = cli_main(list(argv))
    return code, buffer.getvalue()


def _csv_frames(text: str) -> list[pd.DataFrame]:
    frames = []
    for chunk in re.split(r"^# .*$", text, flags=re.M):
        if chunk.strip():
            frames.append(pd.read_csv(io.StringIO(chunk.strip() + "\n")))
    return frames


def _cli_params(fn: Callable[..., Any], values: dict[str, list[Any]]) -> list[str]:
    params = inspect.signature(fn).parameters
    out = ["--param", "res=6"] if "res" in params else []
    if "cell" in params:
        out += ["--param", f"cell={grid.cell_to_parent(values['cells9'][0], 6)}"]
    if "before" in params:
        out += ["--param", "before=2024-01:2024-12", "--param", "after=2025-01:2025-12"]
    if "region" in params:
        out += ["--param", "region=Region I"]
    if "segment_id" in params:
        out += ["--param", "segment_id=1"]
    if "months" in params:
        out += ["--param", "months=2024-01:2024-06"]
    return out


CLI_READERS = [(m, n) for m, n, _ in READERS if m in ("cells", "trends", "flows", "moves")]


@pytest.mark.parametrize(("module", "name"), CLI_READERS, ids=[f"{m}.{n}" for m, n in CLI_READERS])
def test_cli_obeys_the_same_rules(env: dict[str, Any], module: str, name: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    values = _fixture_values(env["records"])
    fn = dict(query_cli.readers_of(module))[name]
    answered = 0

    @settings(max_examples=8, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(filters_strategy(values), st.sampled_from(VIEWERS))
    def run(filters: Filters, viewer: Viewer) -> None:
        nonlocal answered
        argv = ["query", module, name, "--as", viewer.role]
        if viewer.task_force:
            argv += ["--task-force", viewer.task_force]
        if viewer.counts_own_records:
            argv += ["--scope", viewer.scope]
        for key, value in filters.to_query_params().items():
            argv += [f"--{key.replace('_', '-')}", value]
        if "res" in inspect.signature(fn).parameters:
            argv += ["--param", "res=6"]
        code, out = _cli(*argv)
        capsys.readouterr()
        if code == 0:
            answered += 1
            for frame in _csv_frames(out):
                assert max_visible_count_below_k(frame, k=K) is None, f"CLI {argv}: a count under k"
                assert "record_id" not in frame.columns or viewer.has_record_access

    run()
    code, _ = _cli("query", module, name, "--as", AGGREGATE_VIEWER.role, *_cli_params(fn, values))
    capsys.readouterr()
    assert code == 0 or answered, f"the CLI never answered for query {module} {name}"


def test_cli_refuses_the_isolating_selection(env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    neighbour = next(c for c in _fixture_values(env["records"])["counties"] if c != SPARSE_COUNTY)
    for module, name in CLI_READERS:
        fn = dict(query_cli.readers_of(module))[name]
        code, out = _cli("query", module, name, "--as", AGGREGATE_VIEWER.role, "--counties", f"{SPARSE_COUNTY},{neighbour}",
                         *_cli_params(fn, _fixture_values(env["records"])))
        err = capsys.readouterr().err
        for frame in _csv_frames(out) if code == 0 else []:
            assert max_visible_count_below_k(frame, k=K) is None
        assert code in (0, 2), err


def test_cli_release_viewers_read_fewer_than_k_and_own_scope_reads_suppressed(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """A hidden released count prints "fewer than 11" (never an empty cell); an exact hidden count stays empty."""
    hidden = f"fewer than {K}"
    for argv in (["--as", "partner"], ["--as", "analyst", "--task-force", "la"]):
        code, out = _cli("query", "trends", "county_rates", *argv)
        assert code == 0 and "Figures for this viewer are protected" in capsys.readouterr().err
        frame = _csv_frames(out)[0]
        assert frame["records"].astype(str).eq(hidden).any(), f"{argv}: no hidden county reads {hidden!r}"
        assert not frame["records"].isna().any()
    code, out = _cli("query", "trends", "county_rates", "--as", "analyst", "--task-force", "la", "--scope", "own")
    assert code == 0 and "protected" not in capsys.readouterr().err
    frame = _csv_frames(out)[0]
    assert not frame["records"].astype(str).eq(hidden).any() and frame["records"].isna().any()


# ------------------------------------------------------------------------ the app


PAGES = sorted(p for p in (REPO / "pages").glob("*.py"))
_NUMBER = re.compile(r"^-?[\d,]+$")


def _number(value: object) -> int | None:
    text = str(value).strip()
    return int(text.replace(",", "")) if _NUMBER.match(text) else None


def _scan_app(at: Any, *, where: str) -> None:
    for element in at.dataframe:
        frame = element.value
        if isinstance(frame, pd.DataFrame):
            lowered = frame.rename(columns=lambda c: str(c).strip().lower())
            numeric = lowered.apply(lambda s: s.map(_number) if s.dtype == object else s)
            worst = max_visible_count_below_k(numeric, k=K)
            assert worst is None, f"{where}: a table shows {worst} (under k)"
    for metric in at.metric:
        label = str(metric.label).lower()
        if any(word in label for word in ("record", "victim", "tip", "incident", "recover", "service", "minor")):
            if "%" in str(metric.value) or "per" in label or "rate" in label:
                continue
            value = _number(metric.value)
            assert value is None or value == 0 or value >= K, f"{where}: metric {metric.label!r} = {metric.value!r}"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_every_page_under_every_demo_role(env: dict[str, Any], page: Path) -> None:
    from streamlit.testing.v1 import AppTest

    demo_roles = {v.role: v.task_force for v in reversed(VIEWERS) if v.task_force is None or v.role in task_force_roles()}
    runs = [(role, task_force, None) for role, task_force in demo_roles.items()]
    runs += [(role, task_force, OWN_RECORDS) for role, task_force in demo_roles.items() if role in task_force_roles()]
    for role, task_force, scope in runs:
        at = AppTest.from_file(str(page), default_timeout=120)
        at.session_state["routes_demo_role"] = role
        if task_force:
            at.session_state["routes_demo_task_force"] = task_force
        if scope:  # the sidebar's "Count" choice, as a bookmarked URL gives it
            at.query_params["scope"] = scope
        at.run()
        where = f"pages/{page.name} as {role}" + (f" (scope {scope})" if scope else "")
        assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
        _scan_app(at, where=where)


def test_real_data_pages_show_nothing_before_sign_in(env: dict[str, Any], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    path = tmp_path / "real.duckdb"
    make_small_warehouse(path, n=300, is_demo=False)
    monkeypatch.setenv("ROUTES_WAREHOUSE", str(path))
    for page in PAGES:
        at = AppTest.from_file(str(page), default_timeout=120).run()
        assert not at.dataframe and not at.metric, f"pages/{page.name} drew data before sign-in"
        assert any(t.label == "Password" for t in at.text_input), f"pages/{page.name} has no sign-in"


# ---------------------------------------------------------------------- exports


def discover_exports() -> list[tuple[str, Callable[..., Any]]]:
    """``(name, function)`` of every public export of ``briefings/``, found like the readers.

    A name in the ``__all__`` of the package or of one of its public modules,
    taking ``viewer`` first and returning what it wrote (a check, ``-> None``,
    such as ``check_exporter``, is left out).
    """
    import briefings

    modules = [briefings, *(importlib.import_module(f"briefings.{info.name}")
                            for info in pkgutil.iter_modules(briefings.__path__) if not info.name.startswith("_"))]
    found: dict[str, Callable[..., Any]] = {}
    for module in modules:
        for name in getattr(module, "__all__", ()):
            fn = getattr(module, name, None)
            if not inspect.isfunction(fn):
                continue
            signature = inspect.signature(fn)
            if list(signature.parameters)[:1] != ["viewer"] or signature.return_annotation in (None, "None"):
                continue
            found[f"{module.__name__}.{name}"] = fn
    return sorted(found.items())


EXPORTS = discover_exports()
#: The region that holds the sparse county: every export of it must hide the 3 records.
SPARSE_REGION = str(reference.county_dimensions().set_index("county_fips").at[SPARSE_COUNTY, "region"])
#: The audience each viewer exports for (the admin also exports for an audience of each other role).
FIRST_AUDIENCE = "partner"


def test_exports_were_discovered() -> None:
    """The export check below runs over real exports: it once found none, ran over nothing and passed."""
    names = [name for name, _ in EXPORTS]
    assert len(EXPORTS) >= 1, "no export of briefings/ was found: every export check would pass vacuously"
    assert "briefings.export_briefing" in names, names


def export_kwargs(fn: Callable[..., Any], *, place: dict[str, str], audience: str, out: Path) -> dict[str, Any]:
    """Keyword arguments for export ``fn`` (beyond ``viewer``): ``place``, the fixture's last year, ``audience``."""
    kwargs: dict[str, Any] = {}
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        if p.name in ("region", "county"):
            if p.name in place:
                kwargs[p.name] = place[p.name]
        elif p.name == "start":
            kwargs[p.name] = "2025-01"
        elif p.name == "end":
            kwargs[p.name] = "2025-12"
        elif p.name == "audience":
            kwargs[p.name] = audience
        elif p.name == "purpose":
            kwargs[p.name] = "privacy test of every export"
        elif p.name in ("out", "out_dir", "directory", "path"):
            kwargs[p.name] = out
        elif p.default is inspect.Parameter.empty:
            raise AssertionError(
                f"{fn.__module__}.{fn.__name__}: no argument builder for required parameter {p.name!r}; "
                "teach tests/test_privacy_all_paths.py about it"
            )
    return kwargs


def _places(viewer: Viewer) -> list[dict[str, str]]:
    """The sparse county's region, and for a viewer bound to a task force one of its own counties."""
    places = [{"region": SPARSE_REGION}]
    if viewer.task_force:
        dims = reference.county_dimensions()
        own = dims.loc[dims["task_force"] == viewer.task_force, "county_fips"]
        places.append({"county": str(own.iloc[0])})
    return places


def _may_export(viewer: Viewer) -> bool:
    return viewer.can(Capability.EXPORT_ANY_PLACE) or viewer.can(Capability.EXPORT_OWN_REGION)


def check_exports(exports: list[tuple[str, Callable[..., Any]]], runs: list[tuple[Viewer, str]], *,
                  records: pd.DataFrame, out: Path) -> int:
    """Run every export for every ``(viewer, audience)`` at every place of :func:`_places`; return how many wrote.

    A viewer without an export capability must be refused (``AccessDenied``);
    whatever an export returns or writes (CSV tables, GeoJSON layers) must hold
    no count under k and no record row.
    """
    wrote = 0
    for name, fn in exports:
        for viewer, audience in runs:
            for place in _places(viewer):
                where = f"{name} by {viewer.user} ({viewer.role}) of {place} for {audience}"
                folder = out / f"{name}-{viewer.user}-{'-'.join(place.values())}-{audience}"
                try:
                    result = fn(viewer, **export_kwargs(fn, place=place, audience=audience, out=folder))
                except AccessDenied:
                    continue
                assert _may_export(viewer), f"{where}: a {viewer.role} may not export, yet the export ran"
                assert_safe(viewer, result, records=records, where=where)
                files = [path for path in folder.rglob("*") if path.is_file()]
                assert files, f"{where}: returned but wrote no file"
                for path in files:
                    frames = []
                    if path.suffix == ".csv":
                        frames = [pd.read_csv(path)]
                    elif path.suffix == ".geojson":
                        features = json.loads(path.read_text(encoding="utf-8"))["features"]
                        frames = [pd.DataFrame([f["properties"] for f in features])] if features else []
                    for frame in frames:
                        worst = max_visible_count_below_k(frame, k=K)
                        assert worst is None, f"{where}: {path.name} shows a count of {worst} (under k={K})"
                        assert "record_id" not in frame.columns, f"{where}: {path.name} holds record rows"
                wrote += 1
    return wrote


def _export_runs() -> list[tuple[Viewer, str]]:
    """Each role (and task force) exporting for a partner; the admin also for one audience of every other role.

    An export reads as its audience, never as the exporter, so the exporter's
    scope changes nothing and audiences of the same role read the same.
    """
    from briefings.audiences import load_audiences

    exporters = list({(v.role, v.task_force): v for v in VIEWERS}.values())
    admin = next(v for v in exporters if v.role == "admin")
    by_role = {a.role: name for name, a in sorted(load_audiences().items(), reverse=True)}
    others = sorted(name for role, name in by_role.items() if name != FIRST_AUDIENCE and role != "partner")
    return [(viewer, FIRST_AUDIENCE) for viewer in exporters] + [(admin, audience) for audience in others]


def test_every_export_for_every_role(env: dict[str, Any], tmp_path: Path) -> None:
    """Every export, found from the code, run by every viewer: refused or safe; some must write."""
    names = [name for name, _ in EXPORTS]
    assert "briefings.export_briefing" in names, f"the briefing export was not found among {names}"
    runs = _export_runs()
    wrote = {name: check_exports([(name, fn)], runs, records=env["records"], out=tmp_path) for name, fn in EXPORTS}
    assert len(wrote) >= 1, "no export was checked: the test proves nothing"
    assert all(wrote.values()), f"an export wrote nothing for any viewer, so nothing of it was checked: {wrote}"
    refused = [v.role for v in VIEWERS if not _may_export(v)]
    assert refused, "every role may export: the refusal is never checked"


def test_the_export_check_fails_when_an_export_is_unguarded(
    env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: without the exporter check, a partner's export is caught."""
    import briefings

    monkeypatch.setattr(briefings, "check_exporter", lambda exporter, place: None)
    partner = next(v for v in VIEWERS if v.role == "partner" and not v.task_force)
    with pytest.raises(AssertionError, match="may not export, yet the export ran"):
        check_exports(EXPORTS, [(partner, FIRST_AUDIENCE)], records=env["records"], out=tmp_path)


def test_the_export_check_fails_when_an_export_writes_a_small_count(
    env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: an export that writes a count under k into its CSV tables is caught."""
    from briefings import tables

    real = tables.write_tables

    def leaky(frames: dict[str, pd.DataFrame], *args: Any, **kwargs: Any) -> dict[str, Path]:
        leaked = {**frames, "counties": pd.DataFrame({"county_fips": [SPARSE_COUNTY], "records": [SPARSE_RECORDS]})}
        return real(leaked, *args, **kwargs)

    monkeypatch.setattr(tables, "write_tables", leaky)
    admin = next(v for v in VIEWERS if v.role == "admin")
    with pytest.raises(AssertionError, match=f"shows a count of {SPARSE_RECORDS}"):
        check_exports(EXPORTS, [(admin, FIRST_AUDIENCE)], records=env["records"], out=tmp_path)


# ------------------------------------------------- viewers without record access read only the release


def _release_viewers() -> list[Viewer]:
    """One viewer per role in its default scope (derived from the roles): every one must read the release.

    Analysts and leads too: their default scope is "all agencies"; only the
    "my task force's records" scope (tests/test_scope.py) reads exact counts.
    """
    from query import release
    from query.viewer import ROLES

    viewers = [Viewer(f"t-{role}", role, "la") if role in task_force_roles() else Viewer(f"t-{role}", role)
               for role in ROLES]
    return [v for v in viewers if release.reads_release(v)]


#: Readers outside the release's scope whose reads for these viewers are not counts of records:
#: none today. A reader listed here must say why.
#: Readers outside the release's scope, each with its reason.
_INTAKE = (
    "Data intake reports ingest batches and quarantine (source metadata), not the release's aggregat"
    "es of records: own sources only and k-suppressed (query/intake.py, tests/test_intake_query.py)"
)
_RECORD_LEVEL = (
    "a record-level feature of a viewer with record access (its own task force's records, deconfliction "
    "about them), not an aggregate; refused to every other viewer (test_record_readers_refuse_other_roles)"
)
NOT_AGGREGATES: dict[str, str] = {
    "records.records_for_source": _RECORD_LEVEL,
    "records.records_in_cell": _RECORD_LEVEL,
    "matches.open_matches": _RECORD_LEVEL,
    "matches.operation_conflicts": _RECORD_LEVEL,
    "matches.own_agencies": _RECORD_LEVEL,
    "intake.quarantine_reasons": _INTAKE,
    "intake.quarantine_rows": _INTAKE,
    "intake.source_batches": _INTAKE,
    "intake.source_summary": _INTAKE,
    "intake.upload_sources": _INTAKE,
}


@pytest.fixture(scope="module")
def release_only(env: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the fixture warehouse holding the protected release and nothing else."""
    import shutil

    import duckdb

    from query import release

    path = tmp_path_factory.mktemp("release_only") / "routes.duckdb"
    shutil.copy(env["path"], path)
    with duckdb.connect(str(path)) as con:
        tables = [str(r[0]) for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        views = [str(r[0]) for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        for view in views:
            con.execute(f'DROP VIEW "{view}"')
        for table in tables:
            if table not in release.RELEASE_TABLES:
                con.execute(f'DROP TABLE "{table}" CASCADE')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTES_WAREHOUSE", str(path))
        yield path


def test_readers_for_viewers_without_record_access_read_only_the_release(
    env: dict[str, Any], release_only: Path
) -> None:
    """Every reader, for every viewer without record access, on a warehouse that holds only the release.

    A reader that reads ``records`` or any other derived table fails here with a
    catalog error; a refusal (no access, a filter the release cannot answer) is
    allowed. The readers that answered are counted: the test proves something
    only if the aggregate readers answered.
    """
    import duckdb

    viewers = _release_viewers()
    assert {v.role for v in viewers} == set(viewer_module.ROLES), "every role's default scope must read the release"
    values = _fixture_values(env["records"])
    year = Filters(start=MONTHS[12], end=MONTHS[23])
    answered: set[str] = set()
    failures: list[str] = []
    for module, name, fn in READERS:
        where = f"{module}.{name}"
        if where in NOT_AGGREGATES:
            continue
        plain = plain_kwargs(fn, values)
        calls = [plain, {k: (year if isinstance(v, Filters) else v) for k, v in plain.items()}]
        for viewer in viewers:
            for kwargs in calls:
                try:
                    result = fn(viewer, **kwargs)
                except (AccessDenied, ValueError, LookupError) as exc:
                    if isinstance(exc, duckdb.Error):
                        failures.append(f"{where} as {viewer.role}: {exc}")
                    continue
                except duckdb.Error as exc:
                    failures.append(f"{where} as {viewer.role}: {str(exc).splitlines()[0]}")
                    continue
                answered.add(where)
                assert_safe(viewer, result, records=env["records"], where=where)
    assert not failures, "readers for viewers without record access read beyond the release:\n" + "\n".join(failures)
    expected = {
        "trends.headline_figures", "trends.monthly_series", "trends.county_rates", "trends.counties_ranked_by_change",
        "trends.emerging_hot_spots", "cells.cell_counts", "cells.cell_change", "cells.histogram_by_month",
        "cells.cell_breakdown", "flows.flow_edges", "flows.location_totals", "flows.corridor_loads",
        "flows.coordination_pairs", "flows.route_shifts",
    }
    assert expected <= answered, f"these readers never answered on the release alone: {sorted(expected - answered)}"


def test_count_readers_answer_source_kind_and_indicator_filters_from_the_release_alone(
    env: dict[str, Any], release_only: Path
) -> None:
    """The Statewide and Region readers and the period bars under one source kind, several kinds, one indicator
    (``release_count_parts``), for every viewer without record access, on a warehouse holding only the release:
    they answer (before, they refused these filters) with no count under k; two breakdowns at once, or several
    indicators, are refused with a message naming the filters."""
    from query import release

    counted = [(m, n, fn) for m, n, fn in READERS
               if f"{m}.{n}" in {"trends.headline_figures", "trends.monthly_series", "trends.county_rates",
                                 "trends.counties_ranked_by_change", "cells.histogram_by_month"}]
    assert len(counted) == 5, [f"{m}.{n}" for m, n, _ in counted]
    values = _fixture_values(env["records"])
    answered: Counter[str] = Counter()
    narrowing = [Filters(source_kinds=("ngo",)), Filters(source_kinds=("ngo", "hotline")),
                 Filters(start=MONTHS[12], end=MONTHS[23], indicators=(INDICATORS[0],))]
    for module, name, fn in counted:
        plain = plain_kwargs(fn, values)
        for viewer in _release_viewers():
            if not viewer.can(Capability.SEE_AGGREGATES):
                continue
            for filters in narrowing:
                result = fn(viewer, **{k: (filters if isinstance(v, Filters) else v) for k, v in plain.items()})
                assert_safe(viewer, result, records=env["records"], where=f"{module}.{name}")
                answered[f"{module}.{name}"] += 1
            for refused in (Filters(source_kinds=("ngo",), indicators=(INDICATORS[0],)),
                            Filters(source_kinds=("ngo",), record_types=("tip",)),
                            Filters(indicators=INDICATORS[:2])):
                with pytest.raises(release.ReleaseFilterError, match="indicator|source kind"):
                    fn(viewer, **{k: (refused if isinstance(v, Filters) else v) for k, v in plain.items()})
    assert set(answered) == {f"{m}.{n}" for m, n, _ in counted} and min(answered.values()) > 0, answered
