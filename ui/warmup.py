"""Server start: load what the landing page needs before the first browser arrives.

``streamlit run app.py`` serves ``app.py`` as an ``st.App`` (see the end of that
file), whose ``lifespan`` is :func:`lifespan`: before the server answers its
first request it imports the modules every page run needs (pandas, pyarrow,
DuckDB, pydeck, the query layer, the page helpers) and reads the shipped
reference geometry the maps are drawn from. Otherwise the first visitor's first
script run pays for all of it (about a second of CPU, most of the time to a cold
first map), while Chromium needs the same two cores to draw it.

Nothing here reads the warehouse or the control store: no viewer, no query, no
audit entry. It only fills process-wide import and reference-data caches that
the first run would fill anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

_LOG = logging.getLogger(__name__)

#: What a Statewide page run imports (the landing page); the other pages share most of it.
#: ``streamlit.emojis`` is imported (and its emoji pattern compiled, 0.14 s) by the first
#: ``st.set_page_config`` with an emoji icon; ``PIL.Image`` by the first ``st.image``.
MODULES = (
    "streamlit.emojis",
    "PIL.Image",
    "altair",  # st.line_chart on the Region page
    "pandas",
    "pyarrow",
    "duckdb",
    "pydeck",
    "h3",
    "routes.warehouse",
    "routes.accounts",
    "query.trends",
    "query.cells",
    "maps.decks",
    "maps.statewide_maps",
    "ui.session",
    "ui.chrome",
    "ui.filters",
    "ui.cache",
)


def warm_up() -> float:
    """Import :data:`MODULES` and read the reference geometry; returns the seconds it took."""
    started = time.perf_counter()
    for name in MODULES:
        importlib.import_module(name)
    from maps import layers

    layers.base_layers(labels=False)  # county outlines and highways, cached per process
    # Streamlit's first element of a process checks inspect.stack() (is this a REPL?);
    # the first stack walk maps every loaded module to its file (40-80 ms with these
    # modules loaded). Walk it once here so that map is ready.
    inspect.stack(context=0)
    return time.perf_counter() - started


@contextlib.asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """``st.App`` lifespan: warm up (off the event loop) before serving, nothing at shutdown."""
    seconds = await asyncio.to_thread(warm_up)
    _LOG.debug("warmed up in %.2f s", seconds)
    yield
