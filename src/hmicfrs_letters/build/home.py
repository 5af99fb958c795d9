"""output/index.html: every assessment built into an output folder, linking its index, overview and hand-over folder."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hmicfrs_letters.build.manifest import MANIFEST
from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.files import write_atomic, writing
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.core.schema import read_assessment
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import assessment_document

HOME_TEMPLATE = "base/home.html.j2"
# A manifest lists a few hundred files: far more is not one of ours.
MAX_MANIFEST_BYTES = 50_000_000


def write_home(project: Project, out: Path | None = None) -> Path:
    """Write out/index.html: each of the project's assessments that has a build in the folder, in order."""
    out_root = (out or project.output_dir).resolve()
    entries = []
    for slug in project.assessments():
        final = _final(out_root, slug)
        if not (out_root / slug / "index.html").is_file() and final is None:
            continue
        doc = assessment_document(project, slug, [])
        if doc is None:
            continue  # its build has already said what is wrong with it
        assessment = read_assessment(slug, doc, [])
        entries.append(
            {
                "slug": slug,
                "subject": assessment.subject or slug,
                "date": assessment.date,
                "overview": (out_root / slug / "overview.html").is_file(),
                "index": (out_root / slug / "index.html").is_file(),
                "final": final,
            }
        )
    path = out_root / "index.html"
    html = Templates(project.templates_dir).render(HOME_TEMPLATE, {"entries": entries})
    with writing(project.shown(path)):
        write_atomic(path, html)
    return path


def _final(out_root: Path, slug: str) -> dict[str, Any] | None:
    """The assessment's hand-over folder, when a final build made one: the day it was made, and whether it holds the whole series."""
    path = out_root / slug / "final" / MANIFEST
    try:
        record = json.loads(read_project_file(out_root, path, str(path), MAX_MANIFEST_BYTES))
        made = dt.date.fromtimestamp(path.stat().st_mtime)
    except (LetterError, OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    return {
        "made": made,
        "complete": record.get("complete") is True,
        "held": len(record.get("letters") or {}),
        "left_out": len(record.get("left_out") or {}),
    }
