"""``python -m pipelines geocode``: a thin CLI over :mod:`geo.geocode`.

Two forms::

    python -m pipelines geocode "I-5 near Lodi" "Reno, NV"      # one JSON object per line
    python -m pipelines geocode --in FILE --column COL --out FILE  # CSV or Parquet in and out

The file form writes the input's columns with :data:`geo.geocode.GEOCODE_COLUMNS`
beside them (prefixed ``geo_`` where a name is already taken).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from geo.geocode import GEOCODE_COLUMNS, geocode, geocode_locations
from routes.errors import IngestError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``geocode`` command."""
    parser = subparsers.add_parser(
        "geocode",
        help="geocode strings or a column of a CSV/Parquet file (offline)",
        description="Geocode California locations offline. Prints one JSON object per "
        "text, or with --in/--column writes the result columns beside the input.",
    )
    parser.add_argument("texts", nargs="*", help="locations to geocode")
    parser.add_argument("--in", dest="in_path", type=Path, help="CSV or Parquet file to read")
    parser.add_argument("--column", help="the column of --in holding the locations")
    parser.add_argument("--out", type=Path, help="CSV or Parquet file to write (default: CSV on stdout)")
    parser.add_argument("--role", choices=("destination", "origin"), default="destination",
                        help="destination (default) rejects places outside California; "
                        "origin keeps them at state or country precision")
    parser.set_defaults(func=geocode_command)


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise IngestError(f"input file {str(path)!r} does not exist; check the --in path")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])


def _write(frame: pd.DataFrame, path: Path | None) -> None:
    if path is None:
        frame.to_csv(sys.stdout, index=False)
    elif path.suffix.lower() in (".parquet", ".pq"):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)


def geocode_command(args: argparse.Namespace) -> int:
    """Run ``geocode``; returns the process exit code (2 for a usage error)."""
    if args.in_path is None:
        if not args.texts:
            print("geocode: give texts to geocode, or --in FILE --column COL", file=sys.stderr)
            return 2
        for text in args.texts:
            print(json.dumps({"text": text, **_jsonable(geocode(text, role=args.role))}))
        return 0
    if args.texts:
        print("geocode: give either texts or --in, not both", file=sys.stderr)
        return 2
    try:
        frame = _read(args.in_path)
    except (IngestError, ValueError, OSError) as exc:
        print(f"geocode: {exc}", file=sys.stderr)
        return 2
    if args.column not in frame.columns:
        print(f"geocode: column {args.column!r} is not in {str(args.in_path)!r}; "
              f"columns: {', '.join(map(str, frame.columns))}", file=sys.stderr)
        return 2
    result = geocode_locations(frame[args.column], role=args.role)
    taken = set(frame.columns)
    result.columns = [f"geo_{c}" if c in taken else c for c in GEOCODE_COLUMNS]
    out = pd.concat([frame, result], axis=1)
    _write(out, args.out)
    placed = int(result.iloc[:, -1].isna().sum())
    print(f"Geocoded {len(out)} rows of {args.column!r}: {placed} placed, "
          f"{len(out) - placed} with an error", file=sys.stderr)
    return 0
