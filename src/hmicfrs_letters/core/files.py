"""Step 4, write: files appear whole or not at all, and a write that fails is one clear error."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from hmicfrs_letters.core.errors import LetterError, Problem

TEMP_PREFIX = ".tmp-"


def write_atomic(path: Path, data: bytes | str) -> bool:
    """Write via a temporary file in the same folder and a rename; False if the content was already there.

    A new file gets the user's umask, as any program's would (drafts are confidential: a umask
    of 077 keeps them private); a file replaced keeps its mode, and its owner where allowed.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.read_bytes() == payload:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        _keep_mode_and_owner(path, temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new empty file beside `path`, open for writing, created with mode 0666 less the umask (mkstemp would make it 0600)."""
    while True:
        temp = path.with_name(f"{TEMP_PREFIX}{path.name}.{secrets.token_hex(4)}")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:
            continue


def _keep_mode_and_owner(path: Path, temp: Path) -> None:
    try:
        old = path.stat()
    except FileNotFoundError:
        return
    os.chmod(temp, stat.S_IMODE(old.st_mode))
    # Only root may give a file to another user; a group is kept where we belong to it.
    with contextlib.suppress(PermissionError):
        os.chown(temp, old.st_uid, old.st_gid)


@contextmanager
def writing(shown: str) -> Iterator[None]:
    """A write that fails (its folder read-only or full) becomes one LetterError naming the file."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise LetterError(Problem(shown, f"cannot write: {reason}; the build stopped, earlier output is unchanged")) from None


def remove_stale_temps(folder: Path) -> None:
    """Remove temporary files an interrupted earlier build may have left behind."""
    if folder.is_dir():
        for temp in folder.rglob(TEMP_PREFIX + "*"):
            temp.unlink(missing_ok=True)


# How long a command waits for another that holds a file (`letters approve` counting pages, say).
LOCK_WAIT_SECONDS = 60.0


class HeldFile:
    """A file held while a command reads, checks and rewrites it.

    It is locked against other `letters` commands (a lock file in `locks`), read once, and
    written back only if it still holds the bytes that were read: an editor's save in between
    is neither lost nor taken as checked, and the command refuses instead, naming the file.
    """

    def __init__(self, path: Path, shown: str, locks: Path) -> None:
        self.path, self.shown = path, shown
        name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        locks.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(locks / f"{name}-{path.name}.lock", timeout=LOCK_WAIT_SECONDS)
        self.data: bytes | None = None  # None: there is no such file

    def __enter__(self) -> HeldFile:
        try:
            self._lock.acquire()
        except Timeout:
            raise LetterError(
                Problem(self.shown, "another `letters` command is changing this file; try again once it has finished")
            ) from None
        try:
            self.data = self._read()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LetterError(Problem(self.shown, f"cannot read file: {exc.strerror or exc}")) from None

    def write(self, data: bytes) -> None:
        """Replace the file with `data` (atomically, keeping its mode), unless it changed since it was read."""
        if self._read() != self.data:
            raise LetterError(Problem(self.shown, "changed on disk while this command was checking it; nothing was written: run it again"))
        write_atomic(self.path, data)
