"""Tests for ``query/policy.py``: one table from role to capability, default deny, asked everywhere.

A role added to ``ROLES`` without a policy entry is refused by the query layer,
the CLI and every page; a new aggregate-only role sees no small count on the
Data intake page or in deconfliction; no page, export, CLI or query module
compares role names; ``docs/ACCESS.md``'s table is the policy's.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import main
from query import intake, matches, policy, records
from query import viewer as viewer_module
from query.filters import Filters
from query.policy import POLICY, Capability
from query.suppression import max_visible_count_below_k
from query.viewer import ROLES, Viewer
from routes import settings
from routes.errors import AccessDenied
from tests.support.apptest import page_app, page_script
from tests.support.deconfliction_fixture import build_warehouse as build_deconfliction
from tests.support.readers import discover_readers, plain_kwargs, viewers_from_policy
from tests.support.warehouse_fixture import add_quarantined_batch, make_small_warehouse

REPO = Path(__file__).resolve().parent.parent
NEW_ROLE = "auditor"
AGGREGATE_ONLY = frozenset({Capability.SEE_AGGREGATES, Capability.SEE_DECONFLICTION_COUNTS,
                            Capability.SEE_ALL_SOURCES_INTAKE, Capability.DOWNLOAD_TABLES})


def test_every_role_has_an_entry_and_every_entry_is_a_role() -> None:
    assert set(POLICY) == set(ROLES)
    assert set(policy.DESCRIPTIONS) == set(Capability)


def test_access_doc_shows_the_policy_table() -> None:
    doc = (REPO / "docs" / "ACCESS.md").read_text(encoding="utf-8")
    assert policy.access_table() in doc, "docs/ACCESS.md's role table differs: paste `python -m query.policy` there"


def test_a_role_without_an_entry_has_no_capability() -> None:
    assert policy.capabilities_of(NEW_ROLE) == frozenset()
    assert NEW_ROLE not in policy.task_force_roles() | policy.aggregate_only_roles()


_ROLE_COMPARISON = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)|\brole\s*(==|!=)\s*['\"]")


def test_no_page_export_cli_or_query_module_names_a_role() -> None:
    files = [REPO / "app.py", *(REPO / "pages").glob("*.py"), *(REPO / "query").glob("*.py"),
             *(REPO / "briefings").glob("*.py"), *(REPO / "pipelines" / "cli").glob("*.py"),
             *(REPO / "ui").glob("*.py"), *(REPO / "routes").glob("*.py")]
    found = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
             for path in files if path.name not in ("policy.py", "viewer.py")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if _ROLE_COMPARISON.search(line)]
    assert not found, "ask viewer.can(Capability.…) instead of comparing roles:\n" + "\n".join(found)


# ------------------------------------------------- a role in ROLES without an entry


@pytest.fixture()
def unlisted_role(monkeypatch: pytest.MonkeyPatch) -> str:
    """``auditor`` added to ROLES (as a careless change would) but not to the policy table."""
    monkeypatch.setattr(viewer_module, "ROLES", (*ROLES, NEW_ROLE))
    from pipelines.cli import reading as query_cli

    monkeypatch.setattr(query_cli, "ROLES", (*ROLES, NEW_ROLE))
    return NEW_ROLE


def _unchecked_viewer(role: str, task_force: str | None = None) -> Viewer:
    """A Viewer built past its own check (as a session signed in before the policy changed)."""
    viewer = object.__new__(Viewer)
    object.__setattr__(viewer, "user", "t-unlisted")
    object.__setattr__(viewer, "role", role)
    object.__setattr__(viewer, "task_force", task_force)
    return viewer


def test_a_role_without_an_entry_cannot_become_a_viewer(unlisted_role: str) -> None:
    with pytest.raises(AccessDenied, match="no entry in the policy table"):
        Viewer("x", unlisted_role)
    with pytest.raises(AccessDenied, match="no entry in the policy table"):
        viewers_from_policy((unlisted_role,))


@pytest.fixture()
def small_warehouse(tmp_env: Path) -> pd.DataFrame:
    path = settings.warehouse_path()
    out = make_small_warehouse(path, n=600, seed=3)
    add_quarantined_batch(path)
    from pipelines.build import build_warehouse

    build_warehouse(warehouse_path=path)
    return out


def test_a_role_without_an_entry_is_refused_by_every_reader(unlisted_role: str, small_warehouse: pd.DataFrame) -> None:
    values = {"cells9": small_warehouse["dest_cell"][small_warehouse["dest_res"] == 9].astype("int64").tolist()}
    for bound in (None, "la"):
        viewer = _unchecked_viewer(unlisted_role, bound)
        for module, name, fn in discover_readers():
            kwargs = plain_kwargs(fn, values)
            params = inspect.signature(fn).parameters
            if "region" in params and not {"region", "county", "task_force"} & set(kwargs):
                kwargs["region"] = "Region I"
            for p in list(params.values())[1:]:
                if p.name not in kwargs and p.default is inspect.Parameter.empty:
                    kwargs[p.name] = {"county": "06037", "task_force": "la"}.get(p.name)
            try:
                answer = fn(viewer, **kwargs)
            except AccessDenied:
                continue
            assert isinstance(answer, pd.DataFrame) and answer.empty, (
                f"query.{module}.{name} answered a role without a policy entry")


def test_a_role_without_an_entry_is_refused_by_the_cli(unlisted_role: str, small_warehouse: pd.DataFrame,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["query", "trends", "headline_figures", "--as", unlisted_role],
                 ["query", "intake", "source_summary", "--as", unlisted_role]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert "no entry in the policy table" in captured.err and not captured.out


@pytest.mark.slow  # every page under AppTest
def test_a_role_without_an_entry_sees_nothing_on_any_page(unlisted_role: str, small_warehouse: pd.DataFrame) -> None:
    for page in sorted((REPO / "pages").glob("*.py")):
        at = page_app(str(page), _unchecked_viewer(unlisted_role), timeout=120).run()
        shown = [d.value for d in at.dataframe if len(d.value)] + [m.value for m in at.metric]
        assert not shown, f"pages/{page.name} showed data to a role without a policy entry: {shown[:1]}"
        assert not [e for e in at.exception if "AccessDenied" not in e.message], f"pages/{page.name}: {at.exception}"


# --------------------------------------------------------- a new aggregate-only role


@pytest.fixture()
def aggregate_role(monkeypatch: pytest.MonkeyPatch) -> Viewer:
    """``auditor`` added to ROLES and to the policy table with aggregates (and counts) only."""
    monkeypatch.setattr(viewer_module, "ROLES", (*ROLES, NEW_ROLE))
    monkeypatch.setitem(policy.POLICY, NEW_ROLE, AGGREGATE_ONLY)  # type: ignore[arg-type]
    assert NEW_ROLE in policy.aggregate_only_roles()
    return viewers_from_policy((NEW_ROLE,))[0]


def test_a_new_aggregate_only_role_sees_no_small_intake_count(aggregate_role: Viewer,
                                                              small_warehouse: pd.DataFrame) -> None:
    summary = intake.source_summary(aggregate_role)
    assert "lapd" in set(summary["source_id"])
    assert max_visible_count_below_k(summary.drop(columns=["batches"]), k=aggregate_role.k) is None
    lapd = summary.set_index("source_id").loc["lapd"]
    assert pd.isna(lapd["quarantined"]) and pd.isna(lapd["rows_read"])
    reasons = intake.quarantine_reasons(aggregate_role, source_id="lapd")
    assert reasons["rows"].isna().all()
    with pytest.raises(AccessDenied):
        intake.quarantine_rows(aggregate_role, "lapd")
    with pytest.raises(AccessDenied):
        records.records_for_source(aggregate_role, Filters(), source_id="lapd")


def test_a_new_aggregate_only_role_sees_no_small_deconfliction_count(aggregate_role: Viewer, tmp_env: Path) -> None:
    build_deconfliction()
    counts = matches.match_counts(aggregate_role)
    assert len(counts) and counts["matches"].isna().all()  # the fixture's 3 matches are all under k
    with pytest.raises(AccessDenied, match="counts only"):
        matches.open_matches(aggregate_role)
    with pytest.raises(AccessDenied, match="counts only"):
        matches.operation_conflicts(aggregate_role)


def test_a_new_aggregate_only_role_sees_no_small_count_on_the_pages(aggregate_role: Viewer,
                                                                    small_warehouse: pd.DataFrame) -> None:
    for page in ("data_intake.py", "deconfliction.py"):
        at = page_app(page_script(page), aggregate_role, timeout=120).run()
        assert not at.exception, f"pages/{page}: {at.exception}"
        for frame in (d.value.drop(columns=["Files", "batches"], errors="ignore") for d in at.dataframe):
            numbers = frame.apply(lambda s: pd.to_numeric(s.astype(str).str.replace(",", ""), errors="coerce"))
            small = numbers[(numbers > 0) & (numbers < aggregate_role.k)].stack().dropna()
            assert small.empty, f"pages/{page} shows a count under k: {small.to_dict()}"
        assert "Q1" not in "".join(d.value.to_csv() for d in at.dataframe)
