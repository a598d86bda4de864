"""The same work done without Routes, and the machine's physical reference.

:func:`run_baseline` ingests the demo's largest CSV export the way a capable
analyst would without Routes: ``pandas.read_csv``; dates and codes parsed with
pandas; geocoding with ``df.apply`` and dict lookups on the shipped gazetteer
(ZIP, then city/place name, exact after lower-casing); ``h3.latlng_to_cell``
called per row; ``geopandas.sjoin`` for counties; one ``INSERT`` per row into
DuckDB. The row inserts run on a subsample (the factor is reported) and are
extrapolated linearly. Routes does the same file with its own functions
(``geocode_fields``, ``latlngs_to_cells``) and end to end with ``ingest_files``.

:func:`physical_reference` writes the warehouse's ``records`` as Parquet and
times DuckDB scanning every column of it and copying it into a table: a floor
for "read N records and store them" on this machine.
"""

from __future__ import annotations

import re
import statistics
import time
import tomllib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

#: Rows inserted one by one before extrapolating (per run; quick runs use fewer).
INSERT_SAMPLE = 2000


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def _median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        _, seconds = _timed(fn)
        times.append(seconds)
    return statistics.median(times)


# ------------------------------------------------------------------ physical reference


def physical_reference(warehouse_path: Path, folder: Path) -> dict:
    """DuckDB scanning and copying the ``records`` table written as Parquet.

    Returns seconds (median of three) for ``scan_parquet_s`` (every column read),
    ``copy_parquet_s`` (``CREATE TABLE AS`` from the Parquet into a fresh DuckDB
    file, checkpointed) and ``count_parquet_s``, with the row count and the
    Parquet size.
    """
    folder.mkdir(parents=True, exist_ok=True)
    parquet = folder / "records.parquet"
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM records").fetchone()[0]  # type: ignore[index]
        con.execute(f"COPY records TO '{parquet}' (FORMAT parquet)")
    with duckdb.connect() as con:
        scan = _median_time(lambda: con.execute(
            "SELECT min(COLUMNS(*)) FROM read_parquet(?)", [str(parquet)]).fetchall())
        count = _median_time(lambda: con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(parquet)]).fetchall())

    def copy() -> None:
        target = folder / "copy.duckdb"
        target.unlink(missing_ok=True)
        with duckdb.connect(str(target)) as con:
            con.execute("CREATE TABLE records AS SELECT * FROM read_parquet(?)", [str(parquet)])
            con.execute("CHECKPOINT")
        target.unlink()

    copy_s = _median_time(copy)
    return {"rows": rows, "parquet_mib": parquet.stat().st_size / 2**20,
            "scan_parquet_s": scan, "count_parquet_s": count, "copy_parquet_s": copy_s}


# ------------------------------------------------------------------ the analyst's way


def largest_csv(demo: Path) -> tuple[str, Path]:
    """``(source_id, path)`` of the demo's largest CSV export (not a corrections file)."""
    files = [p for p in (demo / "files").glob("*/*.csv") if "correction" not in p.name.lower()]
    if not files:
        raise FileNotFoundError(f"no CSV export under {str(demo / 'files')!r}")
    path = max(files, key=lambda p: p.stat().st_size)
    return path.parent.name, path


def _columns(profile: dict, field: str) -> list[str]:
    value = profile.get("columns", {}).get(field)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _joined(frame: pd.DataFrame, columns: list[str]) -> pd.Series | None:
    present = [c for c in columns if c in frame]
    if not present:
        return None
    return frame[present].fillna("").astype(str).agg(" ".join, axis=1).str.strip().replace("", None)


def _gazetteer_dicts() -> tuple[dict, dict]:
    from geo import reference

    zips = reference.load_zips()
    places = reference.load_places().sort_values("population", ascending=False)
    by_zip = {z: (lat, lng) for z, lat, lng in zip(zips["zip"], zips["lat"], zips["lng"], strict=True)}
    by_name: dict[str, tuple[float, float]] = {}
    for name, lat, lng in zip(places["name"], places["lat"], places["lng"], strict=True):
        by_name.setdefault(name.lower(), (lat, lng))
    for city, lat, lng in zip(zips["city"], zips["lat"], zips["lng"], strict=True):
        by_name.setdefault(str(city).lower(), (lat, lng))
    return by_zip, by_name


_ZIP = re.compile(r"\b(9[0-6]\d{3})\b")


def _lookup(row: pd.Series, by_zip: dict, by_name: dict) -> pd.Series:
    """One row's (lat, lng, precision): ZIP first, then the city, then free text."""
    z = row.get("zip")
    if isinstance(z, str) and z[:5] in by_zip:
        lat, lng = by_zip[z[:5]]
        return pd.Series((lat, lng, "zip"))
    for key in ("city", "location"):
        text = row.get(key)
        if not isinstance(text, str):
            continue
        found = _ZIP.search(text)
        if found and found.group(1) in by_zip:
            lat, lng = by_zip[found.group(1)]
            return pd.Series((lat, lng, "zip"))
        name = text.split(",")[0].strip().lower()
        if name in by_name:
            lat, lng = by_name[name]
            return pd.Series((lat, lng, "place"))
    return pd.Series((np.nan, np.nan, None))


def _side_frame(raw: pd.DataFrame, profile: dict, prefix: str) -> pd.DataFrame:
    side = pd.DataFrame(index=raw.index)
    for field in ("location", "address", "city", "zip", "county", "lat", "lon"):
        column = _joined(raw, _columns(profile, prefix + field))
        if column is not None:
            side[field] = column
    return side


def run_baseline(demo: Path, folder: Path, *, quick: bool = False) -> dict:
    """The analyst's ingest of the largest CSV export against Routes' on the same file."""
    import geopandas as gpd
    import h3

    from geo import reference

    folder.mkdir(parents=True, exist_ok=True)
    source_id, path = largest_csv(demo)
    profile = tomllib.loads((demo / "profiles" / f"{source_id}.toml").read_text())
    out: dict = {"file": str(path.relative_to(demo)), "source_id": source_id}
    seconds: dict[str, float] = {}

    # read and validate: vectorised pandas, as an analyst would write it
    raw, seconds["read"] = _timed(pd.read_csv, path, dtype=str, keep_default_na=False, na_values=[""],
                                  encoding="latin-1")
    out["rows"] = rows = len(raw)

    def validate() -> pd.DataFrame:
        frame = pd.DataFrame(index=raw.index)
        [rid] = _columns(profile, "record_id")
        frame["record_id"] = raw[rid]
        fmt = (profile.get("date_formats") or [None])[0]
        for field in ("occurred_at", "reported_at"):
            for column in _columns(profile, field)[:1]:
                frame[field] = pd.to_datetime(raw[column], format=fmt, errors="coerce")
        for field in ("record_type", "trafficking_type"):
            for column in _columns(profile, field)[:1]:
                codes = {k.upper(): v for k, v in profile.get("values", {}).get(field, {}).items()}
                frame[field] = raw[column].str.strip().str.upper().map(codes)
        for column in _columns(profile, "victim_count")[:1]:
            frame["victim_count"] = pd.to_numeric(raw[column], errors="coerce")
        return frame[frame["record_id"].notna()]

    frame, seconds["validate"] = _timed(validate)

    # geocode: dict lookups, row by row
    (by_zip, by_name), seconds["gazetteer_dicts"] = _timed(_gazetteer_dicts)
    dest, origin = _side_frame(raw, profile, ""), _side_frame(raw, profile, "origin_")

    def geocode_rows() -> None:
        frame[["lat", "lng", "precision"]] = dest.apply(_lookup, axis=1, args=(by_zip, by_name))
        if len(origin.columns):
            frame[["origin_lat", "origin_lng", "origin_precision"]] = origin.apply(
                _lookup, axis=1, args=(by_zip, by_name))

    _, seconds["geocode"] = _timed(geocode_rows)
    out["geocoded_share"] = float(frame["lat"].notna().mean())

    # index: h3 per row, at the resolution the precision allows
    res_of = {"point": 9, "zip": 7, "place": 6}

    def index_rows() -> None:
        frame["cell"] = frame.apply(
            lambda r: h3.latlng_to_cell(r["lat"], r["lng"], res_of[r["precision"]])
            if isinstance(r["precision"], str) else None, axis=1)

    _, seconds["h3_index"] = _timed(index_rows)

    # counties: a spatial join
    counties = reference.load_counties()[["county_fips", "geometry"]]

    def join_counties() -> None:
        placed = frame[frame["lat"].notna()]
        points = gpd.GeoDataFrame(placed[["record_id"]], crs="EPSG:4326",
                                  geometry=gpd.points_from_xy(placed["lng"], placed["lat"]))
        joined = gpd.sjoin(points, counties, how="left", predicate="within")
        frame["county_fips"] = joined["county_fips"].groupby(level=0).first()

    _, seconds["county_sjoin"] = _timed(join_counties)

    # load: one INSERT per row, on a subsample, extrapolated
    sample = min(rows, 300 if quick else INSERT_SAMPLE)
    loaded = frame[["record_id", "occurred_at", "record_type", "trafficking_type", "lat", "lng", "cell",
                    "county_fips"]].head(sample)
    target = folder / "baseline.duckdb"
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        con.execute("CREATE TABLE records (record_id VARCHAR, occurred_at TIMESTAMP, record_type VARCHAR, "
                    "trafficking_type VARCHAR, lat DOUBLE, lng DOUBLE, cell UBIGINT, county_fips VARCHAR)")
        values = [tuple(None if pd.isna(v) else (int(v, 16) if k == "cell" else v) for k, v in r.items())
                  for r in loaded.astype(object).to_dict("records")]
        started = time.perf_counter()
        for value in values:
            con.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", value)
        insert_sample_s = time.perf_counter() - started
        # the bulk load Routes' ingest uses: an Arrow table registered and inserted at once
        import pyarrow as pa

        whole = frame[loaded.columns].copy()
        whole["cell"] = whole["cell"].map(lambda c: int(c, 16) if isinstance(c, str) else None).astype("UInt64")
        table = pa.Table.from_pandas(whole, preserve_index=False)
        started = time.perf_counter()
        con.register("_whole", table)
        con.execute("INSERT INTO records SELECT * FROM _whole")
        con.execute("CHECKPOINT")
        seconds["bulk_insert_arrow"] = time.perf_counter() - started
    target.unlink(missing_ok=True)
    out["insert_sample"] = sample
    out["insert_factor"] = rows / max(sample, 1)
    seconds["row_inserts"] = insert_sample_s * out["insert_factor"]
    seconds["total"] = sum(seconds[k] for k in ("read", "validate", "gazetteer_dicts", "geocode", "h3_index",
                                                 "county_sjoin", "row_inserts"))
    out["seconds"] = seconds
    out["routes"] = _routes_same_file(demo, folder, source_id, path, profile)
    out["physical"] = _physical_csv(path)
    return out


def _routes_same_file(demo: Path, folder: Path, source_id: str, path: Path, profile: dict) -> dict:
    """Routes on the same file: its geocoder and grid on the same rows, and ``ingest_files``."""
    from geo import grid
    from geo._gazetteer import load_gazetteer
    from geo.geocode import clear_cache, geocode_fields
    from pipelines.demo.setup import read_demo_sources
    from pipelines.ingest import ingest_files
    from pipelines.ingest.sources import add_source

    seconds: dict[str, float] = {}
    _, seconds["gazetteer_load"] = _timed(load_gazetteer)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="latin-1")
    dest, origin = _side_frame(raw, profile, ""), _side_frame(raw, profile, "origin_")
    origin.columns = ["origin_" + c for c in origin.columns]
    clear_cache()
    dest_geo, seconds["geocode_dest"] = _timed(geocode_fields, dest.astype(object).where(dest.notna(), None))
    seconds["geocode_origin"] = 0.0
    if len(origin.columns):
        _, seconds["geocode_origin"] = _timed(
            geocode_fields, origin.astype(object).where(origin.notna(), None), prefix="origin_", role="origin")
    seconds["geocode"] = seconds["geocode_dest"] + seconds["geocode_origin"]

    def index() -> None:
        lat = pd.to_numeric(dest_geo["lat"], errors="coerce").to_numpy(dtype=np.float64)
        lng = pd.to_numeric(dest_geo["lng"], errors="coerce").to_numpy(dtype=np.float64)
        precision = dest_geo["precision"]
        for name, res in grid.PRECISION_MAX_RES.items():
            mask = (precision == name).to_numpy()
            if res is not None and mask.any():
                grid.latlngs_to_cells(lat[mask], lng[mask], res)

    _, seconds["h3_index"] = _timed(index)
    wh = folder / "routes_one_file.duckdb"
    wh.unlink(missing_ok=True)
    [row] = [r for r in read_demo_sources(demo) if r["source_id"] == source_id]
    add_source(source_id, name=row["name"], kind=row["kind"], task_force=row.get("task_force") or None,
               contact=row.get("contact") or None, warehouse_path=wh)
    [summary], seconds["ingest_file"] = _timed(
        ingest_files, [path], source_id=source_id, profile_path=demo / "profiles" / f"{source_id}.toml",
        warehouse_path=wh)
    wh.unlink(missing_ok=True)
    return {"seconds": seconds, "rows_read": summary.rows_read, "loaded": summary.loaded,
            "quarantined": summary.quarantined,
            "geocoded_share": float(dest_geo["error"].isna().mean())}


def _physical_csv(path: Path) -> dict:
    """DuckDB reading the same CSV file: every column, and into a table."""
    with duckdb.connect() as con:
        scan = _median_time(lambda: con.execute(
            "SELECT min(COLUMNS(*)) FROM read_csv(?, all_varchar=true, encoding='latin-1')", [str(path)]).fetchall())
        copy = _median_time(lambda: con.execute(
            "CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(?, all_varchar=true, encoding='latin-1')",
            [str(path)]).fetchall())
    return {"scan_csv_s": scan, "copy_csv_s": copy}
