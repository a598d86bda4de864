"""Chunk preparation, in pandas and Arrow (no DuckDB): map, validate, tokenise, geocode and index.

Each chunk a reader yields becomes staging rows (:data:`STAGE_SCHEMA`), with the
reasons a row is quarantined and, for those rows, the JSON kept in ``quarantine``.
"""


from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import grid, reference
from pipelines.ingest import _validate, tokens
from pipelines.ingest.profiles import (
    CONTRACT_FIELDS,
    ENUMS,
    IDENTIFIER_FIELDS,
    LOCATION_FIELDS,
    Profile,
)

#: Seconds spent per stage since the process started (read by ``bench/bench_ingest.py``).
from pipelines.ingest.timing import StageSeconds

#: Identifier kinds and the contract field that holds each (``subject`` also uses
#: ``subject_dob``).
IDENTIFIER_KINDS = {
    "phone": "phone", "email": "email", "vehicle_plate": "vehicle_plate",
    "ad_handle": "ad_handle", "subject": "subject_name",
}



_TOKEN_COLUMNS = [f"tok_{kind}" for kind in IDENTIFIER_KINDS]



#: The staging table's columns (Arrow types), one row per row read.
STAGE_SCHEMA = pa.schema(
    [
        ("_row", pa.int64()),
        ("record_id", pa.string()),
        ("record_type", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("reported_at", pa.timestamp("us")),
        ("month", pa.date32()),
        ("trafficking_type", pa.string()),
        ("victim_count", pa.int32()),
        ("minor_involved", pa.bool_()),
        ("indicators", pa.list_(pa.string())),
        ("case_number", pa.string()),
        ("contact", pa.string()),
        *[
            (f"{side}_{name}", typ)
            for side in ("dest", "origin")
            for name, typ in (
                ("lat", pa.float64()), ("lng", pa.float64()), ("precision", pa.string()),
                ("confidence", pa.float64()), ("matched", pa.string()),
                ("county_fips", pa.string()), ("region", pa.string()),
                ("task_force", pa.string()), ("cell", pa.int64()), ("res", pa.int8()),
            )
        ],
        ("origin_state", pa.string()),
        ("origin_country", pa.string()),
        ("_loc_key", pa.string()),
        *[(c, pa.string()) for c in _TOKEN_COLUMNS],
        ("_reasons", pa.list_(pa.string())),
        ("_qrow", pa.string()),
    ]
)




def _to_arrow(chunk: pd.DataFrame, seconds: StageSeconds) -> pa.Table:
    with seconds.timed("stage"):
        return pa.Table.from_pandas(chunk, schema=STAGE_SCHEMA, preserve_index=False)




# -- a chunk: map, validate, tokenise, geocode, index ---------------------------------


def _prepare(
    chunks: Iterator[pd.DataFrame],
    *,
    profile: Profile,
    start_row: int,
    seconds: StageSeconds,
) -> Iterator[pd.DataFrame]:
    """Each read chunk as staging rows (:data:`STAGE_SCHEMA` columns)."""
    row = start_row
    now = datetime.now(UTC).replace(tzinfo=None)
    key = tokens.load_key()
    for raw in chunks:
        raw = raw.reset_index(drop=True)
        with seconds.timed("prepare"):
            prepared = _prepare_chunk(raw, profile=profile, first_row=row, now=now, key=key, seconds=seconds)
        yield prepared
        row += len(raw)




def map_columns(raw: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """The contract fields of a raw chunk (text; several source columns joined by a space)."""
    out = {}
    for fld, cols in profile.columns.items():
        if len(cols) == 1:
            out[fld] = raw[cols[0]]
        else:
            parts = [_validate.text(raw[c]).fillna("") for c in cols]
            joined = parts[0].str.cat(parts[1:], sep=" ").str.strip()
            joined = joined.str.replace(r"\s+", " ", regex=True)
            out[fld] = joined.where(joined != "")
    frame = pd.DataFrame(out, index=raw.index)
    for fld in CONTRACT_FIELDS:
        if fld not in frame.columns:
            frame[fld] = pd.Series(None, index=raw.index, dtype="str")
    return frame




def _prepare_chunk(
    raw: pd.DataFrame, *, profile: Profile, first_row: int, now: datetime, key: bytes, seconds: StageSeconds
) -> pd.DataFrame:
    m = map_columns(raw, profile)
    reasons = _validate.Reasons(m.index, {})
    out = pd.DataFrame(index=m.index)
    out["_row"] = np.arange(first_row, first_row + len(m), dtype=np.int64)

    record_id = _validate.text(m["record_id"])
    out["record_id"] = record_id
    reasons.add("missing_record_id", record_id.isna())
    # the location fields as text, computed once (lat/lon again after they are parsed)
    loc = {c: _validate.text(m[c]) for c in _LOCATION_COLUMNS}
    dest_given = _given(loc, prefix="")
    origin_given = _given(loc, prefix="origin_")
    reasons.add("missing_location", ~dest_given & ~origin_given)

    for fld in ("occurred_at", "reported_at"):
        with seconds.timed("dates"):
            parsed, bad = _validate.parse_dates(m[fld], formats=profile.date_formats)
        future, too_old = _validate.date_reasons(parsed, now=now)
        reasons.add("bad_date", bad)
        reasons.add("future_date", future)
        reasons.add("too_old_date", too_old)
        out[fld] = parsed
    when = out["occurred_at"].fillna(out["reported_at"])
    out["month"] = when.to_numpy(dtype="datetime64[us]").astype("datetime64[M]").astype("datetime64[D]")

    for fld in ("record_type", "trafficking_type"):
        value, bad = _by_text(m[fld], lambda v, fld=fld: _validate.parse_enum(
            v, ENUMS[fld], table=profile.values.get(fld)))
        reasons.add("bad_enum", bad)
        out[fld] = value
    out["trafficking_type"] = out["trafficking_type"].fillna("unknown")
    minor, bad = _by_text(m["minor_involved"], lambda v: _validate.parse_bools(
        v, table=profile.values.get("minor_involved")))
    reasons.add("bad_enum", bad)
    out["minor_involved"] = minor
    count, bad = _validate.parse_counts(m["victim_count"])
    reasons.add("bad_count", bad)
    out["victim_count"] = count.astype(object).where(count.notna(), None)
    out["indicators"] = _validate.parse_indicators(
        m["indicators"], separator=profile.list_separator, table=profile.values.get("indicators")
    )
    for fld in ("case_number", "contact"):
        out[fld] = m[fld].astype(object).where(m[fld].notna(), None)

    for prefix in ("", "origin_"):
        lat, lon, bad, _swapped = _validate.parse_coordinates(m[prefix + "lat"], m[prefix + "lon"])
        reasons.add("bad_coordinates", bad)
        m[prefix + "lat"] = lat.map(repr, na_action="ignore").astype("str")
        m[prefix + "lon"] = lon.map(repr, na_action="ignore").astype("str")
        loc[prefix + "lat"] = _validate.text(m[prefix + "lat"])
        loc[prefix + "lon"] = _validate.text(m[prefix + "lon"])

    with seconds.timed("geocode"):
        dest, dest_codes, dest_key = _geocode_side(m, loc, prefix="", role="destination")
    dest_err = _per_row(dest["error"], dest_codes, m.index).where(dest_given)
    reasons.add("outside_california", dest_err.str.startswith("outside California").fillna(False))
    reasons.add(
        "unresolvable_location",
        (dest_err.notna() & ~dest_err.str.startswith("outside California")).fillna(False),
    )
    with seconds.timed("geocode"):
        origin, origin_codes, origin_key = _geocode_side(m, loc, prefix="origin_", role="origin")
    origin_err = _per_row(origin["error"], origin_codes, m.index).where(origin_given)
    reasons.add("unresolvable_location", origin_err.notna())
    _index_distinct(out, dest, dest_codes, dest_given, side="dest")
    _index_distinct(out, origin, origin_codes, origin_given, side="origin")
    out["origin_state"] = out.pop("_state")
    out["origin_country"] = out.pop("_country")
    # the same text as all location fields of both sides joined by \x1f
    out["_loc_key"] = _join_text([dest_key, origin_key], sep="\x1f").astype(object)

    with seconds.timed("tokenise"):
        for kind, fld in IDENTIFIER_KINDS.items():
            dobs = m["subject_dob"] if kind == "subject" else None
            out[f"tok_{kind}"] = tokens.tokenise_column(kind, m[fld], dobs=dobs, key=key)

    out["_reasons"] = reasons.arrow_lists()
    flagged = reasons.any
    out["_qrow"] = None
    if flagged.any():
        out.loc[flagged, "_qrow"] = _quarantine_rows(raw[flagged], out[flagged], profile)
    return out




def _join_text(parts: list[pd.Series], *, sep: str) -> pd.Series:
    """Row-wise ``sep.join`` of text columns without missing values (as ``Series.str.cat``)."""
    joined = pc.binary_join_element_wise(
        *[pa.array(part, type=pa.large_string()) for part in parts], pa.scalar(sep, pa.large_string())
    )
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=parts[0].index, dtype="str")




def _by_text(values: pd.Series, parse) -> tuple[pd.Series, pd.Series]:  # type: ignore[no-untyped-def]
    """``parse`` (→ ``(value, bad)``, per value) run once per distinct text of ``values``.

    Values are read as text first, as the parsers do, so equal texts parse
    alike. Returns ``value`` as objects (``None`` where missing) and ``bad``.
    """
    codes, texts = pd.factorize(values.astype("str").where(values.notna()))
    value, bad = parse(pd.Series(texts, dtype=object))
    value = value.astype(object).where(value.notna(), None).to_numpy(dtype=object)
    picked = np.append(value, np.array([None], dtype=object))[codes]  # code -1 (missing) → None, not bad
    flagged = np.append(bad.to_numpy(dtype=bool), False)[codes]
    return (pd.Series(picked, index=values.index, dtype=object),
            pd.Series(flagged, index=values.index, dtype=bool))




_LOCATION_COLUMNS = [p + f for p in ("", "origin_") for f in LOCATION_FIELDS]




def _given(loc: dict[str, pd.Series], *, prefix: str) -> pd.Series:
    """:func:`pipelines.ingest._validate.has_location` from the location fields' text."""
    present = np.zeros(len(next(iter(loc.values()))), dtype=bool)
    index = None
    for name in LOCATION_FIELDS:
        col = loc[prefix + name]
        index = col.index
        present |= col.notna().to_numpy()
    return pd.Series(present, index=index)




#: Geocodes of distinct location keys already seen by this process, per
#: ``(role, prefix, column dtypes)``: the same places recur in every file of a source.
_GEOCODED: dict[tuple[tuple[str, ...], str], tuple[Any, ...]] = {}


_GEOCODED_LIMIT = 200_000  # ~80 MB at most


_GEOCODE_FLOATS = ("lat", "lng", "confidence")




def _geocode_side(
    m: pd.DataFrame, loc: dict[str, pd.Series], *, prefix: str, role: str
) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Geocode one side's location fields, each distinct combination once.

    Returns ``(found, codes, key)``: one result per distinct combination, each
    row's position in ``found``, and the key (the side's location fields as
    text, joined by \x1f). A combination is geocoded from its first row; one this
    process geocoded before (from a column of the same dtype) is taken from
    :data:`_GEOCODED`.
    """
    from geo.geocode import GEOCODE_COLUMNS, geocode_fields

    cols = [prefix + f for f in LOCATION_FIELDS]
    key = _join_text([loc[c].fillna("") for c in cols], sep="\x1f")
    codes, uniques = pd.factorize(key)
    if len(uniques) == 0:
        return pd.DataFrame(
            {c: pd.Series(None, index=m.index, dtype=object) for c in GEOCODE_COLUMNS}
        ).reset_index(drop=True), codes, key
    scope = (role, prefix, *(str(m[c].dtype) for c in cols))
    keys = uniques.tolist()
    rows: list[tuple[Any, ...] | None] = [_GEOCODED.get((scope, k)) for k in keys]
    missing = np.array([i for i, r in enumerate(rows) if r is None], dtype=np.int64)
    if len(missing):
        first = np.unique(codes, return_index=True)[1]
        distinct = m.loc[m.index[first[missing]], cols].reset_index(drop=True)
        distinct = distinct.astype(object).where(distinct.notna(), None)
        found = geocode_fields(distinct, prefix=prefix, role=role)  # type: ignore[arg-type]
        if len(_GEOCODED) > _GEOCODED_LIMIT:
            _GEOCODED.clear()
        for i, row in zip(missing, found[GEOCODE_COLUMNS].itertuples(index=False, name=None), strict=True):
            rows[i] = row
            _GEOCODED[(scope, keys[i])] = row
    values = list(zip(*rows, strict=True))
    found = pd.DataFrame({
        c: pd.Series(v, dtype="float64" if c in _GEOCODE_FLOATS else "str")
        for c, v in zip(GEOCODE_COLUMNS, values, strict=True)
    })
    return found, codes, key




def _per_row(values: pd.Series | pd.DataFrame, codes: np.ndarray, index: pd.Index):  # type: ignore[no-untyped-def]
    """Per-distinct ``values`` spread to the rows (``codes``: each row's position)."""
    taken = values.take(codes)
    taken.index = index
    return taken




def _index_distinct(
    out: pd.DataFrame, found: pd.DataFrame, codes: np.ndarray, given: pd.Series, *, side: str
) -> None:
    """:func:`_index_side` of the rows, worked out once per distinct location.

    A row is indexed when its side is given and geocoded without error; when
    that holds alike for every row of a location (it does: a side with no
    location text geocodes to an error), each column is computed on the
    distinct locations and spread to the rows, else row by row.
    """
    ok = given.to_numpy(dtype=bool) & found["error"].isna().to_numpy()[codes]
    ok_distinct = np.zeros(len(found), dtype=bool)
    ok_distinct[codes[ok]] = True
    if not np.array_equal(ok_distinct[codes], ok):
        rows = _per_row(found, codes, out.index)
        _index_side(out, rows.where(pd.Series(ok, index=out.index)), side=side)
        return
    distinct = pd.DataFrame(index=found.index)
    _index_side(distinct, found.where(pd.Series(ok_distinct, index=found.index)), side=side)
    for col in distinct.columns:
        out[col] = _per_row(distinct[col], codes, out.index)




def _index_side(out: pd.DataFrame, geo: pd.DataFrame, *, side: str) -> None:
    dims = reference.county_dimensions().set_index("county_fips")
    fips = geo["county_fips"].astype(object).where(geo["county_fips"].notna(), None)
    out[f"{side}_lat"] = pd.to_numeric(geo["lat"], errors="coerce")
    out[f"{side}_lng"] = pd.to_numeric(geo["lng"], errors="coerce")
    out[f"{side}_precision"] = geo["precision"].astype(object).where(geo["precision"].notna(), None)
    out[f"{side}_confidence"] = pd.to_numeric(geo["confidence"], errors="coerce")
    out[f"{side}_matched"] = geo["matched"].astype(object).where(geo["matched"].notna(), None)
    out[f"{side}_county_fips"] = fips
    out[f"{side}_region"] = fips.map(dims["region"]).astype(object)
    out[f"{side}_task_force"] = fips.map(dims["task_force"]).astype(object)
    cells = np.zeros(len(geo), dtype=np.int64)
    res = np.full(len(geo), -1, dtype=np.int16)
    precision = out[f"{side}_precision"]
    lat = out[f"{side}_lat"].to_numpy(dtype=np.float64)
    lng = out[f"{side}_lng"].to_numpy(dtype=np.float64)
    for name, max_res in grid.PRECISION_MAX_RES.items():
        if max_res is None:
            continue
        mask = (precision == name).to_numpy()
        if mask.any():
            cells[mask] = grid.latlngs_to_cells(lat[mask], lng[mask], max_res)
            res[mask] = max_res
    has = cells != 0
    out[f"{side}_cell"] = pd.Series(cells, index=out.index, dtype="Int64").where(has)
    out[f"{side}_res"] = pd.Series(res, index=out.index, dtype="Int8").where(has)
    if side == "origin":
        out["_state"] = geo["state"].astype(object).where(geo["state"].notna(), None)
        out["_country"] = geo["country"].astype(object).where(geo["country"].notna(), None)




def _quarantine_rows(raw: pd.DataFrame, staged: pd.DataFrame, profile: Profile) -> list[str]:
    """JSON of each quarantined row: mapped source columns, identifiers as tokens."""
    token_of: dict[str, str] = {}
    for fld in IDENTIFIER_FIELDS:
        kind = "subject" if fld in ("subject_name", "subject_dob") else fld
        for col in profile.columns.get(fld, ()):
            token_of[col] = f"tok_{kind}"
    columns = [c for c in profile.source_columns if c not in profile.ignore]
    if not columns:
        return ["{}"] * len(raw)
    arrays = []
    for col in columns:
        values = (staged[token_of[col]] if col in token_of else raw[col]).to_numpy(dtype=object)
        arrays.append(np.where(pd.isna(values), None, values))
    encode = _QROW_JSON.encode  # as json.dumps(row, ensure_ascii=False, default=str)
    return [encode(dict(zip(columns, row, strict=True))) for row in zip(*arrays, strict=True)]




_QROW_JSON = json.JSONEncoder(ensure_ascii=False, default=str)
