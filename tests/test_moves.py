"""Circuits are frequent county sequences that enough distinct subjects each follow."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from pipelines.build_moves import find_circuits

LOOP = ["06067", "06077", "06019", "06029", "06067"]  # Sacramento, San Joaquin, Fresno, Kern, back
OTHER = ["06001", "06013", "06075", "06001"]


def _rows(route: list[str], subjects: range) -> list[tuple[int, str, datetime, str]]:
    start = datetime(2025, 1, 1)
    return [(s, f"src{i % 2}", start + timedelta(days=s + 10 * i), c)
            for s in subjects for i, c in enumerate(route)]


def test_loop_of_k_subjects_is_found_in_order_and_one_of_k_minus_1_is_not() -> None:
    frame = pd.DataFrame(_rows(LOOP, range(5)) + _rows(OTHER, range(5, 9)),
                         columns=["subject", "source_id", "seen_at", "county"])
    circuits = find_circuits(frame, window_days=60, min_tokens=5)
    assert len(circuits) == 1
    top = circuits.iloc[0]
    assert top["shape"] == "loop" and top["tokens"] == 5
    places = list(top["places"])
    assert places[0] == places[-1]
    start = places.index("06067")
    assert places[start:-1] + places[:start] == LOOP[:-1]  # the loop's order, from Sacramento
    assert not any(str(s) in map(str, places) for s in range(9))
