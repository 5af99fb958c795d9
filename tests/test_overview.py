"""The national overview and the audit manifest, built with the letters, checked against the data itself."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from hmicfrs_letters import __version__
from textutil import html_lines, pdf_text

OUT = "output/apsp-2017"
# The national overview: of the whole series, every force in its outcome.
pytestmark = pytest.mark.all_letters


def data(project: Path) -> tuple[dict, dict[str, dict], dict[str, str]]:
    """The assessment, each force's letter file and each force's name, read straight from the YAML."""
    folder = project / "data" / "assessments"
    assessment = yaml.safe_load((folder / "apsp-2017.yaml").read_text())
    letters = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((folder / "apsp-2017").glob("*.yaml"))}
    names = {
        f["slug"]: f["name"] for f in yaml.safe_load((project / "data" / "recipients" / "police-forces.yaml").read_text())["recipients"]
    }
    return assessment, letters, names


@pytest.fixture
def overview(letters, project) -> str:
    result = letters("build", "--format", "html")
    assert result.exit_code == 0, result.output
    return (project / OUT / "overview.html").read_text()


def table_rows(html: str) -> dict[str, list[int]]:
    rows = {}
    for row in re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", html, re.S):
        rows[row[0]] = [int(n) for n in re.findall(r'<td class="number">(\d+)</td>', row[1])]
    return rows


def test_the_table_counts_forces_per_outcome_as_the_data_does(overview, project):
    assessment, letters, _ = data(project)
    outcomes = Counter(letter["outcome"] for letter in letters.values())
    approved = Counter(letter["outcome"] for letter in letters.values() if letter["status"] == "approved")
    rows = table_rows(overview)
    for category in assessment["categories"]:
        count = outcomes[category["key"]]
        assert rows[category["label"]] == [count, approved[category["key"]], count - approved[category["key"]]]
    assert rows["Outcome pending"] == [outcomes["pending"], 0, outcomes["pending"]]
    drafts = sum(letter["status"] == "draft" for letter in letters.values())
    assert rows["All forces"] == [len(letters), len(letters) - drafts, drafts]
    assert sum(outcomes.values()) == 43


def test_the_chart_has_a_bar_per_outcome_scaled_to_its_count(overview, project):
    assessment, letters, _ = data(project)
    outcomes = Counter(letter["outcome"] for letter in letters.values())
    svg = re.search(r"<svg.*?</svg>", overview, re.S).group(0)
    bars = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    counts = [outcomes[c["key"]] for c in assessment["categories"]] + [outcomes["pending"]]
    assert len(bars) == len(counts) == 5
    largest = max(counts)
    assert bars == [max(round(c / largest * 520, 1), 1) for c in counts]
    assert 'role="img"' in svg and "<title" in svg


def test_the_forces_in_each_outcome_and_the_drafts_are_listed(overview, project):
    assessment, letters, names = data(project)
    lines = [text for text, _ in html_lines(overview)]
    for category in assessment["categories"]:
        expected = sorted(names[slug] for slug, letter in letters.items() if letter["outcome"] == category["key"])
        heading = lines.index(f"{category['label']} ({len(expected)})")
        assert lines[heading + 1] == ", ".join(expected) + "."
    pending = sum(letter["outcome"] == "pending" for letter in letters.values())
    drafts = sum(letter["status"] == "draft" for letter in letters.values())
    assert (
        f"Provisional. {43 - drafts} of 43 letters approved; {drafts} letters are still draft, {pending} forces' outcomes are pending."
        in lines
    )


def test_a_change_in_the_data_shows_in_the_overview(letters, project):
    path = project / "data" / "assessments" / "apsp-2017" / "kent.yaml"
    path.write_text("outcome: all-in-place\nstatus: draft\nfindings: Written.\n")
    assert letters("approve", "kent", "--by", "Jane Smith").exit_code == 0
    assert letters("build", "--format", "html", "-f", "kent").exit_code == 0
    rows = table_rows((project / OUT / "overview.html").read_text())
    assert rows["All elements already in place"][:3] == [3, 1, 2]


def test_the_overview_counts_a_letter_changed_since_approval_as_not_approved(letters, project):
    """The one rule set (core.state): 'status: approved' without a standing approval is approved nowhere."""
    path = project / "data" / "assessments" / "apsp-2017" / "cleveland.yaml"
    path.write_text(path.read_text().replace("We were pleased", "We are pleased"))
    assert letters("build", "--format", "html", "-f", "cleveland").exit_code == 0
    text = (project / OUT / "overview.html").read_text()
    assert "1 of 43 letters approved; 42 letters are still draft (1 of them changed since it was approved)" in " ".join(text.split())
    assert table_rows(text)["Plans in place and implementation started"][:3] == [2, 0, 2]


def test_overview_pdf_and_manifest_are_built_with_the_letters(letters, project):
    result = letters("build", "-j", "1", "-f", "cleveland")
    assert result.exit_code == 0, result.output
    out = project / OUT
    text = pdf_text(out / "overview.pdf")
    assert "Forces per outcome" in text and "Cleveland Police" in text
    manifest = json.loads((out / "manifest.json").read_text())

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    inputs = {p.relative_to(project).as_posix(): sha(p) for p in (project / "data").rglob("*") if p.is_file()}
    inputs.update({p.relative_to(project).as_posix(): sha(p) for p in (project / "templates").rglob("*") if p.is_file()})
    assert manifest["inputs"] == inputs
    outputs = {p.relative_to(out).as_posix(): sha(p) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert manifest["outputs"] == outputs
    assert {"overview.html", "overview.pdf", "index.html", "html/cleveland.html", "pdf/cleveland.pdf"} <= outputs.keys()
    assert manifest["versions"]["weasyprint"] == version("weasyprint")
    assert manifest["versions"]["hmicfrs-letters"] == __version__
    # The lock file the whole stack was installed from (make test installs from it), by its hash.
    lock = Path(__file__).resolve().parent.parent / "src" / "hmicfrs_letters" / "requirements.lock"
    assert manifest["lock"] == {"file": "requirements.lock", "sha256": sha(lock), "differs": {}}
    _, letters_data, _ = data(project)
    assert {slug: entry["status"] for slug, entry in manifest["letters"].items()} == {s: d["status"] for s, d in letters_data.items()}
    assert manifest["letters"]["cleveland"] == {
        "recipient": "Cleveland Police",
        "outcome": "implementation-started",
        "status": "approved",
        "built": True,
        "pages": 2,
        "approved": {
            "by": "HMICFRS (the letter as issued on 2 October 2017)",
            "on": "2026-11-30",
            "sha256": manifest["letters"]["cleveland"]["approved"]["sha256"],
        },
        "issued": None,
    }
    assert manifest["final"] is False
