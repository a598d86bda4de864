"""Read agency exports as a stream of string-typed pandas chunks.

Formats: CSV and TSV (encoding UTF-8 with or without BOM, else Latin-1; delimiter
sniffed from the header; ``\\n``, ``\\r\\n`` or ``\\r`` line endings), XLSX, JSON
(an array of records, an object holding one, or JSON lines), GeoJSON (point
geometry becomes ``lat`` and ``lon``) and Parquet. Nested objects are flattened
with dots (``destination.city``); lists become JSON text. Every cell arrives as
text (or missing), so validation treats every format alike.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import html
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from routes.errors import IngestError

#: Formats by file-name ending.
EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".geojson": "geojson",
    ".parquet": "parquet", ".pq": "parquet",
}

#: Rows per chunk handed to validation.
CHUNK_ROWS = 100_000

_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_BYTES = 1 << 16


@dataclass
class TableReader:
    """An opened file: what was detected, and its rows as chunks.

    Attributes
    ----------
    columns
        The column names as read (flattened with dots for nested data).
    format, encoding, delimiter
        What was detected (``encoding``/``delimiter`` only for text tables).
    """

    columns: list[str]
    format: str
    chunks: Iterator[pd.DataFrame]
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)


def detect_format(file_name: str, *, declared: str | None = None) -> str:
    """The format of ``file_name`` (``declared`` wins when given).

    >>> detect_format("export.TSV")
    'tsv'
    """
    if declared:
        return declared
    suffix = Path(file_name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise IngestError(
            f"cannot tell the format of {file_name!r} from its ending {suffix!r}; "
            f"rename it to one of {', '.join(sorted(EXTENSIONS))} or set format in its profile"
        )
    return EXTENSIONS[suffix]


def open_table(
    source: Path | bytes,
    *,
    file_name: str | None = None,
    fmt: str | None = None,
    encoding: str = "auto",
    sheet: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> TableReader:
    """Open ``source`` (a path or the bytes of an upload) for chunked reading.

    Raises
    ------
    IngestError
        The file is missing, empty, or not readable as the detected format.
    """
    name = file_name or (source.name if isinstance(source, Path) else "<upload>")
    if isinstance(source, Path) and not source.is_file():
        raise IngestError(f"no file at {str(source)!r}; check the path")
    fmt = detect_format(name, declared=fmt)
    if _size(source) == 0:
        raise IngestError(f"{name!r} is empty; ask the sender for the export again")
    try:
        if fmt in ("csv", "tsv"):
            return _open_text_table(source, name, fmt, encoding, chunk_rows)
        if fmt == "xlsx":
            return _open_xlsx(source, name, sheet, chunk_rows)
        if fmt in ("json", "jsonl"):
            return _open_json(source, name, fmt, encoding, chunk_rows)
        if fmt == "geojson":
            return _open_geojson(source, name, encoding, chunk_rows)
        if fmt == "parquet":
            return _open_parquet(source, name, chunk_rows)
    except IngestError:
        raise
    except Exception as exc:  # any parser failure means the file can't be read at all
        raise IngestError(
            f"{name!r} could not be read as {fmt.upper()} ({type(exc).__name__}: {exc}); "
            "check that the file is complete and of that format, or set format in its profile"
        ) from exc
    raise IngestError(f"unsupported format {fmt!r}")


# -- helpers -------------------------------------------------------------------


def _size(source: Path | bytes) -> int:
    return source.stat().st_size if isinstance(source, Path) else len(source)


def _binary(source: Path | bytes) -> BinaryIO:
    return open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)


def _head(source: Path | bytes, n: int = _SNIFF_BYTES) -> bytes:
    with _binary(source) as handle:
        return handle.read(n)


def detect_encoding(source: Path | bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` if every byte decodes, else ``latin-1``.

    >>> detect_encoding("café".encode("latin-1"))
    'latin-1'
    >>> detect_encoding(b"\\xef\\xbb\\xbfid")
    'utf-8-sig'
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with _binary(source) as handle:
        first = handle.read(3)
        if first == codecs.BOM_UTF8:
            return "utf-8-sig"
        try:
            decoder.decode(first)
            while block := handle.read(1 << 24):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8"


def _resolve_encoding(source: Path | bytes, encoding: str) -> str:
    return detect_encoding(source) if encoding == "auto" else encoding


def sniff_delimiter(header: str) -> str:
    """The most frequent of ``, TAB ; |`` in the header line (``,`` by default).

    >>> sniff_delimiter("id;date;city")
    ';'
    """
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _first_line(text: str) -> str:
    for sep in ("\r\n", "\n", "\r"):
        text = text.split(sep, 1)[0]
    return text


def _rechunk(tables: Iterator[pa.Table], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Arrow tables (all string columns) regrouped into frames of ~``chunk_rows`` rows."""
    pending: list[pa.Table] = []
    size = 0
    for table in tables:
        pending.append(table)
        size += table.num_rows
        if size >= chunk_rows:
            yield _to_frame(pa.concat_tables(pending))
            pending, size = [], 0
    if pending and size:
        yield _to_frame(pa.concat_tables(pending))


def _to_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for col in frame.columns:
        if frame[col].dtype != "str":
            frame[col] = frame[col].astype("str")
    return frame.replace("", None) if len(frame) else frame


def _strings(table: pa.Table) -> pa.Table:
    """Every column as text: nested structs flattened, lists as JSON, times as ISO."""
    while any(pa.types.is_struct(t) for t in table.schema.types):
        table = table.flatten()
    cols = []
    for col in table.columns:
        t = col.type
        if pa.types.is_string(t):
            cols.append(col)
        elif pa.types.is_large_string(t) or pa.types.is_dictionary(t):
            cols.append(col.cast(pa.string()))
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_null(t):
            cols.append(pa.array([_cell(v) for v in col.to_pylist()], type=pa.string()))
        elif pa.types.is_floating(t):  # Arrow writes 3.0 as "3" and NaN as "nan"
            text = col.cast(pa.string())
            cols.append(pc.if_else(pc.is_nan(col), pa.scalar(None, pa.string()), text))
        else:
            cols.append(col.cast(pa.string()))
    return pa.table(cols, names=table.column_names)


def _cell(value: Any) -> str | None:
    """One Python value as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def flatten_record(record: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """A nested JSON object flattened with dots.

    >>> flatten_record({"id": 1, "dest": {"city": "Fresno", "geo": {"lat": 36.7}}})
    {'id': 1, 'dest.city': 'Fresno', 'dest.geo.lat': 36.7}
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_record(value, prefix=name + "."))
        else:
            out[name] = value
    return out


def _records_to_frames(
    records: Iterator[dict[str, Any]], columns: list[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    batch: list[dict[str, Any]] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= chunk_rows:
            yield _dicts_frame(batch, columns)
            batch = []
    if batch:
        yield _dicts_frame(batch, columns)


def _dicts_frame(batch: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    arrays = []
    for col in columns:
        values = [r.get(col) for r in batch]
        try:  # Arrow converts a column of one type at C speed
            array = _strings(pa.table({"v": pa.array(values)})).column(0)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            array = pa.array([_cell(v) for v in values], type=pa.string())
        arrays.append(array)
    return _to_frame(pa.table(arrays, names=columns))


def _columns_of(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for rec in records:
        for key in rec:
            seen.setdefault(key, None)
    return list(seen)


# -- text tables ---------------------------------------------------------------


def _open_text_table(
    source: Path | bytes, name: str, fmt: str, encoding: str, chunk_rows: int
) -> TableReader:
    encoding = _resolve_encoding(source, encoding)
    raw_head = _head(source)
    # A UTF-8 byte-order mark is dropped whatever the encoding (some systems
    # write one in front of Latin-1 text).
    skip = len(codecs.BOM_UTF8) if raw_head.startswith(codecs.BOM_UTF8) else 0
    codec = encoding.replace("_", "-").lower()
    codec = "utf-8" if codec in ("utf-8-sig", "utf8", "utf-8") else encoding
    head = raw_head[skip:].decode(codec, errors="replace")
    header_line = _first_line(head)
    if not header_line.strip():
        raise IngestError(f"{name!r} has an empty first line; the first line must name the columns")
    delimiter = "\t" if fmt == "tsv" else sniff_delimiter(header_line)
    columns = next(csv.reader([header_line], delimiter=delimiter))
    columns = [c.strip() for c in columns]
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise IngestError(
            f"{name!r} names column {dupes[0]!r} more than once; rename the duplicates"
        )
    arrow_encoding = "utf8" if codec == "utf-8" else codec
    read_options = pacsv.ReadOptions(
        encoding=arrow_encoding, block_size=1 << 24, column_names=columns, skip_rows=1
    )
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert_options = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in columns},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )

    def batches() -> Iterator[pa.Table]:
        handle = _binary(source)
        handle.read(skip)
        try:
            reader = pacsv.open_csv(
                handle, read_options=read_options, parse_options=parse_options,
                convert_options=convert_options,
            )
            for batch in reader:
                yield pa.Table.from_batches([batch])
        except pa.ArrowInvalid as exc:
            raise IngestError(
                f"{name!r} is not a well-formed {fmt.upper()} table ({exc}); check quoting "
                "and that every row has as many fields as the header"
            ) from exc
        finally:
            handle.close()

    return TableReader(
        columns=columns, format=fmt, chunks=_rechunk(batches(), chunk_rows),
        encoding=encoding, delimiter=delimiter,
    )


# -- spreadsheets ----------------------------------------------------------------


def _open_xlsx(source: Path | bytes, name: str, sheet: str | None, chunk_rows: int) -> TableReader:
    """XLSX read straight from its XML (openpyxl reads ~20 k cells a second; this ~1 M)."""
    with _XlsxBook(source) as book:
        part = book.sheet_part(sheet, name)
        rows = book.rows(part)
        header = next(rows, None)
    if not header:
        raise IngestError(f"{name!r} sheet {sheet or 1!r} is empty; the first row must name the columns")
    columns = [str(c).strip() if c is not None else f"column_{i + 1}" for i, c in enumerate(header)]

    def frames() -> Iterator[pd.DataFrame]:
        with _XlsxBook(source) as book:
            batch: list[list[str | None]] = []
            rows = book.rows(part)
            next(rows, None)
            for row in rows:
                if any(v is not None for v in row):
                    batch.append(row)
                if len(batch) >= chunk_rows:
                    yield _rows_frame(batch, columns)
                    batch = []
            if batch:
                yield _rows_frame(batch, columns)

    return TableReader(columns=columns, format="xlsx", chunks=frames())


def _rows_frame(batch: list[list[str | None]], columns: list[str]) -> pd.DataFrame:
    width = len(columns)
    data = {col: [row[i] if i < len(row) else None for row in batch] for i, col in enumerate(columns[:width])}
    return pd.DataFrame(data, dtype="str", columns=columns).replace("", None)


_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROW = re.compile(r"<row\b[^>]*?(?:/>|>(.*?)</row>)", re.S)
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ATTR = re.compile(r'\b(r|s|t)="([^"]*)"')
_VALUE = re.compile(r"<v>(.*?)</v>", re.S)
_TEXT = re.compile(r"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_SI = re.compile(r"<si>(.*?)</si>", re.S)
_FAST_CELL = re.compile(
    r'<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="(\w+)")?\s*'
    r"(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: [^>]*)?>([^<]*)</t></is>)?</c>)"
)
_COLUMN_INDEX: dict[str, int] = {}
_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)}
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


class _XlsxBook:
    """The parts of an XLSX file this reader needs: sheets, shared strings, date styles."""

    def __init__(self, source: Path | bytes) -> None:
        self.zip = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
        names = set(self.zip.namelist())
        self.strings = self._shared_strings() if "xl/sharedStrings.xml" in names else []
        self.date_styles = self._date_styles() if "xl/styles.xml" in names else set()

    def __enter__(self) -> _XlsxBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def _text(self, part: str) -> str:
        return self.zip.read(part).decode("utf-8")

    def sheet_part(self, sheet: str | None, name: str) -> str:
        import xml.etree.ElementTree as ET

        book = ET.fromstring(self._text("xl/workbook.xml"))
        ns = {"m": book.tag.split("}")[0].strip("{")}
        sheets = [(s.get("name"), s.get(f"{{{_NS_REL}}}id")) for s in book.iterfind("m:sheets/m:sheet", ns)]
        if not sheets:
            raise IngestError(f"{name!r} holds no worksheet; re-export it")
        if sheet is None:
            rid = sheets[0][1]
        else:
            found = [r for n, r in sheets if n == sheet]
            if not found:
                raise IngestError(
                    f"{name!r} has no sheet {sheet!r}; its sheets are "
                    f"{', '.join(repr(n) for n, _ in sheets)}: fix sheet in the profile"
                )
            rid = found[0]
        rels = ET.fromstring(self._text("xl/_rels/workbook.xml.rels"))
        for rel in rels:
            if rel.get("Id") == rid:
                target = rel.get("Target", "")
                return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        raise IngestError(f"{name!r} is damaged (sheet {sheet!r} has no part); re-export it")

    def _shared_strings(self) -> list[str]:
        return [
            html.unescape("".join(t or "" for t in _TEXT.findall(si)))
            for si in _SI.findall(self._text("xl/sharedStrings.xml"))
        ]

    def _date_styles(self) -> set[int]:
        import xml.etree.ElementTree as ET

        styles = ET.fromstring(self._text("xl/styles.xml"))
        ns = {"m": styles.tag.split("}")[0].strip("{")}
        custom = {
            int(f.get("numFmtId", "0")): f.get("formatCode", "")
            for f in styles.iterfind("m:numFmts/m:numFmt", ns)
        }
        out = set()
        for i, xf in enumerate(styles.iterfind("m:cellXfs/m:xf", ns)):
            fid = int(xf.get("numFmtId", "0"))
            code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", custom.get(fid, "")).lower()
            if fid in _DATE_FORMAT_IDS or (fid in custom and any(c in code for c in "ydhs")):
                out.add(i)
        return out

    def rows(self, part: str) -> Iterator[list[str | None]]:
        """Each row of the sheet as text cells (dates ISO, whole numbers without ``.0``)."""
        with self.zip.open(part) as handle:
            reader = io.TextIOWrapper(handle, encoding="utf-8")
            pending = ""
            while block := reader.read(1 << 22):
                pending += block
                cut = pending.rfind("</row>")
                if cut < 0:
                    continue
                cut += len("</row>")
                yield from self._parse_rows(pending[:cut])
                pending = pending[cut:]
            yield from self._parse_rows(pending)

    def _parse_rows(self, text: str) -> Iterator[list[str | None]]:
        for row_match in _ROW.finditer(text):
            body = row_match.group(1) or ""
            fast = _FAST_CELL.findall(body)
            if len(fast) == body.count("<c "):
                yield self._fast_row(fast)
                continue
            cells: list[str | None] = []
            for cell in _CELL.finditer(body):
                attrs = dict(_ATTR.findall(cell.group(1)))
                ref = attrs.get("r")
                if ref:
                    col = _column_index(ref)
                    if col > len(cells):
                        cells.extend([None] * (col - len(cells)))
                cells.append(self._value(attrs, cell.group(2) or ""))
            yield cells

    def _fast_row(self, found: list[tuple[str, str, str, str, str]]) -> list[str | None]:
        """A row whose cells all have the usual shape (``r``, then ``s``, then ``t``)."""
        cells: list[str | None] = []
        for letters, style, kind, value, inline in found:
            col = _COLUMN_INDEX.get(letters)
            if col is None:
                col = _COLUMN_INDEX.setdefault(letters, _column_index(letters))
            if col > len(cells):
                cells.extend([None] * (col - len(cells)))
            if kind == "inlineStr":
                cells.append(html.unescape(inline) if "&" in inline else inline)
            elif kind == "s":
                cells.append(self.strings[int(value)])
            elif not kind and value.isdigit() and not (style and int(style) in self.date_styles):
                cells.append(value)
            else:
                attrs = {"t": kind or "n", "s": style}
                cells.append(self._value(attrs, f"<v>{value}</v>" if value else ""))
        return cells

    def _value(self, attrs: dict[str, str], body: str) -> str | None:
        kind = attrs.get("t", "n")
        if kind == "inlineStr":
            return html.unescape("".join(t or "" for t in _TEXT.findall(body)))
        found = _VALUE.search(body)
        if found is None:
            return None
        raw = found.group(1)
        if kind == "s":
            return self.strings[int(raw)]
        if kind in ("str", "d"):
            return html.unescape(raw)
        if kind == "b":
            return "true" if raw.strip() == "1" else "false"
        if kind == "e":
            return None
        number = float(raw)
        if attrs.get("s") and int(attrs["s"]) in self.date_styles:
            return (_EXCEL_EPOCH + dt.timedelta(seconds=round(number * 86400))).isoformat()
        return _cell(number)


def _column_index(ref: str) -> int:
    """``"C12"`` → 2."""
    index = 0
    for ch in ref:
        if not ch.isalpha():
            break
        index = index * 26 + (ord(ch.upper()) - 64)
    return index - 1


# -- JSON ------------------------------------------------------------------------


def _load_json(source: Path | bytes, encoding: str) -> Any:
    encoding = _resolve_encoding(source, encoding)
    with _binary(source) as handle:
        data = handle.read()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    return json.loads(data.decode(encoding))


def _looks_like_lines(source: Path | bytes, encoding: str) -> bool:
    head = _head(source).decode(_resolve_encoding(source, encoding), errors="replace").lstrip("\ufeff")
    stripped = head.lstrip()
    if not stripped.startswith("{"):
        return False
    first = _first_line(stripped)
    try:
        json.loads(first)
    except ValueError:
        return False
    return len(stripped) > len(first)


def _open_json(
    source: Path | bytes, name: str, fmt: str, encoding: str, chunk_rows: int
) -> TableReader:
    if fmt == "jsonl" or _looks_like_lines(source, encoding):
        return _open_json_lines(source, name, encoding, chunk_rows)
    data = _load_json(source, encoding)
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise IngestError(
                f"{name!r} is a JSON object without exactly one list of records; "
                "send an array of records, an object holding one, or JSON lines"
            )
        data = lists[0]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise IngestError(f"{name!r} is not a list of JSON records (objects); re-export it as records")
    records = [flatten_record(r) for r in data]
    columns = _columns_of(records)
    return TableReader(
        columns=columns, format="json", chunks=_records_to_frames(iter(records), columns, chunk_rows)
    )


def _open_json_lines(source: Path | bytes, name: str, encoding: str, chunk_rows: int) -> TableReader:
    encoding = _resolve_encoding(source, encoding)
    if encoding in ("utf-8", "utf8"):
        try:  # the fast path: Arrow reads lines in blocks; falls back on mixed types
            with _binary(source) as handle:
                table = pajson.read_json(handle, read_options=pajson.ReadOptions(block_size=1 << 24))
            table = _strings(table)
            return TableReader(
                columns=table.column_names, format="jsonl",
                chunks=_table_chunks(table, chunk_rows),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    with _binary(source) as handle:
        text = handle.read().decode(encoding)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise IngestError(
                f"{name!r} line {number} is not JSON ({exc}); fix that line or re-export"
            ) from exc
        if not isinstance(value, dict):
            raise IngestError(f"{name!r} line {number} is not a JSON object; each line must be one record")
        records.append(flatten_record(value))
    columns = _columns_of(records)
    return TableReader(
        columns=columns, format="jsonl", chunks=_records_to_frames(iter(records), columns, chunk_rows)
    )


def _table_chunks(table: pa.Table, chunk_rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, table.num_rows, chunk_rows):
        yield _to_frame(table.slice(start, chunk_rows))


def _open_geojson(source: Path | bytes, name: str, encoding: str, chunk_rows: int) -> TableReader:
    data = _load_json(source, encoding)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise IngestError(f"{name!r} is not a GeoJSON FeatureCollection; export features as one")
    records = []
    for feature in data.get("features") or []:
        props = flatten_record(feature.get("properties") or {})
        geom = feature.get("geometry") or {}
        coords = geom.get("coordinates") if geom.get("type") == "Point" else None
        if isinstance(coords, list) and len(coords) >= 2:
            props.setdefault("lat", coords[1])
            props.setdefault("lon", coords[0])
        records.append(props)
    columns = _columns_of(records)
    for col in ("lat", "lon"):
        if col not in columns:
            columns.append(col)
    return TableReader(
        columns=columns, format="geojson",
        chunks=_records_to_frames(iter(records), columns, chunk_rows),
    )


# -- Parquet ---------------------------------------------------------------------


def _open_parquet(source: Path | bytes, name: str, chunk_rows: int) -> TableReader:
    target = str(source) if isinstance(source, Path) else pa.BufferReader(source)
    columns = _strings(pq.read_schema(target).empty_table()).column_names

    def tables() -> Iterator[pa.Table]:
        target = str(source) if isinstance(source, Path) else pa.BufferReader(source)
        pf = pq.ParquetFile(target)
        try:
            for batch in pf.iter_batches(batch_size=min(chunk_rows, 131_072)):
                yield _strings(pa.Table.from_batches([batch]))
        finally:
            pf.close()

    return TableReader(columns=columns, format="parquet", chunks=_rechunk(tables(), chunk_rows))
