"""Seconds per ingest stage, kept by the caller that asks for them (``bench/bench_ingest.py``).

The stages: ``read``, ``prepare`` (of which ``dates``, ``geocode``, ``tokenise``),
``stage``, ``merge``, ``wait`` (for the file read ahead in a thread) and
``snapshot`` (the warehouse copy and its swap).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator


class StageSeconds(defaultdict[str, float]):
    """Seconds per stage, added to in place by :meth:`timed` (a new one per call unless the caller passes one).

    >>> seconds = StageSeconds()
    >>> with seconds.timed("read"):
    ...     pass
    >>> list(seconds)
    ['read']
    """

    def __init__(self) -> None:
        super().__init__(float)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the seconds the block takes to ``stage``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self[stage] += time.perf_counter() - started
