"""Who may do what: one table from role to capabilities, default deny.

Pages, exports, the command line and the query layer never name a role: they
ask :meth:`query.viewer.Viewer.can` (or :func:`require`) for a
:class:`Capability`. A role may do exactly what :data:`POLICY` lists for it; a
role without an entry may do nothing (:class:`~query.viewer.Viewer` refuses to
be built for it), and a capability not listed is refused.

``docs/ACCESS.md``'s role table is :func:`access_table`'s output (a test keeps the
two equal): change the table here, then paste ``python -m query.policy`` there.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = ["POLICY", "Capability", "access_table", "aggregate_only_roles", "capabilities_of", "task_force_roles"]


class Capability(StrEnum):
    """One thing a viewer may do. The value is the name used in messages and docs."""

    SEE_AGGREGATES = "see_aggregates"
    SEE_OWN_RECORDS = "see_own_records"
    SEE_DECONFLICTION_DETAIL = "see_deconfliction_detail"
    SEE_DECONFLICTION_COUNTS = "see_deconfliction_counts"
    SEE_OWN_SOURCES_INTAKE = "see_own_sources_intake"
    SEE_ALL_SOURCES_INTAKE = "see_all_sources_intake"
    SEE_OWN_SOURCES_SMALL_COUNTS = "see_own_sources_small_counts"
    SEE_ANY_SOURCE_DETAIL = "see_any_source_detail"
    UPLOAD_OWN_SOURCES = "upload_own_sources"
    UPLOAD_ANY_SOURCE = "upload_any_source"
    EXPORT_OWN_REGION = "export_own_region"
    EXPORT_ANY_PLACE = "export_any_place"
    DOWNLOAD_TABLES = "download_tables"
    READ_AUDIT_LOG = "read_audit_log"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_RETENTION = "manage_retention"


_C = Capability
_TASK_FORCE_WORK = frozenset({
    _C.SEE_AGGREGATES, _C.SEE_OWN_RECORDS, _C.SEE_DECONFLICTION_DETAIL, _C.SEE_DECONFLICTION_COUNTS,
    _C.SEE_OWN_SOURCES_INTAKE, _C.SEE_ALL_SOURCES_INTAKE, _C.SEE_OWN_SOURCES_SMALL_COUNTS, _C.UPLOAD_OWN_SOURCES, _C.DOWNLOAD_TABLES,
})

#: What each role may do. A role missing here may do nothing at all.
POLICY: Mapping[str, frozenset[Capability]] = {
    "analyst": _TASK_FORCE_WORK,
    "lead": _TASK_FORCE_WORK | {_C.EXPORT_OWN_REGION},
    "partner": frozenset({_C.SEE_AGGREGATES, _C.SEE_OWN_SOURCES_INTAKE, _C.UPLOAD_OWN_SOURCES, _C.DOWNLOAD_TABLES}),
    "leadership": frozenset({
        _C.SEE_AGGREGATES, _C.SEE_DECONFLICTION_COUNTS, _C.SEE_ALL_SOURCES_INTAKE, _C.EXPORT_ANY_PLACE,
        _C.DOWNLOAD_TABLES,
    }),
    "admin": frozenset({
        _C.SEE_AGGREGATES, _C.SEE_DECONFLICTION_COUNTS, _C.SEE_ALL_SOURCES_INTAKE, _C.SEE_ANY_SOURCE_DETAIL,
        _C.UPLOAD_ANY_SOURCE, _C.EXPORT_ANY_PLACE, _C.DOWNLOAD_TABLES, _C.READ_AUDIT_LOG, _C.MANAGE_ACCOUNTS,
        _C.MANAGE_RETENTION,
    }),
}

#: Capabilities that show something finer than a k-protected aggregate (a record, a
#: small count, an account, an audit entry): a role with none is aggregate-only.
RECORD_LEVEL = frozenset({
    _C.SEE_OWN_RECORDS, _C.SEE_DECONFLICTION_DETAIL, _C.SEE_OWN_SOURCES_SMALL_COUNTS,
    _C.SEE_ANY_SOURCE_DETAIL, _C.READ_AUDIT_LOG, _C.MANAGE_ACCOUNTS, _C.MANAGE_RETENTION,
})

#: Capabilities that only make sense for a viewer bound to one task force.
TASK_FORCE_BOUND = frozenset({_C.SEE_OWN_RECORDS, _C.SEE_DECONFLICTION_DETAIL, _C.EXPORT_OWN_REGION})


def capabilities_of(role: str) -> frozenset[Capability]:
    """What ``role`` may do; nothing for a role without an entry (default deny).

    >>> Capability.READ_AUDIT_LOG in capabilities_of("admin")
    True
    >>> capabilities_of("auditor")
    frozenset()
    """
    return POLICY.get(role, frozenset())


def task_force_roles() -> frozenset[str]:
    """Roles that must be bound to a task force (they see that task force's records or plans).

    >>> sorted(task_force_roles())
    ['analyst', 'lead']
    """
    return frozenset(role for role, caps in POLICY.items() if caps & TASK_FORCE_BOUND)


def aggregate_only_roles() -> frozenset[str]:
    """Roles that see aggregates and nothing finer (the roles a briefing may be written for).

    >>> sorted(aggregate_only_roles())
    ['leadership', 'partner']
    """
    return frozenset(role for role, caps in POLICY.items()
                     if Capability.SEE_AGGREGATES in caps and not caps & RECORD_LEVEL)


def access_table() -> str:
    """The Markdown table of ``docs/ACCESS.md``: one row per capability, one column per role."""
    roles = list(POLICY)
    lines = ["| capability | " + " | ".join(f"`{r}`" for r in roles) + " |",
             "|---|" + "---|" * len(roles)]
    for cap in Capability:
        marks = " | ".join("yes" if cap in POLICY[r] else "" for r in roles)
        lines.append(f"| `{cap.value}`: {DESCRIPTIONS[cap]} | {marks} |")
    return "\n".join(lines)


#: What each capability allows, in one line (the docs' table shows it).
DESCRIPTIONS: dict[Capability, str] = {
    _C.SEE_AGGREGATES: "maps, trends, flows, region profiles (k-protected)",
    _C.SEE_OWN_RECORDS: "its own task force's records and its sources' quarantined rows",
    _C.SEE_DECONFLICTION_DETAIL: "matches and operation conflicts involving its task force; record operations",
    _C.SEE_DECONFLICTION_COUNTS: "deconfliction counts by region and month (k-suppressed)",
    _C.SEE_OWN_SOURCES_INTAKE: "Data intake of its own task force's sources only",
    _C.SEE_ALL_SOURCES_INTAKE: "Data intake of every source (counts under k suppressed)",
    _C.SEE_OWN_SOURCES_SMALL_COUNTS: "exact intake volumes of its own task force's sources",
    _C.SEE_ANY_SOURCE_DETAIL: "exact intake volumes and quarantined rows of every source",
    _C.UPLOAD_OWN_SOURCES: "upload files for its own task force's sources",
    _C.UPLOAD_ANY_SOURCE: "upload files for any source",
    _C.EXPORT_OWN_REGION: "briefings for its own task force and region",
    _C.EXPORT_ANY_PLACE: "briefings for any place",
    _C.DOWNLOAD_TABLES: "download a table it is shown (neutralised CSV, audited)",
    _C.READ_AUDIT_LOG: "read and verify the audit log",
    _C.MANAGE_ACCOUNTS: "manage local accounts",
    _C.MANAGE_RETENTION: "review and purge records due for retention",
}


if __name__ == "__main__":
    print(access_table())
