"""``python -m pipelines query``: read aggregates through the query layer, as CSV.

The command line is one more reader and obeys the same rules as the app: it
calls the public readers of ``query/<module>.py`` with a :class:`Viewer` of the
role given by ``--as``, so small cells are suppressed and record-level data is
refused exactly as on the pages. Before printing, every frame is checked once
more for a count under k; one found is an error, never output. The CSV comes
from :func:`routes.safe_output.write_csv`: a cell a spreadsheet would run as a
formula gets a leading ``'`` and control characters are removed.

Examples::

    python -m pipelines query trends headline_figures --as leadership --from 2025-01
    python -m pipelines query cells cell_counts --as partner --param res=6 --counties 06037
    python -m pipelines query cells --list
    python -m pipelines query trends monthly_series --as analyst --task-force la --scope own

An analyst or lead reads the protected release (every agency's records) unless
``--scope own`` asks for its own task force's records only, exactly.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pandas as pd

from query import release
from query.cells import months_between
from query.filters import Filters
from query.suppression import count_columns_of, max_visible_count_below_k
from query.viewer import ALL_AGENCIES, ROLES, SCOPES, Viewer
from routes import safe_output
from routes.errors import ConfigError, RoutesError

#: The query modules the command reads through (those that exist).
MODULES = ("cells", "trends", "flows", "intake", "matches", "records", "moves", "circuits")

#: Modules named for their reader: ``query circuits`` is ``query moves circuits``.
ALIASES = {"circuits": ("moves", "circuits")}

#: Parameters that take a :class:`Filters` (``--param before=2024-01:2024-06`` sets a period).
FILTER_PARAMS = ("filters", "before", "after")

#: The reader used when none is named.
DEFAULT_READERS = {"cells": "cell_counts", "trends": "headline_figures", "flows": "flows", "moves": "observed_moves"}


class LeakError(RoutesError, RuntimeError):
    """A frame about to be printed holds a count under k (a bug in the query layer)."""


def readers_of(module_name: str) -> dict[str, Callable[..., Any]]:
    """The public readers of ``query.<module_name>``: names in ``__all__`` taking ``viewer`` first."""
    try:
        module = importlib.import_module(f"query.{module_name}")
    except ModuleNotFoundError as exc:
        raise ConfigError(f"no query module {module_name!r}; modules: {', '.join(MODULES)}") from exc
    found: dict[str, Callable[..., Any]] = {}
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, None)
        if inspect.isfunction(obj):
            params = list(inspect.signature(obj).parameters)
            if params and params[0] == "viewer":
                found[name] = obj
    return found


def frames_in(result: object, *, name: str = "result") -> Iterator[tuple[str, pd.DataFrame]]:
    """Every DataFrame inside a reader's result (itself, dataclass fields, dict values, tuples)."""
    if isinstance(result, pd.DataFrame):
        yield name, result
    elif isinstance(result, pd.Series):
        yield name, result.to_frame()
    elif dataclasses.is_dataclass(result) and not isinstance(result, type):
        scalars = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)
                   if isinstance(getattr(result, f.name), (int, float)) and not isinstance(getattr(result, f.name), bool)}
        if scalars:
            yield name, pd.DataFrame([scalars])
        for field in dataclasses.fields(result):
            yield from frames_in(getattr(result, field.name), name=field.name)
    elif isinstance(result, dict):
        scalars = {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if scalars:
            yield name, pd.DataFrame([scalars])
        for key, value in result.items():
            if not isinstance(value, (int, float, str, type(None))):
                yield from frames_in(value, name=str(key))
    elif isinstance(result, (list, tuple)):
        for i, value in enumerate(result):
            yield from frames_in(value, name=f"{name}[{i}]")


def _month(text: str) -> date:
    try:
        year, month = (int(x) for x in text.split("-")[:2])
        return date(year, month, 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"month {text!r} must look like 2025-03") from None


def _months_param(value: object, filters: Filters, *, reader: str) -> list[date]:
    """``--param months=2024-01:2024-06`` (or ``2024-01,2024-03``), else the months of ``--from``/``--to``."""
    if isinstance(value, str) and ":" in value:
        first, _, last = value.partition(":")
        return months_between(_month(first), _month(last))
    if isinstance(value, (str, tuple)):
        return sorted({_month(str(v)) for v in ((value,) if isinstance(value, str) else value)})
    if filters.start and filters.end:
        return months_between(filters.start, filters.end)
    raise ConfigError(
        f"{reader} reads several months: give them with --param months=2024-01:2024-06, or --from and --to"
    )


def _list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _param_value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if "," in text:
        return _list(text)
    return text


def _as_shown(viewer: Viewer, frame: pd.DataFrame, *, module: str) -> pd.DataFrame:
    """``frame`` as a release viewer reads it: a hidden count reads "fewer than 11", flows lose unmeasured figures.

    Exact viewers' frames are printed as read (a hidden count is an empty cell
    and ``suppressed`` is true).
    """
    if not release.reads_release(viewer):
        return frame
    if module == "flows":
        frame = release.drop_unreleased(viewer, frame)
    hidden = release.hidden_text(viewer)
    out = frame.copy()
    for column in count_columns_of(out):
        out[column] = out[column].astype(object).where(out[column].notna(), hidden)
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``query``."""
    p = subparsers.add_parser(
        "query", help="read aggregates through the query layer as CSV (same rules as the app)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("module", help=f"query module: {', '.join(MODULES)}")
    p.add_argument("reader", nargs="?", help="reader function (default per module; --list shows them)")
    p.add_argument("--list", action="store_true", help="list the module's readers and exit")
    p.add_argument("--as", dest="role", choices=ROLES, help="the role to read as (required)")
    p.add_argument("--task-force", help="the task force an analyst or lead is bound to")
    p.add_argument("--scope", choices=SCOPES, default=ALL_AGENCIES,
                   help="what an analyst or lead counts: 'all' agencies' records (the protected release, the "
                        "default) or its 'own' task force's records only (exact, small counts suppressed)")
    p.add_argument("--from", dest="start", type=_month, help="first month, YYYY-MM")
    p.add_argument("--to", dest="end", type=_month, help="last month, YYYY-MM")
    for name in ("trafficking_types", "record_types", "source_kinds", "regions", "counties", "task_forces", "indicators"):
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=_list, default=(), help="comma-separated")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a keyword argument of the reader (repeatable), e.g. res=6; "
                        "before=2024-01:2024-06 gives a filters argument its own period, "
                        "months=2024-01:2024-06 (or 2024-01,2024-03) the months a playback reads")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Call one reader as the given role; print its frames as CSV."""
    if args.module in ALIASES:
        args.module, args.reader = ALIASES[args.module][0], args.reader or ALIASES[args.module][1]
    readers = readers_of(args.module)
    if args.list:
        for name, fn in readers.items():
            print(f"{name}{inspect.signature(fn)}")
        return 0
    if not args.role:
        raise ConfigError(f"say which role to read as with --as ROLE ({', '.join(ROLES)})")
    name = str(args.reader or DEFAULT_READERS.get(args.module) or next(iter(readers), ""))
    if name not in readers:
        raise ConfigError(f"no reader {name!r} in query.{args.module}; readers: {', '.join(readers) or 'none'}")
    viewer = Viewer(user=f"cli:{getpass.getuser()}", role=args.role, task_force=args.task_force, scope=args.scope)
    filters = Filters(
        start=args.start, end=args.end,
        **{n: getattr(args, n) for n in ("trafficking_types", "record_types", "source_kinds", "regions",
                                         "counties", "task_forces", "indicators")},
    )
    kwargs: dict[str, object] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--param {item!r} must look like NAME=VALUE")
        kwargs[key.strip()] = _param_value(value.strip())
    fn = readers[name]
    for param in inspect.signature(fn).parameters:
        if param in FILTER_PARAMS:
            period = kwargs.get(param)
            if isinstance(period, str) and ":" in period:  # before=2024-01:2024-06
                first, _, last = period.partition(":")
                kwargs[param] = filters.with_period(_month(first), _month(last))
            else:
                kwargs.setdefault(param, filters)
    if "months" in inspect.signature(fn).parameters:  # the heatmap's playback reader
        kwargs["months"] = _months_param(kwargs.get("months"), filters, reader=name)
    try:
        result = fn(viewer, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}{inspect.signature(fn)}: {exc}") from None
    frames = list(frames_in(result, name=name))
    for label, frame in frames:
        worst = max_visible_count_below_k(frame, k=viewer.k)
        if worst is not None:
            raise LeakError(f"{name} returned a count of {worst} (under k={viewer.k}) in {label!r}; nothing printed")
    for label, frame in frames:
        if len(frames) > 1:
            print(f"# {safe_output.terminal_text(label)}")
        safe_output.write_csv(_as_shown(viewer, frame, module=args.module), sys.stdout)
    note = release.protection_note(viewer)
    if note:  # on stderr: the CSV on stdout stays machine-readable
        print(note, file=sys.stderr)
    outside = release.outside_flows_note(viewer, filters) if args.module == "flows" else None
    if outside:
        print(outside, file=sys.stderr)
    return 0
