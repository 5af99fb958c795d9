"""`letters diff`: the passages in which two forces' letters differ."""

from __future__ import annotations

from conftest import letter_file


def test_two_seed_letters_differ_in_the_addressee_and_findings_only(letters):
    result = letters("diff", "cleveland", "north-yorkshire")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == ["@@ addressee", "- Cleveland Police", "+ North Yorkshire Police"]
    assert lines[3] == "@@ findings"
    assert lines[4].startswith("- We were pleased to find that your plans")
    assert lines[5].startswith("+ Your plans did not reflect the national strategy")
    assert lines[-1] == "2 differences between cleveland and north-yorkshire, 0 in the fixed wording"


def test_a_different_salutation_is_its_own_part(letters):
    lines = letters("diff", "cleveland", "city-of-london").output.splitlines()
    assert "@@ salutation" in lines
    assert lines[lines.index("@@ salutation") + 1 :][:2] == ["- Dear Chief Constable", "+ Dear Commissioner"]


def test_a_letter_against_itself_has_no_differences(letters):
    result = letters("diff", "kent", "kent")
    assert result.exit_code == 0
    assert result.output == "0 differences between kent and kent, 0 in the fixed wording\n"


def test_unknown_or_broken_letters_are_refused(letters, project):
    result = letters("diff", "cleveland", "kentt")
    assert result.exit_code == 1
    assert result.output == "Error: data/assessments/apsp-2017: no letter for force 'kentt'; did you mean 'kent'?\n"
    letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: ''\nfindngs: x\n")
    result = letters("diff", "cleveland", "kent")
    assert result.exit_code == 1
    assert "Error: data/assessments/apsp-2017/kent.yaml:4: unknown key 'findngs'; did you mean 'findings'?" in result.output
