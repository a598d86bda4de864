"""Every table a page shows, and its one way out: a safe, audited CSV download.

Streamlit's own table toolbar offers a CSV download and a clipboard copy that
nobody logs and that writes cells raw. ``.streamlit/config.toml`` turns them
off (``client.disableDataExport = true``), and pages draw tables through
:func:`show_table`, which adds a **Download CSV** button for viewers with
:attr:`~query.policy.Capability.DOWNLOAD_TABLES`. The file comes from
:func:`routes.safe_output.csv_bytes` (formula cells neutralised, control
characters removed) and each download writes an audit entry (action
``download_table``: which table, how many rows, which columns, the filters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from maps.statewide_maps import flows_table
from maps.wording import count_text, hidden_words, period_text
from query import audit, release
from query.filters import Filters
from query.policy import Capability
from query.viewer import Viewer
from routes import safe_output
from routes.contract.vocabularies import AuditAction

#: The audit action of a table download.
DOWNLOAD_ACTION = AuditAction.DOWNLOAD_TABLE.value


#: How a page names a period: ``"Jan 2024 – Dec 2025"`` (:func:`maps.wording.period_text`, which maps and briefings use too).
format_period = period_text


def shown_period(filters: Filters, *, months: Sequence[date]) -> str:
    """The period a page shows: the filters' own, else from the first to the last of ``months`` (the warehouse's).

    >>> shown_period(Filters(end=date(2025, 3, 1)), months=[date(2024, 1, 1), date(2025, 6, 1)])
    'Jan 2024 – Mar 2025'
    """
    return format_period(filters.start or (months[0] if months else None), filters.end or (months[-1] if months else None))


def cells_caption(shown: pd.DataFrame, counts: pd.DataFrame, *, hidden: str) -> str:
    """Under a heatmap: how many of the ``shown`` cells are drawn, how many read ``hidden``, how many counties hold the rest.

    ``counts`` is the map's :func:`query.cells.cell_counts` (county rows: records not in a cell).

    >>> shown = pd.DataFrame({"suppressed": [False, True, False]})
    >>> cells_caption(shown, pd.DataFrame({"level": ["cell", "county"]}), hidden="fewer than 11")
    '2 cells shown · 1 cells read “fewer than 11” · 1 county with records not in a cell'
    """
    visible = shown[~shown["suppressed"].astype(bool)]
    in_no_cell = int(counts["level"].eq("county").sum())
    return (
        f"{len(visible):,} cells shown · {int(shown['suppressed'].sum()):,} cells read “{hidden}” · "
        f"{in_no_cell:,} {'county' if in_no_cell == 1 else 'counties'} with records not in a cell"
    )


def flows_caption(drawn: pd.DataFrame, *, hidden: str) -> str:
    """Under the flows map: how many flows are drawn and how many are not (they read ``hidden``).

    >>> flows_caption(pd.DataFrame({"suppressed": [False, True, True]}), hidden="fewer than 11")
    '1 flows shown · 2 not drawn (they read “fewer than 11”)'
    """
    visible = drawn[~drawn["suppressed"].astype(bool)]
    return f"{len(visible):,} flows shown · {int(drawn['suppressed'].sum()):,} not drawn (they read “{hidden}”)"


def counts_as_text(frame: pd.DataFrame, columns: Sequence[str], *, hidden: str,
                   only_hidden: bool = False) -> pd.DataFrame:
    """``frame`` with each of ``columns`` as a table shows a count: ``"1,234"``, or ``hidden`` where it is hidden.

    A hidden count (missing) never reads blank or 0 (:func:`maps.wording.count_text`).
    With ``only_hidden``, only the columns that hold a hidden count become text; the
    others keep their numbers.

    >>> counts_as_text(pd.DataFrame({"rows": [1234, None], "n": [1, 2]}), ["rows", "n"], hidden="suppressed",
    ...                only_hidden=True).to_dict("list")
    {'rows': ['1,234', 'suppressed'], 'n': [1, 2]}
    """
    shown = frame.copy()
    for column in columns:
        if not only_hidden or shown[column].isna().any():
            shown[column] = [count_text(v, hidden) for v in shown[column]]
    return shown


def counts_pivot(frame: pd.DataFrame, *, index: str, columns: str, values: str, hidden: str) -> pd.DataFrame:
    """Counts in long form as a wide table: one row per ``index``, one column per ``columns``, "0" where none.

    >>> long = pd.DataFrame({"source_id": ["a", "a", "b"], "reason": ["x", "y", "x"], "rows": [1200, None, 3]})
    >>> counts_pivot(long, index="source_id", columns="reason", values="rows", hidden="suppressed").to_dict("list")
    {'source_id': ['a', 'b'], 'x': ['1,200', '3'], 'y': ['suppressed', '0']}
    """
    shown = counts_as_text(frame, [values], hidden=hidden)
    return shown.pivot(index=index, columns=columns, values=values).fillna("0").reset_index()


def table_file_name(name: str) -> str:
    """The download's file name for a table called ``name``.

    >>> table_file_name("Open subject matches (la)")
    'routes_open_subject_matches_la.csv'
    """
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "table"
    return f"routes_{slug}.csv"


def record_download(viewer: Viewer, *, name: str, rows: int, columns: list[str],
                    filters: Filters | None = None) -> None:
    """Write the audit entry of one table download (the button's ``on_click``)."""
    audit.record_event(
        viewer, action=DOWNLOAD_ACTION,
        what=f"table {name!r}: {rows} rows ({', '.join(map(str, columns))}) as {table_file_name(name)}",
        filters=filters,
    )


def hidden_as_released(data: pd.DataFrame, *, viewer: Viewer) -> pd.DataFrame:
    """``data`` with every hidden count spelled as ``viewer`` reads one (:func:`query.release.hidden_text`).

    A table may come spelled with either wording of a hidden count (a query's
    "suppressed", a map helper's default "fewer than 11"): both become the
    viewer's, "fewer than 11" for a released value, "suppressed" for an exact
    count hidden by small-cell suppression. A viewer without aggregates'
    tables are unchanged.

    >>> hidden_as_released(pd.DataFrame({"Records": ["12", "suppressed"]}), viewer=Viewer("p", "partner"))["Records"].tolist()
    ['12', 'fewer than 11']
    """
    if not viewer.can(Capability.SEE_AGGREGATES) or data.empty:
        return data
    hidden = release.hidden_text(viewer)
    either = {release.SUPPRESSED_TEXT, hidden_words()} - {hidden}
    text = [c for c in data.columns if data[c].dtype == object or pd.api.types.is_string_dtype(data[c])]
    if not text:
        return data
    out = data.copy()
    for column in text:
        out[column] = out[column].map(lambda v: hidden if isinstance(v, str) and v in either else v)
    return out


def show_flows_table(flows: pd.DataFrame, *, viewer: Viewer, name: str, hidden: str, side: str | None = None,
                     filters: Filters | None = None, **dataframe_options: Any) -> None:
    """Flows (or coordination pairs) as :func:`show_table` draws them, without the columns the release does not measure.

    ``flows`` are :mod:`query.flows` rows; :func:`maps.statewide_maps.flows_table` words
    them (``side``: only that end's place), hidden counts reading ``hidden``.
    """
    shown = flows_table(release.drop_unreleased(viewer, flows), side=side, hidden=hidden)
    show_table(shown, viewer=viewer, name=name, filters=filters, **dataframe_options)


def show_table(data: pd.DataFrame, *, viewer: Viewer, name: str, filters: Filters | None = None,
               **dataframe_options: Any) -> None:
    """``st.dataframe(data, **dataframe_options)`` and, under it, the audited safe download.

    Parameters
    ----------
    data
        The frame exactly as shown (the download holds what the viewer sees, no more).
    viewer
        Who is looking; the button shows only with ``download_tables``.
    name
        What the table is, for the file name and the audit entry (unique on the page).
    filters
        The filters the table was read with, for the audit entry.
    """
    data = hidden_as_released(data, viewer=viewer)
    st.dataframe(data, **dataframe_options)
    if data.empty or not viewer.can(Capability.DOWNLOAD_TABLES):
        return
    st.download_button(
        "Download CSV", data=safe_output.csv_bytes(data), file_name=table_file_name(name), mime="text/csv",
        key=f"download_{table_file_name(name)}", on_click=record_download, args=(viewer,),
        kwargs={"name": name, "rows": len(data), "columns": [str(c) for c in data.columns], "filters": filters},
        help="A CSV of this table; the download is written to the audit log.",
    )
