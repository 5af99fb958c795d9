"""The audit manifest of a build: what went in, what came out, made by which versions.

output/<assessment>/manifest.json lists the SHA-256 of every input file (the recipient list, the
assessment and its approved wording, each letter file, every template and asset) and of every
file in the output folder, the versions of the engine, WeasyPrint, pypdfium2 and Python, the lock
file the dependencies were installed from (its SHA-256, and any package whose installed version is
not the locked one), and each letter's outcome, status, pages and approval record. It holds no clock time, so the same inputs give the same
manifest.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from hmicfrs_letters import __version__
from hmicfrs_letters.build.report import BuildReport
from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.files import TEMP_PREFIX, write_atomic
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.pdf import MAX_ASSET_BYTES

MANIFEST = "manifest.json"


# Files are hashed as the engine reads every file (core.reading): the largest input is a font,
# the largest output a PDF of a few hundred pages.
MAX_HASHED_BYTES = MAX_ASSET_BYTES


def sha256_file(within: Path, path: Path, shown: str) -> str | None:
    """A file's SHA-256, read as the engine reads every file, inside `within`; None when it cannot be
    (an input that cannot be read failed its letter already, with the reason)."""
    try:
        return hashlib.sha256(read_project_file(within, path, shown, MAX_HASHED_BYTES)).hexdigest()
    except LetterError:
        return None


def _folder_of(project: Project, path: Path) -> Path:
    return project.data_dir if path.is_relative_to(project.data_dir) else project.templates_dir


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(TEMP_PREFIX))


def _final_folder(name: str) -> bool:
    """The final build's folder (and its lock and new folder, while it is made), inside an ordinary build's."""
    return name == "final" or name.startswith(".final")


def manifest(batch: Batch, report: BuildReport, final: bool) -> dict[str, Any]:
    project, assessment = batch.project, batch.assessment
    inputs = [project.recipients_file(assessment.recipients), project.assessment_file(assessment.slug)]
    if assessment.extends:
        inputs.append(project.assessment_file(assessment.extends))
    inputs += [p for p in [project.wording_file(assessment.slug), project.variants_file(assessment.slug)] if p.is_file()]
    inputs += [item.source for item in batch.letters] + _files(project.templates_dir)
    # An ordinary build's folder holds the final build's folder too (final/): not this build's output.
    outputs = [p for p in _files(report.out_dir) if p.name != MANIFEST and not _final_folder(p.relative_to(report.out_dir).parts[0])]
    results = {r.slug: r for r in report.results}
    letters = {}
    for item in [r.item for r in report.results] if final else batch.letters:  # a hand-over folder lists what it holds
        result, letter = results.get(item.slug), item.letter
        letters[item.slug] = {
            "recipient": letter.recipient.name if letter else None,
            "outcome": (letter.outcome or None) if letter else None,
            "status": str(report.states[item.slug].status),
            "built": None if result is None else not result.failed,
            "pages": result.pages if result else None,
        }
        if letter and letter.approved:
            record = letter.approved
            letters[item.slug]["approved"] = {"by": record.by, "on": record.on.isoformat(), "sha256": record.sha256}
        if letter:
            letters[item.slug]["issued"] = letter.issued.as_json() if letter.issued else None
    left_out = report.left_out() if final else {}
    return {
        "assessment": assessment.slug,
        "final": final,
        # A hand-over folder says whether it is the whole series, and what it leaves out and why.
        **({"complete": not left_out, "left_out": left_out} if final else {}),
        "wording_sha256": assessment.wording_sha256 or None,
        "variants_sha256": assessment.variants_sha256 or None,  # the wording of the templates' other paths
        "pdf_standard": assessment.standard(final),  # what its PDFs claim: PDF/UA-1, or PDF/A beside it
        "versions": {
            "hmicfrs-letters": __version__,
            "weasyprint": version("weasyprint"),
            "pikepdf": version("pikepdf"),
            "pypdfium2": version("pypdfium2"),
            "python": platform.python_version(),
        },
        "lock": lock_record(),
        "inputs": {project.shown(p): sha256_file(_folder_of(project, p), p, project.shown(p)) for p in inputs},
        "outputs": {p.relative_to(report.out_dir).as_posix(): sha256_file(report.out_dir, p, project.shown(p)) for p in outputs},
        "letters": letters,
    }


# The lock file that pins the whole dependency tree, with hashes (`make lock`): package data of this
# package, so that it is found however the engine is installed, editable or not.
LOCK_FILE = Path(__file__).resolve().parent.parent / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def lock_record(lock: Path = LOCK_FILE) -> dict[str, Any] | None:
    """The lock file the engine was installed from: its SHA-256, and the packages whose installed version is not the one it pins.

    None when the package was installed without its lock file.
    """
    try:
        raw = lock.read_bytes()
    except OSError:
        return None
    text = raw.decode("utf-8", errors="replace")
    differs = {}
    for name, pinned in _PIN.findall(text):
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            differs[name] = {"locked": pinned, "installed": installed}
    return {"file": lock.name, "sha256": hashlib.sha256(raw).hexdigest(), "differs": differs}


def write_manifest(batch: Batch, report: BuildReport, final: bool = False) -> Path:
    """Write manifest.json last, once every other output file is in place."""
    path = report.out_dir / MANIFEST
    write_atomic(path, json.dumps(manifest(batch, report, final), indent=2, ensure_ascii=False) + "\n")
    return path
