"""Who a briefing is for: the role whose rules it follows and the marking it carries.

A briefing contains only what its *audience* may see, whatever its exporter may
see: :func:`audience_viewer` builds the :class:`~query.viewer.Viewer` every read
of an export uses, from the audience's role, never from the exporter's. Every
audience role is an aggregate-only role (``partner`` or ``leadership``), so no
export ever holds record-level data.

The table
---------

===================  ==============  ================================================================
audience             role            handling marking (on every page, header and footer)
===================  ==============  ================================================================
``partner``          ``partner``     FOR OFFICIAL USE ONLY — AGGREGATES, COUNTS UNDER {k} NOT SHOWN
``law_enforcement``  ``leadership``  LAW ENFORCEMENT SENSITIVE
``prosecutors``      ``leadership``  LAW ENFORCEMENT SENSITIVE — FOR PROSECUTORIAL USE
``caloes``           ``leadership``  OFFICIAL USE ONLY
===================  ==============  ================================================================

``{k}`` in a marking is replaced by the small-cell threshold in force.

Configuring it
--------------
A deployment can replace the table with a CSV at ``data/audiences.csv`` (columns
``audience``, ``label``, ``role``, ``marking``, ``description``); rows there
replace or add audiences by name. A role outside :data:`AGGREGATE_ROLES` is
refused with :class:`routes.errors.ConfigError`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from query.policy import aggregate_only_roles
from query.viewer import Viewer
from routes import settings
from routes.errors import ConfigError

#: Roles an audience may take: they see aggregates only, never records (from the policy table).
AGGREGATE_ROLES = aggregate_only_roles()


@dataclass(frozen=True)
class Audience:
    """One audience of a briefing.

    Parameters
    ----------
    name
        The id used on the command line and in the audit log (``partner``).
    label
        How the briefing names its readers (``"Victim-service partners"``).
    role
        The role whose query-layer rules the export follows (:data:`AGGREGATE_ROLES`).
    marking
        The handling marking printed on every page; ``{k}`` becomes the threshold.
    description
        One line for help texts.
    """

    name: str
    label: str
    role: str
    marking: str
    description: str = ""

    def marking_text(self, *, k: int | None = None) -> str:
        """The marking with ``{k}`` filled in.

        >>> AUDIENCES["partner"].marking_text(k=11)
        'FOR OFFICIAL USE ONLY — AGGREGATES, COUNTS UNDER 11 NOT SHOWN'
        """
        return self.marking.replace("{k}", str(settings.small_cell_k() if k is None else k))


#: The built-in audiences (see the module docstring).
AUDIENCES: dict[str, Audience] = {
    "partner": Audience(
        "partner", "Victim-service partners", "partner",
        "FOR OFFICIAL USE ONLY — AGGREGATES, COUNTS UNDER {k} NOT SHOWN",
        "victim-service NGOs and other partners: protected aggregates only",
    ),
    "law_enforcement": Audience(
        "law_enforcement", "Law enforcement partners", "leadership",
        "LAW ENFORCEMENT SENSITIVE",
        "task-force and agency law enforcement: leadership-level aggregates",
    ),
    "prosecutors": Audience(
        "prosecutors", "District attorneys and prosecutors", "leadership",
        "LAW ENFORCEMENT SENSITIVE — FOR PROSECUTORIAL USE",
        "prosecutors' offices: leadership-level aggregates",
    ),
    "caloes": Audience(
        "caloes", "Cal OES and state leadership", "leadership",
        "OFFICIAL USE ONLY",
        "CalOES and state leadership: leadership-level aggregates",
    ),
}


def audiences_path() -> Path:
    """Where a deployment's own audience table lives (used when the file exists)."""
    return settings.DATA_DIR / "audiences.csv"


def load_audiences(path: Path | None = None) -> dict[str, Audience]:
    """The built-in audiences, replaced or extended by the rows of ``path`` when it exists."""
    table = dict(AUDIENCES)
    path = audiences_path() if path is None else path
    if not path.exists():
        return table
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            name = (row.get("audience") or "").strip()
            role = (row.get("role") or "").strip()
            marking = (row.get("marking") or "").strip()
            if not name or not marking:
                raise ConfigError(f"{str(path)!r} line {number}: an audience needs a name and a marking")
            if role not in AGGREGATE_ROLES:
                raise ConfigError(
                    f"{str(path)!r} line {number}: audience {name!r} has role {role!r}; "
                    f"briefings are aggregate-only, use one of {sorted(AGGREGATE_ROLES)!r}"
                )
            table[name] = Audience(
                name, (row.get("label") or name).strip(), role, marking, (row.get("description") or "").strip()
            )
    return table


def get_audience(name: str) -> Audience:
    """The audience called ``name``.

    >>> get_audience("caloes").role
    'leadership'
    """
    table = load_audiences()
    if name not in table:
        raise ConfigError(f"no audience named {name!r}; audiences: {', '.join(sorted(table))}")
    return table[name]


def audience_viewer(audience: Audience, *, exporter: Viewer) -> Viewer:
    """The viewer an export for ``audience`` reads with: the audience's role, not the exporter's.

    >>> v = audience_viewer(AUDIENCES["partner"], exporter=Viewer("ana", "lead", "la"))
    >>> (v.role, v.task_force)
    ('partner', None)
    """
    return Viewer(user=f"{exporter.user} (briefing for {audience.name})", role=audience.role)
