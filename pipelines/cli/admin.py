"""Admin commands: ``users``, ``audit verify`` and ``retention review|purge``.

Whoever runs these has the machine, so they act as ``admin`` under the name
``cli:<os user>``; every change is written to the audit log.

Examples::

    python -m pipelines users add maria --role analyst --task-force la   # asks for the password
    python -m pipelines users list
    python -m pipelines users disable maria
    python -m pipelines users reset maria --password-stdin < newpass.txt
    python -m pipelines audit head            # note the printed SEQ:MAC somewhere safe
    python -m pipelines audit verify
    python -m pipelines audit verify --against 1234:9f86d08…   # or a copy of the anchor file
    python -m pipelines retention review
    python -m pipelines retention purge --yes
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date

from pipelines import retention
from pipelines.retention import RETENTION_YEARS
from query import audit
from query.viewer import ROLES, Viewer
from routes import accounts, safe_output
from routes.errors import AuditChainError, ConfigError


def cli_admin() -> Viewer:
    """The admin the command line acts as."""
    return Viewer(user=f"cli:{getpass.getuser()}", role="admin")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ConfigError("the two passwords differ; run the command again")
    return first


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``users``, ``audit`` and ``retention``."""
    users = subparsers.add_parser("users", help="local accounts: add, list, disable, reset")
    u = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = u.add_parser("add", help="create an account")
    add.add_argument("user")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--task-force", help="required for analyst and lead")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=_users_add)
    u.add_parser("list", help="list accounts").set_defaults(func=_users_list)
    dis = u.add_parser("disable", help="disable an account (or --enable it again)")
    dis.add_argument("user")
    dis.add_argument("--enable", action="store_true")
    dis.set_defaults(func=_users_disable)
    reset = u.add_parser("reset", help="set a new password (also unlocks)")
    reset.add_argument("user")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(func=_users_reset)

    aud = subparsers.add_parser("audit", help="the audit log")
    a = aud.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    ver = a.add_parser("verify", help="check the audit log's MAC chain against its anchor")
    ver.add_argument("--against", metavar="HEAD_OR_FILE",
                     help="a head SEQ:MAC noted from `audit head`, or a copy of the anchor file "
                          "(default: the anchor file, ROUTES_AUDIT_ANCHOR)")
    ver.set_defaults(func=_audit_verify)
    a.add_parser("head", help="print the log's head SEQ:MAC for you to keep").set_defaults(func=_audit_head)

    ret = subparsers.add_parser("retention", help=f"records {RETENTION_YEARS} years after validation")
    r = ret.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    for name, func, text in (("review", _retention_review, "list records due for review"),
                             ("purge", _retention_purge, "remove records due for review")):
        p = r.add_parser(name, help=text)
        p.add_argument("--as-of", type=date.fromisoformat, help="the day to count from (default today)")
        if name == "purge":
            p.add_argument("--yes", action="store_true", help="really remove them")
        p.set_defaults(func=func)


def _users_add(args: argparse.Namespace) -> int:
    accounts.add_account(args.user, _password(args), role=args.role, task_force=args.task_force, by=cli_admin())
    print(f"added {args.user!r} as {args.role}" + (f" of {args.task_force}" if args.task_force else ""))
    return 0


def _users_list(args: argparse.Namespace) -> int:
    accounts.list_accounts().to_csv(sys.stdout, index=False)
    return 0


def _users_disable(args: argparse.Namespace) -> int:
    accounts.set_disabled(args.user, not args.enable, by=cli_admin())
    print(f"{'enabled' if args.enable else 'disabled'} {args.user!r}")
    return 0


def _users_reset(args: argparse.Namespace) -> int:
    accounts.reset_password(args.user, _password(args), by=cli_admin())
    print(f"reset the password of {args.user!r} (and cleared any lockout)")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    try:
        n = audit.verify_chain(against=args.against)
    except AuditChainError as exc:
        print(f"audit log does NOT verify: {exc}", file=sys.stderr)
        return 2
    print(f"audit log verified: {n} entries, chain intact and matching its anchor; head {audit.head()}")
    return 0


def _audit_head(args: argparse.Namespace) -> int:
    print("Keep this line somewhere the control store's writers cannot reach; "
          "`audit verify --against` it later:", file=sys.stderr)
    print(audit.head())
    return 0


def _retention_review(args: argparse.Namespace) -> int:
    due = retention.records_due(as_of=args.as_of)
    quarantined = retention.quarantine_due(as_of=args.as_of)
    audit.record_event(cli_admin(), action="retention_review",
                       what=f"{len(due)} records validated before {retention.cutoff(args.as_of).date()}, "
                            f"{quarantined} quarantined rows")
    safe_output.write_csv(due, sys.stdout)
    print(f"{len(due)} records are due for review (and {quarantined} quarantined rows)", file=sys.stderr)
    return 0


def _retention_purge(args: argparse.Namespace) -> int:
    due = retention.records_due(as_of=args.as_of)
    quarantined = retention.quarantine_due(as_of=args.as_of)
    if not args.yes:
        print(f"{len(due)} records and {quarantined} quarantined rows would be removed; "
              "run again with --yes to remove them", file=sys.stderr)
        return 1
    result = retention.purge(by=cli_admin(), as_of=args.as_of)
    audit.record_event(cli_admin(), action="retention_purge", what=result.format())
    print(f"{result.format()}; the warehouse was rewritten without them and its aggregates rebuilt")
    return 0
