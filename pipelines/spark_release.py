"""The protected release's pre-noise measurements on Spark (:mod:`pipelines.build_release`).

The release reads ``records`` three times, for the true counts its measurements are
made from (:data:`~pipelines.build_release.TRUE_COUNT_SELECTS`: per month and county,
per month and res-6 cell, per year and county pair). Those reads are what grows with
the records; Spark runs them here with the DuckDB step's very text, and what they give
is small (bounded by months × counties × types, whatever the records' number).

Not yet a step of :data:`pipelines.spark_build.SPARK_STEPS`: the noise cannot be drawn
where the counts are computed. ``build_release`` keeps each key's noise in
``release_noise`` and the budget spent in ``release_ledger`` (ρ per measurement, the
365-day total), both in the live warehouse, so that a rebuild of unchanged counts
re-releases the same values and spends nothing. The noise step therefore belongs to
``release load`` (in the warehouse's write snapshot, on these collected counts), which
is the next change; until then ``build --engine spark`` writes no release tables.

Held equal to DuckDB's reads, row for row, by ``tests/test_spark_release.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from pipelines.build_release import TRUE_COUNT_SELECTS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def true_counts(spark: SparkSession) -> dict[str, pd.DataFrame]:
    """The release's pre-noise counts from the lake's ``records`` view (``spark_build.register_lake``), collected."""
    result = {}
    for name, sql in TRUE_COUNT_SELECTS.items():
        frame = spark.sql(sql)
        result[name] = pd.DataFrame([r.asDict() for r in frame.collect()], columns=frame.columns)
    return result
