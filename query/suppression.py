"""Small-cell protection: no count under k ever leaves the query layer.

Every aggregate a query-layer function returns passes through one of these
functions before it is returned. Count columns are recognised by name
(:data:`COUNT_COLUMNS`); a suppressed value becomes ``<NA>`` and the row's
``suppressed`` flag is set, so a page draws it as "suppressed", never as zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Columns that count people or records and so fall under the k rule.
COUNT_COLUMNS = (
    "records", "victims", "incoming", "outgoing", "internal", "load",
    "tips", "incidents", "recoveries", "services", "minors",
)


def count_columns_of(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that the k rule covers."""
    return [c for c in frame.columns if c in COUNT_COLUMNS]


def suppress_small_counts(
    frame: pd.DataFrame, *, k: int, count_columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Blank every count under ``k`` (any column of :data:`COUNT_COLUMNS`).

    A row whose ``records`` is under k is suppressed whole. Each other count
    column under k is blanked on its own.

    >>> f = pd.DataFrame({"cell": [1, 2], "records": [12, 3], "victims": [20, 4]})
    >>> suppress_small_counts(f, k=11)[["records", "victims", "suppressed"]].to_dict("list")
    {'records': [12, None], 'victims': [20, None], 'suppressed': [False, True]}
    """
    out = frame.copy()
    columns = list(count_columns) if count_columns is not None else count_columns_of(out)
    for column in columns:
        out[column] = out[column].astype("Int64")
    primary = "records" if "records" in columns else (columns[0] if columns else None)
    if primary is None:
        out["suppressed"] = False
        return out
    small = (out[primary].fillna(0) < k).to_numpy()
    out["suppressed"] = small
    for column in columns:
        values = out[column]
        blank = small | (values.fillna(0) < k).to_numpy() & (values.fillna(0) > 0).to_numpy()
        out[column] = values.mask(blank)
    return out


def max_visible_count_below_k(frame: pd.DataFrame, *, k: int) -> int | None:
    """The largest count under k still visible in ``frame`` (``None`` when safe).

    Tests and the CLI use it as an assertion that nothing leaked.
    """
    worst: int | None = None
    for column in count_columns_of(frame):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        leaked = values[(values > 0) & (values < k)]
        if leaked.size:
            worst = max(worst or 0, int(leaked.max()))
    return worst
