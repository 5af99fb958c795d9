"""The `letters` command: parse arguments, call the core, report. No logic of its own."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hmicfrs_letters.build import build as build_letters
from hmicfrs_letters.build import default_jobs
from hmicfrs_letters.errors import LetterError, Problem
from hmicfrs_letters.project import Project
from hmicfrs_letters.validate import Batch, load_batch

app = typer.Typer(
    help="Standard HMICFRS letters from YAML data, rendered to HTML and PDF.\n\n"
    "Example: letters build    (every letter of the only assessment, into output/)",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    html = "html"
    pdf = "pdf"


AssessmentOption = Annotated[
    str | None, typer.Option("--assessment", "-a", help="Assessment slug (a file in data/assessments/); optional when there is only one.")
]


@app.callback()
def main_options(
    ctx: typer.Context,
    project: Annotated[
        Path, typer.Option("--project", "-p", help="The project folder holding data/ and templates/.", file_okay=False)
    ] = Path("."),
) -> None:
    ctx.obj = project


def _batch(ctx: typer.Context, assessment: str | None) -> Batch:
    return load_batch(Project.at(ctx.obj), assessment)


def _fail(problems: Iterable[Problem]) -> None:
    for problem in problems:
        typer.echo(f"Error: {problem}" if problem.is_error else str(problem), err=True)


@contextmanager
def _reporting() -> Iterator[None]:
    """Turn a domain error into its `Error: …` lines and exit status 1, never a traceback."""
    try:
        yield
    except LetterError as exc:
        _fail(exc.problems)
        raise typer.Exit(1) from None


@app.command()
def build(
    ctx: typer.Context,
    assessment: AssessmentOption = None,
    force: Annotated[list[str] | None, typer.Option("--force", "-f", help="Build only this force's letter (repeatable).")] = None,
    format: Annotated[list[Format] | None, typer.Option("--format", help="html or pdf (repeatable); both by default.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default: output/ in the project).", file_okay=False)
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes rendering PDFs (default: the number of cores).")
    ] = default_jobs(),
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Render every PDF again, ignoring the cache.")] = False,
) -> None:
    """Build letters into output/<assessment>/html, pdf and index.html.

    \b
    Examples:
      letters build
      letters build --force cleveland --format pdf
      letters --project ~/my-letters build --out /tmp/letters
    """
    with ExitStack() as stack:
        stack.enter_context(_reporting())
        batch = _batch(ctx, assessment)
        total = len(batch.select(force or ()))
        bar = stack.enter_context(typer.progressbar(length=total, label="Rendering", file=sys.stderr)) if sys.stderr.isatty() else None
        report = build_letters(
            batch,
            slugs=force or (),
            formats=[f.value for f in format] if format else ("html", "pdf"),
            out=out,
            jobs=jobs,
            rebuild=rebuild,
            progress=(lambda _result: bar.update(1)) if bar else None,
        )
    for result in report.failed:
        _fail(p for p in result.problems if p.is_error)
    typer.echo(
        f"Built {len(report.built)} letters ({len(report.drafts)} drafts, {report.rendered} PDFs rendered), "
        f"{len(report.failed)} failed, in {report.seconds:.1f} s: {report.out_dir / 'index.html'}"
    )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def check(
    ctx: typer.Context,
    assessment: AssessmentOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings (drafts, pending outcomes) as errors.")] = False,
) -> None:
    """Validate all data and templates without writing anything; print every problem.

    \b
    Examples:
      letters check
      letters check --strict    (before issuing: no drafts, no pending outcomes)
    """
    from hmicfrs_letters.check import check_batch

    with _reporting():
        problems = check_batch(_batch(ctx, assessment))
    errors = sum(p.is_error or strict for p in problems)
    for problem in problems:
        typer.echo(str(problem))
    typer.echo(f"{errors} errors, {len(problems) - errors} warnings", err=True)
    if errors:
        raise typer.Exit(1)


@app.command("list")
def list_letters(ctx: typer.Context, assessment: AssessmentOption = None) -> None:
    """Show a table of forces with their outcome and status.

    \b
    Example:
      letters list
    """
    with _reporting():
        batch = _batch(ctx, assessment)
    rows = [("FORCE", "OUTCOME", "STATUS", "PROBLEMS")]
    for item in batch.letters:
        letter = item.letter
        rows.append(
            (
                item.slug,
                letter.outcome if letter else "-",
                letter.status if letter else "invalid",
                str(len(item.errors)) if item.errors else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


@app.command()
def serve(
    ctx: typer.Context,
    assessment: AssessmentOption = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Drafts are confidential: keep the default.")] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open the index in the default web browser.")] = False,
) -> None:
    """Preview the letters in a browser, refreshed as you edit data/ and templates/.

    \b
    Examples:
      letters serve    (then open http://127.0.0.1:8000/)
      letters serve --port 8080 --open
    """
    from hmicfrs_letters.serve import Server, is_loopback

    with _reporting():
        server = Server(Project.at(ctx.obj), assessment, host, port)
    if not is_loopback(host):
        typer.echo(
            f"Warning: listening on {host}: anyone who can reach this machine can read the drafts, which are confidential.", err=True
        )
    typer.echo(f"Previewing {server.preview.assessment} at {server.url} (Ctrl+C to stop)")
    server.run(open_browser=open_browser)


def main() -> None:
    """Entry point of the console script and of `python -m hmicfrs_letters`."""
    app(prog_name="letters")
