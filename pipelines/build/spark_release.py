"""The protected release's pre-noise measurements on Spark (:mod:`pipelines.build.release`).

The release reads ``records`` four times, for the true counts its measurements are
made from (:data:`~pipelines.build.release.TRUE_COUNT_SELECTS`: per month and county,
per month and res-6 cell, per year and county pair, per year, out-of-state origin
and county). Those reads are what grows with
the records; Spark runs them here with the DuckDB step's very text, and what they give
is small (bounded by months × counties × types, whatever the records' number).

``build --engine spark`` writes these counts (``release_true_counts/`` in its
output) and ``release load`` draws the noise on them in the driver, in the
warehouse's write snapshot, through the DuckDB step itself
(``build_release.build(con, true_counts=...)``): each key's noise is kept in the
warehouse's ``release_noise`` and the budget spent in ``release_ledger`` (ρ per
measurement, the 365-day total), so that a rebuild of unchanged counts re-releases
the same values and spends nothing; the noise must be drawn where those live.
:func:`true_counts` gives the same counts collected, for a driver that wants them
as frames.

Held equal to DuckDB's reads, row for row, by ``tests/test_spark_release.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from pipelines.build.release import TRUE_COUNT_SELECTS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def true_counts(spark: SparkSession) -> dict[str, pd.DataFrame]:
    """The release's pre-noise counts from the lake's ``records`` view (``spark_build.register_lake``), collected."""
    result = {}
    for name, sql in TRUE_COUNT_SELECTS.items():
        frame = spark.sql(sql)
        result[name] = pd.DataFrame([r.asDict() for r in frame.collect()], columns=frame.columns)
    return result
