"""The DuckDB build's memory limit: ``ROUTES_BUILD_MEMORY`` (default 3GB), spilling to disk past it.

Without a limit DuckDB takes up to 80 % of the machine for a build (the 10 M build
peaked at 9.3 GB, ``bench/RESULTS.md``), so a server's memory use depended on its
size and on what else ran. With one, the build's joins, aggregates and sorts
spill to a folder beside the warehouse (``.<warehouse>.spill``, emptied by DuckDB
when the build's connection closes) and the peak stays near the limit: slower
when it spills, predictable always.

The limit caps DuckDB's buffer pool, not the process: on top of it come Python
(the interpreter and its libraries, about 300 MiB, and the frames the Python
steps hold) and what DuckDB's allocator has freed but not yet handed back, which
lags a large statement by up to the size of its working set (``python -m
bench.bench_build_memory`` traces both per step). At 10 M records ``3GB``
(2.8 GiB) gave a 4.53 GiB peak; ``2GB`` was tried and is not the default: the
flows step's ``_flow_edges``/``flows`` statements spilled over 30 GB in five
minutes without finishing (``bench/RESULTS.md``, issue 21).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from routes.errors import RoutesError

DEFAULT_BUILD_MEMORY = "3GB"
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def build_memory() -> str:
    """``ROUTES_BUILD_MEMORY``, checked: a size DuckDB understands, such as ``3GB`` or ``512MiB``.

    >>> build_memory() if "ROUTES_BUILD_MEMORY" not in os.environ else "3GB"
    '3GB'
    """
    value = os.environ.get("ROUTES_BUILD_MEMORY", DEFAULT_BUILD_MEMORY)
    if not _SIZE.match(value):
        raise RoutesError(
            f"ROUTES_BUILD_MEMORY={value!r} is not a size; set it like 3GB, 2500MB or 4GiB"
        )
    return value.strip()


def spill_dir(warehouse_path: Path) -> Path:
    """Where a build of ``warehouse_path`` spills: a hidden folder beside it."""
    return warehouse_path.with_name(f".{warehouse_path.name}.spill")


def limit_build_memory(con: duckdb.DuckDBPyConnection, warehouse_path: Path) -> None:
    """Cap the build connection's memory at :func:`build_memory` and let it spill beside the warehouse."""
    limit = build_memory()
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute("SET temp_directory = ?", [str(spill_dir(warehouse_path))])
