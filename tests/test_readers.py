"""Reading agency exports (pipelines/ingest/_readers.py)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import _readers
from routes.errors import IngestError


def read_all(source, **kw) -> pd.DataFrame:
    reader = _readers.open_table(source, **kw)
    frames = list(reader.chunks)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=reader.columns)


def cells(frame: pd.DataFrame) -> list[list[object]]:
    return frame.astype(object).where(frame.notna(), None).values.tolist()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
def test_csv_delimiters_and_line_endings(newline, delimiter):
    text = newline.join([delimiter.join(["id", "city"]), delimiter.join(["1", "Fresno"]),
                         delimiter.join(["2", ""])]) + newline
    frame = read_all(text.encode(), file_name="x.csv")
    assert list(frame.columns) == ["id", "city"]
    assert cells(frame) == [["1", "Fresno"], ["2", None]]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("id,place\n1,Peña\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "id,place\n1,Peña\n".encode(), "utf-8-sig"),
        ("id,place\n1,Peña\n".encode("latin-1"), "latin-1"),
    ],
)
def test_encodings_are_detected(data, encoding):
    reader = _readers.open_table(data, file_name="x.csv")
    assert reader.encoding == encoding
    frame = pd.concat(list(reader.chunks))
    assert list(frame.columns) == ["id", "place"] and frame["place"].iloc[0] == "Peña"


def test_bom_in_front_of_latin1_is_dropped():
    data = b"\xef\xbb\xbf" + "Nº\tLugar\nA1\tPeña\n".encode("latin-1")
    frame = read_all(data, file_name="x.tsv", encoding="latin-1")
    assert list(frame.columns) == ["Nº", "Lugar"] and frame["Lugar"].iloc[0] == "Peña"


def test_quoted_newlines_and_chunks():
    rows = "\n".join(f'{i},"line one\nline two"' for i in range(25))
    reader = _readers.open_table(f"id,note\n{rows}\n".encode(), file_name="x.csv", chunk_rows=10)
    frames = list(reader.chunks)
    assert sum(len(f) for f in frames) == 25
    assert frames[0]["note"].iloc[0] == "line one\nline two"


def test_json_records_nested_and_lines():
    records = [{"id": 1, "destination": {"city": "Fresno", "zip": 93721}, "tags": ["a", "b"]},
               {"id": 2, "destination": {"city": None}, "extra": True}]
    frame = read_all(json.dumps(records).encode(), file_name="x.json")
    assert list(frame.columns) == ["id", "destination.city", "destination.zip", "tags", "extra"]
    assert cells(frame)[0] == ["1", "Fresno", "93721", '["a", "b"]', None]
    wrapped = read_all(json.dumps({"records": records}).encode(), file_name="x.json")
    assert len(wrapped) == 2
    lines = "\n".join(json.dumps(r) for r in records).encode()
    for name in ("x.jsonl", "x.json"):
        frame = read_all(lines, file_name=name)
        assert frame["destination.city"].tolist()[0] == "Fresno" and len(frame) == 2


def test_json_lines_with_mixed_types_fall_back():
    lines = b'{"id": 1, "n": 2}\n{"id": "A2", "n": "two"}\n'
    frame = read_all(lines, file_name="x.jsonl")
    assert cells(frame) == [["1", "2"], ["A2", "two"]]


def test_geojson_points_become_lat_lon():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-121.5, 38.6]},
         "properties": {"op_id": "X1", "meta": {"kind": "sting"}}},
        {"type": "Feature", "geometry": None, "properties": {"op_id": "X2"}},
    ]}
    frame = read_all(json.dumps(fc).encode(), file_name="ops.geojson")
    assert cells(frame) == [["X1", "sting", "38.6", "-121.5"], ["X2", None, None, None]]
    assert list(frame.columns) == ["op_id", "meta.kind", "lat", "lon"]


def test_parquet_typed_and_nested():
    table = pa.table({
        "id": pa.array([1, 2]),
        "when": pa.array([pd.Timestamp("2024-01-02 03:04"), None], type=pa.timestamp("us")),
        "lat": pa.array([36.7, None]),
        "flag": pa.array([True, False]),
        "where": pa.array([{"city": "Fresno"}, {"city": None}]),
        "codes": pa.array([["A", "B"], []]),
    })
    sink = io.BytesIO()
    pq.write_table(table, sink)
    frame = read_all(sink.getvalue(), file_name="x.parquet")
    assert list(frame.columns) == ["id", "when", "lat", "flag", "where.city", "codes"]
    first = cells(frame)[0]
    assert first[0] == "1" and first[1].startswith("2024-01-02 03:04") and first[2] == "36.7"
    assert first[3] == "true" and first[4] == "Fresno" and first[5] == '["A", "B"]'


def test_xlsx_sheet(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    ws = book.create_sheet("Export")
    ws.append(["INC_NO", "ZIP", "OCC_DT", "VIC_CT"])
    import datetime as dt

    ws.append(["SD1", 92101, dt.datetime(2024, 5, 6), 2.0])
    path = tmp_path / "x.xlsx"
    book.save(path)
    frame = read_all(path, sheet="Export")
    assert cells(frame) == [["SD1", "92101", "2024-05-06T00:00:00", "2"]]
    with pytest.raises(IngestError, match="no sheet 'Nope'"):
        _readers.open_table(path, sheet="Nope")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "x.csv", "is empty"),
        (b"id,id\n1,2\n", "x.csv", "more than once"),
        (b"id,x\n1,2,3\n", "x.csv", "not a well-formed CSV"),
        (b"not json", "x.json", "could not be read as JSON"),
        (b"PK\x03\x04garbage", "x.xlsx", "could not be read as XLSX"),
        (b"abc", "x.parquet", "could not be read as PARQUET"),
        (b"abc", "x.doc", "cannot tell the format"),
    ],
)
def test_unreadable_files_raise_ingest_error(data, name, message):
    with pytest.raises(IngestError, match=message):
        read_all(data, file_name=name)


def test_missing_path(tmp_path):
    with pytest.raises(IngestError, match="no file at"):
        _readers.open_table(tmp_path / "nope.csv")
