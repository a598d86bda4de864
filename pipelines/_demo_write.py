"""Streaming writers for the demo exports, one per file format.

Each writer takes chunks as ``{header: pyarrow.Array}`` in file column order and
writes them as the agency's system would: CSV/TSV through ``pyarrow.csv``
(Latin-1 with a byte-order mark and CRLF for the sheriff), JSON / JSON Lines /
GeoJSON as text assembled with vectorised ``pyarrow.compute`` joins, Parquet
with ``pyarrow.parquet``, XLSX with openpyxl in write-only mode (then made
byte-reproducible: fixed zip timestamps and document dates).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

Chunk = dict[str, pa.Array]

UTF8_BOM = b"\xef\xbb\xbf"
FIXED_ZIP_TIME = (2026, 11, 1, 0, 0, 0)
FIXED_DOC_TIME = "2026-11-01T00:00:00Z"


class CsvWriter:
    """Delimited text; values are strings ("" for missing)."""

    def __init__(self, path: Path, headers: list[str], *, delimiter: str = ",",
                 eol: str = "\n", latin1: bool = False) -> None:
        self.path, self.delimiter, self.eol, self.latin1 = path, delimiter, eol, latin1
        self.fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        head = delimiter.join(_quote(h, delimiter) for h in headers) + eol
        self.fh.write(UTF8_BOM + head.encode("latin-1") if latin1 else head.encode("utf-8"))
        self.options = pacsv.WriteOptions(include_header=False, delimiter=delimiter, eol=eol)

    def write(self, chunk: Chunk) -> None:
        table = pa.table({str(i): _as_text(a) for i, a in enumerate(chunk.values())})
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, self.options)
        data = buf.getvalue()
        if self.latin1:
            data = data.decode("utf-8").encode("latin-1")
        self.fh.write(data)

    def close(self) -> None:
        self.fh.close()


def _quote(text: str, delimiter: str) -> str:
    if any(c in text for c in (delimiter, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def _as_text(arr: pa.Array) -> pa.Array:
    if pa.types.is_string(arr.type):
        return arr
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    return pc.cast(arr, pa.string())


def _json_values(arr: pa.Array) -> pa.Array:
    """Per-row JSON text of a column (strings quoted and escaped, "" as null)."""
    if isinstance(arr, JsonText):
        return arr.array
    t = arr.type
    if pa.types.is_string(t):
        esc = arr
        for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"),
                         ("\t", "\\t")):
            esc = pc.replace_substring(esc, old, new)
        quoted = pc.binary_join_element_wise('"', esc, '"', "")
        empty = pc.or_kleene(pc.is_null(arr), pc.equal(arr, ""))
        return pc.if_else(empty, "null", quoted)
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.if_else(arr, "true", "false"), "null")
    return pc.fill_null(pc.cast(arr, pa.string()), "null")


class JsonText:
    """A column already rendered as JSON text (for example a JSON list)."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array
        self.type = pa.string()

    def __len__(self) -> int:
        return len(self.array)


def _object_text(chunk: Chunk, skip: tuple[str, ...] = ()) -> pa.Array:
    """One JSON object per row; dotted headers become nested objects."""
    pieces: list[object] = []
    open_prefix: str | None = None
    first = True
    for header, arr in chunk.items():
        if header in skip:
            continue
        prefix, _, key = header.rpartition(".")
        if prefix != (open_prefix or ""):
            if open_prefix:
                pieces.append("}")
            if prefix:
                pieces.append(("" if first else ",") + f'"{prefix}":{{')
                first = True
            open_prefix = prefix or None
        pieces.append(("" if first else ",") + f'"{key}":')
        pieces.append(_json_values(arr))
        first = False
    if open_prefix:
        pieces.append("}")
    return pc.binary_join_element_wise("{", *pieces, "}", "")


class JsonWriter:
    """A JSON array of objects (``lines=False``) or JSON Lines."""

    def __init__(self, path: Path, headers: list[str], *, lines: bool = False) -> None:
        self.fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self.lines, self.count = lines, 0
        if not lines:
            self.fh.write("[\n")

    def write(self, chunk: Chunk) -> None:
        text = _object_text(chunk).to_pylist()
        if not text:
            return
        if self.lines:
            self.fh.write("\n".join(text) + "\n")
        else:
            self.fh.write(("" if self.count == 0 else ",\n") + ",\n".join(text))
        self.count += len(text)

    def close(self) -> None:
        if not self.lines:
            self.fh.write("\n]\n")
        self.fh.close()


class GeoJsonWriter:
    """A FeatureCollection of points; ``lat``/``lon`` become the geometry."""

    def __init__(self, path: Path, headers: list[str], *, name: str) -> None:
        self.fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self.count = 0
        self.fh.write('{"type":"FeatureCollection","name":' + f'"{name}",'
                      '"crs":{"type":"name","properties":{"name":'
                      '"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[\n')

    def write(self, chunk: Chunk) -> None:
        lat, lon = chunk["lat"], chunk["lon"]
        point = pc.binary_join_element_wise(
            '{"type":"Point","coordinates":[', pc.cast(lon, pa.string()), ",",
            pc.cast(lat, pa.string()), "]}", "")
        geometry = pc.fill_null(point, "null")
        props = _object_text(chunk, skip=("lat", "lon"))
        text = pc.binary_join_element_wise(
            '{"type":"Feature","geometry":', geometry, ',"properties":', props, "}", ""
        ).to_pylist()
        if text:
            self.fh.write(("" if self.count == 0 else ",\n") + ",\n".join(text))
            self.count += len(text)

    def close(self) -> None:
        self.fh.write("\n]}\n")
        self.fh.close()


class ParquetWriter:
    """Typed columns; "" becomes null."""

    def __init__(self, path: Path, headers: list[str]) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def write(self, chunk: Chunk) -> None:
        cols = {}
        for header, arr in chunk.items():
            if pa.types.is_string(arr.type):
                arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
            cols[header] = arr
        table = pa.table(cols)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class XlsxWriter:
    """One sheet, write-only; text that looks like a formula stays text."""

    def __init__(self, path: Path, headers: list[str], *, sheet: str) -> None:
        from openpyxl import Workbook

        self.path = path
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet(sheet)
        self.ws.append(headers)

    def write(self, chunk: Chunk) -> None:
        from openpyxl.cell import WriteOnlyCell

        columns = [a.to_pylist() for a in chunk.values()]
        for row in zip(*columns, strict=True):
            out = []
            for v in row:
                if v == "":
                    v = None
                elif isinstance(v, str) and v[:1] == "=":
                    cell = WriteOnlyCell(self.ws, value=v)
                    cell.data_type = "s"
                    v = cell
                out.append(v)
            self.ws.append(out)

    def close(self) -> None:
        self.wb.save(self.path)
        make_zip_reproducible(self.path)


def make_zip_reproducible(path: Path) -> None:
    """Rewrite an OOXML zip with fixed entry times and fixed document dates."""
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rb"\g<1>" + FIXED_DOC_TIME.encode() + rb"\g<3>", data)
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, data)


def open_writer(fmt: str, path: Path, headers: list[str], *, sheet: str | None = None,
                latin1: bool = False, name: str = ""):
    """The writer for ``fmt`` (csv|tsv|xlsx|json|jsonl|geojson|parquet)."""
    if fmt == "csv":
        return CsvWriter(path, headers)
    if fmt == "tsv":
        return CsvWriter(path, headers, delimiter="\t", eol="\r\n" if latin1 else "\n",
                         latin1=latin1)
    if fmt == "xlsx":
        return XlsxWriter(path, headers, sheet=sheet or "Sheet1")
    if fmt in ("json", "jsonl"):
        return JsonWriter(path, headers, lines=fmt == "jsonl")
    if fmt == "geojson":
        return GeoJsonWriter(path, headers, name=name)
    if fmt == "parquet":
        return ParquetWriter(path, headers)
    raise ValueError(f"unknown export format {fmt!r}")
