"""The derived tables of the warehouse, each once: name, key (one row per key) and columns, in table order.

The build steps in ``pipelines/`` write them and ``query/`` reads them; both
name them from here, and :func:`routes.contract.sql.ident` accepts only these
names (and the base tables of :data:`routes.warehouse.SCHEMA`, listed in
:data:`BASE_TABLES`). ``tests/test_contract.py`` holds each declaration to what
a build writes. The flow step's tables are declared beside their SQL, in
:mod:`routes.contract.flow_tables`.
"""

from __future__ import annotations

from routes.contract.flow_tables import FLOW_RECORD_COLUMNS, FLOW_TABLES, FLOW_WORKING
from routes.contract.sql import SQL, Table
from routes.errors import UnknownIdentifier

#: The fingerprint of ``records`` (and ``batches``) a derived table was built from:
#: one row, stored by the aggregate steps (``cell_build_state``, ``trend_build_state``)
#: and compared by the query layer (stale or missing: read ``records``).
FINGERPRINT_SQL = SQL(
    "SELECT (SELECT count(*) FROM records) AS records_rows, "
    "(SELECT max(updated_at) FROM records) AS records_updated, "
    "(SELECT count(*) FROM batches) AS batches_rows, "
    "(SELECT max(finished_at) FROM batches) AS batches_finished"
)
_FINGERPRINT_COLUMNS = ("records_rows", "records_updated", "batches_rows", "batches_finished")

#: The filter dimensions every count table keeps (``records``' own column names).
DIMENSIONS = (
    "month", "trafficking_type", "record_type", "source_kind", "dest_county_fips", "dest_region", "dest_task_force",
)


def _counts(name: str, keys: tuple[str, ...], measures: tuple[str, ...] = ("records", "victims")) -> Table:
    """A count table: one row per ``keys``, then the ``measures``."""
    return Table(name, keys, (*keys, *measures))


#: ``pipelines/build/aggregates.py``'s tables.
AGGREGATE_TABLES: tuple[Table, ...] = (
    _counts("cell_counts", ("res", "cell", *DIMENSIONS)),
    _counts("county_month_counts", (*DIMENSIONS, "dest_res")),
    _counts("cell_indicator_counts", ("indicator", "res", "cell", *DIMENSIONS)),
    _counts("county_indicator_month_counts", ("indicator", *DIMENSIONS, "dest_res")),
    Table("indicator_sets", ("set_id",), ("set_id", "indicators")),
    _counts("cell_indicator_sets", ("dest_res", "dest_cell", *DIMENSIONS, "set_id")),
    Table("cell_build_state", (), _FINGERPRINT_COLUMNS),
)

#: ``pipelines/build/trend_aggregates.py``'s tables.
TREND_TABLES: tuple[Table, ...] = (
    _counts("trend_counts", DIMENSIONS, ("records", "victims", "minors")),
    _counts("trend_indicator_counts", (*DIMENSIONS, "indicator_mask"), ("records", "victims", "minors")),
    Table("trend_indicator_bits", ("indicator",), ("indicator", "bit", "complete")),
    _counts("source_precision_counts", ("source_id", "precision"), ("records",)),
    Table("trend_build_state", (), (*_FINGERPRINT_COLUMNS, "build_id")),
)

#: ``pipelines/build/hotspots.py``'s table.
HOTSPOT_TABLES: tuple[Table, ...] = (
    Table("hotspot_classes", ("res", "step", "cell"), (
        "res", "step", "cell", "county_fips", "region", "task_force", "pattern", "records", "hot_steps",
        "cold_steps", "n_steps", "gi_z_last", "gi_p_last", "trend_z", "trend_p", "trend_tau", "first_period",
        "last_period",
    )),
)

#: ``pipelines/build/moves.py``'s tables.
MOVE_TABLES: tuple[Table, ...] = (
    Table("moves", ("level", "month", "origin", "destination"), (
        "level", "month", "origin", "destination", "moves", "tokens", "sources", "corroborated_share",
    )),
    Table("circuits", ("rank",), (
        "rank", "circuit_id", "shape", "places", "n_places", "tokens", "cross_source_tokens", "sources",
        "median_dwell_days",
    )),
)

#: The audit log's columns that its hash chain covers, in order (``audit_log`` of the
#: control store, ``routes/control.py``; written and read by ``query/audit.py``).
AUDIT_HASHED = ("seq", "at", "user", "role", "task_force", "action", "what", "filters", "purpose", "audience")

#: The control store's tables (SQLite) that SQL names through :func:`routes.contract.sql.ident`.
CONTROL_TABLES: tuple[Table, ...] = (
    Table("audit_log", ("seq",), (*AUDIT_HASHED, "prev_hash", "hash")),
)

#: Every derived table the contract declares.
DERIVED_TABLES: tuple[Table, ...] = (*FLOW_TABLES, *AGGREGATE_TABLES, *TREND_TABLES, *HOTSPOT_TABLES, *MOVE_TABLES)

#: The tables ``routes.warehouse.SCHEMA`` creates (their columns are the schema's).
BASE_TABLES = ("records", "batches", "sources", "record_identifiers", "quarantine", "record_history", "meta")

#: The columns of ``records`` as :data:`routes.warehouse.SCHEMA` creates them, in order
#: (``tests/test_contract.py`` holds the two together).
RECORDS_COLUMNS: tuple[str, ...] = (
    "source_id", "record_id", "batch_id", "source_kind", "source_task_force", "record_type", "occurred_at",
    "reported_at", "month", "trafficking_type", "victim_count", "minor_involved", "indicators", "case_number",
    "contact", "dest_lat", "dest_lng", "dest_precision", "dest_confidence", "dest_matched", "dest_county_fips",
    "dest_region", "dest_task_force", "dest_cell", "dest_res", "origin_lat", "origin_lng", "origin_precision",
    "origin_confidence", "origin_matched", "origin_county_fips", "origin_region", "origin_task_force",
    "origin_cell", "origin_res", "origin_state", "origin_country", "content_hash", "validated_at", "updated_at",
)

#: The protected release's tables (``pipelines/build/release.py`` writes them, ``query/release.py``
#: reads them); their columns are declared there until they move here (issue 20).
RELEASE_TABLES = (
    "release_counts", "release_count_parts", "release_cells", "release_cell_parts", "release_flows", "release_meta",
    "release_corridor_paths", "release_corridor_segments", "release_hotspot_classes", "release_moves",
    "release_circuits", "release_noise", "release_ledger",
)

#: ``pipelines/build/corridors.py``'s tables (columns declared there until they move here).
CORRIDOR_TABLES = ("corridor_segments", "corridor_paths")

#: Relations a step or a read makes for a while (temporary tables, registered frames)
#: and the tables above: names :func:`routes.contract.sql.ident` accepts besides the derived tables'.
WORKING_RELATIONS: tuple[str, ...] = (
    *BASE_TABLES, *RELEASE_TABLES, *CORRIDOR_TABLES, *FLOW_WORKING, "_cell_indicator_base", "_indicator_set_base",
    "_cell_counts_unsorted", "_cell_indicator_counts_unsorted",  # pipelines.build.aggregates.create_sorted
    "_own_records_of",  # query.scope: which task force an own-records database holds
    "_sightings",  # pipelines.build.moves
    "hotspot_frame",  # pipelines.build.hotspots: the classes, registered before they are inserted
    "_flow_memo", "_released_edges",  # query.flows: prefixes of frames registered for one read (sql.frame_name)
)

#: Columns of those working relations that no derived table keeps.
WORKING_COLUMNS: tuple[str, ...] = (
    *FLOW_RECORD_COLUMNS, *RECORDS_COLUMNS,
    "county", "res4", "res5", "res6",  # pipelines.build.moves: _sightings' place at each level
)


def table(name: str) -> Table:
    """The declared derived table ``name``.

    >>> table("cell_counts").key[:2]
    ('res', 'cell')
    """
    for t in DERIVED_TABLES:
        if t.name == name:
            return t
    raise UnknownIdentifier(f"{name!r} is not a derived table of the contract; choose one of "
                   f"{', '.join(t.name for t in DERIVED_TABLES)}")
