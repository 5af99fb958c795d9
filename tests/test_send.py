"""Issuing the letters (issue 21): the outbox, sending over SMTP exactly once, and the `issued:` record.

Every test sends to a real SMTP server (aiosmtpd) on loopback, started here, and reads what it
received; nothing reaches the network. Faults are servers that refuse, drop or are not there.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import SOME_LETTERS, letter_file
from hmicfrs_letters.core.load import parse_yaml
from hmicfrs_letters.workflow import send as sending

ASSESSMENT = Path("data") / "assessments" / "apsp-2017.yaml"
FORCES = Path("data") / "recipients" / "police-forces.yaml"
FINAL = Path("output") / "apsp-2017" / "final"
OUTBOX = Path("output") / "apsp-2017" / "outbox"
SENDING = Path("data") / "assessments" / "apsp-2017" / ".sending"
TWO = ("cleveland", "north-yorkshire")
ADDRESSES = {
    "cleveland": ("chief.constable@cleveland.police.example", "pcc@cleveland.pcc.example"),
    "north-yorkshire": ("chief.constable@northyorkshire.police.example", "pcc@northyorkshire.pcc.example"),
}
SENDER = "HMICFRS <letters@hmicfrs.example>"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage


@dataclass
class Handler:
    """What the server received, and the faults it is told to make."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # a recipient refused for good (550)
    busy: int = 0  # how many DATA commands to refuse for now (451) before accepting
    drop_after: int | None = None  # drop the connection at the MAIL of the message after this many
    lose_reply: bool = False  # take a message's content, then drop the connection before answering

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop_after is not None and len(self.received) >= self.drop_after:
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.lose_reply:
            self.lose_reply = False
            server.transport.close()
            return "250 never heard"
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, made with openssl for these tests."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _start(handler: Handler, **smtp: object) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **smtp)
    controller.start()
    return controller


@pytest.fixture
def server(project: Path, monkeypatch):
    """A plain SMTP server on loopback (security = "none" is allowed there), and letters.toml naming it."""
    handler = Handler()
    controller = _start(handler)
    (project / "letters.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "none"\n')
    monkeypatch.setattr(sending, "RETRY_DELAYS", (0.0, 0.0))
    yield handler
    controller.stop()


def _addresses(project: Path, slugs=TWO) -> None:
    """Give these forces an address and a copy address in the recipient list."""
    path = project / FORCES
    text = path.read_text()
    for slug in slugs:
        to, cc = ADDRESSES[slug]
        text = text.replace(f"  - slug: {slug}\n", f"  - slug: {slug}\n    email: {to}\n    cc:\n      - {cc}\n", 1)
    path.write_text(text)


def _email_settings(project: Path, extra: str = "") -> None:
    path = project / ASSESSMENT
    path.write_text(path.read_text() + f'\nemail:\n  from: "{SENDER}"\n  reply_to: enquiries@hmicfrs.example\n{extra}')


def _ready(letters, project: Path, slugs=TWO) -> None:
    """Two forces with addresses, a final build of their letters and the outbox made."""
    _addresses(project, slugs)
    _email_settings(project)
    assert letters("build", "--final", *(a for s in slugs for a in ("-r", s))).exit_code == 0
    result = letters("outbox")
    assert result.exit_code == 0, result.output


def _issued(project: Path, slug: str) -> dict | None:
    """The letter file's `issued:` record, read as the engine reads it (YAML 1.2: `on:` is a key, not true)."""
    return parse_yaml(letter_file(project, slug).read_text(), slug).data.get("issued")


def test_outbox_send_once_and_list_shows_issued_over_starttls_with_auth(project, letters, certificate, monkeypatch):
    """The issue's "Done when": build --final, outbox, send (STARTTLS, AUTH), a second send sends nothing, list shows both issued."""
    cert, key = certificate
    import ssl

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"letters", b"s3cret pass")
        logins.append(ok)
        return AuthResult(success=ok)

    handler = Handler()
    controller = _start(handler, tls_context=tls, require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        monkeypatch.setenv("LETTERS_SMTP_PASSWORD", "s3cret pass")
        (project / "letters.toml").write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "starttls"\nusername = "letters"\n'
        )
        _addresses(project)
        _email_settings(project, "reference: HMICFRS/APSP-2017/{id}\n")
        # The reference is printed on every letter: the fixed wording and the letters changed, and are approved again.
        assert letters("approve-wording").exit_code == 0
        approved = letters("approve", *TWO, "--by", "Jane Smith")
        assert approved.exit_code == 0, approved.output
        assert letters("build", "--final", "-r", "cleveland", "-r", "north-yorkshire").exit_code == 0
        html = (project / FINAL / "html" / "cleveland.html").read_text()
        assert "Our reference: HMICFRS/APSP-2017/cleveland" in html

        made = letters("outbox")
        assert made.exit_code == 0, made.output
        assert "Wrote 2 messages, 0 left out" in made.output
        drafts = {p.stem: email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in (project / OUTBOX).glob("*.eml")}
        assert sorted(drafts) == sorted(TWO)
        assert drafts["cleveland"]["X-Unsent"] == "1"
        index = (project / OUTBOX / "index.html").read_text()
        final_pdf = (project / FINAL / "pdf" / "cleveland.pdf").read_bytes()
        assert hashlib.sha256(final_pdf).hexdigest() in index and ADDRESSES["cleveland"][1] in index

        dry = letters("send", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "Would send cleveland to chief.constable@cleveland.police.example" in dry.output
        assert handler.received == []

        sent = letters("send", "--by", "Jane Smith")
        assert sent.exit_code == 0, sent.output
        assert logins and all(logins)
        assert len(handler.received) == 2
        got = {r.message["To"]: r for r in handler.received}
        cleveland = got[ADDRESSES["cleveland"][0]]
        assert sorted(cleveland.recipients) == sorted(ADDRESSES["cleveland"])
        assert cleveland.sender == "letters@hmicfrs.example"
        assert cleveland.message["Cc"] == ADDRESSES["cleveland"][1]
        assert cleveland.message["Reply-To"] == "enquiries@hmicfrs.example"
        assert cleveland.message["X-Unsent"] is None
        assert cleveland.message["Subject"] == "HMICFRS assessment: Abuse of position for a sexual purpose (HMICFRS/APSP-2017/cleveland)"
        (attachment,) = list(cleveland.message.iter_attachments())
        assert attachment.get_content() == final_pdf
        assert attachment.get_filename() == "Cleveland Police - apsp-2017.pdf"
        assert b'filename="Cleveland Police - apsp-2017.pdf"' in (project / OUTBOX / "cleveland.eml").read_bytes()
        assert "HMICFRS/APSP-2017/cleveland" in cleveland.message.get_body(("plain",)).get_content()

        record = _issued(project, "cleveland")
        assert record["by"] == "Jane Smith" and record["to"] == [ADDRESSES["cleveland"][0]] and record["cc"] == [ADDRESSES["cleveland"][1]]
        assert record["message_id"] == cleveland.message["Message-ID"]
        assert record["sha256"] == hashlib.sha256(final_pdf).hexdigest()
        assert not list((project / SENDING).glob("*.json"))

        again = letters("send")
        assert again.exit_code == 0, again.output
        assert len(handler.received) == 2
        assert "already issued on" in again.output

        listed = json.loads(letters("list", "--json").output)
        states = {letter["slug"]: letter for letter in listed["letters"]}
        assert states["cleveland"]["status"] == "issued" and states["cleveland"]["issued"]["message_id"] == record["message_id"]
        assert states["kent"]["issued"] is None
        table = letters("list").output
        assert sum(" issued" in line for line in table.splitlines()) == 2
    finally:
        controller.stop()


def test_a_stopped_server_records_nothing_and_says_so_in_one_line(project, letters, server):
    _ready(letters, project)
    (project / "letters.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {_free_port()}\nsecurity = "none"\n')
    result = letters("send")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cannot reach the mail server 127.0.0.1:" in errors[0] and "nothing was sent" in errors[0]
    assert _issued(project, "cleveland") is None and _issued(project, "north-yorkshire") is None
    assert not (project / SENDING).exists() or not list((project / SENDING).iterdir())


def test_a_temporary_refusal_is_tried_again(project, letters, server):
    _ready(letters, project)
    server.busy = 2
    result = letters("send")
    assert result.exit_code == 0, result.output
    assert len(server.received) == 2
    assert _issued(project, "cleveland") and _issued(project, "north-yorkshire")


def test_a_refusal_that_lasts_leaves_the_letter_unsent_and_named(project, letters, server):
    _ready(letters, project)
    server.busy = 100
    result = letters("send")
    assert result.exit_code == 1
    assert "refused it for now, 3 times (451" in result.output
    assert server.received == []
    assert _issued(project, "cleveland") is None
    assert not list((project / SENDING).glob("*.json"))


def test_a_permanent_refusal_fails_that_letter_and_the_others_go(project, letters, server):
    _ready(letters, project)
    server.refuse = {ADDRESSES["cleveland"][0]}
    result = letters("send")
    assert result.exit_code == 1
    assert "Cleveland Police: the mail server refused it (550" in result.output
    assert [r.message["To"] for r in server.received] == [ADDRESSES["north-yorkshire"][0]]
    assert _issued(project, "cleveland") is None and _issued(project, "north-yorkshire")
    server.refuse = set()
    assert letters("send").exit_code == 0
    assert len(server.received) == 2 and _issued(project, "cleveland")


def test_a_dropped_connection_keeps_what_was_accepted_and_a_second_send_finishes(project, letters, server):
    _ready(letters, project)
    server.drop_after = 1
    result = letters("send")
    assert result.exit_code == 1
    assert "the connection to the mail server was lost" in result.output and "it was not sent" in result.output
    assert len(server.received) == 1
    first = server.received[0].message["To"]
    sent_slug = next(slug for slug, (to, _cc) in ADDRESSES.items() if to == first)
    other = next(slug for slug in TWO if slug != sent_slug)
    assert _issued(project, sent_slug) and _issued(project, other) is None
    server.drop_after = None
    result = letters("send")
    assert result.exit_code == 0, result.output
    assert len(server.received) == 2 and _issued(project, other)


def test_a_crash_between_send_and_record_is_refused_with_how_to_decide(project, letters, server):
    """An intent left without a record: `send` neither sends it nor forgets it, and says how to decide."""
    _ready(letters, project)
    message_id = email.message_from_bytes((project / OUTBOX / "cleveland.eml").read_bytes())["Message-ID"]
    (project / SENDING).mkdir(parents=True)
    (project / SENDING / "cleveland.json").write_text(json.dumps({"message_id": message_id, "started": "2026-12-03T06:00:00+00:00"}))
    result = letters("send")
    assert result.exit_code == 1
    assert "Cleveland Police: may have been sent" in result.output
    assert "`letters mark-issued cleveland --by NAME`" in result.output and "`letters send --resend cleveland`" in result.output
    assert [r.message["To"] for r in server.received] == [ADDRESSES["north-yorkshire"][0]]
    assert _issued(project, "cleveland") is None

    resent = letters("send", "--resend", "cleveland")
    assert resent.exit_code == 0, resent.output
    assert len(server.received) == 2 and _issued(project, "cleveland")["message_id"] == message_id
    assert not (project / SENDING / "cleveland.json").exists()


def test_a_reply_lost_after_the_content_went_leaves_the_letter_may_have_been_sent(project, letters, server):
    """The server took the content and the connection dropped before its answer: an intent and no record, and the next send asks."""
    _ready(letters, project, ("cleveland",))
    server.lose_reply = True
    result = letters("send")
    assert result.exit_code == 1
    assert "the connection to the mail server was lost" in result.output and "it may have been sent" in result.output
    intent = json.loads((project / SENDING / "cleveland.json").read_text())
    assert intent["message_id"] == email.message_from_bytes((project / OUTBOX / "cleveland.eml").read_bytes())["Message-ID"]
    assert _issued(project, "cleveland") is None
    again = letters("send")
    assert again.exit_code == 1 and "Cleveland Police: may have been sent" in again.output
    assert server.received == []


def test_mark_issued_records_a_letter_sent_by_hand(project, letters, server):
    _ready(letters, project)
    (project / SENDING).mkdir(parents=True)
    (project / SENDING / "cleveland.json").write_text("{}")
    result = letters("mark-issued", "cleveland", "--on", "2017-10-02", "--by", "Jane Smith")
    assert result.exit_code == 0, result.output
    record = _issued(project, "cleveland")
    assert str(record["on"]) == "2017-10-02" and record["by"] == "Jane Smith"
    assert not (project / SENDING / "cleveland.json").exists()
    assert letters("send").exit_code == 0
    assert [r.message["To"] for r in server.received] == [ADDRESSES["north-yorkshire"][0]]

    # Issued letters are still the letters to issue: the hand-over folder and its index say so.
    assert letters("build", "--final", "-r", "cleveland", "-r", "north-yorkshire").exit_code == 0
    manifest = json.loads((project / FINAL / "manifest.json").read_text())
    assert manifest["letters"]["cleveland"]["status"] == "issued"
    assert manifest["letters"]["cleveland"]["issued"]["on"] == "2017-10-02"
    assert f"Issued on 2017-10-02 to {ADDRESSES['cleveland'][0]}" in (project / FINAL / "index.html").read_text()
    # And so does the preview, by the same rule set.
    from starlette.testclient import TestClient

    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.preview.app import create_app
    from hmicfrs_letters.preview.state import Preview

    client = TestClient(create_app(Preview(Project.at(project)), allowed_hosts=["testserver"], watching=False))
    assert f"Issued on 2017-10-02 to {ADDRESSES['cleveland'][0]}" in client.get("/apsp-2017/letters/cleveland").text
    assert f"{len(SOME_LETTERS)} forces, 0 approved, 2 issued," in client.get("/").text


def test_the_issued_record_is_written_in_place_and_replaced_on_a_resend():
    import datetime as dt

    from hmicfrs_letters.core.models import IssueRecord
    from hmicfrs_letters.workflow.yamledit import set_issued

    raw = b"# Kent\r\nstatus: approved  # kept\r\nfindings: |\r\n  Text.\r\n"
    first = IssueRecord(dt.date(2017, 10, 2), "Jane: Smith", ("a@b.example",), (), "<x.y@b.example>", "0" * 64)
    once = set_issued(raw, first)
    assert once.startswith(raw) and b"\n" not in once.replace(b"\r\n", b"")
    assert parse_yaml(once.decode(), "kent.yaml").data["issued"] == {
        "on": dt.date(2017, 10, 2), "by": "Jane: Smith", "to": ["a@b.example"], "cc": [], "message_id": "<x.y@b.example>", "sha256": "0" * 64,
    }  # fmt: skip
    again = set_issued(once, IssueRecord(dt.date(2017, 10, 3), "Sam", ("a@b.example",), ("c@d.example",), "<x.y@b.example>", "1" * 64))
    record = parse_yaml(again.decode(), "kent.yaml").data["issued"]
    assert record["on"] == dt.date(2017, 10, 3) and record["cc"] == ["c@d.example"]
    assert again.count(b"issued:") == 1 and again.startswith(raw)


def test_the_issued_record_of_a_flow_style_letter_is_written_by_the_round_trip_and_read_back():
    """A valid letter laid out as one `{…}` mapping: the record cannot go in place, and the file stays valid."""
    import datetime as dt

    from hmicfrs_letters.core.models import IssueRecord
    from hmicfrs_letters.workflow.yamledit import issued_written

    raw = b'{status: approved, outcome: all-in-place, findings: "Text."}\n'
    record = IssueRecord(dt.date(2017, 10, 2), "Jane Smith", ("a@b.example",), (), "<x.y@b.example>", "0" * 64)
    data = parse_yaml(issued_written(raw, record, "kent.yaml").decode(), "kent.yaml").data
    assert data["status"] == "approved" and data["findings"] == "Text."
    assert data["issued"] == {
        "on": dt.date(2017, 10, 2), "by": "Jane Smith", "to": ["a@b.example"], "cc": [], "message_id": "<x.y@b.example>", "sha256": "0" * 64,
    }  # fmt: skip


def test_editing_an_issued_letter_is_an_error_in_check(project, letters, server):
    _ready(letters, project)
    assert letters("send").exit_code == 0
    path = letter_file(project, "cleveland")
    path.write_text(path.read_text().replace("We were pleased", "We were very pleased"))
    check = letters("check", "--no-pages")
    assert check.exit_code == 1
    assert "changed since it was issued on" in check.output
    listed = {letter["slug"]: letter for letter in json.loads(letters("list", "--json").output)["letters"]}
    assert listed["cleveland"]["status"] == "changed" and listed["cleveland"]["issued"]


def test_a_letter_without_an_address_is_named_and_left_out_and_an_html_body_is_added(project, letters, server):
    _addresses(project, ("cleveland",))
    _email_settings(project)
    (project / "templates" / "apsp-2017" / "email.html.j2").write_text("<p>From {{ assessment.sender.organisation }}</p>\n")
    assert letters("build", "--final", "-r", "cleveland", "-r", "north-yorkshire").exit_code == 0
    result = letters("outbox")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "no e-mail address" in line]
    assert len(lines) == 1 and lines[0].startswith("data/assessments/apsp-2017/north-yorkshire.yaml: warning: North Yorkshire Police:")
    assert [p.stem for p in (project / OUTBOX).glob("*.eml")] == ["cleveland"]
    message = email.message_from_bytes((project / OUTBOX / "cleveland.eml").read_bytes(), policy=email.policy.default)
    # The plain text is not HTML-escaped; the HTML alternative is.
    assert "Fire & Rescue Services" in message.get_body(("plain",)).get_content()
    assert "Fire &amp; Rescue Services</p>" in message.get_body(("html",)).get_content()


def test_the_outbox_is_made_only_from_a_final_folder_that_verifies(project, letters, server):
    _addresses(project)
    _email_settings(project)
    result = letters("outbox")
    assert result.exit_code == 1
    assert "no final build here" in result.output
    assert not (project / OUTBOX).exists()


def test_an_outbox_out_of_date_is_not_sent(project, letters, server):
    _ready(letters, project)
    path = project / FORCES
    path.write_text(path.read_text().replace(ADDRESSES["cleveland"][0], "someone.else@cleveland.police.example"))
    result = letters("send")
    assert result.exit_code == 1
    assert "the outbox's message is not the letter as it is now" in result.output
    assert [r.message["To"] for r in server.received] == [ADDRESSES["north-yorkshire"][0]]


def test_security_none_is_refused_beyond_loopback_and_the_password_is_never_read_from_a_file(project, letters, server):
    _ready(letters, project)
    (project / "letters.toml").write_text('[smtp]\nhost = "mail.example.org"\nsecurity = "none"\n')
    result = letters("send")
    assert result.exit_code == 1 and 'security = "none"' in result.output and "refused for mail.example.org" in result.output
    (project / "letters.toml").write_text('[smtp]\nhost = "127.0.0.1"\npassword = "x"\n')
    result = letters("send")
    assert result.exit_code == 1 and "unknown key 'password'" in result.output and "LETTERS_SMTP_PASSWORD" in result.output
    assert server.received == []


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        (FORCES, "  - slug: cleveland\n    email: not-an-address\n", "'email': 'not-an-address' is not an e-mail address"),
        (FORCES, "  - slug: cleveland\n    cc: a@b.example, c@d.example\n", "holds more than one address"),
        (ASSESSMENT, None, "'reference': {force} is not a placeholder it may use"),
    ],
)
def test_bad_addresses_and_patterns_are_one_placed_line(project, letters, where, text, message):
    path = project / where
    if text is None:
        path.write_text(path.read_text() + "\nreference: HMICFRS/{force}\n")
    else:
        path.write_text(path.read_text().replace("  - slug: cleveland\n", text, 1))
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if message in line]
    assert len(lines) == 1 and lines[0].startswith(f"{where.as_posix()}:")
    assert "Traceback" not in result.output


def test_a_username_without_the_password_in_the_environment_is_one_line_and_sends_nothing(project, letters, server):
    _ready(letters, project, ("cleveland",))
    port = (project / "letters.toml").read_text().split("port = ")[1].split("\n")[0]
    (project / "letters.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nusername = "letters"\n')
    result = letters("send")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert lines == ["Error: letters.toml: [smtp] names a username: set the password in the environment variable LETTERS_SMTP_PASSWORD"]
    assert server.received == [] and _issued(project, "cleveland") is None
