"""Mapping profiles (pipelines/ingest/profiles.py)."""

from __future__ import annotations

import pytest

from pipelines.ingest.profiles import load_profile, parse_profile, profile_for_columns
from routes.errors import ProfileError

FULL = """
source = "hotline"
format = "csv"
encoding = "auto"
date_formats = ["%m/%d/%Y", "%Y-%m-%d"]
list_separator = ";"
ignore = ["Narrative"]

[columns]
record_id = "CaseID"
occurred_at = "IncidentDate"
location = "IncidentLocation"
origin_location = "VictimFrom"
subject_name = ["SuspectFirst", "SuspectLast"]

[values.record_type]
T = "tip"
[values.trafficking_type]
ST = "sex"
[values.indicators]
MOT = "motel"
[values.minor_involved]
Y = true
N = false
"""


def test_the_documented_example_loads(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text(FULL)
    p = load_profile(path)
    assert p.source == "hotline" and p.format == "csv" and p.list_separator == ";"
    assert p.columns["subject_name"] == ("SuspectFirst", "SuspectLast")
    assert p.values["record_type"] == {"T": "tip"}
    assert p.values["minor_involved"] == {"Y": "true", "N": "false"}
    assert p.ignore == ("Narrative",)
    assert p.source_columns[:2] == ("CaseID", "IncidentDate")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[columns]\nrecord_id = ", "not valid TOML"),
        ("colums = 1", "unknown key 'colums'"),
        ("[columns]\nrecordid = 'A'", "'recordid' under \\[columns\\] is not a contract field"),
        ("[columns]\nrecord_id = 3", "must be a column name"),
        ("format = 'xls'", "format 'xls' is not one of"),
        ("encoding = 'klingon'", "unknown encoding 'klingon'"),
        ("date_formats = ['mm/dd/yyyy']", "no % directive"),
        ("[values.record_type]\nT = 'tipp'", "'tipp' is not one of"),
        ("[values.city]\nSF = 'San Francisco'", "\\[values.city\\] is not allowed"),
        ("list_separator = ''", "list_separator is empty"),
    ],
)
def test_bad_profiles_say_what_is_wrong(text, message):
    with pytest.raises(ProfileError, match=message):
        parse_profile(text, name="p.toml")


def test_missing_profile_file(tmp_path):
    with pytest.raises(ProfileError, match="no profile at"):
        load_profile(tmp_path / "nope.toml")


def test_contract_named_columns_need_no_profile():
    p = profile_for_columns([" Record_ID ", "occurred_at", "lng", "lat", "Narrative"])
    assert p.columns == {"record_id": (" Record_ID ",), "occurred_at": ("occurred_at",),
                         "lon": ("lng",), "lat": ("lat",)}


def test_check_columns_names_the_missing_column():
    p = parse_profile("[columns]\nrecord_id = 'CaseID'\ncity = 'Town'")
    with pytest.raises(ProfileError, match="no column 'Town'"):
        p.check_columns(["CaseID", "City"], file_name="f.csv")
    with pytest.raises(ProfileError, match="maps to 'record_id'"):
        profile_for_columns(["a", "b"]).check_columns(["a", "b"], file_name="f.csv")
