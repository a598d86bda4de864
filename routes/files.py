"""Owner-only files: the warehouse, the control store, snapshots and keys.

Everything Routes writes that holds case data or secrets is created mode 0600 in
folders it creates mode 0700. Existing folders are left as they are (the files in
them are owner-only all the same). A warehouse, control store or key file that the
group or others may read, e.g. one written by an older version with mode 0644, is
refused with the ``chmod`` that fixes it: :func:`check_owner_only`.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from pathlib import Path

from routes import settings
from routes.errors import ConfigError

log = logging.getLogger(__name__)

#: Mode of every file Routes creates that holds case data or secrets.
FILE_MODE = 0o600
#: Mode of every folder Routes creates for them.
FOLDER_MODE = 0o700


def private_folder(folder: Path) -> Path:
    """Create ``folder`` (and missing parents) mode 0700; leave an existing one as it is."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    for created in reversed(missing):
        try:
            created.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(created, FOLDER_MODE)  # mkdir's mode is masked by the umask
    return folder


def create_private(path: Path) -> bool:
    """Create an empty ``path`` mode 0600 if it is missing; return whether it was created."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def make_private(path: Path) -> None:
    """Set ``path`` to mode 0600 (a file Routes itself has just written)."""
    os.chmod(path, FILE_MODE)


def check_owner_only(path: Path, *, what: str) -> None:
    """Refuse ``path`` if its group or others may read or write it.

    Parameters
    ----------
    path
        An existing file (a missing one passes: its creator makes it 0600).
    what
        What the file is, for the message (``"the warehouse"``, ``"the token key"``).

    Raises
    ------
    ConfigError
        Naming the file, its mode and the ``chmod`` that fixes it.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "k"
    >>> create_private(f)
    True
    >>> check_owner_only(f, what="the key")
    >>> os.chmod(f, 0o644)
    >>> check_owner_only(f, what="the key")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    routes.errors.ConfigError: the key ... has mode 0644: the group or others may read it; ...
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        raise ConfigError(
            f"{what} {str(path)!r} has mode {mode:04o}: the group or others may read it; "
            f"make it owner-only with `chmod 600 {_quoted(path)}` and run again"
        )


def _quoted(path: Path) -> str:
    text = str(path)
    return text if all(c.isalnum() or c in "/._-" for c in text) else "'" + text.replace("'", "'\\''") + "'"


def check_key_outside(path: Path, *, what: str, setting: str, warehouse_dir: Path) -> Path:
    """``path`` resolved, or :class:`ConfigError` when it sits inside ``warehouse_dir``.

    A key inside the warehouse folder would travel with every copy of the
    warehouse. Checked by :func:`load_key_file`, and up front by long jobs (the
    demo set-up) so they fail before their work rather than after it.
    """
    key_path = path.resolve()
    warehouse_dir = warehouse_dir.resolve()
    if key_path.parent == warehouse_dir or warehouse_dir in key_path.parents:
        raise ConfigError(
            f"{what} {str(key_path)!r} sits inside the warehouse folder {str(warehouse_dir)!r}; "
            f"point {setting} somewhere else (the key must never travel with the warehouse)"
        )
    return key_path


def load_key_file(path: Path, *, what: str, setting: str, warehouse_dir: Path) -> bytes:
    """A secret key: created (32 random bytes, mode 0600) on first use, else checked and read.

    Parameters
    ----------
    path
        The key file.
    what
        What the key is, for messages (``"the token key"``).
    setting
        The environment variable that moves it, for messages (``"ROUTES_KEY_FILE"``).
    warehouse_dir
        The warehouse's folder: a key inside it is refused (it must never travel
        with the warehouse).

    Raises
    ------
    ConfigError
        The key sits inside the warehouse folder, the group or others may read it,
        or it is shorter than 16 bytes.
    """
    key_path = check_key_outside(path, what=what, setting=setting, warehouse_dir=warehouse_dir)
    if not key_path.exists():
        private_folder(key_path.parent)
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:  # another process created it meanwhile
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
            log.warning("Created %s at %s (mode 0600); keep a copy offline", what, key_path)
    check_owner_only(key_path, what=what)
    key = key_path.read_bytes()
    if len(key) < 16:
        raise ConfigError(
            f"{what} {str(key_path)!r} holds {len(key)} bytes; it needs at least 16 "
            "(delete it only if nothing was ever written with it)"
        )
    return key


def copy_private(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` as an owner-only file (a warehouse copy Routes will open)."""
    target.unlink(missing_ok=True)
    create_private(target)
    shutil.copyfile(source, target)  # keeps the 0600 of the file it writes into
    return target


_token_keys: dict[Path, bytes] = {}


def token_key(*, path: Path | None = None) -> bytes:
    """The HMAC key of identifier tokens (and what the session cookie's key derives from).

    Created (32 random bytes, mode 0600) on first use, refused inside the
    warehouse's folder or when others may read it (:func:`load_key_file`); read once
    per process. ``path`` defaults to :func:`routes.settings.key_file`.
    """
    key_path = (path or settings.key_file()).resolve()
    if key_path not in _token_keys:
        _token_keys[key_path] = load_key_file(key_path, what="the token key", setting="ROUTES_KEY_FILE",
                                              warehouse_dir=settings.warehouse_path().parent)
    return _token_keys[key_path]
