"""Characters that must not pass unremarked: control characters and escape sequences never reach
a terminal or a page raw; invisible and look-alike characters in names are shown escaped;
characters that a PDF's text does not give back are named by `letters check` before any build."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conftest import letter_file
from hmicfrs_letters.core import chars, findings
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.pdf.service import Job, PdfService
from hmicfrs_letters.pdf.verify import describe

KENT = "data/assessments/apsp-2017/kent.yaml"
CONTROLS = ("\x1b", "\x07", "\x9b", "\x00")


def no_controls(text: str) -> None:
    assert not any(c in text for c in CONTROLS), ascii(text[-500:])


# --- control characters and escape sequences -------------------------------------------------------


def test_escape_sequences_in_data_are_refused_and_never_echoed(letters, project):
    # OSC (set the terminal's title), a bell, a clear-screen: written as YAML escapes, so the file itself is plain text.
    letter_file(project, "kent").write_text('outcome: pending\nstatus: draft\nfindings: "\\e]0;pwned\\a\\e[2J We found"\n"\\e[31mkey": 1\n')
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert (
        f"{KENT}:3: control character U+001B in a value; text may hold tabs and line breaks, no other control characters" in result.output
    )
    assert f"{KENT}:4: control character U+001B in a key; text may hold tabs and line breaks, no other control characters" in result.output
    no_controls(result.output)
    as_json = letters("check", "--no-pages", "--json")
    no_controls(as_json.output)
    assert json.loads(as_json.output)["errors"] == 2

    forces = project / "data" / "recipients" / "police-forces.yaml"
    forces.write_text(forces.read_text().replace("name: Kent Police", 'name: "Kent\\x9b2J Police"'))
    listed = letters("list")
    assert listed.exit_code == 1
    assert listed.output.startswith("Error: data/recipients/police-forces.yaml:")
    assert "control character U+009B in a value" in listed.output
    no_controls(listed.output)


def test_a_control_character_written_as_a_character_reference_never_reaches_the_page(letters, project):
    letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: 'We found &#27;[2J plans &#x9b; &#7;.'\n")
    result = letters("check", "--no-pages")
    assert f"{KENT}:3: 'findings' writes a control character as a character reference (&#…;); remove it" in result.output
    batch = load_batch(Project.at(project))
    (kent,) = batch.select(["kent"])
    html = render_letter(Templates(project / "templates"), batch.assessment, kent.letter, kent.shown)
    no_controls(html)
    assert "We found \ufffd[2J plans" in html


# --- names that look like others ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [("kent\u200b", "'kent\\u200b'"), ("k\u0435nt", "'k\\u0435nt'"), ("kent\u202e", "'kent\\u202e'"), ("ke\u00adnt", "'ke\\xadnt'")],
)
def test_a_slug_with_invisible_or_look_alike_characters_is_shown_escaped(letters, project, name, shown):
    letter_file(project, "kent").rename(letter_file(project, "kent").with_name(f"{name}.yaml"))
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if "is not a slug" in x]
    assert line.endswith(
        f".yaml: {shown} is not a slug: a letter file is named by its id (its force's slug unless it says 'recipient:'), "
        "in lower-case letters, digits and hyphens"
    )
    assert name not in result.output.replace("k\u0435nt.yaml", "")  # the Cyrillic е is a letter: its path stays as it is
    assert f": {shown} is not a slug: " in letters("build", "--format", "html").output


def test_a_mistyped_force_is_shown_escaped(letters):
    result = letters("build", "--force", "kent\u200b")
    assert result.exit_code == 1
    assert result.output == "Error: data/assessments/apsp-2017: no letter for force 'kent\\u200b'; did you mean 'kent'?\n"


def test_values_in_messages_are_shown_escaped(letters, project):
    letter_file(project, "kent").write_text('outcome: pending\nstatus: "dr\\u200baft"\nfindings: ""\n')
    result = letters("check", "--no-pages")
    assert f"{KENT}:2: 'status' is 'dr\\u200baft'; did you mean 'draft'?; expected one of: draft, approved" in result.output
    assert "\u200b" not in result.output
    as_json = letters("check", "--no-pages", "--json")
    assert "\u200b" not in as_json.output
    assert any(p["message"].startswith("'status' is 'dr\u200baft'") for p in json.loads(as_json.output)["problems"])


def test_visible_and_json_safe():
    assert chars.visible("kent\u200b.yaml \x1b]0;x\x07 é ’") == "kent\\u200b.yaml \\x1b]0;x\\x07 é ’"
    text = json.dumps({"a": "x\x1b\u202e\x9b\U000e0041 é\n"}, ensure_ascii=False)
    safe = chars.json_safe(text)
    assert safe.isascii() or "é" in safe
    assert json.loads(safe) == json.loads(text) and "\u202e" not in safe and "\x9b" not in safe


# --- characters the PDF's text does not give back ----------------------------------------------------

# One of each kind the list holds, and characters that look as odd but survive.
LOST = [
    "\ufb01", "\ufb00", "\ufb06", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2060", "\u2066",
    "\u2069", "\ufeff", "\ufe0f", "\u034f", "\u061c", "\u180e", "\u2011", "\ufb4f", "\ufef5", "\U000e0041", "\U000e0101", "\u2800",
]  # fmt: skip
# All in the letters' font (Liberation Sans): a character it lacks may fail in a draft, depending on the fonts installed.
KEPT = ["é", "’", "—", "\u00a0", "\u00ad", "\u2010", "\u2212", "€", "£", "e\u0301", "ff", "ß", "Ω", "Ж", "½"]


def test_check_predicts_exactly_the_characters_that_fail_the_pdfs_text_check(project):
    """Each character alone in a letter, drafted and approved: `check` flags exactly those whose PDF fails the build's text check."""
    batch = load_batch(Project.at(project))
    (kent,) = batch.select(["kent"])
    templates = Templates(project / "templates")
    jobs = []
    for char in LOST + KEPT:
        for status in ("draft", "approved"):
            letter = dataclasses.replace(
                kent.letter, values={**kent.letter.values, "findings": f"We found a{char}b here."}, status=status, outcome="all-in-place"
            )
            html = render_letter(templates, batch.assessment, letter, kent.shown)
            jobs.append(((char, status), Job(kent.shown, html=html)))
    with PdfService(Project.at(project), project / "output" / ".cache" / "pdf") as service:
        made = dict(service.make(jobs))
    failing = {char for (char, _), result in made.items() if result.problem}
    assert all("PdfTextMismatch" in result.problem.message for result in made.values() if result.problem)

    flagged = set()
    for char in LOST + KEPT:
        letter_file(project, "kent").write_text(f'outcome: all-in-place\nstatus: draft\nfindings: "We found a{char}b here."\n')
        (kent,) = load_batch(Project.at(project)).select(["kent"])
        if any("does not come back out of the PDF's text" in p.message for p in kent.problems):
            flagged.add(char)
    assert flagged == failing == set(LOST)


def test_check_names_the_character_its_code_point_and_line(letters, project):
    letter_file(project, "kent").write_text(
        "outcome: all-in-place\nstatus: draft\nfindings: |\n  We were pleased to find\n  e\ufb03cient plans\u200b.\n\n  More &#x202E; here.\n"
    )
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    lost = [x for x in result.output.splitlines() if "does not come back out of the PDF's text" in x]
    suffix = "does not come back out of the PDF's text, so the letter's PDF would fail its text check;"
    assert lost == [
        f"{KENT}:3: character U+202E (RIGHT-TO-LEFT OVERRIDE) {suffix} remove it",  # written as a reference: the findings' line
        f"{KENT}:5: character U+FB03 (LATIN SMALL LIGATURE FFI) {suffix} write 'ffi' instead",
        f"{KENT}:5: character U+200B (ZERO WIDTH SPACE) {suffix} remove it",
    ]
    approved = letters("approve", "kent")
    assert approved.exit_code == 1
    assert f"Error: {KENT}: not approved: character U+202E" in approved.output
    assert "; character U+FB03 (LATIN SMALL LIGATURE FFI) does not come back out of the PDF's text" in approved.output


def test_the_text_checks_message_names_the_character_where_a_passage_goes_wrong():
    # What PDFium gives back for a fallback glyph in a draft (a space before it), and for a dropped one.
    assert describe(["Chief Constable Alan Smith\u2011Jones"], text="Chief Constable Alan Smith \u2011Jones Kent Police").endswith(
        "; the PDF's text differs from it at U+2011 (NON-BREAKING HYPHEN)"
    )
    assert describe(["We found a\u2d6fb."], text="We found ab.").endswith("at U+2D6F (TIFINAGH MODIFIER LETTER LABIALIZATION MARK)")


def test_findings_text_as_the_letter_shows_it():
    assert findings.shown_text(findings.convert("a &#xFB01; **b** &amp; c")) == "a \ufb01 b & c"
