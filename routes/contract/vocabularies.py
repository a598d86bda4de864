"""The closed vocabularies of Routes, each once: an enum and the tuple of its values.

The enums are ``StrEnum``: a member *is* its string (``RecordType.TIP == "tip"``),
so it can go into SQL parameters and CSV cells as it is. The tuples keep the
order that menus, legends and CLI choices show. ``DESIGN.md``'s ingest contract
is the source of the record fields' words.
"""

from __future__ import annotations

from enum import StrEnum


class RecordType(StrEnum):
    """What a record is (``records.record_type``)."""

    TIP = "tip"
    INCIDENT = "incident"  # investigation, arrest, operation result
    RECOVERY = "recovery"  # victim identified or recovered
    SERVICE = "service"  # victim-service intake


class TraffickingType(StrEnum):
    """``records.trafficking_type``."""

    SEX = "sex"
    LABOR = "labor"
    BOTH = "both"
    UNKNOWN = "unknown"


class SourceKind(StrEnum):
    """The kind of agency a source is (``sources.kind``)."""

    LAW_ENFORCEMENT = "law_enforcement"
    NGO = "ngo"
    HOTLINE = "hotline"
    FUSION = "fusion"


class IdentifierKind(StrEnum):
    """``record_identifiers.kind``: what a keyed token was made from."""

    PHONE = "phone"
    EMAIL = "email"
    VEHICLE_PLATE = "vehicle_plate"
    AD_HANDLE = "ad_handle"
    SUBJECT = "subject"  # a subject's name and date of birth together


class Precision(StrEnum):
    """How finely a location was placed (``records.precision``), finest first."""

    POINT = "point"
    ZIP = "zip"
    PLACE = "place"
    COUNTY = "county"
    STATE = "state"  # outside California: an origin kept at its state
    COUNTRY = "country"  # outside the United States: an origin kept at its country


class AuditAction(StrEnum):
    """What an audit-log entry records (``audit_log.action``; ``query.audit`` refuses any other)."""

    VIEW_RECORDS = "view_records"  # record-level rows seen (a cell's records, intake's quarantined rows)
    VIEW_MATCHES = "view_matches"  # deconfliction: subject matches listed
    VIEW_CONFLICTS = "view_conflicts"  # deconfliction: operation conflicts listed
    ACKNOWLEDGE_MATCH = "acknowledge_match"
    ACKNOWLEDGE_CONFLICT = "acknowledge_conflict"
    EXPORT = "export"  # a briefing written
    DOWNLOAD_TABLE = "download_table"  # a shown table downloaded as CSV
    ACCOUNT_ADD = "account_add"
    ACCOUNT_DISABLE = "account_disable"
    ACCOUNT_ENABLE = "account_enable"
    ACCOUNT_RESET = "account_reset"
    SOURCE_ADD = "source_add"
    SOURCE_CHANGE = "source_change"
    INGEST = "ingest"  # a file ingested from the command line
    UPLOAD = "upload"  # a file uploaded in the app
    UPLOAD_REFUSED = "upload_refused"
    OPERATION_ADD = "operation_add"
    OPERATIONS_IMPORT = "operations_import"
    OPERATION_PROBE = "operation_probe"  # more operations in an hour than allowed: possible probing
    RETENTION_REVIEW = "retention_review"
    RETENTION_PURGE = "retention_purge"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"


RECORD_TYPES: tuple[str, ...] = tuple(t.value for t in RecordType)
TRAFFICKING_TYPES: tuple[str, ...] = tuple(t.value for t in TraffickingType)
SOURCE_KINDS: tuple[str, ...] = tuple(k.value for k in SourceKind)
IDENTIFIER_KINDS: tuple[str, ...] = tuple(k.value for k in IdentifierKind)
PRECISIONS: tuple[str, ...] = tuple(p.value for p in Precision)
AUDIT_ACTIONS: tuple[str, ...] = tuple(a.value for a in AuditAction)
#: The precisions a destination in California can have (the others place only origins).
IN_STATE_PRECISIONS: tuple[str, ...] = PRECISIONS[:4]

#: The indicators the filters offer and every flow edge counts (``n_<name>``,
#: ``share_<name>``), in menu order. A record may carry others (the ingest contract's
#: list is open); they are kept on the record but neither filtered nor counted.
INDICATORS: tuple[str, ...] = (
    "online_ads", "drugs", "weapons", "gang", "debt_bondage", "cross_border",
    "massage_business", "motel", "agriculture", "truck_stop", "minor",
)

#: The emerging hot-spot patterns (``hotspot_classes.pattern``) in legend order,
#: each with its one-line definition. Computed by ``pipelines/build/hotspots.py``.
HOTSPOT_PATTERNS: dict[str, str] = {
    "new_hot_spot": "hot in the final period for the first time",
    "consecutive_hot_spot": "hot in an unbroken run of recent periods, never before",
    "intensifying_hot_spot": "hot in ≥ 90 % of periods, clustering growing",
    "persistent_hot_spot": "hot in ≥ 90 % of periods, no trend",
    "diminishing_hot_spot": "hot in ≥ 90 % of periods, clustering weakening",
    "sporadic_hot_spot": "hot now, and on and off before",
    "oscillating_hot_spot": "hot now, cold in some earlier period",
    "historical_hot_spot": "hot in ≥ 90 % of periods, but not now",
    "new_cold_spot": "cold in the final period for the first time",
    "consecutive_cold_spot": "cold in an unbroken run of recent periods, never before",
    "intensifying_cold_spot": "cold in ≥ 90 % of periods, getting colder",
    "persistent_cold_spot": "cold in ≥ 90 % of periods, no trend",
    "diminishing_cold_spot": "cold in ≥ 90 % of periods, warming",
    "sporadic_cold_spot": "cold now, and on and off before",
    "oscillating_cold_spot": "cold now, hot in some earlier period",
    "historical_cold_spot": "cold in ≥ 90 % of periods, but not now",
    "no_pattern": "no significant pattern",
}
