"""The command line the way Python users expect it: --version, --json, completion, colour, and each
command importing only what it needs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import ROOT, SOME_LETTERS, letter_file
from editing import edit
from hmicfrs_letters import __version__
from hmicfrs_letters.cli import app

RED, YELLOW = "\x1b[31m", "\x1b[33m"


def test_version(letters):
    result = letters("--version")
    assert result.exit_code == 0
    assert result.output == f"letters (hmicfrs-letters) {__version__}\n"


def test_list_json(letters):
    result = letters("list", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["assessments"] == ["apsp-2017"] and document["problems"] == []
    by_slug = {entry["slug"]: entry for entry in document["letters"]}
    assert len(by_slug) == len(SOME_LETTERS)
    assert by_slug["cleveland"] == {
        "assessment": "apsp-2017",
        "slug": "cleveland",
        "recipient": "cleveland",
        "name": "Cleveland Police",
        "date": "2017-10-02",
        "outcome": "implementation-started",
        "status": "approved",
        "issued": None,  # not sent yet: `letters send` records it (tests/test_send.py)
        "errors": 0,
        "warnings": 0,
        "file": "data/assessments/apsp-2017/cleveland.yaml",
    }
    assert by_slug["kent"]["status"] == "draft" and by_slug["kent"]["warnings"] == 3  # draft, pending, findings to write


def test_check_json_counts_and_places_every_problem(letters, project):
    edit(letter_file(project, "kent"), "status: draft", "status: aproved")
    result = letters("check", "--no-pages", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["errors"] == 1 and document["warnings"] == len(document["problems"]) - 1
    (error,) = [p for p in document["problems"] if p["severity"] == "error"]
    assert error == {
        "path": "data/assessments/apsp-2017/kent.yaml",
        "line": 4,
        "column": None,
        "severity": "error",
        "message": "'status' is 'aproved'; did you mean 'approved'?; expected one of: draft, approved",
        "detail": None,
    }


def test_verify_json(letters, project):
    assert letters("build", "-j", "1", "-f", "cleveland", "-f", "kent", "--format", "pdf").exit_code == 0
    (project / "output" / "apsp-2017" / "pdf" / "kent.pdf").unlink()
    result = letters("verify", "-f", "cleveland", "-f", "kent", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["checked"] == ["apsp-2017/cleveland"]
    assert [(p["path"], p["message"]) for p in document["problems"]] == [
        ("output/apsp-2017/pdf/kent.pdf", "Kent Police: no PDF; run `letters build`")
    ]


def test_errors_are_red_and_warnings_yellow_on_a_terminal_and_plain_otherwise(project, monkeypatch):
    edit(letter_file(project, "kent"), "status: draft", "status: aproved")
    args = ["--project", str(project), "check", "--no-pages"]
    coloured = CliRunner().invoke(app, args, color=True)
    lines = coloured.stdout.splitlines()
    assert any(line.startswith(RED + "data/assessments/apsp-2017/kent.yaml:4: 'status'") for line in lines)
    assert any(line.startswith(YELLOW + "data/assessments/apsp-2017/avon-and-somerset.yaml:3: warning:") for line in lines)
    assert "\x1b[" not in CliRunner().invoke(app, args).stdout  # piped
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in CliRunner().invoke(app, args, color=True).stdout


@pytest.mark.all_letters  # completes from the whole series
def test_shell_completion_is_offered_and_completes_slugs(project):
    help_text = CliRunner().invoke(app, ["--help"]).stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    env = {
        **os.environ,
        "_LETTERS_COMPLETE": "complete_bash",
        "COMP_WORDS": f"letters --project {project} build --force north",
        "COMP_CWORD": "5",
    }
    done = subprocess.run([sys.executable, "-m", "hmicfrs_letters"], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["north-wales", "north-yorkshire", "northamptonshire", "northumbria"]


@pytest.mark.parametrize(
    ("command", "unwanted"),
    [
        (
            # `list` judges each letter (core.state renders it to know whether it changed since approval), but makes no PDF.
            ["list"],
            ["hmicfrs_letters.build", "hmicfrs_letters.preview", "hmicfrs_letters.pdf.service", "weasyprint", "starlette"],
        ),
        (["--help"], ["hmicfrs_letters.core.validate", "yaml", "markdown"]),
        (["check", "--no-pages"], ["hmicfrs_letters.preview", "hmicfrs_letters.pdf.service", "starlette", "weasyprint"]),
        # A warm check reads its page counts from the cache: no PDF reader, no YAML writer, no file lock, no pydantic.
        (["check"], ["pypdfium2", "ruamel.yaml", "filelock", "pydantic", "weasyprint", "starlette"]),
    ],
)
def test_each_command_imports_only_its_own_machinery(project, command, unwanted):
    script = (
        "import atexit, sys, json; atexit.register(lambda: print(json.dumps(sorted(sys.modules)))); "
        "from hmicfrs_letters.launch import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", script, "--project", str(project), *command], capture_output=True, text=True, timeout=60)
    imported = set(json.loads(done.stdout.splitlines()[-1]))
    assert "hmicfrs_letters.cli" in imported
    assert [module for module in unwanted if module in imported] == []


def test_the_shipped_data_passes_check(tmp_path, built_cache):
    """The one test that reads data/: what ships must pass `letters check` (warnings allowed). (The run's
    PDF cache serves the letters that are the fixture's, entry by entry by their HTML; others are laid out.)"""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(built_cache, tmp_path / "output" / ".cache")
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "check"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("0 errors, ")
