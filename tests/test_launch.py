"""The entry point: a build's worker template starts before the command line is even imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hmicfrs_letters.build
from hmicfrs_letters import launch, workers


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


def test_a_build_takes_the_template_its_entry_point_started(project, monkeypatch):
    taken = []
    real = hmicfrs_letters.build.take_early_template
    monkeypatch.setattr(hmicfrs_letters.build, "take_early_template", lambda modules: taken.append(real(modules)) or taken[-1])
    monkeypatch.setattr(sys, "argv", ["letters", "--project", str(project), "build", "--force", "kent", "--format", "pdf"])
    with pytest.raises(SystemExit) as exit:
        launch.main()
    assert exit.value.code in (0, None)
    (template,) = taken
    assert template is not None and template.preload == launch.WORKER_MODULES
    assert not template.process.is_alive()  # the build's pool closed it
    assert workers._early is None
    assert (project / "output" / "apsp-2017" / "pdf" / "kent.pdf").read_bytes().startswith(b"%PDF")


def test_other_commands_start_no_template(project, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["letters", "--project", str(project), "list"])
    with pytest.raises(SystemExit):
        launch.main()
    assert workers._early is None


def test_python_dash_m_runs_the_same_entry_point(project):
    done = subprocess.run(
        [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "build", "--force", "gwent"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Built 1 letters" in done.stdout
    assert done.stderr == ""
