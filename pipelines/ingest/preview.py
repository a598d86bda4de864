"""Upload preview: what ingesting a file would do, before anything is written (the browser page).

:func:`preview_file` reads, maps and validates a file the way :func:`pipelines.ingest.ingest_files`
would, and writes nothing.
"""


from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

#: Seconds spent per stage since the process started (read by ``bench/bench_ingest.py``).
from pipelines.ingest import (
    _check_profile_source,
    _open,
    _ordered,
    _sha256,
)
from pipelines.ingest.merge import _seen
from pipelines.ingest.prepare import _prepare
from pipelines.ingest.profiles import (
    IDENTIFIER_FIELDS,
    Profile,
    load_profile,
    parse_profile,
)
from pipelines.ingest.sources import get_source
from pipelines.ingest.timing import StageSeconds
from routes import settings, warehouse


@dataclass(frozen=True)
class IngestPreview:
    """What ingesting a file would do, before anything is written (the browser page).

    ``mapping`` has one row per contract field the file feeds (``field``,
    ``source_columns``, ``identifier``); ``quarantine_sample`` up to 200 rows that
    would be quarantined (``row_number``, ``reasons``, ``row`` with identifiers
    already tokenised); ``reasons`` counts rows by first reason.
    """

    file_name: str
    source_id: str
    format: str
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    not_loaded: list[str]
    mapping: pd.DataFrame
    rows_read: int
    will_load: int
    will_quarantine: int
    reasons: dict[str, int]
    quarantine_sample: pd.DataFrame
    already_ingested: bool




def preview_file(
    path_or_bytes: str | Path | bytes,
    *,
    source_id: str,
    file_name: str,
    profile_path: str | Path | None = None,
    profile_text: str | None = None,
    warehouse_path: Path | None = None,
) -> IngestPreview:
    """Read, map and validate a file without writing anything.

    Parameters
    ----------
    path_or_bytes
        A path or the bytes of an upload.
    source_id
        A registered source.
    file_name
        The name the file was sent under (decides the format by its ending).
    profile_path, profile_text
        A profile file, or the text of an uploaded one.
    """
    source = get_source(source_id, warehouse_path=warehouse_path)
    if profile_text:
        profile: Profile | None = parse_profile(profile_text, name="uploaded profile")
    else:
        profile = load_profile(profile_path) if profile_path else None
    _check_profile_source(profile, source)
    data = Path(path_or_bytes) if isinstance(path_or_bytes, (str, Path)) else path_or_bytes
    reader, profile = _open(data, file_name, profile)
    digest = _sha256(data)
    already = _already_ingested(source.source_id, digest, warehouse_path)
    rows = quarantined = 0
    reasons: dict[str, int] = {}
    samples: list[pd.DataFrame] = []
    for chunk in _prepare(reader.chunks, profile=profile, start_row=1, seconds=StageSeconds()):
        rows += len(chunk)
        bad = chunk[chunk["_reasons"].map(len) > 0]
        quarantined += len(bad)
        for first, n in bad["_reasons"].map(lambda r: r[0]).value_counts().items():
            reasons[str(first)] = reasons.get(str(first), 0) + int(n)
        if sum(len(s) for s in samples) < 200:
            samples.append(bad[["_row", "_reasons", "_qrow"]].head(200))
    sample = (
        pd.concat(samples, ignore_index=True).head(200)
        if samples else pd.DataFrame(columns=["_row", "_reasons", "_qrow"])
    )
    sample = sample.rename(columns={"_row": "row_number", "_reasons": "reasons", "_qrow": "row"})
    sample["reasons"] = sample["reasons"].map(", ".join)
    mapping = pd.DataFrame(
        [
            {"field": f, "source_columns": ", ".join(cols), "identifier": f in IDENTIFIER_FIELDS}
            for f, cols in profile.columns.items()
        ]
    )
    used = set(profile.source_columns)
    return IngestPreview(
        file_name=file_name, source_id=source.source_id, format=reader.format,
        encoding=reader.encoding, delimiter=reader.delimiter, columns=list(reader.columns),
        not_loaded=[c for c in reader.columns if c not in used], mapping=mapping,
        rows_read=rows, will_load=rows - quarantined, will_quarantine=quarantined,
        reasons=_ordered(reasons), quarantine_sample=sample, already_ingested=already,
    )




def _already_ingested(source_id: str, digest: str, warehouse_path: Path | None) -> bool:
    live = warehouse_path or settings.warehouse_path()
    if not live.exists():
        return False
    with warehouse.open_snapshot(path=live) as con:
        return _seen(con, source_id, digest)
