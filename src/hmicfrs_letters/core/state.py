"""A letter's state: the one set of rules that says what a letter is, and why.

Every face of the engine asks here: `check`, `list` and its JSON, a build (the letter's mark, the
index, the overview, the manifest), a final build, `verify`, `approve`, and the preview's pages.
A letter is

- invalid: its file cannot be read, or its template fails on it; there is no letter to show;
- draft: written or not, not approved;
- approved: approved, and the approval stands (core.approval: its fingerprint is the letter's);
- changed: marked approved, but changed since it was approved (or never approved with a record):
  approved nowhere, and its HTML and PDF say so; or changed since it was issued;
- issued: approved, and sent as approved: its file's `issued:` record names the message that
  carried it, whose Message-ID holds the approval's fingerprint (workflow.outbox.message_id).

On top of its status a letter may have errors (its file's, its template's, its PDF's, the page
limit's): an approved letter with errors is not issuable either. A state is decided in two steps:
`assess` renders the letter and judges its approval; `LetterState.with_pages` adds what its PDF
said (a PDF is made outside the core, by pdf.service).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hmicfrs_letters.core.approval import html_fingerprint
from hmicfrs_letters.core.errors import LetterError, Problem, Said, Severity, plain
from hmicfrs_letters.core.models import APPROVED, PENDING, Assessment, FieldSpec
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.skeleton import quoted, replaced_passages
from hmicfrs_letters.core.status import ISSUED_TITLE, REPLACED, REPLACED_PLAIN, STANDING, TITLES, Status
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import LetterInput, approval_gaps

AGAIN = "approve it again or set it back to draft"
# The element the templates show where a field is still to be written.
_TEMPLATE_PLACEHOLDER = re.compile(r"""class=["'][^"']*\bplaceholder\b""")
# A field's placeholder names its field (core.render.Missing).
_PRINTED_FIELD = re.compile(r'data-field="([a-z][a-z0-9_]*)"')


def printed_placeholders(html: str, assessment: Assessment) -> list[FieldSpec]:
    """The fields whose placeholder the letter prints (not written, and printed by the template), in order."""
    return [spec for name in dict.fromkeys(_PRINTED_FIELD.findall(html)) if (spec := assessment.field(name))]


def _optional_placeholders(item: LetterInput, html: str, assessment: Assessment) -> tuple[Problem, ...]:
    """A warning for each optional field the letter leaves empty but prints: a required one is warned of already."""
    return tuple(
        Problem(
            item.shown,
            f"'{spec.name}' ({spec.title}) is optional and not written, but the template prints it: the letter shows "
            f"the placeholder '[{spec.title}]'; write it, or have the template leave it out when empty",
            severity=Severity.WARNING,
            key=spec.name,
        )
        for spec in printed_placeholders(html, assessment)
        if not spec.required
    )


def _replaced(templates: Templates, assessment: Assessment, item: LetterInput) -> tuple[Problem, ...]:
    """A note for each standard passage of the template that the letter's own text replaces (core.skeleton)."""
    letter = item.letter
    assert letter is not None
    notes = []
    for spec, passage in replaced_passages(templates, assessment, letter):
        words = {"name": spec.name, "title": spec.title, "passage": quoted(passage, letter.recipient)}
        line = item.doc.line(spec.name) if item.doc else None
        notes.append(
            Problem(
                item.shown, REPLACED.format(**words), line, severity=Severity.WARNING, key=spec.name, plain=REPLACED_PLAIN.format(**words)
            )
        )
    return tuple(notes)


@dataclass(frozen=True)
class LetterState:
    """One letter as the rules see it: its status, its HTML as it builds (marked by its status),
    its own problems, why an approval does not stand, and its pages once its PDF is made."""

    item: LetterInput
    status: Status
    html: str | None = None
    problems: tuple[Problem, ...] = ()  # its file's, its template's, its PDF's and the page limit's
    approval: Problem | None = None  # why the approval does not stand: an error, but the letter still builds
    pages: int | None = None
    assessment: Assessment | None = None  # for the page limit

    @property
    def slug(self) -> str:
        return self.item.slug

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def title(self) -> str:
        record = self.item.letter.issued if self.item.letter else None
        if self.status is Status.ISSUED and record:
            return ISSUED_TITLE.format(on=record.on.isoformat(), to=", ".join(record.to))
        return TITLES[self.status]

    @property
    def all_problems(self) -> list[Problem]:
        """Every problem `letters check` reports for this letter, in the file's order."""
        found = [*self.problems, *([self.approval] if self.approval else [])]
        return sorted(dict.fromkeys(found), key=lambda p: (p.line or 0, p.column or 0))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.all_problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.all_problems if not p.is_error]

    @property
    def failed(self) -> bool:
        """Whether the letter cannot be made: no HTML, or an error of its own (not an approval that no longer stands)."""
        return self.html is None or any(p.is_error for p in self.problems)

    @property
    def issuable(self) -> bool:
        return self.status in STANDING and not self.errors

    @classmethod
    def unmade(cls, item: LetterInput, assessment: Assessment, problem: Problem) -> LetterState:
        """A letter whose making stopped before it could be judged (its worker timed out or died)."""
        return cls(item, Status.INVALID, problems=(*item.problems, problem), assessment=assessment)

    def with_pages(self, pages: int | Problem | None) -> LetterState:
        """This state once its PDF is made: its page count, or why the PDF failed; over the limit is an error."""
        if isinstance(pages, Problem):
            return dataclasses.replace(self, problems=(*self.problems, pages))
        if pages is None or self.item.letter is None or self.assessment is None:
            return self
        over = page_limit_message(self.assessment, self.name, pages)
        extra = (
            (Problem(self.item.shown, over, key=_longest_field(self.assessment), plain=page_limit_plain(self.assessment, pages)),)
            if over
            else ()
        )
        return dataclasses.replace(self, pages=pages, problems=(*self.problems, *extra))

    def refusal(self) -> list[str]:
        """Why a final build may not issue this letter, in a word or two each; nothing when it may."""
        letter = self.item.letter
        if letter is None or self.html is None:
            return [str(self.status)]
        words = [w for w, on in (("draft", letter.is_draft), ("pending", letter.outcome == PENDING)) if on]
        if self.status is Status.CHANGED and letter.issued:
            words.append(f"changed since it was issued on {letter.issued.on.isoformat()}")
        elif self.status is Status.CHANGED:
            record = letter.approved
            words.append(f"changed since it was approved by {record.by} on {record.on.isoformat()}" if record else "no approval record")
        if any(p.is_error for p in self.problems):
            words.append("errors")
        return words


def page_limit_message(assessment: Assessment, name: str, pages: int) -> str | None:
    """Why a letter of this many pages is over its assessment's limit; None when it is not. The one message for it."""
    if pages <= assessment.page_limit:
        return None
    return (
        f"{name}: the letter has {pages} pages, over the limit of {assessment.page_limit} "
        f"(page_limit in data/assessments/{assessment.slug}.yaml); shorten the findings"
    )


def page_limit_plain(assessment: Assessment, pages: int) -> str:
    """The page limit's problem in the letter page's words."""
    return f"The letter has {pages} pages, over the limit of {assessment.page_limit}: shorten the {_longest_field(assessment) or 'text'}."


def _longest_field(assessment: Assessment) -> str:
    """The field the page limit is shown on: the first Markdown one (the findings), where one is."""
    return next((spec.name for spec in assessment.fields if spec.type == "markdown"), "")


def assess(templates: Templates, assessment: Assessment, item: LetterInput) -> LetterState:
    """The letter's state: rendered as it builds, its approval judged against what it says now."""
    letter, problems = item.letter, tuple(item.problems)
    if letter is None:
        return LetterState(item, Status.INVALID, problems=problems, assessment=assessment)
    try:
        if letter.is_draft:
            html = render_letter(templates, assessment, letter, item.shown)
            problems += _optional_placeholders(item, html, assessment) + _replaced(templates, assessment, item)
            return LetterState(item, Status.DRAFT, html, problems, assessment=assessment)
        html = render_letter(templates, assessment, letter, item.shown)
        problems += _optional_placeholders(item, html, assessment) + _replaced(templates, assessment, item)
        approval = _approval_problem(item, html, assessment)
        if letter.issued is not None:  # sent: it stands as issued, or is changed since it was issued
            if approval is None and issued_with(letter.approved.sha256, letter.issued.message_id):
                return LetterState(item, Status.ISSUED, html, problems, assessment=assessment)
            approval = _issue_problem(item)
        if approval is None:
            return LetterState(item, Status.APPROVED, html, problems, assessment=assessment)
        html = render_letter(templates, assessment, letter, item.shown, state=Status.CHANGED)
        return LetterState(item, Status.CHANGED, html, problems, approval, assessment=assessment)
    except LetterError as exc:  # an error inside a template, met while rendering this letter
        return LetterState(item, Status.INVALID, None, (*problems, *exc.problems), assessment=assessment)


def _approval_problem(item: LetterInput, html: str, assessment: Assessment) -> Problem | None:
    """Why an approved letter's approval does not stand (no record, or changed since); None when it stands."""
    letter = item.letter
    assert letter is not None and letter.status == APPROVED
    line = item.doc.line("status") if item.doc else None
    record = letter.approved
    if record is None:
        return Problem(
            item.shown,
            f"'status: approved' without an approval record; approve it with `letters approve {item.slug}`, or set it back to draft",
            line,
            plain="Marked approved, but no one's approval is recorded: approve it again, or set it back to draft.",
        )
    if html_fingerprint(html, assessment.wording_sha256) != record.sha256:
        said = f"Changed since it was approved by {record.by} on {record.on:%-d %B %Y}: approve it again, or set it back to draft."
        return Problem(item.shown, f"changed since it was approved by {record.by} on {record.on.isoformat()}: {AGAIN}", line, plain=said)
    return None


def issued_with(approval_sha256: str, message_id: str) -> bool:
    """Whether a message of this Message-ID carried the letter of this approval (workflow.outbox.message_id holds its fingerprint)."""
    return bool(approval_sha256) and f".{approval_sha256[:APPROVAL_IN_ID]}@" in message_id


# How many hexadecimal digits of the approval's fingerprint a Message-ID holds.
APPROVAL_IN_ID = 24


def _issue_problem(item: LetterInput) -> Problem:
    """Why an issued letter is not the letter issued: it changed since (approved again or not)."""
    letter = item.letter
    assert letter is not None and letter.issued is not None
    record = letter.issued
    line = item.doc.line("issued") if item.doc else None
    return Problem(
        item.shown,
        f"changed since it was issued on {record.on.isoformat()} to {', '.join(record.to)}: restore the letter as issued; "
        "to issue a correction, move the 'issued' record into a comment and approve it again",
        line,
    )


def approval_blockers(state: LetterState, assessment: Assessment, wording_locked: bool) -> list[str]:
    """Why `letters approve` refuses this letter today (nothing when it may be approved).

    `wording_locked`: whether the templates' fixed wording is the approved one. The page limit
    counts once the state has its pages (LetterState.with_pages).
    """
    reasons: list[str] = [Said(p.message if p.path == state.item.shown else str(p), plain(p), p.key) for p in state.problems if p.is_error]
    letter = state.item.letter
    if letter is None or state.html is None:
        return reasons
    gaps = approval_gaps(letter, assessment)
    if letter.is_draft:  # an approved letter's gaps are errors of its file already
        reasons += [reason for _key, reason in gaps]
    if not wording_locked:
        said = "The letter's fixed wording has changed since it was agreed: the data team must approve the new wording first."
        reasons.append(Said("the fixed wording is not the approved wording (see `letters check`)", said))
    if not gaps and _TEMPLATE_PLACEHOLDER.search(state.html):
        specs = printed_placeholders(state.html, assessment)
        named = ", ".join(f"'{spec.name}' ({spec.title})" for spec in specs)
        titles = ", ".join(spec.title for spec in specs)
        reasons.append(
            Said(f"the letter still shows a placeholder for {named}", f"The letter still shows a placeholder for {titles}: fill it in.")
            if named
            else Said("the letter still shows a placeholder", "The letter still shows a placeholder: fill in what it marks.")
        )
    return reasons


def counts(states: Sequence[LetterState]) -> dict[str, int]:
    """How many letters are in each status, for the indexes' summaries."""
    found = {str(status): 0 for status in Status}
    for state in states:
        found[state.status] += 1
    return found
