"""output/index.html: every assessment built into an output folder, linking its index and overview."""

from __future__ import annotations

from pathlib import Path

from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.files import write_atomic, writing
from hmicfrs_letters.core.load import load_yaml
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.schema import read_assessment
from hmicfrs_letters.core.templates import Templates

HOME_TEMPLATE = "base/home.html.j2"


def write_home(project: Project, out: Path | None = None) -> Path:
    """Write out/index.html: each of the project's assessments that has a build in the folder, in order."""
    out_root = (out or project.output_dir).resolve()
    entries = []
    for slug in project.assessments():
        if not (out_root / slug / "index.html").is_file():
            continue
        try:
            doc = load_yaml(project.assessment_file(slug), project.shown(project.assessment_file(slug)), project.data_dir)
        except LetterError:
            continue  # its build has already said what is wrong with it
        assessment = read_assessment(slug, doc, [])
        entries.append(
            {
                "slug": slug,
                "subject": assessment.subject or slug,
                "date": assessment.date,
                "overview": (out_root / slug / "overview.html").is_file(),
            }
        )
    path = out_root / "index.html"
    html = Templates(project.templates_dir).render(HOME_TEMPLATE, {"entries": entries})
    with writing(project.shown(path)):
        write_atomic(path, html)
    return path
