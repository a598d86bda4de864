"""Legends (ui/chrome.py's ``legend_html``) laid out by a real browser in a column as narrow as the map pages' legend column.

A circuit's legend lists its stops in order on one entry; drawn with no wrapping,
it ran past the column's right edge and was cut (issue 22's Flows page). Every
row must fit its column: a long label wraps beside its swatch.
"""

from __future__ import annotations

import pytest

from maps import moves_maps
from maps.colours import Legend, LegendEntry
from tests.support import browser
from ui import chrome

pytestmark = [pytest.mark.browser]

#: About the legend column of the Flows and Heatmap pages at 1366 px (``st.columns([5, 1.5])``).
COLUMN_PX = 200

LONG = {"rank": 1, "shape": "loop", "places": ["06019", "06029", "06067", "06077", "06019"]}


def _overflows(html: str) -> list[str]:
    """The legend rows (and the legend) wider than their :data:`COLUMN_PX` column, as their text."""
    with browser.chromium_page() as (page, _recorder):
        page.set_content(f'<div id="column" style="width:{COLUMN_PX}px;font:16px sans-serif">{html}</div>')  # type: ignore[attr-defined]
        return page.evaluate(  # type: ignore[attr-defined]
            """() => [...document.querySelectorAll('#column, #column div')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right
                              > document.getElementById('column').getBoundingClientRect().right + 1)
                 .map(e => e.textContent)"""
        )


def test_a_circuit_legend_fits_its_column() -> None:
    browser.require_chromium()
    legend = moves_maps.circuit_legend(LONG)
    assert _overflows(chrome.legend_html(legend)) == []


def test_every_row_of_a_legend_fits_its_column() -> None:
    browser.require_chromium()
    legend = Legend(title="Evidence", entries=(
        LegendEntry("reported journey (point source → destination; blue to yellow by records)", (59, 82, 139, 230)),
        LegendEntry("under 14", (250, 230, 30, 255)),
    ), note="arc width by count; moves under k are not drawn")
    assert _overflows(chrome.legend_html(legend)) == []
