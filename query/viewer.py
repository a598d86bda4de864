"""Who is asking: the viewer every query-layer function takes first.

What a viewer may do is decided by :mod:`query.policy` (one table from role to
:class:`~query.policy.Capability`, default deny); callers ask
:meth:`Viewer.can` or :meth:`Viewer.require`, never compare roles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from query.policy import POLICY, Capability, capabilities_of, task_force_roles
from routes import settings
from routes.errors import AccessDenied

#: The roles of ``DESIGN.md`` (accounts, OIDC and the CLI offer these); each needs an
#: entry in :data:`query.policy.POLICY`, or a viewer of it is refused.
ROLES = ("analyst", "lead", "partner", "leadership", "admin")

#: Roles bound to a task force and allowed that task force's records (from the policy).
RECORD_ROLES = task_force_roles()

#: The aggregate scope of every agency's records: the protected release (the default).
ALL_AGENCIES = "all"
#: The aggregate scope of the viewer's own task force's records: exact, under the k rules.
OWN_RECORDS = "own"
SCOPES = (ALL_AGENCIES, OWN_RECORDS)


@dataclass(frozen=True)
class Viewer:
    """A signed-in user as the query layer sees them.

    Parameters
    ----------
    user
        The account name (or OIDC subject); written to the audit log.
    role
        One of :data:`ROLES` with an entry in :data:`query.policy.POLICY`.
    task_force
        The task force an ``analyst`` or ``lead`` is bound to (required for the
        roles of :func:`query.policy.task_force_roles`); a ``partner`` may be bound
        to one too: its own sources are that task force's.
    scope
        What the aggregate readers count: :data:`ALL_AGENCIES` (the default: the
        protected release, records of every agency) or :data:`OWN_RECORDS` (exact,
        only the records whose source belongs to ``task_force``; only for a viewer
        with record access). One answer never mixes the two.

    Raises
    ------
    AccessDenied
        An unknown role, a role without a policy entry, a missing task force, or
        the own-records scope for a viewer without record access.
    """

    user: str
    role: str
    task_force: str | None = None
    scope: str = "all"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise AccessDenied(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")
        if self.role not in POLICY:
            raise AccessDenied(
                f"role {self.role!r} has no entry in the policy table (query/policy.py POLICY), "
                "so it may do nothing; add one there"
            )
        if self.role in task_force_roles() and not self.task_force:
            raise AccessDenied(f"role {self.role!r} must be bound to a task force")
        if self.scope not in SCOPES:
            raise AccessDenied(f"unknown scope {self.scope!r}; scopes are {', '.join(SCOPES)}")
        if self.scope == OWN_RECORDS and not self.has_record_access:
            raise AccessDenied(
                f"{self.user!r} (role {self.role!r}) may not count its own task force's records exactly: "
                f"the role lacks {Capability.SEE_OWN_RECORDS.value!r}; use the scope {ALL_AGENCIES!r}"
            )

    def can(self, capability: Capability) -> bool:
        """Whether this viewer's role has ``capability`` (default deny)."""
        return capability in capabilities_of(self.role)

    def require(self, capability: Capability, what: str) -> None:
        """Raise :class:`AccessDenied` naming ``what`` unless this viewer :meth:`can` do ``capability``."""
        if not self.can(capability):
            raise AccessDenied(
                f"{self.user!r} (role {self.role!r}) may not {what}: the role lacks {capability.value!r}"
            )

    @property
    def has_record_access(self) -> bool:
        """Whether this viewer may see any record-level data at all (its own task force's)."""
        return self.can(Capability.SEE_OWN_RECORDS) and bool(self.task_force)

    def may_see_records_of(self, task_force: str | None) -> bool:
        """Whether this viewer may see the records contributed by ``task_force``."""
        return self.has_record_access and task_force is not None and task_force == self.task_force

    @property
    def counts_own_records(self) -> bool:
        """Whether this viewer's aggregates count only its own task force's records, exactly."""
        return self.scope == OWN_RECORDS and self.has_record_access

    def with_scope(self, scope: str) -> Viewer:
        """This viewer with another aggregate ``scope`` (:data:`SCOPES`)."""
        return replace(self, scope=scope)

    @property
    def k(self) -> int:
        """The small-cell threshold of this viewer's aggregates.

        Every aggregate reader reads it, so a role without
        :attr:`~query.policy.Capability.SEE_AGGREGATES` is refused by all of them.
        """
        self.require(Capability.SEE_AGGREGATES, "see aggregates")
        return settings.small_cell_k()
