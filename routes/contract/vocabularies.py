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


RECORD_TYPES: tuple[str, ...] = tuple(t.value for t in RecordType)
TRAFFICKING_TYPES: tuple[str, ...] = tuple(t.value for t in TraffickingType)
SOURCE_KINDS: tuple[str, ...] = tuple(k.value for k in SourceKind)
IDENTIFIER_KINDS: tuple[str, ...] = tuple(k.value for k in IdentifierKind)
PRECISIONS: tuple[str, ...] = tuple(p.value for p in Precision)
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
#: each with its one-line definition. Computed by ``pipelines/build_hotspots.py``.
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
