"""Local accounts, for agencies without an identity provider.

Accounts live in the control store (:mod:`routes.control`), table ``accounts``:
the user name, an Argon2id hash of the password (never the password), the role,
the task force an ``analyst`` or ``lead`` is bound to, a ``disabled`` flag, and
the failed-attempt counter. After :data:`MAX_FAILED` failed sign-ins in a row an
account is locked for :data:`LOCKOUT` (an admin's password reset unlocks it).
Every failed sign-in looks and takes the same (:func:`authenticate`).

Every change is written to the audit log by the admin who made it, and every
sign-in and failed sign-in as well (:func:`query.audit.record_event`).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from query import audit
from query.policy import Capability, capabilities_of
from query.viewer import RECORD_ROLES, ROLES, Viewer
from routes import control
from routes.errors import AccessDenied, AuthError, ConfigError

#: Failed sign-ins in a row before an account locks.
MAX_FAILED = 5
#: How long a locked account stays locked.
LOCKOUT = timedelta(minutes=10)
#: The shortest password accepted.
MIN_PASSWORD_LENGTH = 12

_USER = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
_HASHER = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile
_DUMMY_HASH = _HASHER.hash("routes-timing-equaliser")

_DDL = """
CREATE TABLE IF NOT EXISTS accounts (
    user TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    task_force TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_sign_in TEXT
);
"""


def _connect() -> sqlite3.Connection:
    con = control.connect()
    control.ensure_table(con, _DDL)
    return con


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters (got {len(password)}); "
            "use a longer passphrase"
        )


def _require_admin(by: Viewer) -> None:
    if not by.can(Capability.MANAGE_ACCOUNTS):
        raise AccessDenied(f"role {by.role!r} may not manage accounts; ask an admin")


def add_account(
    user: str, password: str, *, role: str, task_force: str | None = None, by: Viewer
) -> None:
    """Create a local account (admins only); the change is audited.

    Raises
    ------
    ConfigError
        A bad user name, role, task force or a short password; or the user exists.
    """
    _require_admin(by)
    if not _USER.match(user or ""):
        raise ConfigError(f"user name {user!r} must be 2-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if role in RECORD_ROLES and not task_force:
        raise ConfigError(f"role {role!r} needs --task-force (the task force whose records it may see)")
    if not capabilities_of(role) & {Capability.SEE_OWN_SOURCES_INTAKE, Capability.UPLOAD_OWN_SOURCES}:
        task_force = None  # a partner keeps one: its own sources are that task force's
    _check_password(password)
    stamp = _now(None).isoformat()
    con = _connect()
    try:
        con.execute(
            "INSERT INTO accounts (user, password_hash, role, task_force, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [user, _HASHER.hash(password), role, task_force, stamp, stamp],
        )
    except sqlite3.IntegrityError:
        raise ConfigError(f"account {user!r} exists already; use `users reset` to change its password") from None
    finally:
        con.close()
    audit.record_event(by, action="account_add", what=f"account {user!r} as {role!r}"
                       + (f" of task force {task_force!r}" if task_force else ""))


def list_accounts() -> pd.DataFrame:
    """Every account without its hash: user, role, task force, state, last sign-in."""
    con = _connect()
    try:
        rows = con.execute(
            "SELECT user, role, task_force, disabled, failed_attempts, locked_until, created_at, "
            "last_sign_in FROM accounts ORDER BY user"
        ).fetchall()
    finally:
        con.close()
    frame = pd.DataFrame(
        [dict(r) for r in rows],
        columns=["user", "role", "task_force", "disabled", "failed_attempts", "locked_until",
                 "created_at", "last_sign_in"],
    )
    frame["disabled"] = frame["disabled"].astype(bool)
    return frame


def _update(user: str, sql: str, params: list[object]) -> None:
    con = _connect()
    try:
        changed = con.execute(sql, [*params, user]).rowcount
    finally:
        con.close()
    if not changed:
        raise ConfigError(f"no account {user!r}; see `python -m pipelines users list`")


def set_disabled(user: str, disabled: bool = True, *, by: Viewer) -> None:
    """Disable (or re-enable) an account (admins only); audited."""
    _require_admin(by)
    _update(user, "UPDATE accounts SET disabled = ?, updated_at = ? WHERE user = ?",
            [int(disabled), _now(None).isoformat()])
    audit.record_event(by, action="account_disable" if disabled else "account_enable", what=f"account {user!r}")


def reset_password(user: str, password: str, *, by: Viewer) -> None:
    """Set a new password and clear a lockout (admins only); audited."""
    _require_admin(by)
    _check_password(password)
    _update(
        user,
        "UPDATE accounts SET password_hash = ?, failed_attempts = 0, locked_until = NULL, "
        "updated_at = ? WHERE user = ?",
        [_HASHER.hash(password), _now(None).isoformat()],
    )
    audit.record_event(by, action="account_reset", what=f"password of account {user!r}")


#: The one answer to every failed sign-in, whatever the reason (see :func:`authenticate`).
SIGN_IN_FAILED = (
    "unknown user or wrong password, or the account is locked or disabled; "
    "try again later or ask an admin"
)


def authenticate(user: str, password: str, *, now: datetime | None = None) -> Viewer:
    """Check a local sign-in; return the :class:`Viewer` it signs in as. Audited.

    Every failure (unknown user, wrong password, locked or disabled account) runs
    the same Argon2id check and raises the same :data:`SIGN_IN_FAILED`, so
    neither the answer nor its time tells them apart; the audit log
    (``sign_in_failed``) records the reason for admins. The failure count and the
    lock are read and written in one ``BEGIN IMMEDIATE`` transaction, so
    concurrent wrong passwords lock the account as surely as sequential ones.

    Parameters
    ----------
    user, password
        What the person typed.
    now
        The time of the attempt (tests pass a clock); defaults to now.

    Raises
    ------
    AuthError
        :data:`SIGN_IN_FAILED`. After :data:`MAX_FAILED` failures in a row the
        account is locked for :data:`LOCKOUT` (an admin's reset unlocks it).
    """
    at = _now(now)
    con = _connect()
    try:
        row = con.execute("SELECT password_hash FROM accounts WHERE user = ?", [user]).fetchone()
        checked_hash = _DUMMY_HASH if row is None else str(row["password_hash"])
        matches = _verify(checked_hash, password)  # the same work on every path
        con.execute("BEGIN IMMEDIATE")  # the read-check-write of the count below is one transaction
        try:
            reason, viewer = _settle(con, user, matches=matches, checked_hash=checked_hash, at=at)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    if viewer is None:
        audit.record_sign_in_failure(user, reason=reason)
        raise AuthError(SIGN_IN_FAILED)
    audit.record_event(viewer, action="sign_in", what=f"local account {user!r}")
    return viewer


def _settle(
    con: sqlite3.Connection, user: str, *, matches: bool, checked_hash: str, at: datetime
) -> tuple[str, Viewer | None]:
    """Inside the transaction: update the account; return (failure reason, viewer or None)."""
    row = con.execute("SELECT * FROM accounts WHERE user = ?", [user]).fetchone()
    if row is None:
        return "unknown user", None
    locked_until = datetime.fromisoformat(row["locked_until"]) if row["locked_until"] else None
    if locked_until is not None and locked_until > at:
        return f"account locked until {locked_until.isoformat(timespec='seconds')}", None
    if row["disabled"]:
        return "account disabled", None
    if not matches or row["password_hash"] != checked_hash:  # a reset meanwhile: check again
        failed = (0 if locked_until is not None else int(row["failed_attempts"])) + 1
        lock = (at + LOCKOUT).isoformat() if failed >= MAX_FAILED else None
        con.execute(
            "UPDATE accounts SET failed_attempts = ?, locked_until = ? WHERE user = ?",
            [0 if lock else failed, lock, user],
        )
        return "wrong password" + (f"; account now locked until {lock}" if lock else ""), None
    con.execute(
        "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, last_sign_in = ? WHERE user = ?",
        [at.isoformat(), user],
    )
    return "", Viewer(user=user, role=row["role"], task_force=row["task_force"])


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
