"""The entry point: a build's worker template starts before the command line is even imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from hmicfrs_letters import launch
from hmicfrs_letters.pdf.preload import warm_up


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["build"], "build"),
        (["--project", "build", "check"], "check"),  # a project folder may be called anything
        (["-p", "x", "build", "--force", "kent"], "build"),
        (["--project=x", "build"], "build"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_is_the_first_argument_that_is_no_option(args, command):
    assert launch.command_name(args) == command


@pytest.mark.parametrize(("command", "starts"), [("build", True), ("serve", False), ("check", False), ("approve", False), ("list", False)])
def test_commands_that_make_pdfs_start_the_fork_server_before_the_command_line_is_imported(command, starts):
    """The fork server's import of WeasyPrint then overlaps the command's own start; `list` makes no PDF and
    starts none; `check` and `approve` start it only when a PDF is not in the cache; `serve` once it knows
    the project (below)."""
    script = (
        "import sys; import hmicfrs_letters.pool as pool; real = pool.start_fork_server\n"
        "def spy(modules):\n"
        "    print('fork server started with', modules, '; command line imported:', 'hmicfrs_letters.cli' in sys.modules)\n"
        "    real(modules)\n"
        "pool.start_fork_server = spy\n"
        "from hmicfrs_letters import launch; launch.main()"
    )
    done = subprocess.run([sys.executable, "-c", script, command, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    started = "fork server started with ('hmicfrs_letters.pdf.preload',) ; command line imported: False"
    assert (started in done.stdout) is starts
    assert "Usage: " in done.stdout


def test_serve_starts_the_fork_server_warmed_with_the_projects_templates(project):
    script = (
        "import os, sys; import hmicfrs_letters.pool as pool\n"
        "def spy(modules):\n"
        "    print('fork server started with', modules, 'warmed with', os.environ.get('HMICFRS_LETTERS_WARM_UP'), flush=True)\n"
        "    os._exit(0)\n"
        "pool.start_fork_server = spy\n"
        "from hmicfrs_letters import launch; launch.main()"
    )
    args = ["--project", str(project), "serve", "--port", "0"]
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60)
    assert f"fork server started with ('hmicfrs_letters.pdf.preload',) warmed with {project / 'templates'}" in done.stdout, done.stderr
    assert "HMICFRS_LETTERS_WARM_UP" not in os.environ


def test_the_warm_up_page_is_laid_out_with_the_shipped_templates_and_its_text_checks():
    """What a warmed fork server does before it forks a worker (it ignores a failure, so this test is its only witness)."""
    assert warm_up(ROOT / "templates") == 1


@pytest.mark.empty_cache
def test_python_dash_m_runs_the_same_entry_point(project):
    done = subprocess.run(
        [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "build", "--force", "gwent"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Built 1 letter (1 draft, 1 PDF rendered)" in done.stdout
    assert done.stderr == ""


_SPY_ON_WORKERS = (
    "import multiprocessing.forkserver as fs, sys; real = fs.ensure_running\n"
    "def spy():\n"
    "    print('workers started', file=sys.stderr); real()\n"
    "fs.ensure_running = spy\n"
    "from hmicfrs_letters import launch; launch.main()"
)


def test_a_check_of_letters_already_laid_out_starts_no_worker(project):
    """Every PDF is in the cache: `check` reads the pages from it and starts no fork server."""
    done = subprocess.run(
        [sys.executable, "-c", _SPY_ON_WORKERS, "--project", str(project), "check"], capture_output=True, text=True, timeout=120
    )
    assert "0 errors" in done.stdout + done.stderr, done.stderr
    assert "workers started" not in done.stderr


def test_a_check_that_must_lay_out_a_letter_starts_the_workers_then(project):
    kent = project / "data/assessments/apsp-2017/kent.yaml"
    kent.write_text(kent.read_text(encoding="utf-8").replace('findings: ""', "findings: A letter not laid out before."), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", _SPY_ON_WORKERS, "--project", str(project), "check"], capture_output=True, text=True, timeout=120
    )
    assert "workers started" in done.stderr
    assert "0 errors" in done.stdout + done.stderr, done.stderr
