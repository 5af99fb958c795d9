"""Step 4, write: files appear whole or not at all, and a write that fails is one clear error."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem

TEMP_PREFIX = ".tmp-"
# How much of the target's name a temporary file's name keeps: with the writer's process id and
# mkstemp's random part added, the temporary name is never too long where the target's is not.
_NAME_KEPT = 100
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-")
STOPPED = "the build stopped, earlier output is unchanged"


class NameTooLong(LetterError):
    """A write refused for its file's name alone (ENAMETOOLONG): it fails that file, not everything."""


def write_atomic(path: Path, data: bytes | str) -> bool:
    """Write via a temporary file in the same folder and a rename; False if the content was already there."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if _holds(path, payload):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's process id in the name: another build's start removes only the temporary files of writers that are gone.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{os.getpid()}-{path.name[:_NAME_KEPT]}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True


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
