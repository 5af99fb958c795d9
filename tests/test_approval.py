"""Issued means approved: an approval bound to what was checked, and a hand-over folder that holds
only what one final build verified."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import hmicfrs_letters.workflow.approve as approve_module
from conftest import letter_file
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.workflow.series import Workflow
from textutil import pdf_text

LETTERS = "data/assessments/apsp-2017"
EDITED = ("Your plans submitted", "Your plans, submitted")


def set_page_limit(project: Path, limit: int) -> None:
    path = project / "data" / "assessments" / "apsp-2017.yaml"
    text = path.read_text()
    path.write_text(text.replace(next(line for line in text.splitlines() if line.startswith("page_limit:")), f"page_limit: {limit}"))


# --- approving what was checked -------------------------------------------------------------


def test_a_save_while_approve_checks_the_letter_is_kept_and_not_approved(project, monkeypatch):
    path = letter_file(project, "cumbria")
    saved = path.read_text().replace(*EDITED)
    counting = Workflow.with_pages

    def an_editor_saves_meanwhile(*args, **kwargs):
        path.write_text(saved)  # while approve lays the letter out to count its pages
        return counting(*args, **kwargs)

    monkeypatch.setattr(Workflow, "with_pages", an_editor_saves_meanwhile)
    with Workflow.load(Project.at(project)) as work:
        (result,) = approve_module.approve(work, ["cumbria"], by="Jane Smith")
    assert result.reasons == ["changed on disk while this command was checking it; nothing was written: run it again"]
    assert path.read_text() == saved  # the save is kept, and not approved


@pytest.mark.parametrize("delay", [0.0, 0.4, 0.8, 1.2, 2.0])
def test_an_editor_racing_approve_loses_no_save_and_gets_no_unchecked_approval(project, delay):
    """An editor holding the draft saves an edit at some moment while `letters approve` runs, in another process."""
    path = letter_file(project, "cumbria")
    saved = path.read_text().replace(*EDITED)
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "approve", "cumbria", "--by", "Jane Smith"]
    editor = threading.Timer(delay, path.write_text, (saved,))
    approving = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    editor.start()
    out, err = approving.communicate(timeout=120)
    editor.join()
    text = path.read_text()
    assert EDITED[1] in text  # no lost save
    batch = load_batch(Project.at(project))
    letter = next(item.letter for item in batch.letters if item.slug == "cumbria")
    if letter.status == "approved":  # approved after the save: then what was approved is the edited letter
        check = subprocess.run([*command[:5], "check", "--no-pages"], capture_output=True, text=True, timeout=120)
        assert "cumbria.yaml" not in check.stdout, check.stdout
    else:
        assert approving.returncode == 1 or "approved by Jane Smith" in out  # refused, or approved and then saved over
    assert "Traceback" not in err


# --- the hand-over folder -------------------------------------------------------------------


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_the_final_folder_holds_exactly_the_letters_of_its_build(letters, project):
    assert letters("build", "--force", "cumbria", "--force", "kent").exit_code == 0  # drafts, in output/apsp-2017/
    assert letters("build", "--final", "--force", "cleveland").exit_code == 0
    result = letters("build", "--final", "--force", "north-yorkshire")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("output/apsp-2017/final/index.html")
    final = project / "output" / "apsp-2017" / "final"
    expected = {"html/north-yorkshire.html", "pdf/north-yorkshire.pdf", "index.html", "overview.html", "overview.pdf", "manifest.json"}
    assert files(final) == expected  # not Cleveland's of the build before, no draft
    manifest = json.loads((final / "manifest.json").read_text())
    assert manifest["final"] is True
    assert set(manifest["outputs"]) == expected - {"manifest.json"}
    assert set(manifest["letters"]) == {"north-yorkshire"}
    index = (final / "index.html").read_text()
    rows = [
        line for line in index.splitlines() if line.startswith('<th scope="row"')
    ]  # the letters it holds; the rest are named as left out
    assert any("North Yorkshire Police" in row for row in rows) and not any("Cumbria" in row for row in rows)
    assert "Cumbria Constabulary (draft)" in index
    assert [p.name for p in final.parent.iterdir() if p.name.startswith(".final-")] == []
    # The ordinary build's manifest does not take the final folder for its own output.
    assert letters("build", "--force", "kent").exit_code == 0
    ordinary = json.loads((final.parent / "manifest.json").read_text())
    assert not [name for name in ordinary["outputs"] if name.startswith("final/")]


def test_a_failed_letter_leaves_the_final_folder_as_it_was(letters, project):
    cleveland = letter_file(project, "cleveland")
    text = cleveland.read_text()
    start = text.index("  We were pleased")
    paragraph = text[start:]
    paragraphs = "\n\n".join([paragraph.replace("\n  ", " ").rstrip()] * 6) + "\n"
    cleveland.write_text(text.replace("findings: >-\n", "findings: |\n").replace(paragraph, paragraphs))  # three pages
    set_page_limit(project, 3)
    assert letters("approve", "cleveland").exit_code == 0
    assert letters("build", "--final", "--force", "cleveland", "--force", "north-yorkshire").exit_code == 0
    final = project / "output" / "apsp-2017" / "final"
    before = {name: (final / name).read_bytes() for name in files(final)}
    assert len(pdf_text(final / "pdf" / "cleveland.pdf")) > 0

    set_page_limit(project, 2)  # Cleveland's letter, now 3 pages, fails; North Yorkshire's does not
    result = letters("build", "--final", "--force", "cleveland", "--force", "north-yorkshire")
    assert result.exit_code == 1
    assert "the letter has 3 pages, over the limit of 2" in result.output
    assert "Error: output/apsp-2017/final: final build failed: nothing of it was kept, and the folder is as it was before" in result.output
    assert {name: (final / name).read_bytes() for name in files(final)} == before
    assert [p.name for p in final.parent.iterdir() if p.name.startswith(".final-")] == []


def test_an_ordinary_build_removes_the_files_of_a_failed_letter_and_of_a_force_gone(letters, project):
    out = project / "output" / "apsp-2017"
    assert letters("build", "--force", "cleveland", "--force", "kent").exit_code == 0
    assert (out / "pdf" / "cleveland.pdf").exists() and (out / "pdf" / "kent.pdf").exists()
    set_page_limit(project, 1)
    result = letters("build", "--force", "cleveland", "--format", "pdf")
    assert result.exit_code == 1
    assert not (out / "pdf" / "cleveland.pdf").exists()  # a letter that fails leaves no PDF under its name
    letter_file(project, "kent").unlink()
    set_page_limit(project, 2)
    assert letters("build", "--force", "sussex").exit_code == 0
    assert not (out / "pdf" / "kent.pdf").exists() and not (out / "html" / "kent.html").exists()
    assert "kent" not in json.loads((out / "manifest.json").read_text())["letters"]


def test_a_killed_final_build_leaves_no_new_folder_behind(letters, project):
    final = project / "output" / "apsp-2017"
    (final / ".final-deadbeef" / "pdf").mkdir(parents=True)  # as a killed final build would leave it
    assert letters("build", "--final", "--force", "cleveland").exit_code == 0
    assert sorted(p.name for p in final.iterdir() if p.name.startswith(".final")) == [".final.lock"]
