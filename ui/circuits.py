"""The Flows page's circuits: routes that the same subjects were seen along, place after place (issue 22).

Read through :func:`query.moves.circuits` (the protected release for viewers
without record access, exact with k in the own-records scope); this module only
words and shows them.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from maps.statewide_maps import count_text
from query import moves
from query.filters import Filters
from query.release import ReleaseNotBuiltError
from query.viewer import Viewer
from routes.errors import RoutesError
from ui import tables

#: What a circuit is, under the table.
CAPTION = (
    "A circuit is a sequence of three or more counties that several subjects were seen in, in this order, "
    "each sighting within 60 days of the last (the same phone, e-mail, plate or ad handle in different "
    "agencies' records; no identifier is shown or stored here). Loops end where they began. Counted over all "
    "the data's years, not only the period chosen; listed when they pass through the counties chosen."
)


def circuits_table(frame: pd.DataFrame, *, hidden: str) -> pd.DataFrame:
    """The rows of :func:`query.moves.circuits` as the page shows them: places in order, counts worded.

    Dwell times are in the own-records scope only (the release has none): without
    them the column is left out rather than shown empty.

    >>> f = pd.DataFrame({"rank": [1], "shape": ["loop"], "place_names": [["Fresno", "Kern", "Fresno"]],
    ...                   "subjects": pd.array([pd.NA], dtype="Int64"), "median_dwell_days": [None]})
    >>> circuits_table(f, hidden="fewer than 11").to_dict("records")[0]
    {'Rank': 1, 'Shape': 'loop', 'Places in order': 'Fresno → Kern → Fresno', 'Subjects': 'fewer than 11'}
    >>> circuits_table(f.assign(median_dwell_days=[[12.0, 30.4]]), hidden="x")["Median days in each place"].tolist()
    ['12, 30']
    """
    def dwell(days: object) -> str:
        if not isinstance(days, list | tuple) or not days:
            return ""
        return ", ".join(f"{d:.0f}" for d in days)

    out = pd.DataFrame({
        "Rank": frame["rank"].astype(int).tolist(),
        "Shape": frame["shape"].tolist(),
        "Places in order": [" → ".join(names) for names in frame["place_names"]],
        "Subjects": [count_text(v, hidden) for v in frame["subjects"]],
    })
    days = [dwell(d) for d in frame["median_dwell_days"]]
    if any(days):
        out["Median days in each place"] = days
    return out


def show_circuits(viewer: Viewer, filters: Filters, *, hidden: str, limit: int = 10) -> None:
    """The top circuits through the filter's counties, or a line saying why there are none."""
    try:
        frame = moves.circuits(viewer, filters, limit=limit)
    except ReleaseNotBuiltError:
        st.caption("Circuits are not in this warehouse's protected release yet (`python -m pipelines build`).")
        return
    except moves.MovesNotBuiltError as error:
        st.caption(str(error))
        return
    except (RoutesError, duckdb.Error) as error:
        st.caption(f"Circuits are not available for these filters: {error}")
        return
    if frame.empty:
        st.caption("No circuit passes through the counties chosen.")
        return
    tables.show_table(circuits_table(frame, hidden=hidden), viewer=viewer, name="Circuits",
                      filters=filters, hide_index=True, width="stretch")
    st.caption(CAPTION)
