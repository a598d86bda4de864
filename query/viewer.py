"""Who is asking: the viewer every query-layer function takes first."""

from __future__ import annotations

from dataclasses import dataclass

from routes import settings
from routes.errors import AccessDenied

#: The roles of ``DESIGN.md``; what each may see is decided in this package only.
ROLES = ("analyst", "lead", "partner", "leadership", "admin")

#: Roles bound to a task force and allowed that task force's records.
RECORD_ROLES = frozenset({"analyst", "lead"})


@dataclass(frozen=True)
class Viewer:
    """A signed-in user as the query layer sees them.

    Parameters
    ----------
    user
        The account name (or OIDC subject); written to the audit log.
    role
        One of :data:`ROLES`.
    task_force
        The task force an ``analyst`` or ``lead`` is bound to.
    """

    user: str
    role: str
    task_force: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise AccessDenied(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")
        if self.role in RECORD_ROLES and not self.task_force:
            raise AccessDenied(f"role {self.role!r} must be bound to a task force")

    @property
    def has_record_access(self) -> bool:
        """Whether this viewer may see any record-level data at all."""
        return self.role in RECORD_ROLES

    def may_see_records_of(self, task_force: str | None) -> bool:
        """Whether this viewer may see the records contributed by ``task_force``."""
        return self.has_record_access and task_force is not None and task_force == self.task_force

    @property
    def k(self) -> int:
        """The small-cell threshold that applies to this viewer's aggregates."""
        return settings.small_cell_k()
