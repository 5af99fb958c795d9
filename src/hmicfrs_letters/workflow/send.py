"""`letters send` and `letters mark-issued`: the outbox sent over SMTP exactly once, and a record of what went to whom.

The settings are letters.toml's [smtp] table at the project's root (host, port, security =
starttls | tls | none, username); the password comes only from the environment
(LETTERS_SMTP_PASSWORD). What is sent is the outbox's own file (workflow.outbox), once it is found
to be the letter as it is now, without its `X-Unsent` mark.

Exactly once: just before a message's content goes to the server, an intent is written
(data/assessments/<assessment>/.sending/<id>.json, naming the Message-ID it carries); once the
server accepts it, the letter's file records `issued: {on, by, to, cc, message_id, sha256}` and
the intent is removed. A letter with a record is not sent again unless asked (`--resend ID`); a
letter with an intent and no record (the command stopped between the two) may have been sent:
`send` refuses it until someone decides, with `--resend ID` or `letters mark-issued ID`.

Faults: a server that cannot be reached stops before anything is recorded; a temporary refusal
(4xx) is tried again after a pause, then left unsent; a permanent refusal (5xx) fails that letter
alone; a connection dropped mid-batch keeps what was accepted and leaves the rest for the next send.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import smtplib
import socket
import ssl
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem, Severity
from hmicfrs_letters.core.files import HeldFile, write_atomic, writing
from hmicfrs_letters.core.mail import bare_address
from hmicfrs_letters.core.models import IssueRecord
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.core.state import LetterState
from hmicfrs_letters.pdf.cache import MAX_ENTRY_BYTES
from hmicfrs_letters.workflow.outbox import POLICY, UNSENT, Message, compose, folders, plan
from hmicfrs_letters.workflow.series import Workflow
from hmicfrs_letters.workflow.yamledit import issued_written

SETTINGS_FILE = "letters.toml"
PASSWORD_VARIABLE = "LETTERS_SMTP_PASSWORD"
SECURITIES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SMTP_KEYS = ("host", "port", "security", "username")
# Pauses, in seconds, before each new try of a message the server refused for now (4xx).
RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)
CONNECT_TIMEOUT = 30.0
INTENTS = ".sending"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"
    username: str = ""


def read_settings(root: Path) -> SmtpSettings:
    """letters.toml's [smtp] table; LetterError, naming the file and the key, for what is missing or wrong."""
    path = root / SETTINGS_FILE
    shown = SETTINGS_FILE
    if not path.is_file():
        raise LetterError(
            Problem(shown, "no settings for sending: write letters.toml at the project's root with an [smtp] table (see the guide)")
        )
    try:
        data = tomllib.loads(read_project_file(root, path, shown, 100_000).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LetterError(Problem(shown, f"not valid TOML: {exc}")) from None
    smtp = data.get("smtp")
    if not isinstance(smtp, dict):
        raise LetterError(Problem(shown, "no [smtp] table: give host, and port, security and username as needed"))
    unknown = [key for key in smtp if key not in SMTP_KEYS]
    if unknown:
        raise LetterError(
            Problem(
                shown,
                f"[smtp] has an unknown key '{unknown[0]}'; expected: {', '.join(SMTP_KEYS)} (the password only in {PASSWORD_VARIABLE})",
            )
        )
    host, security, username = smtp.get("host"), smtp.get("security", "starttls"), smtp.get("username", "")
    if not isinstance(host, str) or not host.strip():
        raise LetterError(Problem(shown, "[smtp] 'host' should be the mail server's name, in quotes"))
    if security not in SECURITIES:
        raise LetterError(Problem(shown, f"[smtp] 'security' is {security!r}; expected one of: {', '.join(SECURITIES)}"))
    port = smtp.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise LetterError(Problem(shown, "[smtp] 'port' should be a port number (587 for starttls, 465 for tls)"))
    if not isinstance(username, str):
        raise LetterError(Problem(shown, "[smtp] 'username' should be text, in quotes"))
    if security == "none" and not is_loopback(host):
        raise LetterError(
            Problem(shown, f'[smtp] security = "none" sends the letters unencrypted: refused for {host}, which is not this machine')
        )
    return SmtpSettings(host.strip(), port, security, username)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- intents and records ---------------------------------------------------------------------


def intent_path(work: Workflow, slug: str) -> Path:
    return work.project.letters_dir(work.assessment.slug) / INTENTS / f"{slug}.json"


def read_intent(work: Workflow, slug: str) -> dict | None:
    """The intent left for this letter (a send started and not recorded), or None."""
    path = intent_path(work, slug)
    if not path.exists():
        return None
    try:
        found = json.loads(read_project_file(work.project.data_dir, path, work.project.shown(path), 100_000))
        return found if isinstance(found, dict) else {}
    except (LetterError, ValueError):
        return {}


def _write_intent(work: Workflow, message: Message) -> None:
    path = intent_path(work, message.slug)
    intent = {
        "message_id": message.message_id,
        "to": list(message.to),
        "cc": list(message.cc),
        "sha256": message.sha256,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with writing(work.project.shown(path), then="nothing was sent"):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(intent, indent=2) + "\n")


def _remove_intent(work: Workflow, slug: str) -> None:
    intent_path(work, slug).unlink(missing_ok=True)


def record_issued(work: Workflow, state: LetterState, message: Message, by: str, on: dt.date) -> IssueRecord:
    """Write the letter's `issued:` record (its file held while it is rewritten), then remove its intent."""
    record = IssueRecord(on, by, message.to, message.cc, message.message_id, message.sha256)
    item = state.item
    with HeldFile(item.source, item.shown, work.project.locks_dir, work.project.data_dir) as held:
        if held.data is None:
            raise LetterError(Problem(item.shown, "the letter's file is gone; its intent is kept"))
        held.write(issued_written(held.data, record, item.shown), then="its intent is kept: the letter may have been sent")
    _remove_intent(work, state.slug)
    return record


# --- what to send ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one letter of a send."""

    message: Message
    state: LetterState
    sent: bool = False
    problem: Problem | None = None  # why it was not sent (an error), or a note (already issued: a warning)
    record: IssueRecord | None = None


@dataclass
class SendReport:
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # letters left out of the outbox, and what stopped the send

    @property
    def failed(self) -> bool:
        return any(p.is_error for p in self.problems) or any(o.problem and o.problem.is_error for o in self.outcomes)


def outbox_message(work: Workflow, state: LetterState, pdf: bytes) -> Message:
    """The letter's message as its outbox file holds it, once found to be the letter as it is now; LetterError otherwise."""
    _final, folder = folders(work)
    path = folder / f"{state.slug}.eml"
    shown = work.project.shown(path)
    if not path.is_file():
        raise LetterError(Problem(shown, f"{state.name}: not in the outbox: run `letters outbox`, check it, then send"))
    data = read_project_file(folder, path, shown, MAX_ENTRY_BYTES * 2)
    fresh = compose(work, state, pdf)
    parsed = message_from_bytes(data, policy=POLICY)
    attached = [part.get_content() for part in parsed.iter_attachments()]

    def header(name: str) -> str:
        return " ".join(str(parsed[name] or "").split())

    same = (
        header("Message-ID") == fresh.message_id
        and header("To") == ", ".join(fresh.to)
        and header("Cc") == ", ".join(fresh.cc)
        and header("Subject") == fresh.subject
        and [hashlib.sha256(a).hexdigest() for a in attached] == [fresh.sha256]
    )
    if not same:
        raise LetterError(
            Problem(shown, f"{state.name}: the outbox's message is not the letter as it is now: run `letters outbox` and check it again")
        )
    return Message(**{**fresh.__dict__, "data": data})


def _sendable(work: Workflow) -> tuple[list[tuple[LetterState, Message]], list[Problem]]:
    ready, problems, _notes = plan(work)
    found = []
    for state, pdf in ready:
        try:
            found.append((state, outbox_message(work, state, pdf)))
        except LetterError as exc:
            problems += exc.problems
    return found, problems


def send(
    work: Workflow,
    by: str,
    dry_run: bool = False,
    resend: Sequence[str] = (),
    progress: Callable[[Outcome], None] | None = None,
    settings: SmtpSettings | None = None,
    on: dt.date | None = None,
) -> SendReport:
    """Send the outbox's messages not yet sent (and those of `resend`), recording each once the server accepts it."""
    found, problems = _sendable(work)
    report = SendReport(problems=problems)
    unknown = [slug for slug in resend if slug not in {state.slug for state, _ in found}]
    if unknown:
        report.problems += [
            Problem(work.project.shown(folders(work)[1]), f"--resend {slug}: no such message in the outbox") for slug in unknown
        ]
    todo = []
    for state, message in found:
        outcome = Outcome(message, state)
        record, intent = state.item.letter.issued, read_intent(work, state.slug)
        if record is not None and intent is not None and record.message_id == intent.get("message_id"):
            _remove_intent(work, state.slug)  # recorded, and stopped before the intent was removed
            intent = None
        if state.slug in resend:
            todo.append(outcome)
        elif record is not None:
            outcome.problem = Problem(
                state.item.shown,
                f"{state.name}: already issued on {record.on.isoformat()} to {', '.join(record.to)}; not sent again (--resend {state.slug} to send it again)",
                severity=Severity.WARNING,
            )
        elif intent is not None:
            outcome.problem = Problem(
                state.item.shown,
                f"{state.name}: may have been sent: a send of {intent.get('message_id', 'it')} started {intent.get('started', '')} and was never "
                f"confirmed; look for it in the sent mail or ask the recipient, then either `letters mark-issued {state.slug} --by NAME` "
                f"(it arrived) or `letters send --resend {state.slug}` (it did not)",
            )
        else:
            todo.append(outcome)
        report.outcomes.append(outcome)
    if dry_run or not todo:
        return report
    settings = settings or read_settings(work.project.root)
    _transmit(work, settings, todo, report, by, on or dt.date.today(), progress)
    return report


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    """A connection to the server, secured and logged in as the settings say; LetterError in one line otherwise."""
    password = os.environ.get(PASSWORD_VARIABLE, "")
    where = f"{settings.host}:{settings.port}"
    if settings.username and not password:
        raise LetterError(
            Problem(SETTINGS_FILE, f"[smtp] names a username: set the password in the environment variable {PASSWORD_VARIABLE}")
        )
    context = ssl.create_default_context()
    try:
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=CONNECT_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=CONNECT_TIMEOUT)
        try:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, password)
            smtp.ehlo_or_helo_if_needed()
        except BaseException:
            smtp.close()
            raise
    except smtplib.SMTPAuthenticationError as exc:
        raise LetterError(
            Problem(SETTINGS_FILE, f"the mail server {where} refused the login of {settings.username}: {_said(exc)}; nothing was sent")
        ) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise LetterError(Problem(SETTINGS_FILE, f"cannot reach the mail server {where}: {_said(exc)}; nothing was sent")) from None
    return smtp


def _said(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time"
    return " ".join((getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).split())


class _Dropped(Exception):
    """The connection was lost: `content_sent` whether the message's content had begun to go."""

    def __init__(self, content_sent: bool, reason: str) -> None:
        self.content_sent, self.reason = content_sent, reason


_UNSENT_LINE = re.compile(rb"^" + UNSENT.encode() + rb":[^\r\n]*\r?\n", re.MULTILINE | re.IGNORECASE)


def _without_unsent(data: bytes) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    return _UNSENT_LINE.sub(b"", head) + sep + body


def _try_once(work: Workflow, smtp: smtplib.SMTP, message: Message) -> tuple[int, str]:
    """One try of one message: (250, '') when the server accepted it; the server's code and words when it refused.
    The intent is written before the content goes, and removed when the server refused it."""
    content = False
    try:
        code, said = smtp.mail(bare_address(message.sender))
        if code == 250:
            for address in message.recipients:
                code, said = smtp.rcpt(address)
                if code not in (250, 251):
                    break
        if code not in (250, 251):
            smtp.rset()
            return code, said.decode("utf-8", "replace")
        _write_intent(work, message)
        content = True
        code, said = smtp.data(_without_unsent(message.data))
    except smtplib.SMTPDataError as exc:  # the server answered its content with a refusal: not sent
        _remove_intent(work, message.slug)
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError) as lost:
            raise _Dropped(False, _said(lost)) from None
        return exc.smtp_code, _said(exc)
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as exc:
        raise _Dropped(content, _said(exc)) from None
    if code != 250:
        _remove_intent(work, message.slug)
        return code, said.decode("utf-8", "replace")
    return 250, ""


def _transmit(
    work: Workflow,
    settings: SmtpSettings,
    todo: list[Outcome],
    report: SendReport,
    by: str,
    on: dt.date,
    progress: Callable[[Outcome], None] | None,
) -> None:
    smtp = _connect(settings)
    try:
        for n, outcome in enumerate(todo):
            message, shown = outcome.message, outcome.state.item.shown
            try:
                code, said = _try_once(work, smtp, message)
                for delay in RETRY_DELAYS:
                    if not 400 <= code < 500:
                        break
                    time.sleep(delay)
                    code, said = _try_once(work, smtp, message)
            except _Dropped as exc:
                rest = [o.state.slug for o in todo[n + 1 :]]
                outcome.problem = Problem(
                    shown,
                    f"{outcome.state.name}: the connection to the mail server was lost ({exc.reason}): "
                    + ("it may have been sent; run `letters send` to see how to decide" if exc.content_sent else "it was not sent")
                    + (f"; not sent: {', '.join(rest)}: run `letters send` again" if rest else ""),
                )
                if progress:
                    progress(outcome)
                return
            if code == 250:
                try:
                    outcome.record = record_issued(work, outcome.state, message, by, on)
                    outcome.sent = True
                except LetterError as exc:
                    outcome.sent = True
                    outcome.problem = Problem(shown, f"{outcome.state.name}: sent, but not recorded: {exc.problems[0].message}")
            elif 400 <= code < 500:
                outcome.problem = Problem(
                    shown,
                    f"{outcome.state.name}: the mail server refused it for now, {len(RETRY_DELAYS) + 1} times ({code} {said}); not sent",
                )
            else:
                outcome.problem = Problem(shown, f"{outcome.state.name}: the mail server refused it ({code} {said}); not sent")
            if progress:
                progress(outcome)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def mark_issued(work: Workflow, slug: str, by: str, on: dt.date | None = None) -> IssueRecord:
    """Record a letter sent by hand from the outbox (its message as the outbox holds it), and remove any intent."""
    ready, problems, _notes = plan(work)
    match = [(state, pdf) for state, pdf in ready if state.slug == slug]
    if not match:
        mine = [p for p in problems if p.path.endswith(f"/{slug}.yaml") or f"{slug}:" in p.message]
        raise LetterError(
            mine or Problem(work.project.shown(folders(work)[1]), f"no message for {slug} in the outbox: run `letters outbox`")
        )
    state, pdf = match[0]
    message = outbox_message(work, state, pdf)
    return record_issued(work, state, message, by, on or dt.date.today())
