"""``vendor``: copy and validate the public reference extracts into ``data/reference/``.

The work is in :mod:`pipelines.vendor_reference`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.vendor_reference import validate_reference, vendor_reference
from routes import settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``vendor`` command."""
    parser = subparsers.add_parser(
        "vendor", help="copy and validate reference data into data/reference/"
    )
    parser.add_argument(
        "--from", dest="source_dir", type=Path, default=settings.REPO_ROOT.parent / "shared" / "reference",
        help="folder of the public extracts (default: ../shared/reference)",
    )
    parser.set_defaults(func=_vendor)


def _vendor(args: argparse.Namespace) -> int:
    copied = vendor_reference(args.source_dir)
    counts = validate_reference()
    print(f"vendored {len(copied)} files; valid: {counts}")
    return 0
