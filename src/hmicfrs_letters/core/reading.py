"""The one way in for every file the engine reads: data, templates, assets, the approved wording.

A file is read only when it is a regular file inside its folder (`data/`, `templates/`, …)
once every link is resolved, and never beyond a limit. Anything else is a one-line LetterError
naming the file: a link out of the folder (its content never reaches a letter), a link loop, a
FIFO, a device, a socket or a folder in a file's place. Nothing here blocks: a FIFO is refused
before it is opened, the file is opened without following a link and without waiting, and the
read stops one byte past the limit whatever `st_size` says (0 for devices and FIFOs).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_CHUNK = 1 << 20


def read_project_file(within: Path, path: Path, shown: str, limit: int, within_shown: str | None = None) -> bytes:
    """The bytes of a regular file that is inside `within` once links are resolved, at most `limit` of them.

    LetterError, as `shown: message`, for anything else. `within_shown` names the folder in
    messages (its own name by default: "data", "templates").
    """
    real = resolve_inside(within, path, shown, within_shown)
    try:
        # Refused before opening: opening a FIFO for reading waits for a writer, a device may act.
        _refuse_special(os.stat(real).st_mode, shown)
        fd = os.open(real, _FLAGS)
    except OSError as exc:
        raise LetterError(Problem(shown, _cannot_read(exc))) from None
    try:
        info = os.fstat(fd)
        _refuse_special(info.st_mode, shown)  # swapped for something else since the stat above
        if info.st_size > limit:
            raise LetterError(Problem(shown, f"file is too large ({info.st_size:,} bytes; the limit is {limit:,})"))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise LetterError(Problem(shown, _cannot_read(exc))) from None
    finally:
        os.close(fd)
    if size > limit:  # it grew while being read
        raise LetterError(Problem(shown, f"file is too large (over {limit:,} bytes, the limit)"))
    return b"".join(chunks)


def read_project_text(within: Path, path: Path, shown: str, limit: int, within_shown: str | None = None) -> str:
    """A text file read as read_project_file reads it; LetterError, at its line and column, if it is not UTF-8."""
    raw = read_project_file(within, path, shown, limit, within_shown)
    nul = raw.find(b"\0")
    if nul >= 0:  # a font, an image, a PDF: no encoding would make it text
        raise LetterError(Problem(shown, "a binary file, not text (it holds NUL bytes)", *_place(raw, nul)))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise LetterError(Problem(shown, message, *_place(raw, exc.start))) from None


def _place(raw: bytes, offset: int) -> tuple[int, int]:
    """The line and column (1-based) of a byte offset."""
    before = raw[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def resolve_inside(within: Path, path: Path, shown: str, within_shown: str | None = None) -> Path:
    """The real path of `path`, every link followed; LetterError when it is outside `within`, missing or a link loop."""
    try:
        root = Path(os.path.realpath(within, strict=True))
        real = Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LetterError(Problem(shown, "is a symbolic link in a loop; make it a file, or link it to one")) from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise LetterError(Problem(shown, "is a symbolic link to a file that does not exist")) from None
        raise LetterError(Problem(shown, _cannot_read(exc))) from None
    if not real.is_relative_to(root):
        folder = within_shown or within.name
        raise LetterError(Problem(shown, f"links to a file outside {folder}/; the engine reads only files that are in it"))
    return real


def _refuse_special(mode: int, shown: str) -> None:
    for test, kind in _KINDS:
        if test(mode):
            raise LetterError(Problem(shown, f"is {kind}, not a regular file; the engine reads only regular files"))
    if not stat.S_ISREG(mode):
        raise LetterError(Problem(shown, "is not a regular file; the engine reads only regular files"))


def _cannot_read(exc: OSError) -> str:
    return f"cannot read file: {exc.strerror or exc}"
