from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hmicfrs_letters.pdf  # noqa: F401  (imported once here, WeasyPrint is inherited by every forked worker)
from hmicfrs_letters.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the real project's data and templates that a test may change."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "templates", root / "templates")
    return root


@pytest.fixture
def letters(project: Path):
    """Run `letters --project <copy> ARGS...`; returns the CliRunner result."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["--project", str(project), *args], catch_exceptions=False)

    return run


def letter_file(project: Path, slug: str) -> Path:
    return project / "data" / "assessments" / "apsp-2017" / f"{slug}.yaml"
