"""The hand-over folder says what it holds: the whole series or part of it, and what it leaves out and why."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import SOME_LETTERS
from hmicfrs_letters.core.status import REFUSALS

FINAL = Path("output") / "apsp-2017" / "final"
APPROVED = ("cleveland", "north-yorkshire")  # the fixture's two approved letters


def words(path: Path) -> str:
    """A page's text as read: tags taken out, whitespace folded."""
    return " ".join(re.sub(r"<[^>]+>", "", path.read_text()).split())


def test_a_final_build_of_two_letters_says_it_is_partial(project, letters):
    total = len(SOME_LETTERS)
    result = letters("build", "--final", "-r", "cleveland", "-r", "north-yorkshire")
    assert result.exit_code == 0, result.output
    manifest = json.loads((project / FINAL / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert sorted(manifest["letters"]) == list(APPROVED)
    assert len(manifest["left_out"]) == total - 2
    assert manifest["left_out"]["kent"] == "draft, pending"
    assert manifest["left_out"]["cumbria"] == "draft"
    index = words(project / FINAL / "index.html")
    assert f"2 of {total} letters: this is not the whole series. Left out: Avon and Somerset Constabulary (draft, pending)" in index
    assert "Kent Police (draft, pending)" in index
    home = (project / "output" / "index.html").read_text()
    assert 'href="apsp-2017/final/index.html">Letters to issue' in home
    assert f"2 of {total} letters: not the whole series" in words(project / "output" / "index.html")

    verify = letters("verify", "--final")
    assert verify.exit_code == 0  # a warning
    assert (
        f"warning: the hand-over folder holds 2 of {total} letters, not the whole series; left out: avon-and-somerset (draft, pending)"
        in verify.output
    )
    strict = letters("verify", "--final", "--strict")
    assert strict.exit_code == 1
    assert f"Error: output/apsp-2017/final/manifest.json: the hand-over folder holds 2 of {total} letters" in strict.output


def test_a_final_build_of_every_letter_says_it_is_complete(project, letters):
    for path in (project / "data" / "assessments" / "apsp-2017").glob("*.yaml"):
        if path.stem not in APPROVED:
            path.unlink()  # a series is the letters it has: these two
    result = letters("build", "--final")
    assert result.exit_code == 0, result.output
    manifest = json.loads((project / FINAL / "manifest.json").read_text())
    assert (manifest["complete"], manifest["left_out"]) == (True, {})
    assert "All 2 letters of the series." in words(project / FINAL / "index.html")
    assert "all 2 letters" in words(project / "output" / "index.html")
    verify = letters("verify", "--final", "--strict")
    assert verify.exit_code == 0, verify.output


def test_build_help_names_every_reason_a_final_build_refuses_a_letter(letters):
    text = " ".join(letters("build", "--help").output.split())
    for reason in REFUSALS:
        assert reason in text
    assert "fixed wording is not the approved wording" in text
