"""The audit manifest of a build: what went in, what came out, made by which versions.

output/<assessment>/manifest.json lists the SHA-256 of every input file (forces, the assessment
and its approved wording, each force's letter file, every template and asset) and of every file
in the output folder, the versions of the engine, WeasyPrint, pypdfium2 and Python, and each
letter's outcome, status and pages. It holds no clock time, so the same inputs give the same
manifest.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib.metadata import version
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


def manifest(batch: Batch, report: BuildReport, final: bool) -> dict[str, Any]:
    project, assessment = batch.project, batch.assessment
    inputs = [project.forces_file, project.assessment_file(assessment.slug)]
    inputs += [p for p in [project.wording_file(assessment.slug)] if p.is_file()]
    inputs += [item.source for item in batch.letters] + _files(project.templates_dir)
    outputs = [p for p in _files(report.out_dir) if p.name != MANIFEST]
    results = {r.slug: r for r in report.results}
    letters = {}
    for item in batch.letters:
        result, letter = results.get(item.slug), item.letter
        letters[item.slug] = {
            "force": letter.force.name if letter else None,
            "outcome": letter.outcome if letter else None,
            "status": item.status,
            "built": None if result is None else not result.failed,
            "pages": result.pages if result else None,
        }
    return {
        "assessment": assessment.slug,
        "final": final,
        "wording_sha256": assessment.wording_sha256 or None,
        "versions": {
            "hmicfrs-letters": __version__,
            "weasyprint": version("weasyprint"),
            "pypdfium2": version("pypdfium2"),
            "python": platform.python_version(),
        },
        "inputs": {project.shown(p): sha256_file(_folder_of(project, p), p, project.shown(p)) for p in inputs},
        "outputs": {p.relative_to(report.out_dir).as_posix(): sha256_file(report.out_dir, p, project.shown(p)) for p in outputs},
        "letters": letters,
    }


def write_manifest(batch: Batch, report: BuildReport, final: bool = False) -> Path:
    """Write manifest.json last, once every other output file is in place."""
    path = report.out_dir / MANIFEST
    write_atomic(path, json.dumps(manifest(batch, report, final), indent=2, ensure_ascii=False) + "\n")
    return path
