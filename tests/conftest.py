from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import typer.main
import typer.testing
from filelock import FileLock
from typer.testing import CliRunner

# The tests see one environment, whatever the caller's shell holds: no colour or terminal settings
# (click and rich read them), a home folder of their own, and one git configuration, so that
# `letters approve` without --by names the same approver on every machine. Set before the fork
# server starts, since every worker inherits it.
_CALLERS = ("NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
for _name in [*_CALLERS, *(name for name in os.environ if name.startswith(("GIT_", "XDG_")))]:
    os.environ.pop(_name, None)
_HOME = tempfile.mkdtemp(prefix="letters-tests-home-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ.update(
    {
        "TERM": "xterm-256color",
        "HOME": _HOME,
        "GIT_CONFIG_GLOBAL": str(Path(__file__).resolve().parent / "fixtures" / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
)

from hmicfrs_letters.cli import app  # noqa: E402  (after the environment is set)

# typer's CliRunner builds the command anew from the functions' signatures at every invoke (~20 ms;
# the tests invoke it ~900 times): built once a process here. The `letters` command itself builds it once a run.
typer.testing._get_command = functools.cache(typer.main.get_command)
from hmicfrs_letters.pdf.service import start_worker_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# As `letters serve` does: the fork server imports WeasyPrint and lays out a page with the shipped
# templates once, and every worker of every test is forked from it. (It starts once per process:
# the first one is the one kept.)
start_worker_server(ROOT / "templates")
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "all_letters: the test's project holds the whole series (43 letters), not SOME_LETTERS'")


# The letters of a test's `project`: the forces the tests name and every force whose outcome is
# decided (one or more per category, the two approved among them), so that a check, a list, a build
# or a page of the preview loads and renders 16 letters rather than 43. The recipients file is cut
# to the same forces (a letter a recipient lacks would be a pending letter, not a smaller series).
# A test of the whole series (its counts, the overview of all forces, completion of any slug) is
# marked `@pytest.mark.all_letters`.
SOME_LETTERS = (
    *("avon-and-somerset", "cheshire", "city-of-london", "cleveland", "cumbria", "derbyshire", "durham", "dyfed-powys"),
    *("essex", "gwent", "kent", "merseyside", "metropolitan", "north-yorkshire", "staffordshire", "sussex"),
)


def make_project(root: Path, slugs: tuple[str, ...] | None = None) -> Path:
    """A project in this folder: the fixture data (see copy_data) and the shipped templates, which are
    the code under test. What users keep in data/ is never read: editing it changes no test's result."""
    copy_data(root, slugs)
    shutil.copytree(ROOT / "templates", root / "templates")
    return root


def copy_data(root: Path, slugs: tuple[str, ...] | None = None) -> Path:
    """The fixture data in this project folder: the 43 forces' letters of 2 October 2017, as
    tests/fixtures/project/data holds them, or only these `slugs`' letters and recipients."""
    shutil.copytree(FIXTURES / "project" / "data", root / "data")
    if slugs is not None:
        for file in letter_file(root, "x").parent.glob("*.yaml"):
            if file.stem not in slugs:
                file.unlink()
        recipients = root / "data" / "recipients" / "police-forces.yaml"
        blocks = recipients.read_text().split("\n  - slug: ")
        kept = [block for block in blocks[1:] if block.split("\n", 1)[0] in slugs]
        assert len(kept) == len(slugs), slugs
        recipients.write_text("\n  - slug: ".join([blocks[0], *kept]) + ("" if kept[-1].endswith("\n") else "\n"))
    return root


@pytest.fixture(scope="session")
def fixture_project(tmp_path_factory) -> Path:
    """One project for the whole session, for tests that only read it."""
    return make_project(tmp_path_factory.mktemp("fixture") / "project")


@pytest.fixture(scope="session")
def built_cache(tmp_path_factory) -> Path:
    """The PDF cache of the fixture project once built (every letter's PDF, the overview's of the whole series
    and of SOME_LETTERS'), made once a run.

    A cache entry's key is its content (the letter's HTML, the assets, the versions), so a test's
    project that starts with a copy renders only the letters it changed. Under pytest-xdist the
    workers share one: the first to ask builds it in their common temporary folder, under a lock."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        shared = tmp_path_factory.mktemp("built")
    else:
        shared = tmp_path_factory.getbasetemp().parent / "built"
    with FileLock(f"{shared}.lock"):
        cache = shared / "project" / "output" / ".cache"
        if not (shared / "done").exists():
            shutil.rmtree(shared, ignore_errors=True)  # what a worker that failed left
            # The whole series, then the tests' usual project (the same letters; its overview is its own).
            whole, some = make_project(shared / "project"), make_project(shared / "some", SOME_LETTERS)
            result = CliRunner().invoke(app, ["--project", str(whole), "build"], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            shutil.copytree(cache, some / "output" / ".cache")
            result = CliRunner().invoke(app, ["--project", str(some), "build"], catch_exceptions=False)
            assert "(14 drafts, 0 PDFs rendered), 0 failed" in result.output, result.output  # the same HTML: cached
            shutil.copytree(some / "output" / ".cache", cache, dirs_exist_ok=True)
            (shared / "done").touch()
    return cache


@pytest.fixture
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A project of its own that a test may change, its PDF cache holding the fixture's letters (copies:
    a test may damage its entries). It holds the letters SOME_LETTERS names; a test marked `all_letters`
    has all 43. A test marked `empty_cache` starts without a cache: it counts renders."""
    whole = request.node.get_closest_marker("all_letters") is not None
    root = make_project(tmp_path / "project", None if whole else SOME_LETTERS)
    if request.node.get_closest_marker("empty_cache") is None:
        shutil.copytree(request.getfixturevalue("built_cache"), root / "output" / ".cache")
    return root


@pytest.fixture
def letters(project: Path):
    """Run `letters --project <copy> ARGS...`; returns the CliRunner result."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["--project", str(project), *args], catch_exceptions=False)

    return run


SERIES = FIXTURES / "series"


def add_series(root: Path) -> Path:
    """The fixture series' files (tests/fixtures/series: the fire services' letters), added to a project."""
    for path in SERIES.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(SERIES)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return root


@pytest.fixture
def series(project) -> Path:
    """A project of its own with the fixture series added."""
    return add_series(project)


def built_series(tmp_path_factory, assessment: str) -> Path:
    """A project with the fixture series, this assessment built with `letters build` (every PDF's text checked as it is made)."""
    root = add_series(make_project(tmp_path_factory.mktemp(assessment) / "project"))
    result = CliRunner().invoke(app, ["--project", str(root), "build", "--assessment", assessment])
    assert result.exit_code == 0, result.output
    return root


def build_letters(project: Path, **options):
    """Build a project's letters as `letters build` does (workflow.final.publish), with these Workflow options."""
    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.workflow.final import publish
    from hmicfrs_letters.workflow.series import Workflow

    with Workflow.load(Project.at(project), **options) as work:
        return publish(work)


def keep_letters(project: Path, count: int, *slugs: str) -> int:
    """Leave the project's series with `count` letters (these `slugs` among them, the rest the first by
    name) for a test that builds a series to see how a build behaves, not to render all 43 again."""
    files = sorted(letter_file(project, "x").parent.glob("*.yaml"))
    kept = {*slugs, *[f.stem for f in files if f.stem not in slugs][: count - len(slugs)]}
    for file in files:
        if file.stem not in kept:
            file.unlink()
    return len(kept)


def letter_file(project: Path, slug: str) -> Path:
    return project / "data" / "assessments" / "apsp-2017" / f"{slug}.yaml"


# The browser tests' Chromium (one per test process: each test has a context of its own, and a launch
# costs 1.3 s of CPU) and page; Playwright is imported only by the tests that use them.
@pytest.fixture(scope="session")
def browser():
    from serving import headless_chromium

    with headless_chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    from serving import watched_page

    with watched_page(browser) as page:
        yield page
