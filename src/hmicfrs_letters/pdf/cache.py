"""A content-addressed store of rendered PDFs, so an unchanged letter is not rendered again.

An entry's key is the SHA-256 of everything its PDF depends on: the letter's HTML (itself made
from its YAML, the assessment, forces.yaml and the templates), the standard the PDF claims, the
PDF stylesheet and assets, and the versions of this engine and of WeasyPrint. Each entry carries a checksum of its key, its
page count and its PDF, so a torn or corrupt entry, an entry copied under another key or one
whose page count was edited is detected, ignored and rendered again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from pathlib import Path

from hmicfrs_letters import __version__
from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.files import write_atomic
from hmicfrs_letters.core.models import PDF_UA
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.pdf import ASSETS_SHOWN, MAX_ASSET_BYTES

_MAGIC = b"HMICFRS-PDF-2\n"
_HEADER = struct.Struct(">32sI")  # checksum of key, pages and PDF; page count
# A letter's PDF is tens of kilobytes, one of hundreds of pages a few hundred.
MAX_ENTRY_BYTES = 100_000_000


def environment_digest(assets_dir: Path) -> str:
    """What every letter's PDF depends on beyond its HTML: assets and versions."""
    digest = hashlib.sha256(f"{__version__}\0".encode() + _weasyprint_version())
    for path in sorted(p for p in assets_dir.rglob("*") if p.is_file()):
        name = path.relative_to(assets_dir).as_posix()
        try:
            content = read_project_file(assets_dir, path, f"{ASSETS_SHOWN}/{name}", MAX_ASSET_BYTES, ASSETS_SHOWN)
        except LetterError as exc:  # refused when fetched too (a link out of the folder, say): its reason stands for it
            content = str(exc).encode()
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


class PdfCache:
    def __init__(self, folder: Path, environment: str) -> None:
        self.folder = folder
        self.environment = environment

    def key(self, html: str, standard: str = PDF_UA) -> str:
        """The entry of this HTML made as a PDF that claims `standard` (PDF/UA-1 alone, or PDF/A beside it)."""
        return hashlib.sha256(f"{self.environment}\0{standard}\0".encode() + html.encode()).hexdigest()

    def path(self, key: str) -> Path:
        """Where the entry of this key lives."""
        return self.folder / key[:2] / key

    def get(self, key: str) -> tuple[bytes, int] | None:
        """The PDF and its page count, or None when absent or damaged."""
        path = self.path(key)
        try:  # as the engine reads every file: a FIFO or a link left in the cache is no entry, not a hang
            raw = read_project_file(self.folder, path, str(path), MAX_ENTRY_BYTES)
        except LetterError:
            return None
        head = len(_MAGIC) + _HEADER.size
        if len(raw) < head or not raw.startswith(_MAGIC):
            return None
        checksum, pages = _HEADER.unpack_from(raw, len(_MAGIC))
        payload = raw[head:]
        if _checksum(key, pages, payload) != checksum:
            return None
        return payload, pages

    def put(self, key: str, pdf: bytes, pages: int) -> None:
        write_atomic(self.path(key), _MAGIC + _HEADER.pack(_checksum(key, pages, pdf), pages) + pdf)


def _checksum(key: str, pages: int, pdf: bytes) -> bytes:
    """Binds an entry to its key and page count: a valid entry of one letter is no entry of another."""
    return hashlib.sha256(f"{key}\0{pages}\0".encode() + pdf).digest()


def _weasyprint_version() -> bytes:
    """WeasyPrint's version, without importing it (half a second) or importlib.metadata (50 ms).

    Its __init__.py holds the version string, so hashing the file changes with every release.
    """
    spec = importlib.util.find_spec("weasyprint")
    if spec is None or spec.origin is None:
        return b"no weasyprint"
    return hashlib.sha256(Path(spec.origin).read_bytes()).digest()
