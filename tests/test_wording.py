"""One wording of a hidden count and a period (``maps/wording.py``) for pages, maps and briefings (issue 20)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from briefings import pdf
from maps import statewide_maps, wording
from query import release
from query.viewer import Viewer
from ui import tables


@pytest.mark.parametrize("k", [11, 12, 25])
def test_a_hidden_count_reads_one_way_in_the_query_layer_maps_tables_and_briefings(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTES_K", str(k))
    partner = Viewer("p", "partner")
    words = release.hidden_text(partner)
    assert words == f"fewer than {k}" == release.fewer_than(k)
    assert wording.hidden_words() == words == wording.hidden_words(k=k)
    assert wording.count_text(None) == statewide_maps.count_text(pd.NA) == pdf.fmt_count(None, k=k) == words
    shown = tables.counts_as_text(pd.DataFrame({"records": [None, 12]}), ["records"], hidden=words)
    assert shown["records"].tolist() == [words, "12"]


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (date(2024, 1, 1), date(2025, 12, 1), "Jan 2024 – Dec 2025"),
        (date(2025, 3, 1), date(2025, 3, 31), "Mar 2025"),
        (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-06-01"), "Jan 2025 – Jun 2025"),
        (None, None, "all months"),
        (None, date(2025, 3, 1), "start – Mar 2025"),
    ],
)
def test_a_period_reads_one_way_on_pages_in_tooltips_and_in_briefings(start: object, end: object, text: str) -> None:
    assert wording.period_text(start, end) == tables.format_period(start, end) == text
    if start is not None and end is not None:
        assert wording.month_text(start) == text.split(" – ")[0]


def test_briefings_and_statewide_maps_keep_no_wording_of_their_own() -> None:
    """The copies this module replaced stay gone: a second wording would drift from this one."""
    assert not hasattr(pdf, "period_label")
    for name in ("_period", "_fmt_rate"):
        assert not hasattr(statewide_maps, name), name
    assert statewide_maps.count_text is wording.count_text
    assert tables.format_period is wording.period_text
