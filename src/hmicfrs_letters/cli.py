"""The `letters` command: parse arguments, call the core, report. No logic of its own.

Each command imports its machinery when it runs, so that `letters list` does not pay for the
build's, and `letters --help` for nobody's. A LetterError becomes its `Error: path:line: message`
lines and exit status 1; wrong usage is typer's exit status 2. `build`, `check`, `list`,
`verify` and `serve` cover every assessment of the project unless `--assessment` names some;
one assessment that cannot be read fails alone.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hmicfrs_letters import __version__
from hmicfrs_letters.core.chars import json_safe, visible
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.status import REFUSALS
from hmicfrs_letters.pdf import LETTER_TIME_LIMIT
from hmicfrs_letters.pool import default_jobs

if TYPE_CHECKING:
    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.workflow.series import Workflow

app = typer.Typer(
    help="Standard HMICFRS letters from YAML data, rendered to HTML and PDF.\n\n"
    "Example: letters build    (every letter of every assessment, into output/)",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    html = "html"
    pdf = "pdf"


def _complete_slugs(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of a recipient's slug: the names of the project's letter files."""
    project = Path(ctx.find_root().params.get("project") or ".")
    found = {path.stem for path in project.glob("data/assessments/*/*.yaml")}
    return sorted(slug for slug in found if slug.startswith(incomplete))


def _complete_assessments(ctx: typer.Context, incomplete: str) -> list[str]:
    project = Path(ctx.find_root().params.get("project") or ".")
    return sorted(path.stem for path in project.glob("data/assessments/*.yaml") if path.stem.startswith(incomplete))


AssessmentOption = Annotated[
    str | None,
    typer.Option(
        "--assessment",
        "-a",
        help="Assessment slug (a file in data/assessments/); optional when there is only one.",
        autocompletion=_complete_assessments,
    ),
]
AssessmentsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--assessment", "-a", help="Only this assessment (repeatable); every assessment by default.", autocompletion=_complete_assessments
    ),
]
RecipientsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--recipient",
        "-r",
        help="Only the letters to this recipient, or the letter of this id (repeatable).",
        autocompletion=_complete_slugs,
    ),
]
# In command-line convention --force means "overwrite": it stays only as a hidden alias of --recipient.
ForceAlias = Annotated[list[str] | None, typer.Option("--force", "-f", hidden=True, autocompletion=_complete_slugs)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on standard output instead of text.")]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: output/ in the project).", file_okay=False)]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"letters (hmicfrs-letters) {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    project: Annotated[
        Path, typer.Option("--project", "-p", help="The project folder holding data/ and templates/.", file_okay=False)
    ] = Path("."),
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    ctx.obj = project


def _project(ctx: typer.Context) -> Project:
    from hmicfrs_letters.core.project import Project

    return Project.at(ctx.obj)


def _work(ctx: typer.Context, assessment: str | None) -> Workflow:
    from hmicfrs_letters.workflow.series import Workflow

    return Workflow.load(_project(ctx), assessment)


def _works(ctx: typer.Context, assessments: Sequence[str] | None, recipients: Sequence[str] = (), **options: Any):
    """The workflows of these assessments (all by default; with recipients, those that have them), and the
    problems of those that cannot be read (workflow.series.open_series)."""
    from hmicfrs_letters.workflow.series import open_series

    return open_series(_project(ctx), assessments or (), recipients, **options)


def _recipients(recipient: list[str] | None, force: list[str] | None) -> list[str]:
    return [*(recipient or ()), *(force or ())]


def _color() -> bool | None:
    """None: colours on a terminal, none when piped (click decides); False with NO_COLOR set (no-color.org)."""
    return False if os.environ.get("NO_COLOR") else None


def _say(problem: Problem, err: bool = True, prefix: bool = True) -> None:
    """One problem: `Error: …` in red, a warning in yellow, and any detail lines under it."""
    text = f"Error: {problem}" if problem.is_error and prefix else str(problem)
    typer.secho(text, fg="red" if problem.is_error else "yellow", err=err, color=_color())
    if problem.detail:
        typer.echo(visible(problem.detail, keep="\n"), err=err)


def _fail(problems: Iterable[Problem]) -> None:
    for problem in problems:
        _say(problem)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _json(document: dict[str, Any]) -> None:
    typer.echo(json_safe(json.dumps(document, indent=2, ensure_ascii=False)))


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
    assessment: AssessmentsOption = None,
    recipient: RecipientsOption = None,
    force: ForceAlias = None,
    format: Annotated[list[Format] | None, typer.Option("--format", help="html or pdf (repeatable); both by default.")] = None,
    out: OutOption = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes rendering PDFs (default: the number of cores).")
    ] = default_jobs(),
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Render every PDF again, ignoring the cache.")] = False,
    final: Annotated[
        bool,
        typer.Option(
            "--final",
            help="The letters to issue, into <assessment>/final/ (the hand-over folder), their PDFs PDF/A-2a with PDF/UA-1 "
            "unless the series chooses (`pdf: {standard: ...}`). Refused when any letter it would build "
            + ", ".join(REFUSALS[:-1])
            + f" or {REFUSALS[-1]}; or when the fixed wording is not the approved wording.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds one letter may take before it fails and its worker is replaced.")
    ] = LETTER_TIME_LIMIT,
) -> None:
    """Build letters into output/<assessment>/html, pdf and index.html, with overview and manifest.

    \b
    Every assessment unless --assessment names some; output/index.html lists them.
    Examples:
      letters build
      letters build --assessment apsp-2017 --recipient cleveland --format pdf
      letters build --final    (every letter approved: the letters to issue)
      letters build --jobs 4 --rebuild
      letters --project ~/my-letters build --out /tmp/letters
    """
    from hmicfrs_letters.build.home import write_home
    from hmicfrs_letters.workflow.final import publish

    formats = tuple(f.value for f in format) if format else ("html", "pdf")
    options = {"out": out, "jobs": jobs, "rebuild": rebuild, "timeout": timeout, "pdf": "pdf" in formats}
    failed, built = False, False
    with ExitStack() as stack:
        stack.enter_context(_reporting())
        works, problems = _works(ctx, assessment, _recipients(recipient, force), **options)
        _fail(problems)
        failed = bool(problems)
        total = sum(len(work.items()) for work in works)
        bar = stack.enter_context(typer.progressbar(length=total, label="Rendering", file=sys.stderr)) if sys.stderr.isatty() else None
        for work in works:
            try:
                with work:
                    report = publish(work, formats, final, progress=(lambda _result: bar.update(1)) if bar else None)
            except LetterError as exc:  # this assessment's shared files or a final build refused: the others still build
                _fail(exc.problems)
                failed = True
                continue
            for result in report.failed:
                _fail(result.errors)
            _fail(report.problems)
            failed, built = failed or bool(report.failed or report.problems), True
            changed = f", {len(report.changed)} changed since approval" if report.changed else ""
            typer.echo(
                f"Built {_count(len(report.built), 'letter')} ({_count(len(report.drafts), 'draft')}{changed}, "
                f"{_count(report.rendered, 'PDF')} rendered), {len(report.failed)} failed, in {report.seconds:.1f} s: "
                f"{report.out_dir / 'index.html'}"
            )
        if built:
            write_home(_project(ctx), out)
    if failed:
        raise typer.Exit(1)


@app.command()
def check(
    ctx: typer.Context,
    assessment: AssessmentsOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings (drafts, pending outcomes) as errors.")] = False,
    pages: Annotated[
        bool,
        typer.Option(
            "--pages/--no-pages", help="Make each letter's PDF (from the build's cache when it can), check its text and count its pages."
        ),
    ] = True,
    as_json: JsonOption = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds one letter's HTML, or its PDF, may take before it is that letter's error.")
    ] = LETTER_TIME_LIMIT,
) -> None:
    """Validate all data and templates; print every problem. Writes nothing but the PDF cache.

    \b
    Checks the files, the templates, the wording lock and each letter's PDF and page count,
    of every assessment unless --assessment names some.
    Examples:
      letters check
      letters check --strict    (before issuing: no drafts, no pending outcomes)
      letters check --no-pages  (quicker: no PDFs made)
      letters check --json
    """
    from hmicfrs_letters.workflow.listing import check_json

    with _reporting():
        works, problems = _works(ctx, assessment, timeout=timeout)
        for work in works:
            with work:
                problems += work.check(pages=pages)
    errors = sum(p.is_error or strict for p in problems)
    if as_json:
        _json(check_json(works, problems, errors))
    else:
        for problem in problems:
            _say(problem, err=False, prefix=False)
        typer.echo(f"{_count(errors, 'error')}, {_count(len(problems) - errors, 'warning')}", err=True)
    if errors:
        raise typer.Exit(1)


@app.command("list")
def list_letters(ctx: typer.Context, assessment: AssessmentsOption = None, as_json: JsonOption = False) -> None:
    """Show a table of letters with their outcome and status.

    \b
    Examples:
      letters list
      letters list --assessment apsp-2017 --json
    """
    from hmicfrs_letters.workflow.listing import list_json, list_rows

    with _reporting():
        works, problems = _works(ctx, assessment)
        listed = [(work, work.states()) for work in works]
    if as_json:
        _json(list_json(listed, problems))
    else:
        _fail(problems)
        if not works:
            raise typer.Exit(1)
        rows = list_rows(listed)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    if problems:
        raise typer.Exit(1)


@app.command()
def new(
    ctx: typer.Context,
    letter_id: Annotated[
        str | None,
        typer.Argument(metavar="ID", help="The new letter's id, its file's name: its recipient's slug unless --to names another."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="The recipient's slug, when the id is not it.", autocompletion=_complete_slugs)
    ] = None,
    recipient: Annotated[
        str | None,
        typer.Option("--recipient", "-r", help="The recipient's slug, as in its list in data/recipients/.", autocompletion=_complete_slugs),
    ] = None,
    force: Annotated[str | None, typer.Option("--force", "-f", hidden=True, autocompletion=_complete_slugs)] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="An outcome key of the assessment; pending when left out.")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Start again: replace a letter whose fields are written.")] = False,
    assessment: AssessmentOption = None,
) -> None:
    """Start a letter: a draft with its outcome's standard findings.

    \b
    A letter's id is its file's name; by default its recipient's slug. A second letter to the
    same recipient takes an id of its own and names the recipient with --to.
    It takes over a file whose fields are not written yet; it replaces one with fields
    written only with --restart.
    Examples:
      letters new kent --outcome plans-not-commenced
      letters new -r kent    (outcome pending; fields to write)
      letters new kent-2018 --to kent
      letters new kent --outcome all-in-place --restart
    """
    from hmicfrs_letters.workflow.new import new_letter

    slug = letter_id or recipient or force or to
    if not slug:
        raise typer.BadParameter("name the letter: letters new ID [--to SLUG]", param_hint="'ID'")
    with _reporting():
        batch = _work(ctx, assessment).batch
        path = new_letter(batch, slug, outcome, restart=restart, to=to or (recipient if letter_id else None))
    typer.echo(
        f"Wrote {batch.project.shown(path)} (draft): make the fields this {batch.recipients.singular}'s, then `letters approve {slug}`"
    )


@app.command()
def approve(
    ctx: typer.Context,
    slugs: Annotated[
        list[str],
        typer.Argument(
            metavar="SLUG...",
            help="The letters to approve, by id (a recipient's slug unless the letter has an id of its own).",
            autocompletion=_complete_slugs,
        ),
    ],
    by: Annotated[str | None, typer.Option("--by", help="Who approves them (default: git config user.name).")] = None,
    assessment: AssessmentOption = None,
) -> None:
    """Approve letters that pass every check, recording who and when; say why for each one that does not.

    \b
    A letter is approved when its outcome is set, its fields are written with no placeholder,
    it fits the page limit and the fixed wording is the approved one. Its file records the
    approval (by, on, and a fingerprint of the letter): a change after it undoes it.
    Examples:
      letters approve cleveland north-yorkshire
      letters approve kent --by "Jane Smith"
    """
    from hmicfrs_letters.workflow.approve import approve as approve_letters
    from hmicfrs_letters.workflow.approve import default_approver

    with _reporting(), _work(ctx, assessment) as work:
        who = (by or "").strip() or default_approver(work.project)
        if not who:
            raise LetterError(
                Problem(
                    work.project.shown(work.project.letters_dir(work.assessment.slug)),
                    "who approves? give --by NAME (git has no user.name here)",
                )
            )
        results = approve_letters(work, slugs, who)
    for result in results:
        record = result.record or (result.item.letter.approved if result.item.letter else None)
        if not result.approved:
            _say(Problem(result.item.shown, f"not approved: {'; '.join(result.reasons)}"))
        elif result.already:
            typer.echo(f"{visible(result.item.shown)}: already approved by {record.by} on {record.on.isoformat()}")
        elif result.replaced:
            old = result.replaced
            typer.echo(
                f"{visible(result.item.shown)}: approved again by {record.by} on {record.on.isoformat()} "
                f"(it had changed since it was approved by {old.by} on {old.on.isoformat()})"
            )
        else:
            typer.echo(f"{visible(result.item.shown)}: approved by {record.by} on {record.on.isoformat()}")
    refused = sum(not result.approved for result in results)
    typer.echo(f"{len(results) - refused} approved, {refused} refused", err=True)
    if refused:
        raise typer.Exit(1)


@app.command("approve-wording")
def approve_wording(ctx: typer.Context, assessment: AssessmentOption = None) -> None:
    """Record the templates' fixed wording as approved: its SHA-256, and its text beside the assessment file.

    The wording of every path through the templates is recorded too (a choice's other passages,
    an optional field's standard passage, each outcome's): `variants_sha256`, and the text in
    `<assessment>.variants.txt`.

    \b
    Run it once a change to the fixed wording (shown by `letters check`) is approved.
    Example:
      letters approve-wording --assessment apsp-2017
    """
    from hmicfrs_letters.workflow.wording import approve_wording as record_wording

    with _reporting():
        batch = _work(ctx, assessment).batch
        result = record_wording(batch)
    state = "Recorded the new" if result.changed else "Unchanged:"
    others = (
        f"; {_count(result.variants, 'other path')} through the templates in {batch.project.shown(result.variants_file)}"
        if result.variants_file
        else ""
    )
    typer.echo(
        f"{state} approved wording of {batch.assessment.slug}, sha256 {result.fingerprint}; "
        f"text in {batch.project.shown(result.text_file)}{others}"
    )


@app.command()
def verify(
    ctx: typer.Context,
    assessment: AssessmentsOption = None,
    recipient: RecipientsOption = None,
    force: ForceAlias = None,
    out: OutOption = None,
    final: Annotated[bool, typer.Option("--final", help="Verify the final build's hand-over folder, <assessment>/final/.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Treat warnings (a hand-over folder that is not the whole series) as errors.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check that each PDF in output/ holds its letter's text verbatim, as the data gives it now, and
    still claims and holds its standard (PDF/UA-1; PDF/A-2a too in a final build).

    \b
    Examples:
      letters verify
      letters verify --final    (the hand-over folder of `letters build --final`)
      letters verify --final --strict    (and it must hold the whole series)
      letters verify --recipient cleveland --out /tmp/letters
      letters verify --json
    """
    from hmicfrs_letters.workflow.listing import verify_json
    from hmicfrs_letters.workflow.verify import verify_output

    checked = []
    with _reporting():
        works, problems = _works(ctx, assessment, _recipients(recipient, force), out=out)
        for work in works:
            report = verify_output(work, final, strict)
            checked += [f"{work.assessment.slug}/{slug}" for slug in report.checked]
            problems += report.problems
    if as_json:
        _json(verify_json(works, checked, problems))
    else:
        _fail(problems)
        errors = sum(p.is_error for p in problems)
        warnings = f", {_count(len(problems) - errors, 'warning')}" if len(problems) > errors else ""
        typer.echo(f"Verified {len(checked)} PDFs, {errors} problems{warnings}")
    if any(p.is_error for p in problems):
        raise typer.Exit(1)


DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would be sent; send nothing.")]


@app.command()
def outbox(
    ctx: typer.Context,
    assessment: AssessmentsOption = None,
    recipient: RecipientsOption = None,
    force: ForceAlias = None,
    out: OutOption = None,
) -> None:
    """Make one e-mail a letter from the verified final folder, into output/<assessment>/outbox/.

    \b
    Each <id>.eml attaches the letter's final PDF and is marked unsent (X-Unsent: 1), so that a
    mail program opens it as a draft; outbox/index.html lists To, Cc, subject and attachment.
    A letter without an e-mail address is named and left out.
    Examples:
      letters outbox
      letters outbox --recipient cleveland
    """
    from hmicfrs_letters.workflow.outbox import make_outbox

    failed = False
    with _reporting():
        works, problems = _works(ctx, assessment, _recipients(recipient, force), out=out)
        _fail(problems)
        for work in works:
            try:
                made = make_outbox(work)
            except LetterError as exc:
                _fail(exc.problems)
                failed = True
                continue
            _fail([*made.notes, *made.left_out])
            failed = failed or any(p.is_error for p in made.left_out)
            typer.echo(f"Wrote {_count(len(made.messages), 'message')}, {len(made.left_out)} left out: {made.folder / 'index.html'}")
    if failed or problems:
        raise typer.Exit(1)


@app.command()
def send(
    ctx: typer.Context,
    assessment: AssessmentsOption = None,
    recipient: RecipientsOption = None,
    force: ForceAlias = None,
    dry_run: DryRun = False,
    resend: Annotated[
        list[str] | None,
        typer.Option("--resend", metavar="ID", help="Send this letter again, though it is issued or may have been sent (repeatable)."),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who sends them, for the record (default: git config user.name).")] = None,
    out: OutOption = None,
) -> None:
    """Send the outbox over SMTP, each letter once, recording what went to whom in its file.

    \b
    Settings: letters.toml's [smtp] (host, port, security, username); the password only in
    the environment variable LETTERS_SMTP_PASSWORD.
    Examples:
      letters send --dry-run
      letters send
      letters send --resend cleveland
    """
    from hmicfrs_letters.workflow.approve import default_approver
    from hmicfrs_letters.workflow.send import send as send_letters

    failed, reported = False, set()
    with _reporting():
        works, problems = _works(ctx, assessment, _recipients(recipient, force), out=out)
        _fail(problems)
        for work in works:
            who = (by or "").strip() or default_approver(work.project) or ""
            if not who and not dry_run:
                raise LetterError(Problem("letters.toml", "who sends them, for the record? give --by NAME (git has no user.name here)"))

            def shown(outcome) -> None:
                reported.add(id(outcome))
                if outcome.sent:
                    typer.echo(f"Sent {outcome.state.slug} to {', '.join(outcome.message.to)} ({outcome.message.message_id})")
                if outcome.problem:
                    _say(outcome.problem)

            try:
                report = send_letters(work, who, dry_run=dry_run, resend=resend or (), progress=shown)
            except LetterError as exc:
                _fail(exc.problems)
                failed = True
                continue
            _fail(report.problems)
            _fail(o.problem for o in report.outcomes if o.problem and id(o) not in reported)
            waiting = [o for o in report.outcomes if o.problem is None and not o.sent]
            if dry_run:
                for o in waiting:
                    typer.echo(
                        f"Would send {o.state.slug} to {', '.join(o.message.to)}{' cc ' + ', '.join(o.message.cc) if o.message.cc else ''}: {o.message.subject}"
                    )
            sent = sum(o.sent for o in report.outcomes)
            typer.echo(
                f"{work.assessment.slug}: {'would send' if dry_run else 'sent'} {_count(len(waiting) if dry_run else sent, 'message')}"
            )
            failed = failed or report.failed
    if failed or problems:
        raise typer.Exit(1)


@app.command("mark-issued")
def mark_issued(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(metavar="ID", help="The letter sent by hand from the outbox.", autocompletion=_complete_slugs)],
    by: Annotated[str, typer.Option("--by", help="Who sent it.")],
    on: Annotated[str | None, typer.Option("--on", metavar="DATE", help="The day it was sent, YYYY-MM-DD (default: today).")] = None,
    assessment: AssessmentOption = None,
    out: OutOption = None,
) -> None:
    """Record a letter as issued: sent by hand from its outbox message (or found to have been sent).

    \b
    Example:
      letters mark-issued cleveland --by "Jane Smith" --on 2017-10-02
    """
    import datetime as dt

    from hmicfrs_letters.workflow.send import mark_issued as record
    from hmicfrs_letters.workflow.series import Workflow

    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError:
        raise typer.BadParameter(f"{on!r} is not a date written as YYYY-MM-DD", param_hint="'--on'") from None
    with _reporting():
        work = Workflow.load(_project(ctx), assessment, out=out)
        issued = record(work, slug, by.strip(), day)
    typer.echo(f"{slug}: issued on {issued.on.isoformat()} to {', '.join(issued.to)} ({issued.message_id}), recorded")


@app.command("diff")
def diff(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(metavar="SLUG_A", autocompletion=_complete_slugs)],
    second: Annotated[str, typer.Argument(metavar="SLUG_B", autocompletion=_complete_slugs)],
    assessment: AssessmentOption = None,
) -> None:
    """Print the passages in which two recipients' letters differ.

    \b
    Only the addressee block, the salutation, the signature and the fields should; anything else is marked.
    Example:
      letters diff cleveland north-yorkshire
    """
    from hmicfrs_letters.workflow.diff import FIXED, letter_diff

    with _reporting():
        differences = letter_diff(_work(ctx, assessment), first, second)
    for difference in differences:
        typer.echo(f"@@ {difference.part}{'  <- not expected to differ' if difference.part == FIXED else ''}")
        lines = [f"- {line}" for line in difference.first] + [f"+ {line}" for line in difference.second]
        typer.echo("".join(visible(line) + "\n" for line in lines), nl=False)
    fixed = sum(d.part == FIXED for d in differences)
    typer.echo(f"{len(differences)} differences between {first} and {second}, {fixed} in the fixed wording", err=True)


@app.command()
def serve(
    ctx: typer.Context,
    assessment: AssessmentsOption = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Drafts are confidential: keep the default.")] = "127.0.0.1",
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="A host name the preview answers to besides this machine's (repeatable); needed beyond loopback.",
        ),
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the index in the default web browser.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds a letter's PDF may take before it fails and its worker is replaced.")
    ] = LETTER_TIME_LIMIT,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            envvar="LETTERS_USER",
            metavar="NAME",
            help="Who approves from this preview (or LETTERS_USER); without it, each browser is asked once for a name.",
        ),
    ] = None,
    trust_user_header: Annotated[
        str | None,
        typer.Option(
            "--trust-user-header",
            metavar="HEADER",
            help="Behind an authenticating reverse proxy: who approves and saves is the name in this request header (off by default).",
        ),
    ] = None,
) -> None:
    """Preview the letters in a browser, refreshed as you edit data/ and templates/.

    \b
    Every assessment unless --assessment names some.
    Examples:
      letters serve    (then open http://127.0.0.1:8000/)
      letters serve --port 8080 --open
      letters serve --host 0.0.0.0 --allow-host letters.example.org    (others can read the drafts)
    """
    from hmicfrs_letters.preview.server import Server, is_loopback, user_header_refusal

    refusal = user_header_refusal(trust_user_header, host, allow_host or (), user)
    if refusal:
        _say(refusal)
        raise typer.Exit(2)
    with _reporting():
        server = Server(
            _project(ctx),
            assessment or (),
            host,
            port,
            allow_hosts=allow_host or (),
            timeout=timeout,
            user=user,
            user_header=trust_user_header,
        )
    if not is_loopback(host):
        typer.secho(
            f"Warning: listening on {host}: anyone who can reach this machine can read the drafts, which are confidential.",
            fg="yellow",
            err=True,
            color=_color(),
        )
    typer.echo(f"Previewing {', '.join(server.preview.series)} at {server.url} (Ctrl+C to stop)")
    server.run(open_browser=open_browser)


def main() -> None:
    """Run the command line (the console script's entry point is launch.main, which calls this)."""
    app(prog_name="letters")
