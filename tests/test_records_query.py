"""Tests of query/records.py: own task force only, never for other roles, always audited."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo import grid
from query import audit
from query.filters import Filters
from query.records import RECORD_COLUMNS, records_for_source, records_in_cell
from query.viewer import Viewer
from routes import settings
from routes.errors import AccessDenied
from tests.support.warehouse_fixture import make_small_warehouse

ADMIN = Viewer("root", "admin")


@pytest.fixture
def recs(tmp_env: Path) -> pd.DataFrame:
    return make_small_warehouse(settings.warehouse_path(), n=1500)


def _busiest_cell(recs: pd.DataFrame, res: int) -> int:
    cells = [grid.cell_to_parent(c, res) for c, r in zip(recs["dest_cell"], recs["dest_res"], strict=True) if r >= res]
    return int(pd.Series(cells).value_counts().index[0])


@pytest.mark.parametrize("role", ["partner", "leadership", "admin"])
def test_roles_without_record_access_are_refused_and_nothing_is_logged(recs: pd.DataFrame, role: str) -> None:
    viewer = Viewer("x", role)
    with pytest.raises(AccessDenied, match=repr(role)):
        records_in_cell(viewer, Filters(), cell=_busiest_cell(recs, 6), res=6)
    with pytest.raises(AccessDenied):
        records_for_source(viewer, Filters(), source_id="lapd")
    assert audit.verify_chain() == 0


@pytest.mark.parametrize("role", ["analyst", "lead"])
def test_only_own_task_force_records_come_back(recs: pd.DataFrame, role: str) -> None:
    viewer = Viewer("ana", role, "la")
    cell = _busiest_cell(recs, 5)
    out = records_in_cell(viewer, Filters(), cell=cell, res=5, limit=5000)
    assert list(out.columns) == list(RECORD_COLUMNS)
    assert (out["source_task_force"] == "la").all()
    expected = recs[
        (recs["source_task_force"] == "la")
        & (recs["dest_res"] >= 5)
        & recs["dest_cell"].map(lambda c: grid.cell_to_parent(c, 5) == cell)
    ]
    assert sorted(out["record_id"]) == sorted(expected["record_id"])
    assert len(out) > 0


def test_no_identifier_columns(recs: pd.DataFrame) -> None:
    out = records_for_source(Viewer("ana", "analyst", "la"), Filters(), source_id="lapd", limit=10)
    banned = {"phone", "email", "subject_name", "subject_dob", "vehicle_plate", "ad_handle", "token"}
    assert not banned & set(out.columns)
    assert len(out) == 10


def test_another_task_forces_source_returns_nothing(recs: pd.DataFrame) -> None:
    out = records_for_source(Viewer("ana", "analyst", "la"), Filters(), source_id="sdsheriff")
    assert out.empty


def test_filters_apply(recs: pd.DataFrame) -> None:
    f = Filters(trafficking_types=("labor",))
    out = records_for_source(Viewer("ana", "analyst", "la"), f, source_id="lapd", limit=5000)
    assert set(out["trafficking_type"]) == {"labor"}
    assert len(out) == int(((recs["source_id"] == "lapd") & (recs["trafficking_type"] == "labor")).sum())


def test_every_read_is_audited(recs: pd.DataFrame) -> None:
    viewer = Viewer("ana", "lead", "la")
    records_for_source(viewer, Filters(counties=("06037",)), source_id="sdsheriff")
    records_in_cell(viewer, Filters(), cell=_busiest_cell(recs, 6), res=6)
    log = audit.read_log(ADMIN)
    assert log["action"].tolist() == ["view_records", "view_records"]
    assert log.iloc[1]["what"] == "records of source 'sdsheriff': 0 records"
    assert log.iloc[1]["filters"] == '{"counties": "06037"}'
    assert (log["user"] == "ana").all() and (log["task_force"] == "la").all()
    assert audit.verify_chain() == 2


def test_cell_and_res_must_agree(recs: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not 7"):
        records_in_cell(Viewer("a", "analyst", "la"), Filters(), cell=_busiest_cell(recs, 6), res=7)
