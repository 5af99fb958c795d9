"""The `letters` command's entry point. It imports next to nothing before it starts, on purpose.

A build's PDFs, and the layouts that count a letter's pages, are made by worker processes forked
from one template process, which first imports WeasyPrint (a quarter of a second). Started here,
before this process imports the command line and the core (another quarter of a second), the two
starts overlap: a build waits for the longer of them, not for both. (A `letters check` that finds
every count in the build's cache does not use it; it is ended when the command ends.)
"""

from __future__ import annotations

import sys

# What a build's workers import; their template imports it once, for all of them.
WORKER_MODULES = ("hmicfrs_letters.build", "hmicfrs_letters.pdf")
# Commands that make PDFs, or lay letters out to count their pages, in worker processes.
_COMMANDS_WITH_WORKERS = {"build", "check", "approve"}


def main() -> None:
    """Entry point of the console script and of `python -m hmicfrs_letters`."""
    if command_name(sys.argv[1:]) in _COMMANDS_WITH_WORKERS:
        from hmicfrs_letters.workers import start_early_template

        start_early_template(WORKER_MODULES)
    from hmicfrs_letters.cli import main as run

    run()


def command_name(args: list[str]) -> str | None:
    """The command a command line asks for: its first argument that is neither an option nor --project's value."""
    rest = iter(args)
    for arg in rest:
        if arg in ("--project", "-p"):
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None
