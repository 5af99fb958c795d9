"""Each row of the bad-input table: a clear, placed, one-line error, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SOME_LETTERS, letter_file, make_project
from hmicfrs_letters.cli import app
from hmicfrs_letters.core import files

KENT = "data/assessments/apsp-2017/kent.yaml"


def write(project: Path, slug: str, text: str) -> None:
    letter_file(project, slug).write_text(text)


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error: ")]


def test_malformed_yaml(letters, project):
    write(project, "kent", "outcome: pending\nstatus: [draft\nfindings: ''\n")
    result = letters("build", "--format", "html")
    assert result.exit_code == 1
    assert errors(result) == [
        f"Error: {KENT}:2:9: the '[' on line 2 is not closed: close it with ']', or put the value in quotes "
        "(YAML: while parsing a flow sequence: did not find expected ',' or ']')",
    ]
    # Under it, the lines themselves, a marker under the place.
    assert "  1 | outcome: pending\n  2 | status: [draft\n    |         ^\n  3 | findings: ''\n" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("outcome: pending\nstatus: draft\nrecipient_name Giles\n", "3:1: line 3 is not 'key: value': add the ':' after its key"),
        ("outcome: pending\nstatus: draft\nfindings: |\n  One.\n two\n", "5:2: line 5 must be indented like the lines above it"),
        ("outcome: pending\nstatus: draft\nfindings: We found: good things\n", "3:19: line 3 has ': ' inside a value"),
        ("outcome: pending\n\tstatus: draft\n", "2:1: line 2 is indented with a tab: indent with spaces"),
        ("outcome: pending\nstatus: draft\nfindings: 'abc\n", "3:11: the quote that opens on line 3 is not closed"),
    ],
)
def test_yaml_slips_are_told_in_plain_words_with_the_lines(letters, project, text, message):
    write(project, "kent", text)
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:{message}" in result.output
    assert " | " in result.output and "^" in result.output


def test_malformed_shared_file_stops_the_build(letters, project):
    (project / "data" / "recipients" / "police-forces.yaml").write_text("recipients:\n  - slug: kent\n   name: Kent\n")
    result = letters("build")
    assert result.exit_code == 1
    assert errors(result) == [
        "Error: data/recipients/police-forces.yaml:3:4: line 3 must be indented like the lines above it (each item of the list "
        "starts with '- ') (YAML: while parsing a block collection: did not find expected '-' indicator)"
    ]


def test_missing_key_and_wrong_type(letters, project):
    write(project, "kent", "outcome: pending\nfindings: 42\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:1: missing required key 'status'" in result.output
    assert f"{KENT}:2: 'findings' should be text (put it in quotes), not a number" in result.output


def test_wrong_type_in_assessment_file(letters, project):
    path = project / "data" / "assessments" / "apsp-2017.yaml"
    path.write_text(path.read_text().replace("date: 2017-10-02", "date: 2 October 2017"))
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert "data/assessments/apsp-2017.yaml:4: 'date' should be a date written as YYYY-MM-DD, not text" in result.output.splitlines()


def test_unknown_key_suggests_the_nearest(letters, project):
    write(project, "kent", "outcome: pending\nstatus: draft\nfindings: ''\nrecipent_name: Alan Pughsley QPM\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:4: unknown key 'recipent_name'; did you mean 'recipient_name'?" in result.output


def test_force_file_not_in_forces_yaml(letters, project):
    write(project, "kentish", "outcome: pending\nstatus: draft\nfindings: ''\n")
    result = letters("build", "--format", "html")
    assert result.exit_code == 1
    assert errors(result) == [
        "Error: data/assessments/apsp-2017/kentish.yaml: 'kentish' is not in data/recipients/police-forces.yaml; did you mean 'kent'?"
    ]
    assert len(list((project / "output" / "apsp-2017" / "html").iterdir())) == len(SOME_LETTERS)


def test_outcome_not_a_category(letters, project):
    write(project, "kent", "outcome: started\nstatus: draft\nfindings: ''\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert (
        f"{KENT}:1: 'outcome' is 'started'; expected one of: insufficient-information, plans-not-commenced, "
        "implementation-started, all-in-place, pending"
    ) in result.output


def test_approved_letter_with_empty_findings(letters, project):
    write(project, "kent", "outcome: all-in-place\nstatus: approved\nfindings: '  '\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:3: approved, but 'findings' is not written; fix it or set 'status: draft'" in result.output


def test_raw_html_in_findings_is_shown_as_text(letters, project):
    write(project, "kent", "outcome: all-in-place\nstatus: draft\nfindings: 'We found <script>alert(1)</script> and <b>bold</b>.'\n")
    result = letters("build", "-f", "kent", "--format", "html")
    assert result.exit_code == 0, result.output
    html = (project / "output" / "apsp-2017" / "html" / "kent.html").read_text()
    assert "<script>" not in html and "<b>" not in html
    assert "We found &lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt;." in html
    assert f"{KENT}:3: warning: 'findings' contains HTML tags; they are printed as typed" in letters("check", "--no-pages").output


def test_image_in_findings_is_rejected(letters, project):
    write(project, "kent", "outcome: all-in-place\nstatus: draft\nfindings: 'See ![x](file:///etc/passwd).'\n")
    result = letters("build", "-f", "kent")
    assert result.exit_code == 1
    assert errors(result) == [f"Error: {KENT}:3: 'findings' may not contain images"]
    assert not (project / "output" / "apsp-2017" / "pdf" / "kent.pdf").exists()


def test_jinja_syntax_in_findings_is_printed_literally(letters, project):
    write(project, "kent", "outcome: all-in-place\nstatus: draft\nfindings: 'Seven sevens are {{ 7*7 }} {% raw %}.'\n")
    assert letters("build", "-f", "kent", "--format", "html").exit_code == 0
    html = (project / "output" / "apsp-2017" / "html" / "kent.html").read_text()
    assert "Seven sevens are {{ 7*7 }} {% raw %}." in html
    assert "49" not in html


def test_a_template_compiled_for_one_copy_places_its_error_in_the_others_file(project, tmp_path):
    """Templates are compiled once a process by their name and text: a second project with the same
    template (the same error in it) still has the error placed in its own file, not the first's."""
    text = (project / "templates" / "apsp-2017" / "letter.html.j2").read_text().replace("{{ recipient.name }}<br>", "{{ force.nmae }}<br>")
    line = text[: text.index("nmae")].count("\n") + 1
    for root in (project, make_project(tmp_path / "second", SOME_LETTERS)):
        (root / "templates" / "apsp-2017" / "letter.html.j2").write_text(text)
        result = CliRunner().invoke(app, ["--project", str(root), "check", "--no-pages"])
        assert result.exit_code == 1
        assert f"templates/apsp-2017/letter.html.j2:{line}: 'hmicfrs_letters.core.models.Recipient object'" in result.output
        assert str(tmp_path) not in result.output


def test_template_syntax_error(letters, project):
    path = project / "templates" / "apsp-2017" / "letter.html.j2"
    text = path.read_text().replace("{% endblock %}", "{% endblok %}")
    path.write_text(text)
    line = text[: text.index("endblok")].count("\n") + 1
    for command in (["check", "--no-pages"], ["build"]):
        result = letters(*command)
        assert result.exit_code == 1
        assert f"templates/apsp-2017/letter.html.j2:{line}: Encountered unknown tag 'endblok'." in result.output
        assert "Traceback" not in result.output


def test_undefined_variable_in_template(letters, project):
    path = project / "templates" / "apsp-2017" / "letter.html.j2"
    text = path.read_text().replace("{{ recipient.name }}<br>", "{{ force.nmae }}<br>")
    path.write_text(text)
    line = text[: text.index("nmae")].count("\n") + 1
    result = letters("build", "--format", "html")
    assert result.exit_code == 1
    assert (
        f"Error: templates/apsp-2017/letter.html.j2:{line}: 'hmicfrs_letters.core.models.Recipient object' has no attribute 'nmae'"
        in result.output
    )
    assert f"templates/apsp-2017/letter.html.j2:{line}:" in letters("check", "--no-pages").output


def test_file_that_is_not_utf8(letters, project):
    letter_file(project, "kent").write_bytes("outcome: pending\nstatus: draft\nfindings: 'caf\xe9'\n".encode("latin-1"))
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:3:15: not UTF-8 text (byte 0xe9); save the file as UTF-8" in result.output


def test_one_bad_file_in_a_bulk_build(letters, project):
    write(project, "kent", "outcome: pending\nstatus: aproved\nfindings: ''\n")
    result = letters("build", "--jobs", "2")
    assert result.exit_code == 1
    assert errors(result) == [f"Error: {KENT}:2: 'status' is 'aproved'; did you mean 'approved'?; expected one of: draft, approved"]
    out = project / "output" / "apsp-2017"
    assert len(list((out / "pdf").glob("*.pdf"))) == len(SOME_LETTERS) - 1
    assert len(list((out / "html").glob("*.html"))) == len(SOME_LETTERS) - 1
    assert f"Built {len(SOME_LETTERS) - 1} letters" in result.output and "1 failed" in result.output
    index = (out / "index.html").read_text()
    assert "status-failed" in index and "aproved" in index


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out" / "letter.pdf"
    target.parent.mkdir()
    target.write_bytes(b"previous")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError):
        files.write_atomic(target, b"new content")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in target.parent.iterdir()] == ["letter.pdf"]


def test_stale_temporary_files_are_removed(tmp_path):
    (tmp_path / "pdf").mkdir()
    stale = tmp_path / "pdf" / f"{files.TEMP_PREFIX}kent.pdf.abc"
    stale.write_bytes(b"half")
    files.remove_stale_temps(tmp_path)
    assert not stale.exists()


def test_empty_findings_in_a_draft_are_findings_not_yet_written(letters, project):
    write(project, "kent", "outcome: all-in-place\nstatus: draft\nfindings:\n")
    result = letters("check", "--no-pages")
    assert "missing required key" not in result.output
    assert f"{KENT}:3: warning: 'findings' not written yet: the letter shows a placeholder" in result.output
    write(project, "kent", "outcome: all-in-place\nstatus:\nfindings: ''\n")
    assert f"{KENT}:2: 'status' is empty" in letters("check", "--no-pages").output


def test_yaml_nested_too_deep_fails_its_letter_alone(letters, project):
    write(project, "kent", "outcome: pending\nstatus: draft\nfindings: ''\nx: " + "[" * 990 + "]" * 990 + "\n")
    write(project, "durham", "outcome: pending\nstatus: draft\nfindings: ''\nx:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 30)))
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    deep = "values are nested more than 20 levels deep; a letter's data is a few levels deep"
    assert f"{KENT}:4: {deep}" in result.output
    assert f"data/assessments/apsp-2017/durham.yaml:24: {deep}" in result.output
    built = letters("build", "--format", "html")
    assert f"Built {len(SOME_LETTERS) - 2} letters" in built.output and "Traceback" not in built.output


def test_findings_nested_too_deep_fail_their_letter_alone_before_any_build(letters, project):
    write(project, "kent", "outcome: pending\nstatus: draft\nfindings: '" + "> " * 3000 + "x'\n")
    write(project, "durham", "outcome: pending\nstatus: draft\nfindings: |\n" + "".join("  " + "    " * i + "- x\n" for i in range(40)))
    line = "'findings' nests quotes or lists more than 10 levels deep; make them flatter"
    result = letters("check", "--no-pages")
    assert f"{KENT}:3: {line}" in result.output
    assert f"data/assessments/apsp-2017/durham.yaml:3: {line}" in result.output
    built = letters("build", "--force", "kent", "--force", "durham", "--force", "cleveland")
    assert errors(built) == [f"Error: {KENT}:3: {line}", f"Error: data/assessments/apsp-2017/durham.yaml:3: {line}"]
    assert "Built 1 letter" in built.output
