"""The query layer's public readers and one viewer per role, found from the code, never listed by hand.

``tests/test_privacy_all_paths.py`` calls every reader for every viewer;
``tests/test_policy.py`` checks a role added to the policy table is covered.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from datetime import date
from typing import Any

import query
from geo import grid
from query import viewer as viewer_module
from query.filters import Filters
from query.policy import Capability, capabilities_of, task_force_roles
from query.viewer import OWN_RECORDS, Viewer

_TASK_FORCES = ("la", "san_diego")


def viewers_from_policy(roles: tuple[str, ...] | None = None) -> tuple[Viewer, ...]:
    """One viewer per role of the policy table (``query/policy.py``), never a hand-written list.

    Roles bound to a task force take ``la`` or ``san_diego`` in turn, in both
    aggregate scopes (all agencies, own records); a role that
    may be bound to one for its own sources (a partner) comes twice, unbound and
    bound to ``la``. A role added to the table is covered here without a word.
    """
    bound = sorted(task_force_roles())
    out = []
    for role in roles if roles is not None else tuple(viewer_module.ROLES):
        caps = capabilities_of(role)
        if role in bound:
            task_force = _TASK_FORCES[bound.index(role) % len(_TASK_FORCES)]
            out.append(Viewer(f"t-{role}", role, task_force))
            out.append(Viewer(f"t-{role}-own", role, task_force, OWN_RECORDS))  # exact, own records only
            continue
        out.append(Viewer(f"t-{role}", role))
        if caps & {Capability.SEE_OWN_SOURCES_INTAKE, Capability.UPLOAD_OWN_SOURCES}:
            out.append(Viewer(f"t-{role}-la", role, "la"))
    return tuple(out)


def discover_readers() -> list[tuple[str, str, Callable[..., Any]]]:
    """``(module, name, function)`` of every public reader in ``query/``."""
    found = []
    for info in sorted(pkgutil.iter_modules(query.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"query.{info.name}")
        for name in getattr(module, "__all__", ()):
            fn = getattr(module, name, None)
            if not inspect.isfunction(fn):
                continue
            signature = inspect.signature(fn)
            params = list(signature.parameters)
            if not params or params[0] != "viewer":
                continue
            if signature.return_annotation in (None, "None"):
                continue  # a writer (acknowledge, mark_seen, …)
            found.append((info.name, name, fn))
    return found


def hint_of(fn: Callable[..., Any], name: str) -> Any:
    """The type hint of ``fn``'s parameter ``name`` (None when there is none or it cannot be resolved)."""
    try:
        return typing.get_type_hints(fn).get(name)
    except Exception:
        return None


def plain_kwargs(fn: Callable[..., Any], values: dict[str, list[Any]]) -> dict[str, Any]:
    """The least narrowing keyword arguments for reader ``fn`` (beyond ``viewer``): no filter, res 6, one cell, ``lapd``,
    three months to play."""
    kwargs: dict[str, Any] = {}
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        if p.name in ("filters", "before", "after") or hint_of(fn, p.name) is Filters:
            kwargs[p.name] = Filters()
        elif p.name == "res":
            kwargs[p.name] = 6
        elif p.name == "cell":
            kwargs[p.name] = grid.cell_to_parent(values["cells9"][0], 6)
            kwargs["res"] = 6
        elif p.name == "source_id":
            kwargs[p.name] = "lapd"
        elif p.name == "segment_id":  # a highway segment (query.flows.segment_flows)
            kwargs[p.name] = 1
        elif p.name == "months":  # the months a playback reads (query.cells.cell_counts_by_month)
            kwargs[p.name] = (date(2024, 1, 1), date(2024, 2, 1), date(2024, 4, 1))
    return kwargs
