"""The entry point: a build's worker template starts before the command line is even imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hmicfrs_letters import launch


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


@pytest.mark.parametrize(("command", "starts"), [("build", True), ("check", True), ("approve", True), ("serve", True), ("list", False)])
def test_commands_that_make_pdfs_start_the_fork_server_before_the_command_line_is_imported(command, starts):
    """The fork server's import of WeasyPrint then overlaps the command's own start; `list` makes no PDF and starts none."""
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
