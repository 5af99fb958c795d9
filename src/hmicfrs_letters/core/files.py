"""Step 4, write: files appear whole or not at all, and a write that fails is one clear error."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem

TEMP_PREFIX = ".tmp-"


def write_atomic(path: Path, data: bytes | str) -> bool:
    """Write via a temporary file in the same folder and a rename; False if the content was already there."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.read_bytes() == payload:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX + path.name + ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True


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
