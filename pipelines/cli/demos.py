"""``setup-demo`` and ``demo``: the demo warehouse for ``make run``, and the demo agency exports.

The work is in :mod:`pipelines.demo.setup` and :mod:`pipelines.demo`; this module
only reads the options and prints what was done.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines import demo
from pipelines.demo.setup import DEFAULT_SEED, setup_demo
from routes import settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``setup-demo [--records N] [--seed S] [--force]`` and ``demo``."""
    parser = subparsers.add_parser(
        "setup-demo", help="generate the demo exports, ingest them and build the warehouse"
    )
    parser.add_argument("--records", type=int, default=None,
                        help="demo size (default: ROUTES_DEMO_RECORDS, 60000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    parser.add_argument("--force", action="store_true",
                        help="regenerate the files and replace an existing warehouse")
    parser.set_defaults(func=_setup_demo)

    parser = subparsers.add_parser(
        "demo", help="write deterministic demo exports, profiles and ground truth",
        description="Write demo agency exports, mapping profiles, a source registry, "
                    "planned operations and ground_truth.json.")
    parser.add_argument("--records", type=int, default=None,
                        help="about how many records (default: ROUTES_DEMO_RECORDS, 60000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: ROUTES_DEMO_DIR, data/demo)")
    parser.add_argument("--dirt-rate", type=float, default=0.03,
                        help="share of rows planted bad (default 0.03)")
    parser.set_defaults(func=_demo)


def _setup_demo(args: argparse.Namespace) -> int:
    done = setup_demo(records=args.records, seed=args.seed, force=args.force)
    if done.skipped:
        print(f"A warehouse already exists at {done.warehouse_path}; pass --force to rebuild it.")
        return 0
    rows = sum(b.rows_read for b in done.batches)
    print(
        f"Demo warehouse ready at {done.warehouse_path}: {len(done.batches)} files, "
        f"{rows:,} rows read" + ("" if done.built else " (derived tables not built)")
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The ``demo`` command: generate and print a one-line summary per file."""
    out = args.out or settings.demo_dir()
    records = args.records if args.records is not None else settings.demo_records()
    truth = demo.generate_demo(out, records=records, seed=args.seed, dirt_rate=args.dirt_rate)
    for rel, t in truth["files"].items():
        print(f"{rel}: {t['rows']:,} rows ({t['loaded']:,} new, {t['updated']:,} updated, "
              f"{t['duplicates']:,} duplicate, {t['quarantined']:,} bad)")
    print(f"Wrote {truth['rows_written']:,} rows from {len(demo.SOURCES)} sources to {out}")
    return 0
