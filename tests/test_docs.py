"""The guide documents every command and every option that `letters --help` shows (as sqlite-utils' tests do)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES, ROOT
from hmicfrs_letters.cli import app

GUIDE = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")


def help_text(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def commands() -> list[str]:
    listed = help_text().split("Commands:", 1)[1]
    return re.findall(r"^  ([a-z][a-z-]*)\s", listed, flags=re.MULTILINE)


def options(*command: str) -> list[str]:
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_text(*command).split("Options:", 1)[1])) - {"--help"})


def test_the_help_lists_the_commands_this_test_knows_of():
    assert {"build", "check", "list", "new", "approve", "approve-wording", "verify", "diff", "serve"} <= set(commands())


@pytest.mark.parametrize("command", commands())
def test_every_command_has_a_section_in_the_guide(command: str):
    assert re.search(rf"^#+ .*`letters {re.escape(command)}`", GUIDE, flags=re.MULTILINE), f"no heading for `letters {command}`"


@pytest.mark.parametrize(
    ("command", "option"), [((), option) for option in options()] + [((c,), o) for c in commands() for o in options(c)]
)
def test_every_option_is_in_the_guide(command: tuple[str, ...], option: str):
    assert f"`{option}" in GUIDE or f" {option}" in GUIDE, f"{' '.join(('letters', *command))} {option} is not in docs/guide.md"


def series_blocks() -> dict[str, str]:
    """The files the guide's "Adding a series" shows: each code block titled with its path."""
    section = GUIDE.split("## Adding a series", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r'```\w* title="([^"]+)"\n(.*?)```', section, flags=re.DOTALL))


def test_adding_a_series_shows_exactly_the_files_the_series_tests_build():
    series = FIXTURES / "series"
    shown = series_blocks()
    files = {path.relative_to(series).as_posix(): path.read_text(encoding="utf-8") for path in series.rglob("*") if path.is_file()}
    assert shown == files
