from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hmicfrs_letters.cli import app
from hmicfrs_letters.pdf import WORKER_MODULES
from hmicfrs_letters.pool import start_fork_server

# As the `letters` command does: the fork server imports WeasyPrint once, and every worker of
# every test is forked from it. (It starts once per process: the first preload is the one kept.)
start_fork_server(WORKER_MODULES)

# `letters approve` names the approver from git's user.name when --by is not given: the tests see
# one git configuration, the same on every machine, whatever the user's own.
_GIT_CONFIG = Path(__file__).resolve().parent / "fixtures" / "gitconfig"
os.environ.update({"GIT_CONFIG_GLOBAL": str(_GIT_CONFIG), "GIT_CONFIG_NOSYSTEM": "1"})

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_project(root: Path) -> Path:
    """A project in this folder: the fixture data (the 43 forces' letters of 2 October 2017, as
    tests/fixtures/project/data holds them) and the shipped templates, which are the code under test.
    What users keep in data/ is never read: editing it changes no test's result."""
    shutil.copytree(FIXTURES / "project" / "data", root / "data")
    shutil.copytree(ROOT / "templates", root / "templates")
    return root


@pytest.fixture(scope="session")
def fixture_project(tmp_path_factory) -> Path:
    """One project for the whole session, for tests that only read it."""
    return make_project(tmp_path_factory.mktemp("fixture") / "project")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project of its own that a test may change."""
    return make_project(tmp_path / "project")


@pytest.fixture
def letters(project: Path):
    """Run `letters --project <copy> ARGS...`; returns the CliRunner result."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["--project", str(project), *args], catch_exceptions=False)

    return run


def build_letters(project: Path, **options):
    """Build a project's letters as `letters build` does (workflow.final.publish), with these Workflow options."""
    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.workflow.final import publish
    from hmicfrs_letters.workflow.series import Workflow

    with Workflow.load(Project.at(project), **options) as work:
        return publish(work)


def letter_file(project: Path, slug: str) -> Path:
    return project / "data" / "assessments" / "apsp-2017" / f"{slug}.yaml"


# The browser tests' Chromium (one per module) and page; Playwright is imported only by the tests that use them.
@pytest.fixture(scope="module")
def browser():
    from serving import headless_chromium

    with headless_chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    from serving import watched_page

    with watched_page(browser) as page:
        yield page
