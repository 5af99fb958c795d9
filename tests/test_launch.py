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


def build_through_the_entry_point(project, monkeypatch, *args: str) -> tuple[workers.Template | None, workers.Template | None]:
    """Run `letters --project P build ARGS` as the console script does: (the early template, the one the pool used)."""
    taken, used = [], []
    take, pool = workers.take_early_template, hmicfrs_letters.build.WorkerPool
    spy = lambda modules: taken.append(take(modules)) or taken[-1]  # noqa: E731
    monkeypatch.setattr(workers, "take_early_template", spy)
    monkeypatch.setattr(hmicfrs_letters.build, "take_early_template", spy)
    monkeypatch.setattr(hmicfrs_letters.build, "WorkerPool", lambda *a, **options: used.append(options["template"]) or pool(*a, **options))
    monkeypatch.setattr(sys, "argv", ["letters", "--project", str(project), "build", *args])
    with pytest.raises(SystemExit) as exit:
        launch.main()
    assert exit.value.code in (0, None)
    assert workers._early is None
    return taken[0], used[0]


def test_a_build_of_pdfs_forks_its_workers_from_the_template_its_entry_point_started(project, monkeypatch):
    early, used = build_through_the_entry_point(project, monkeypatch, "--force", "kent", "--format", "pdf")
    assert early is not None and used is early and early.preload == launch.WORKER_MODULES
    assert not early.process.is_alive()  # the build's pool closed it
    assert (project / "output" / "apsp-2017" / "pdf" / "kent.pdf").read_bytes().startswith(b"%PDF")


def test_a_build_of_html_alone_forks_its_workers_from_itself_and_ends_the_template(project, monkeypatch):
    """Its workers need nothing the template would add: waiting for its WeasyPrint import would only slow them."""
    early, used = build_through_the_entry_point(project, monkeypatch, "--force", "kent", "--format", "html")
    assert early is not None and used is None
    assert not early.process.is_alive()
    assert (project / "output" / "apsp-2017" / "html" / "kent.html").exists()
    assert not (project / "output" / "apsp-2017" / "pdf").exists()


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
    assert "Built 1 letter (1 draft, 1 PDF rendered)" in done.stdout
    assert done.stderr == ""
