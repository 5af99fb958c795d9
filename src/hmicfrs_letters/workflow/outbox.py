"""`letters outbox`: one e-mail a letter, made from the verified final folder only, to check before sending.

Each letter the final folder holds, as `letters verify --final` finds it and still issuable by the
rules (core.state), becomes output/<assessment>/outbox/<id>.eml: an RFC 5322 message from the
assessment's `email: from`, to the letter's (or its recipient's) `email`, copied to its `cc`, with
its final PDF attached under a readable name, its body from templates/<series>/email.txt.j2 (and
email.html.j2 when there is one), and `X-Unsent: 1`, so that a mail program opens it as a draft to
send from one's own mailbox. outbox/index.html lists each message's To, Cc, subject, attachment and
the attachment's SHA-256. `letters send` (workflow.send) sends these very files.

A message's Message-ID is made from the letter's approval (its fingerprint, which core.state
reads back from an `issued:` record): the same letter gets the same Message-ID however often its
outbox is made, and a letter changed and approved again gets another.
"""

from __future__ import annotations

import email.policy
import hashlib
import json
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, localtime
from pathlib import Path, PurePosixPath

from hmicfrs_letters.build.manifest import MANIFEST
from hmicfrs_letters.core.errors import LetterError, Problem, Severity
from hmicfrs_letters.core.files import write_atomic, writing
from hmicfrs_letters.core.mail import DEFAULT_SUBJECT, DEFAULT_SUBJECT_WITH_REFERENCE, bare_address, fill
from hmicfrs_letters.core.models import Letter
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.core.render import letter_context, letter_reference
from hmicfrs_letters.core.state import APPROVAL_IN_ID, LetterState
from hmicfrs_letters.pdf.cache import MAX_ENTRY_BYTES
from hmicfrs_letters.workflow.series import Workflow
from hmicfrs_letters.workflow.verify import verify_output

OUTBOX = "outbox"
UNSENT = "X-Unsent"
BODY, HTML_BODY, INDEX = "email.txt.j2", "email.html.j2", "base/outbox.html.j2"
# A mail program's own line length; RFC 5322 allows 998.
POLICY = email.policy.SMTP.clone(max_line_length=78)
_UNSAFE_NAME = re.compile(r"[^\w .,()'-]+")


@dataclass(frozen=True)
class Message:
    """One letter's e-mail, as the outbox holds it."""

    slug: str
    name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    message_id: str
    attachment: str  # its file name in the message
    sha256: str  # the attached PDF's
    sender: str = ""
    data: bytes = b""  # the message as written to the outbox (RFC 5322, CRLF line ends)

    @property
    def recipients(self) -> list[str]:
        """The envelope's recipients: every To and Cc address."""
        return [bare_address(a) for a in (*self.to, *self.cc)]


@dataclass
class Outbox:
    """What `letters outbox` made: the messages written, and the letters left out, one line each."""

    folder: Path
    messages: list[Message] = field(default_factory=list)
    left_out: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # what `letters verify --final` warned of (a partial hand-over folder)


def folders(work: Workflow) -> tuple[Path, Path]:
    """The assessment's final folder and its outbox."""
    base = (work.out or work.project.output_dir).resolve() / work.assessment.slug
    return base / "final", base / OUTBOX


def message_id(work: Workflow, letter: Letter) -> str:
    """The Message-ID of this letter's e-mail: its assessment, its id and its approval's fingerprint, at the sender's domain."""
    assert letter.approved is not None
    domain = bare_address(work.assessment.email.sender).rpartition("@")[2] or "hmicfrs-letters.invalid"
    return f"<{work.assessment.slug}.{letter.recipient.slug}.{letter.approved.sha256[:APPROVAL_IN_ID]}@{domain}>"


def attachment_name(work: Workflow, letter: Letter) -> str:
    """The PDF's name in the message: the recipient and the assessment, in characters every mail program keeps,
    short enough for one header line (a longer one is split in a way some mail programs do not read)."""
    words = f"{letter.recipient.name} - {work.assessment.slug}"
    return (re.sub(r"\s+", " ", _UNSAFE_NAME.sub(" ", words)).strip()[:60] or letter.recipient.slug) + ".pdf"


def subject(work: Workflow, letter: Letter) -> str:
    """The e-mail's subject: the assessment's `email: subject` pattern, or the letter's subject (with its reference)."""
    reference = letter_reference(work.assessment, letter)
    pattern = work.assessment.email.subject or (DEFAULT_SUBJECT_WITH_REFERENCE if reference else DEFAULT_SUBJECT)
    values = {
        "id": letter.recipient.slug,
        "assessment": work.assessment.slug,
        "subject": work.assessment.subject,
        "recipient": letter.recipient.name,
        "reference": reference,
    }
    return " ".join(fill(pattern, values).split())


def final_pdfs(work: Workflow) -> tuple[Path, dict[str, str], list[Problem]]:
    """The final folder's PDFs as its manifest lists them (slug: SHA-256), once `letters verify --final` finds
    no error in it; LetterError otherwise. Also the warnings verify gave (a partial hand-over folder)."""
    final, _outbox = folders(work)
    report = verify_output(work, final=True)
    errors = [p for p in report.problems if p.is_error]
    if errors:
        raise LetterError(
            [
                Problem(
                    work.project.shown(final),
                    "the final folder does not verify, so no e-mail is made from it: run `letters build --final`, then `letters verify --final`",
                ),
                *errors,
            ]
        )
    shown = work.project.shown(final / MANIFEST)
    try:
        record = json.loads(read_project_file(final, final / MANIFEST, shown, MAX_ENTRY_BYTES))
        outputs = record["outputs"]
        hashes = {str(PurePosixPath(name).stem): digest for name, digest in outputs.items() if name.startswith("pdf/")}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LetterError(Problem(shown, "cannot read the final folder's manifest: run `letters build --final` again")) from None
    return final, hashes, [p for p in report.problems if not p.is_error]


def compose(work: Workflow, state: LetterState, pdf: bytes) -> Message:
    """One letter's e-mail with its PDF attached (its bytes as given), marked unsent; LetterError from its body's template."""
    letter = state.item.letter
    assert letter is not None
    settings = work.assessment.email
    series = PurePosixPath(work.assessment.template).parent
    context = {**letter_context(work.assessment, letter, state.item.shown), "email_subject": subject(work, letter)}
    text = work.templates.render(str(series / BODY), context)
    message = EmailMessage(policy=POLICY)
    message["From"] = settings.sender
    message["To"] = ", ".join(letter.to)
    if letter.copies:
        message["Cc"] = ", ".join(letter.copies)
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = context["email_subject"]
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = message_id(work, letter)
    message[UNSENT] = "1"
    message.set_content(text)
    if (work.project.templates_dir / series / HTML_BODY).is_file():
        message.add_alternative(work.templates.render(str(series / HTML_BODY), context), subtype="html")
    name = attachment_name(work, letter)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    return Message(
        slug=state.slug,
        name=state.name,
        to=letter.to,
        cc=letter.copies,
        subject=context["email_subject"],
        message_id=message["Message-ID"],
        attachment=name,
        sha256=hashlib.sha256(pdf).hexdigest(),
        sender=settings.sender,
        data=message.as_bytes(),
    )


def plan(work: Workflow) -> tuple[list[tuple[LetterState, bytes]], list[Problem], list[Problem]]:
    """The letters of the final folder (the chosen ones) that may be e-mailed, each with its final PDF's bytes;
    one line for each left out (no address, no longer issuable, a PDF that is not the manifest's); and
    the final folder's warnings."""
    project, assessment = work.project, work.assessment
    if not assessment.email.sender:
        raise LetterError(
            Problem(
                project.shown(project.assessment_file(assessment.slug)),
                "no sender for the e-mails: give 'email:' with 'from: name@example.org' in the assessment file",
            )
        )
    final, hashes, notes = final_pdfs(work)
    left_out = []
    slugs = [slug for slug in (work.chosen or sorted(hashes)) if slug in hashes]
    left_out += [
        Problem(project.shown(final), f"{slug}: not in the final folder; left out", severity=Severity.WARNING)
        for slug in work.chosen
        if slug not in hashes
    ]
    ready = []
    for state in work.states(work.batch.select(slugs)):
        letter = state.item.letter
        path = final / "pdf" / f"{state.slug}.pdf"
        if letter is None or not state.issuable:
            left_out.append(Problem(state.item.shown, f"{state.name}: {state.title.lower()}, not issuable now; left out"))
            continue
        if not letter.to:
            left_out.append(
                Problem(
                    state.item.shown,
                    f"{state.name}: no e-mail address (give 'email' in its entry of the recipient list, or in its letter file); left out",
                    severity=Severity.WARNING,
                )
            )
            continue
        pdf = read_project_file(final, path, project.shown(path), MAX_ENTRY_BYTES)
        if hashlib.sha256(pdf).hexdigest() != hashes[state.slug]:
            left_out.append(
                Problem(project.shown(path), f"{state.name}: the PDF is not the one the final folder's manifest lists; left out")
            )
            continue
        ready.append((state, pdf))
    return ready, left_out, notes


def make_outbox(work: Workflow) -> Outbox:
    """Write outbox/<id>.eml for each letter of the final folder that may be e-mailed, and outbox/index.html."""
    ready, left_out, notes = plan(work)
    _final, folder = folders(work)
    outbox = Outbox(folder, left_out=left_out, notes=notes)
    for state, pdf in ready:
        message = compose(work, state, pdf)
        path = folder / f"{message.slug}.eml"
        with writing(work.project.shown(path), then="the outbox is incomplete: run `letters outbox` again"):
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, message.data)
        outbox.messages.append(message)
    index = work.templates.render(INDEX, {"assessment": work.assessment, "messages": outbox.messages, "left_out": outbox.left_out})
    with writing(work.project.shown(folder / "index.html")):
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "index.html", index)
    return outbox
