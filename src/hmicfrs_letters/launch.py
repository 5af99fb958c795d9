"""The `letters` command's entry point. It imports next to nothing before it starts, on purpose.

A build's PDFs come from worker processes forked by the standard library's fork server, which
first imports WeasyPrint (a quarter of a second). Started here, before this process imports the
command line and the core, the two starts overlap: a build waits for the longer of them, not for
both. `check` and `approve` mostly find their PDFs in the cache (a letter checked is a letter
already laid out): they start the fork server only when a PDF must be made, so that a warm check
pays nothing for workers it never uses. `serve` starts it once it knows the project, warmed with
its templates (preview.server.Server.run).
"""

from __future__ import annotations

import sys

# Commands that nearly always make PDFs in worker processes.
_COMMANDS_WITH_WORKERS = {"build"}


def main() -> None:
    """Entry point of the console script and of `python -m hmicfrs_letters`."""
    command = command_name(sys.argv[1:])
    if command in _COMMANDS_WITH_WORKERS:
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
