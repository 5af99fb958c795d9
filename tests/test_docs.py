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


INTERNALS = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
PACKAGE = ROOT / "src" / "hmicfrs_letters"


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def module_map() -> dict[str, str]:
    """The map of the layers in docs/internals.md: each entry (`launch.py`, `core/`, ...) with its text."""
    entries = re.findall(
        r"^- \*\*`([\w./]+)`\*\*(.*?)(?=^- \*\*`|^\S|\Z)", section(INTERNALS, "The layers"), flags=re.MULTILINE | re.DOTALL
    )
    return dict(entries)


@pytest.mark.parametrize("module", sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")))
def test_every_module_is_in_the_map_of_the_layers(module: str):
    entries = module_map()
    *folders, name = module.split("/")
    if not folders and name in entries:  # a layer of its own: launch.py, cli.py
        return
    # A package's modules are named in its entry (its __init__.py by the entry itself); the package's
    # own __init__.py and __main__.py in the entry point's.
    entry = f"{folders[0]}/" if folders else "launch.py"
    assert entry in entries, f"docs/internals.md's map has no entry for {entry}"
    if name != "__init__.py" or not folders:
        assert re.search(rf"`{re.escape(name.removesuffix('.py'))}(\.py)?`", entries[entry]), (
            f"docs/internals.md's map does not name {module}"
        )


def test_the_steps_are_numbered_as_the_modules_docstrings_number_them():
    """A module that is a step says so in its docstring ("Step 2, validate: ..."); the doc's list of steps agrees."""
    steps = section(INTERNALS, "One letter's way through the layers")
    told = set()
    for path in PACKAGE.rglob("*.py"):
        if found := re.match(r'"""Step (\d)([a-z]?), (\w+):', path.read_text(encoding="utf-8")):
            number, part, name = found.groups()
            told.add(number)
            assert re.search(rf"^{number}\. \*\*{name.capitalize()}\*\*", steps, flags=re.MULTILINE), (
                f"{path.name}: step {number} is not {name}"
            )
            assert not part or f"**{number}{part}.**" in steps, f"{path.name}: no step {number}{part}"
    assert told >= {"1", "2", "3", "4"}
    assert re.findall(r"^(\d)\. \*\*(\w+)\*\*", steps, flags=re.MULTILINE) == [
        (str(n), name) for n, name in enumerate(["Load", "Validate", "Render", "Write", "Verify", "Issue"], start=1)
    ]
