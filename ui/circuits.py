"""The Flows page's evidence and circuits: routes that the same subjects were seen along (issue 22).

Read through :mod:`query.moves` (the protected release for viewers without record
access, exact with k in the own-records scope); the map layers and the table's
wording are in :mod:`maps.moves_maps`. This module reads, chooses and shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import streamlit as st

from maps.moves_maps import circuit_label, circuits_table
from query import moves
from query.filters import Filters
from query.release import ReleaseNotBuiltError
from query.viewer import Viewer
from routes.errors import RoutesError
from ui import tables
from ui.cache import snapshot_cached

__all__ = ["CAPTION", "EVIDENCE", "Circuits", "choose_circuit", "circuits_table", "moves_level", "read_circuits",
           "moves_caption", "read_moves", "show_circuits"]

#: The evidence the Flows map draws (URL parameter ``evidence``).
EVIDENCE = {"reported": "Reported journeys", "observed": "Observed moves", "both": "Both"}

#: What a circuit is, under the table.
CAPTION = (
    "A circuit is a sequence of three or more counties that several subjects were seen in, in this order, "
    "each sighting within 60 days of the last (the same phone, e-mail, plate or ad handle in different "
    "agencies' records; no identifier is shown or stored here). Loops end where they began. Counted over all "
    "the data's years, not only the period chosen; listed when they pass through the counties chosen."
)

_circuits_of = snapshot_cached(moves.circuits)
_moves_of = snapshot_cached(moves.observed_moves)


@dataclass(frozen=True)
class Circuits:
    """The circuits read for the page, or why there are none (``message``)."""

    frame: pd.DataFrame
    message: str = ""


def moves_level(level: str) -> str:
    """The level observed moves are counted at for the page's grouping (regions as regions, else counties).

    >>> [moves_level(x) for x in ("region", "task_force", "county", "res5")]
    ['region', 'county', 'county', 'county']
    """
    return "region" if level == "region" else "county"


def _why(error: Exception, what: str) -> str:
    if isinstance(error, ReleaseNotBuiltError):
        return f"{what} are not in this warehouse's protected release yet (`python -m pipelines build`)."
    if isinstance(error, moves.MovesNotBuiltError):
        return str(error)
    return f"{what} are not available for these filters: {error}"


def read_moves(viewer: Viewer, filters: Filters, *, level: str) -> tuple[pd.DataFrame | None, str]:
    """Observed moves at the page's grouping, or ``None`` and why not."""
    try:
        return _moves_of(viewer, filters, level=moves_level(level)), ""
    except (RoutesError, duckdb.Error) as error:
        return None, _why(error, "Observed moves")


def read_circuits(viewer: Viewer, filters: Filters, *, limit: int = 10) -> Circuits:
    """The top circuits through the filter's counties (empty with a message when there are none)."""
    try:
        frame = _circuits_of(viewer, filters, limit=limit)
    except (RoutesError, duckdb.Error) as error:
        return Circuits(pd.DataFrame(columns=list(moves.CIRCUIT_COLUMNS)), _why(error, "Circuits"))
    if frame.empty:
        return Circuits(frame, "No circuit passes through the counties chosen.")
    return Circuits(frame)


def choose_circuit(found: Circuits, *, observed: bool) -> pd.Series | None:
    """The sidebar's "circuit drawn" choice: the top circuit by default when the map shows observed moves."""
    if found.frame.empty:
        return None
    ranks = [0, *found.frame["rank"].astype(int).tolist()]  # 0: none drawn
    labels = {int(r): circuit_label(row) for r, row in zip(ranks[1:], found.frame.to_dict("records"), strict=True)}
    # one key per evidence: switching to observed moves draws the top circuit, back to reported draws none
    chosen = st.selectbox("Circuit drawn in order", ranks, index=1 if observed else 0,
                          key=f"flows_circuit_{'observed' if observed else 'reported'}",
                          format_func=lambda r: labels.get(int(r), "none"),
                          help="Numbered stops in travel order, an arrow on each step; a loop closes on stop 1.")
    if not chosen:
        return None
    return found.frame[found.frame["rank"].astype(int).eq(int(chosen))].iloc[0]


def show_circuits(found: Circuits, viewer: Viewer, filters: Filters, *, hidden: str) -> None:
    """The table of circuits, or a line saying why there are none."""
    if found.message:
        st.caption(found.message)
        return
    tables.show_table(circuits_table(found.frame, hidden=hidden), viewer=viewer, name="Circuits",
                      filters=filters, hide_index=True, width="stretch")
    st.caption(CAPTION)


def moves_caption(moved: pd.DataFrame, *, hidden: str) -> str:
    """How many observed moves the map draws and how many it leaves out.

    >>> moves_caption(pd.DataFrame({"suppressed": [False, True, False]}), hidden="fewer than 11")
    '2 observed moves shown · 1 not drawn (they read “fewer than 11”)'
    """
    hidden_n = int(moved["suppressed"].astype(bool).sum())
    return f"{len(moved) - hidden_n:,} observed moves shown · {hidden_n:,} not drawn (they read “{hidden}”)"
