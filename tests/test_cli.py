"""The `letters` command, through typer's CliRunner: exit codes, output, the files it writes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from conftest import SOME_LETTERS, letter_file
from hmicfrs_letters.cli import app


@pytest.mark.empty_cache
def test_build_one_force_writes_html_pdf_and_index(letters, project):
    result = letters("build", "--force", "cleveland", "--jobs", "1")
    assert result.exit_code == 0, result.output
    out = project / "output" / "apsp-2017"
    assert (out / "html" / "cleveland.html").is_file()
    assert len(PdfReader(out / "pdf" / "cleveland.pdf").pages) == 2
    index = (out / "index.html").read_text()
    assert 'href="pdf/cleveland.pdf"' in index
    assert 'href="pdf/kent.pdf"' not in index  # not built, so not linked
    assert "Built 1 letter (0 drafts, 1 PDF rendered), 0 failed" in result.output


@pytest.mark.all_letters  # the whole series, from the tests' cache
def test_build_all_and_summary(letters, project):
    result = letters("build", "--format", "html")
    assert result.exit_code == 0, result.output
    assert "Built 43 letters (41 drafts, 0 PDFs rendered), 0 failed" in result.output
    html = sorted(p.name for p in (project / "output" / "apsp-2017" / "html").iterdir())
    assert len(html) == 43
    assert not (project / "output" / "apsp-2017" / "pdf").exists()
    index = (project / "output" / "apsp-2017" / "index.html").read_text()
    assert index.count("<tr class=") == 43
    assert "Plans in place and implementation started" in index


def test_build_out_option(letters, tmp_path):
    result = letters("build", "-f", "north-yorkshire", "--format", "html", "--out", str(tmp_path / "elsewhere"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "apsp-2017" / "html" / "north-yorkshire.html").is_file()


def test_build_unknown_force(letters):
    result = letters("build", "--force", "kentt")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: data/assessments/apsp-2017: no letter for force 'kentt'; did you mean 'kent'?"


def test_unknown_assessment(letters):
    result = letters("build", "--assessment", "apsp-2071")
    assert result.exit_code == 1
    assert "no assessment 'apsp-2071'; did you mean 'apsp-2017'?" in result.output


def test_commands_cover_every_assessment_and_those_of_one_letter_need_it_named(letters, project):
    (project / "data" / "assessments" / "other.yaml").write_text((project / "data" / "assessments" / "apsp-2017.yaml").read_text())
    (project / "data" / "assessments" / "other").mkdir()
    (project / "data" / "assessments" / "other" / "kent.yaml").write_text("outcome: pending\nstatus: draft\n")
    lines = letters("list").output.splitlines()
    assert lines[0].split() == ["ASSESSMENT", "FORCE", "OUTCOME", "STATUS", "PROBLEMS"]
    assert len(lines) == 1 + len(SOME_LETTERS) + 1 and lines[-1].split() == ["other", "kent", "pending", "draft"]
    assert len(letters("list", "--assessment", "other").output.splitlines()) == 2
    result = letters("new", "--recipient", "kent")
    assert result.exit_code == 1
    assert "several assessments; choose one with --assessment: apsp-2017, other" in result.output


def test_check_clean_data_has_only_warnings(letters):
    result = letters("check")
    assert result.exit_code == 0, result.output
    assert "data/assessments/apsp-2017/kent.yaml:3: warning: outcome pending" in result.output
    assert "0 errors, " in result.output


def test_check_strict_fails_on_drafts(letters):
    result = letters("check", "--no-pages", "--strict")
    assert result.exit_code == 1
    assert "32 errors, 0 warnings" in result.output  # every warning of SOME_LETTERS' letters


def test_check_writes_nothing_but_the_pdf_cache(letters, project):
    letters("check")
    assert [p.name for p in (project / "output").iterdir()] == [".cache"]
    assert [p.name for p in (project / "output" / ".cache").iterdir()] == ["pdf"]


def test_list_table(letters):
    result = letters("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["FORCE", "OUTCOME", "STATUS", "PROBLEMS"]
    assert len(lines) == 1 + len(SOME_LETTERS)
    assert lines[lines.index(next(line for line in lines if line.startswith("cleveland")))].split() == [
        "cleveland",
        "implementation-started",
        "approved",
    ]


def test_not_a_project(tmp_path):
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "list"])
    assert result.exit_code == 1
    assert "not a letters project: no data/ or templates/ here" in result.output


@pytest.mark.parametrize("command", [[], ["build"], ["check"], ["list"]])
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_python_dash_m_runs_in_the_project_folder(project):
    result = subprocess.run([sys.executable, "-m", "hmicfrs_letters", "list"], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "north-yorkshire" in result.stdout


def test_named_recipient_reads_like_the_sussex_letter(letters, project):
    path = letter_file(project, "sussex")
    path.write_text(path.read_text() + "recipient_name: Giles York QPM\ncopied_to_name: Katy Bourne\n")
    assert letters("build", "-f", "sussex", "--format", "html").exit_code == 0
    html = (project / "output" / "apsp-2017" / "html" / "sussex.html").read_text()
    from textutil import html_lines

    lines = [t for t, _ in html_lines(html)]
    start = lines.index("Chief Constable Giles York QPM")
    assert lines[start : start + 4] == [
        "Chief Constable Giles York QPM",
        "Sussex Police",
        "Via email",
        "Copied to: Katy Bourne, Police and Crime Commissioner for Sussex",
    ]
