"""How a count, a rate, a hidden count and a period read, written once (no streamlit).

Maps and their tooltips (``maps/``), the pages' tables (``ui/tables.py``) and the
briefings (``briefings/``) all word figures through these, so a period or a hidden
count reads the same on a page, in a tooltip and in an exported PDF.

- :func:`hidden_words`: a hidden count, "fewer than 11" unless the viewer's own
  wording is given (:func:`query.release.hidden_text`, built on
  :func:`query.release.fewer_than`);
- :func:`count_text`, :func:`rate_text`: a figure, or the hidden wording when it
  is missing (never blank or 0);
- :func:`period_text`: ``"Jan 2024 – Dec 2025"``, ``"Mar 2025"`` or ``"all months"``;
  :func:`month_text`: one month, ``"Mar 2025"`` (the period slider's stops, a played month).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from query.release import fewer_than
from routes import settings

__all__ = ["count_text", "hidden_words", "month_text", "period_text", "rate_text"]


def hidden_words(hidden: str | None = None, *, k: int | None = None) -> str:
    """How a hidden count reads on a map, in a tooltip or a table: ``hidden`` when given, else "fewer than k".

    A page passes its viewer's :func:`query.release.hidden_text`; the default is
    how a released value under k reads (k the setting unless given), which is what
    every viewer sees unless an analyst or lead chose its own task force's exact counts.

    >>> hidden_words(), hidden_words("suppressed"), hidden_words(k=12)
    ('fewer than 11', 'suppressed', 'fewer than 12')
    """
    if hidden is not None:
        return hidden
    return fewer_than(k if k is not None else settings.small_cell_k())


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))  # type: ignore[arg-type]


def count_text(value: object, hidden: str | None = None) -> str:
    """A count for a table: ``hidden`` ("fewer than 11") when hidden (never blank or 0), else with thousands separators.

    >>> count_text(1234), count_text(None), count_text(None, "suppressed"), count_text(pd.NA)
    ('1,234', 'fewer than 11', 'suppressed', 'fewer than 11')
    """
    return hidden_words(hidden) if _missing(value) else f"{int(value):,}"  # type: ignore[call-overload]


def rate_text(value: object, hidden: str | None = None, *, decimals: int = 2) -> str:
    """A rate per 100,000 residents with ``decimals`` decimals, so it never reads as a count (a hidden one reads ``hidden``).

    >>> rate_text(12.345), rate_text(12.345, decimals=1), rate_text(None)
    ('12.35', '12.3', 'fewer than 11')
    """
    return hidden_words(hidden) if _missing(value) else f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]


def month_text(month: Any) -> str:
    """One month as a period reads it: ``"Mar 2025"``.

    >>> from datetime import date
    >>> month_text(date(2025, 3, 1)), month_text("2025-03-01")
    ('Mar 2025', 'Mar 2025')
    """
    return pd.Timestamp(month).strftime("%b %Y")


def period_text(start: Any, end: Any) -> str:
    """``"Jan 2024 – Dec 2025"``, ``"Mar 2025"`` or ``"all months"``: how a page, a tooltip and a briefing name a period.

    ``start`` and ``end`` are dates, timestamps or ISO strings; a missing end reads
    "start" or "latest".

    >>> from datetime import date
    >>> period_text(date(2024, 1, 1), date(2025, 12, 1)), period_text(date(2025, 3, 1), date(2025, 3, 1))
    ('Jan 2024 – Dec 2025', 'Mar 2025')
    >>> period_text(None, None), period_text(None, date(2025, 3, 1)), period_text("2024-01-01", None)
    ('all months', 'start – Mar 2025', 'Jan 2024 – latest')
    """
    if _missing(start) and _missing(end):
        return "all months"
    lo = "start" if _missing(start) else month_text(start)
    hi = "latest" if _missing(end) else month_text(end)
    return lo if lo == hi else f"{lo} – {hi}"
