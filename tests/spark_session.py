"""One local Spark session for the tests marked ``spark``: one JVM, ``local[2]``, 1 GB, stopped at the end.

Import the fixture into a test module with ``from tests.spark_session import spark``.
Without Java or pyspark the tests are skipped with a message, except under CI
(``.ci/run`` installs both), where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The shared local Spark session."""
    missing = [
        what
        for what, ok in (
            ("Java (apt-get install openjdk-17-jre-headless)", shutil.which("java") or os.environ.get("JAVA_HOME")),
            ("pyspark (pip install -r requirements-dev.txt)", importlib.util.find_spec("pyspark")),
        )
        if not ok
    ]
    if missing:
        message = "the Spark tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from pipelines.spark_build import spark_session

    session = spark_session("local[2]", driver_memory="1g")
    yield session
    session.stop()
