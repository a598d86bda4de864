"""Local accounts, for agencies without an identity provider.

Accounts live in the control store (:mod:`routes.control`), table ``accounts``:
the user name, an Argon2id hash of the password (never the password), the role,
the task force an ``analyst`` or ``lead`` is bound to, a ``disabled`` flag, and
the failed-attempt counter. After :data:`MAX_FAILED` failed sign-ins in a row an
account is locked for :data:`LOCKOUT` (an admin's password reset unlocks it).

Every change is written to the audit log by the admin who made it
(:func:`query.audit.record_event`).
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


def authenticate(user: str, password: str, *, now: datetime | None = None) -> Viewer:
    """Check a local sign-in; return the :class:`Viewer` it signs in as.

    Parameters
    ----------
    user, password
        What the person typed.
    now
        The time of the attempt (tests pass a clock); defaults to now.

    Raises
    ------
    AuthError
        Wrong user or password (one message for both), a disabled account, or an
        account locked after :data:`MAX_FAILED` failures (until the time named).
    """
    at = _now(now)
    con = _connect()
    try:
        row = con.execute("SELECT * FROM accounts WHERE user = ?", [user]).fetchone()
        if row is None:
            _verify(_DUMMY_HASH, password)  # same work as a real check
            raise AuthError("unknown user or wrong password; try again or ask an admin")
        if row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > at:
            until = datetime.fromisoformat(row["locked_until"]).strftime("%H:%M UTC")
            raise AuthError(
                f"account {user!r} is locked after {MAX_FAILED} failed sign-ins; "
                f"try again after {until} or ask an admin to reset the password"
            )
        if row["disabled"]:
            raise AuthError(f"account {user!r} is disabled; ask an admin")
        if not _verify(row["password_hash"], password):
            failed = (0 if row["locked_until"] else int(row["failed_attempts"])) + 1
            locked = (at + LOCKOUT).isoformat() if failed >= MAX_FAILED else None
            con.execute(
                "UPDATE accounts SET failed_attempts = ?, locked_until = ? WHERE user = ?",
                [0 if locked else failed, locked, user],
            )
            if locked:
                raise AuthError(
                    f"account {user!r} is now locked for {int(LOCKOUT.total_seconds() // 60)} minutes "
                    f"after {MAX_FAILED} failed sign-ins; ask an admin if you forgot the password"
                )
            raise AuthError("unknown user or wrong password; try again or ask an admin")
        con.execute(
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, last_sign_in = ? WHERE user = ?",
            [at.isoformat(), user],
        )
        return Viewer(user=user, role=row["role"], task_force=row["task_force"])
    finally:
        con.close()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
