"""Step 4, write: files appear whole or not at all, and a write that fails is one clear error."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.load import MAX_FILE_BYTES
from hmicfrs_letters.core.reading import read_project_file

TEMP_PREFIX = ".tmp-"
# How much of the target's name a temporary file's name keeps: with the writer's process id and
# a random part added, the temporary name is never too long where the target's is not.
_NAME_KEPT = 100
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")
STOPPED = "the build stopped, earlier output is unchanged"


class NameTooLong(LetterError):
    """A write refused for its file's name alone (ENAMETOOLONG): it fails that file, not everything."""


def write_atomic(path: Path, data: bytes | str) -> bool:
    """Write via a temporary file in the same folder and a rename; False if the content was already there.

    A new file gets the user's umask, as any program's would (drafts are confidential: a umask
    of 077 keeps them private); a file replaced keeps its mode, and its owner where allowed.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if _holds(path, payload):
        return False
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
    """A new empty file beside `path`, open for writing, created with mode 0666 less the umask (mkstemp would make it 0600).

    The writer's process id is in its name: another build's start removes only the temporary files
    of writers that are gone.
    """
    while True:
        temp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name[:_NAME_KEPT]}.{secrets.token_hex(4)}")
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


def _holds(path: Path, payload: bytes) -> bool:
    """Whether the file already holds exactly this; never waits on a FIFO or reads a device left in its place."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        return stat.S_ISREG(info.st_mode) and info.st_size == len(payload) and os.read(fd, len(payload) + 1) == payload
    except OSError:
        return False
    finally:
        os.close(fd)


@contextmanager
def writing(shown: str, then: str = STOPPED) -> Iterator[None]:
    """A write that fails (its folder read-only or full) becomes one LetterError naming the file, and saying what happens `then`."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENAMETOOLONG:
            raise NameTooLong(Problem(shown, f"cannot write: {reason}")) from None
        raise LetterError(Problem(shown, f"cannot write: {reason}; {then}")) from None


def remove_stale_temps(folder: Path) -> None:
    """Remove the temporary files that writers no longer running left behind (an interrupted build);
    never those of a writer still at work, such as another build into the same folder."""
    if folder.is_dir():
        for temp in folder.rglob(TEMP_PREFIX + "*"):
            writer = _TEMP_NAME.match(temp.name)
            if writer is None or not _running(int(writer.group(1))):
                temp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


# How long a command waits for another that holds a file (`letters approve` counting pages, say).
LOCK_WAIT_SECONDS = 60.0


def read_data_file(within: Path, path: Path, shown: str) -> bytes | None:
    """A data file's bytes, read the one way in (core.reading: never a FIFO, a link out); None when there is no such file."""
    if not os.path.lexists(path):
        return None
    return read_project_file(within, path, shown, MAX_FILE_BYTES)


class HeldFile:
    """A file held while a command reads, checks and rewrites it.

    It is locked against other `letters` commands (a lock file in `locks`), read once, and
    written back only if it still holds the bytes that were read: an editor's save in between
    is neither lost nor taken as checked, and the command refuses instead, naming the file.
    """

    def __init__(self, path: Path, shown: str, locks: Path, within: Path) -> None:
        self.path, self.shown, self.within = path, shown, within
        from filelock import FileLock  # here: only the commands that change a file pay for its import

        name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        locks.mkdir(parents=True, exist_ok=True)
        # Named by the path's hash, with the start of its name to tell them apart: a name too long to write must not stop the lock.
        self._lock = FileLock(locks / f"{name}-{path.name[:64]}.lock", timeout=LOCK_WAIT_SECONDS)
        self.data: bytes | None = None  # None: there is no such file

    def __enter__(self) -> HeldFile:
        from filelock import Timeout

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
        return read_data_file(self.within, self.path, self.shown)

    def write(self, data: bytes, then: str = "the file is as it was") -> None:
        """Replace the file with `data` (atomically, keeping its mode), unless it changed since it was read;
        a write that fails says what happens `then`."""
        if self._read() != self.data:
            raise LetterError(Problem(self.shown, "changed on disk while this command was checking it; nothing was written: run it again"))
        with writing(self.shown, then=then):
            write_atomic(self.path, data)
