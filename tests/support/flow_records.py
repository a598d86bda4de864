"""Hand-made flow records and a warehouse built from them, for the flow and corridor build tests."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd

from geo import grid, reference
from pipelines import build
from routes import warehouse
from tests.support.warehouse_fixture import SOURCES


def write_flow_warehouse(path: Path, records: pd.DataFrame) -> Path:
    """Write ``records`` (and the fixture's sources) at ``path`` and run the flow and corridor steps."""
    with warehouse.write_snapshot(path=path) as con:
        con.register("src", SOURCES.assign(added_at=datetime(2026, 1, 1)))
        con.execute("INSERT INTO sources SELECT source_id, name, kind, task_force, contact, added_at FROM src")
        con.register("recs", records)
        con.execute("INSERT INTO records BY NAME SELECT * FROM recs")
    build.build_warehouse(warehouse_path=path, steps=("pipelines.build.flows", "pipelines.build.corridors"))
    return path


def flow_record(i: int, *, origin: str | None, dest: str, month: str = "2025-06-01", kind: str = "tip",
                source: str = "hotline", ttype: str = "sex", victims: int = 1,
                indicators: tuple[str, ...] = (), state: str | None = None, country: str | None = None,
                origin_latlng: tuple[float, float] | None = None) -> dict:
    """One flow record ``H<i>`` from county ``origin`` (or a ``state``/``country``) to county ``dest``."""
    dims = reference.county_dimensions().set_index("county_fips")
    anchors = reference.load_counties().set_index("county_fips").geometry
    d_pt = anchors[dest].representative_point()
    row = {
        "source_id": source, "record_id": f"H{i}", "batch_id": "b", "source_kind": "hotline",
        "source_task_force": None, "record_type": kind,
        "occurred_at": datetime.fromisoformat(month), "month": date.fromisoformat(month),
        "trafficking_type": ttype, "victim_count": victims, "minor_involved": False,
        "indicators": list(indicators),
        "dest_lat": d_pt.y, "dest_lng": d_pt.x, "dest_precision": "place",
        "dest_county_fips": dest, "dest_region": dims.loc[dest, "region"],
        "dest_task_force": dims.loc[dest, "task_force"],
        "dest_cell": grid.latlng_to_cell(d_pt.y, d_pt.x, 6), "dest_res": 6,
    }
    if origin is not None:
        o_pt = anchors[origin].representative_point()
        row.update({
            "origin_lat": o_pt.y, "origin_lng": o_pt.x, "origin_precision": "place",
            "origin_county_fips": origin, "origin_region": dims.loc[origin, "region"],
            "origin_task_force": dims.loc[origin, "task_force"],
            "origin_cell": grid.latlng_to_cell(o_pt.y, o_pt.x, 6), "origin_res": 6,
            "origin_state": "CA", "origin_country": "US",
        })
    elif state or country:
        lat, lng = origin_latlng or (None, None)
        row.update({
            "origin_lat": lat, "origin_lng": lng,
            "origin_precision": "state" if country in (None, "US") else "country",
            "origin_state": state, "origin_country": country,
        })
    return row
