"""The `letters` command's entry point. It imports next to nothing before it starts, on purpose.

A build's PDFs, and those that `check`, `approve` and the preview make, come from worker
processes forked by the standard library's fork server, which first imports WeasyPrint (a
quarter of a second). Started here, before this process imports the command line and the core,
the two starts overlap: a build waits for the longer of them, not for both.
"""

from __future__ import annotations

import sys

# Commands that make PDFs in worker processes.
_COMMANDS_WITH_WORKERS = {"build", "check", "approve", "serve"}


def main() -> None:
    """Entry point of the console script and of `python -m hmicfrs_letters`."""
    command = command_name(sys.argv[1:])
    if command in _COMMANDS_WITH_WORKERS and not (command == "check" and "--no-pages" in sys.argv):
        from hmicfrs_letters.pdf import WORKER_MODULES
        from hmicfrs_letters.pool import start_fork_server

        start_fork_server(WORKER_MODULES)
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
