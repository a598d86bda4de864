"""Tests for ``query/matches.py``: who sees which deconfliction matches and conflicts."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from query import audit, matches, operations
from query.viewer import Viewer
from routes.errors import AccessDenied
from tests.support.deconfliction_fixture import IDENTIFIERS, build_warehouse

LA = Viewer("ana", "analyst", "la")
SD = Viewer("sam", "lead", "san_diego")
ALAMEDA = Viewer("al", "analyst", "alameda")
LEADERSHIP = Viewer("lee", "leadership")
ADMIN = Viewer("root", "admin")
PARTNER = Viewer("pat", "partner")


def _audit_log() -> list[dict]:
    """The audit entries, oldest first."""
    return audit.read_log(ADMIN).iloc[::-1].to_dict("records")


@pytest.fixture
def built(tmp_env: Path) -> Path:
    build_warehouse()
    return tmp_env


def test_analyst_sees_only_matches_of_their_task_force(built: Path) -> None:
    la = matches.open_matches(LA)
    assert list(la.columns) == matches.MATCH_COLUMNS
    assert sorted(la.other_source) == ["hotline", "sdso"]
    assert set(la.own_source) == {"lapd"}
    sd = matches.open_matches(SD).iloc[0]
    assert (sd.own_source, sd.own_case_number) == ("sdso", "SD-7")
    assert (sd.other_source, sd.other_case_number, sd.other_contact) == (
        "lapd", "LA-100", "Det. A <a@la>")
    assert sd.identifier_kinds == "phone, vehicle_plate" and sd.tokens_matched == 2
    assert str(sd.other_last_seen) == "2025-03-01"  # a date, not a time
    assert matches.open_matches(ALAMEDA).empty


def test_no_identifier_token_or_record_detail_leaves(built: Path) -> None:
    raws = {row[5] for row in IDENTIFIERS}
    frame = matches.open_matches(LA, include_acknowledged=True)
    text = [str(v) for v in frame.to_numpy().ravel()]
    assert not any(raw in cell for raw in raws for cell in text)
    assert not any(len(cell) == 64 for cell in text)  # no HMAC token
    assert not {"record_id", "token", "lat", "lng", "region"} & set(frame.columns)


@pytest.mark.parametrize("viewer", [LEADERSHIP, ADMIN, PARTNER])
def test_others_see_no_match_rows(built: Path, viewer: Viewer) -> None:
    with pytest.raises(AccessDenied):
        matches.open_matches(viewer)
    with pytest.raises(AccessDenied):
        matches.operation_conflicts(viewer)


def test_partner_sees_no_counts_either(built: Path) -> None:
    with pytest.raises(AccessDenied, match="partner"):
        matches.match_counts(PARTNER)
    with pytest.raises(AccessDenied, match="partner"):
        matches.conflict_counts(PARTNER)


def test_counts_under_k_are_suppressed(tmp_env: Path) -> None:
    def shared(n: int, month: str, tag: str) -> list[tuple]:
        return [
            (source, f"{source}{tag}{i}", f"{source}-{tag}{i}", None, "phone",
             f"(916) 555-{tag}{i:03d}", f"{month}-15")
            for i in range(n) for source in ("lapd", "sdso")
        ]

    build_warehouse(shared(12, "2025-07", "1") + shared(14, "2025-08", "2")
                    + shared(3, "2025-09", "3") + shared(9, "2025-10", "4"))
    counts = matches.match_counts(LEADERSHIP, by=("region", "month"))
    assert list(counts.columns) == ["region", "month", "matches", "suppressed"]
    by_month = dict(zip(counts.month.astype(str), counts.matches, strict=True))
    assert by_month["2025-07-01"] == 12 and by_month["2025-08-01"] == 14
    small = counts[counts.month.astype(str) >= "2025-09-01"]
    assert small.suppressed.all() and small.matches.isna().all()
    assert matches.match_counts(ADMIN, by="region").matches.tolist() == [38]
    with pytest.raises(ValueError, match="'county'"):
        matches.match_counts(LEADERSHIP, by="county")


def test_a_lone_small_count_takes_a_complement_with_it(built: Path) -> None:
    # two matches, in two months: both under k, so neither may show
    counts = matches.match_counts(LEADERSHIP, by="month")
    assert counts.matches.isna().all()


def test_acknowledged_match_stays_acknowledged_after_a_rebuild(built: Path) -> None:
    target = matches.open_matches(LA).query("other_source == 'sdso'").match_id.iloc[0]
    matches.acknowledge(LA, target, note="Called Sgt. B, same subject, we lead")
    assert target not in set(matches.open_matches(LA).match_id)
    build_warehouse([])  # a rebuild on the same data
    assert target not in set(matches.open_matches(LA).match_id)
    everything = matches.open_matches(LA, include_acknowledged=True).set_index("match_id")
    assert everything.loc[target, "acknowledged"]
    assert everything.loc[target, "note"] == "Called Sgt. B, same subject, we lead"
    assert everything.loc[target, "acknowledged_by"] == "ana"
    # the other side's acknowledgement is its own
    assert target in set(matches.open_matches(SD).match_id)


def test_acknowledging_a_match_of_another_task_force_is_refused(built: Path) -> None:
    target = matches.open_matches(SD).match_id.iloc[0]
    with pytest.raises(AccessDenied, match=repr(target)):
        matches.acknowledge(ALAMEDA, target, note="")
    with pytest.raises(AccessDenied, match="'nope'"):
        matches.acknowledge(LA, "nope", note="")


def test_new_ingest_lists_only_new_matches(built: Path) -> None:
    first = matches.open_matches(LA, unseen_on="deconflict")
    assert len(first) == 2
    matches.mark_seen(LA, channel="deconflict", match_ids=list(first.match_id))
    assert matches.open_matches(LA, unseen_on="deconflict").empty
    build_warehouse([("lapd", "L77", "LA-777", None, "email", "new@example.org", "2025-08-01"),
                     ("sdso", "S77", "SD-77", None, "email", "NEW@example.org", "2025-08-02")])
    new = matches.open_matches(LA, unseen_on="deconflict")
    assert new.own_case_number.tolist() == ["LA-777"]
    # another channel (or another task force) has its own "seen" state
    assert len(matches.open_matches(LA, unseen_on="page:ana")) == 3


def test_every_view_and_acknowledgement_is_audited(built: Path) -> None:
    shown = matches.open_matches(LA)
    matches.acknowledge(LA, shown.match_id.iloc[0], note="ok")
    events = _audit_log()
    assert [e["action"] for e in events] == ["view_matches", "acknowledge_match"]
    assert all(m in events[0]["what"] for m in shown.match_id)
    assert (events[0]["user"], events[0]["task_force"]) == ("ana", "la")
    assert audit.verify_chain() == 2


def test_without_a_build_there_are_no_matches(tmp_env: Path) -> None:
    from routes import warehouse

    with warehouse.write_snapshot():
        pass
    assert matches.open_matches(LA).empty
    assert matches.match_counts(LEADERSHIP).empty


def _plan_conflict() -> None:
    operations.add_operation(
        "lapd", lat=34.0522, lng=-118.2437, radius_m=150, start="2026-12-03 05:00",
        end="2026-12-03 09:00", contact="Det. A 555-0100", kind="undercover",
        place="secret motel", task_force="la",
    )
    operations.add_operation(
        "sdso", lat=34.0535, lng=-118.2437, radius_m=50, start="2026-12-03 08:00",
        end="2026-12-03 11:00", contact="Sgt. B 555-0200", kind="raid", task_force="san_diego",
    )


def test_each_side_sees_the_others_contact_and_time_not_its_plan(
    tmp_env: Path) -> None:
    _plan_conflict()
    la = matches.operation_conflicts(LA)
    assert list(la.columns) == matches.CONFLICT_COLUMNS
    row = la.iloc[0]
    assert (row.other_source, row.other_contact) == ("sdso", "Sgt. B 555-0200")
    assert row.other_start == pd.Timestamp("2026-12-03 08:00")
    assert row.within == "within 500 m"  # ~145 m apart, 200 m of radii: the areas overlap
    sd = matches.operation_conflicts(SD).iloc[0]
    assert sd.other_contact == "Det. A 555-0100"
    text = " ".join(str(v) for v in sd)
    assert "undercover" not in text and "motel" not in text and "34.05" not in text
    assert matches.operation_conflicts(ALAMEDA).empty
    assert [e["action"] for e in _audit_log()] == ["operation_add"] * 2 + ["view_conflicts"] * 3


def test_conflict_acknowledgement_and_counts(tmp_env: Path) -> None:
    _plan_conflict()
    cid = matches.operation_conflicts(LA).conflict_id.iloc[0]
    matches.acknowledge_conflict(LA, cid, note="agreed: SD goes first")
    assert matches.operation_conflicts(LA).empty
    assert len(matches.operation_conflicts(SD)) == 1
    with pytest.raises(AccessDenied):
        matches.acknowledge_conflict(ALAMEDA, cid, note="")
    counts = matches.conflict_counts(LEADERSHIP)
    assert counts.suppressed.all() and counts.conflicts.isna().all()
    assert set(counts.region) == {"Region I"}


# -- issue 18: a planned operation cannot be located by probing -------------------------

SECRET = (34.0522, -118.2437)  # LAPD's secret undercover operation, radius 150 m


def _probe_grid(step_m: float = 250.0) -> list[tuple[float, float]]:
    """Nine probe centres on a 3 x 3 grid around a guess 120 m off the secret."""
    lat0, lng0 = SECRET[0] + 120 / 111_195, SECRET[1]
    per_lng = 111_195 * math.cos(math.radians(lat0))
    return [(lat0 + dy * step_m / 111_195, lng0 + dx * step_m / per_lng)
            for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _distance_shown(row: pd.Series) -> float | None:
    """The metres a conflict row tells the other side (``within_m`` then, ``within`` now)."""
    for column in ("within_m", "within"):
        if column in row.index:
            digits = re.sub(r"[^0-9.]", "", str(row[column]))
            return float(digits) if digits else None
    return None


def test_nine_probe_operations_cannot_triangulate_a_secret_operation(tmp_env: Path) -> None:
    operations.add_operation(
        "lapd", lat=SECRET[0], lng=SECRET[1], radius_m=150, start="2026-12-03 05:00",
        end="2026-12-03 09:00", contact="Det. A 555-0100", kind="undercover", task_force="la",
    )
    probes = {}
    for lat, lng in _probe_grid():
        op = operations.add_operation(
            "sdso", lat=lat, lng=lng, radius_m=0, start="2026-12-03 06:00", end="2026-12-03 07:00",
            contact="Sgt. B 555-0200", kind="other", task_force="san_diego", by=SD,
        )
        probes[op] = (lat, lng)
    shown = matches.operation_conflicts(SD).set_index("own_operation")
    assert set(shown.index) == set(probes)  # every probe conflicts: that much is deconfliction
    distances = {op: _distance_shown(shown.loc[op]) for op in probes}
    # With "within N m" rounded to 100 m, the nine distances placed the operation within
    # about 100 m by trilateration. Every conflict must now say the same: the radius.
    assert "within_m" not in shown.columns
    assert set(distances.values()) == {500.0}, distances
    assert set(shown["within"]) == {"within 500 m"}
    # and the campaign is on the admins' audit log
    probes_logged = audit.read_log(ADMIN, action="operation_probe")
    assert len(probes_logged) == 9 - 5 and set(probes_logged["user"]) == {"sam"}
    assert len(audit.read_log(ADMIN, action="operation_add", user="sam")) == 9


def test_the_conflict_radius_follows_the_setting(tmp_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_DECONFLICT_DISTANCE_M", "1000")
    _plan_conflict()
    assert set(matches.operation_conflicts(LA)["within"]) == {"within 1,000 m"}


def test_own_agencies(built: Path) -> None:
    assert matches.own_agencies(LA).source_id.tolist() == ["lapd"]
    with pytest.raises(AccessDenied):
        matches.own_agencies(LEADERSHIP)
