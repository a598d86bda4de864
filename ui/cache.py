"""Caching of query-layer reads in the app, keyed on the warehouse snapshot.

``snapshot_cached(fn)`` wraps a library function with ``st.cache_data``; every
call adds the live warehouse's :func:`routes.warehouse.snapshot_version`, so a
new snapshot (a build or an ingest) is read at the next rerun and stale results
are never served.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from routes import warehouse

T = TypeVar("T")


@st.cache_data(max_entries=512, show_spinner=False)
def _call(name: str, version: tuple[int, int] | None, _fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    return _fn(*args, **kwargs)


def snapshot_cached(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` with its results cached per (function, warehouse snapshot, arguments).

    Arguments must be hashable by Streamlit (viewers and filters are frozen
    dataclasses; ints, strings, tuples).
    """
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> T:
        return _call(name, warehouse.snapshot_version(), fn, args, kwargs)

    return call
