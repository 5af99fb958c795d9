"""The wording lock: a changed comma in a template fails `letters check`, with a word diff; `approve-wording` records a new wording."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import letter_file
from editing import edit
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.workflow.wording import fingerprint, fixed_wording, variants_text, wording_variants

LETTERS = "data/assessments/apsp-2017"
ASSESSMENT = "data/assessments/apsp-2017.yaml"
LOCK_LINE = 13
MISMATCH = (
    f"{ASSESSMENT}:{LOCK_LINE}: the letters' fixed wording differs from the approved wording (changes below); "
    "fix the templates, or run `letters approve-wording` if the change is approved"
)


def template(project: Path) -> Path:
    return project / "templates" / "apsp-2017" / "letter.html.j2"


def test_the_recorded_fingerprint_is_the_wording_of_the_templates(fixture_project):
    batch = load_batch(Project.at(fixture_project))
    text = fixed_wording(Templates(batch.project.templates_dir), batch.assessment)
    assert fingerprint(text) == batch.assessment.wording_sha256
    approved = fixture_project / "data" / "assessments" / "apsp-2017.wording.txt"
    assert approved.read_text() == text
    assert hashlib.sha256(approved.read_bytes()).hexdigest() == batch.assessment.wording_sha256
    # The varying parts are held neutral; the fixed parts are all there.
    assert "Dear {recipient.chief_officer_title}\n" in text
    assert "{findings}\n" in text
    assert "Yours sincerely\n" in text


def test_check_passes_on_unchanged_templates(letters):
    result = letters("check", "--no-pages")
    assert result.exit_code == 0, result.output
    assert "wording" not in result.output


def test_a_changed_comma_in_a_template_fails_the_check_with_a_word_diff(letters, project):
    edit(template(project), "In December 2016, we published", "In December 2016 we published")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert MISMATCH in lines
    diff = lines[lines.index(MISMATCH) + 1]
    assert diff == "  line 14: In December [-2016,-] {+2016+} we published our national PEEL: police …"
    # The approved letters read differently too: their approvals covered the wording as it was.
    assert "3 errors, " in result.output
    assert f"{LETTERS}/north-yorkshire.yaml:3: changed since it was approved by HMICFRS" in result.output


def test_an_added_line_and_a_changed_shared_value_show_in_the_diff(letters, project):
    edit(project / "templates" / "base" / "letter.html.j2", "<p>Yours sincerely</p>", "<p>With best wishes</p>\n    <p>Yours sincerely</p>")
    edit(project / "data" / "assessments" / "apsp-2017.yaml", "phone: 07802 948502", "phone: 07802 948503")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert MISMATCH in result.output
    assert "  after line 20: {+With best wishes+}" in result.output
    assert "[-948502.-] {+948503.+}" in result.output


def test_a_force_file_does_not_touch_the_lock(letters, project):
    edit(letter_file(project, "cumbria"), "Your plans submitted", "The plans submitted")
    path = letter_file(project, "sussex")
    path.write_text(path.read_text() + "recipient_name: Giles York QPM\ncopied_to_name: Katy Bourne\n")
    assert letters("check", "--no-pages").exit_code == 0


def test_approve_wording_records_the_new_fingerprint_and_text(letters, project):
    assessment = project / ASSESSMENT
    comments = [line for line in assessment.read_text().splitlines() if line.startswith("#")]
    edit(template(project), "In December 2016, we published", "In December 2016 we published")
    result = letters("approve-wording")
    assert result.exit_code == 0, result.output
    text = (project / "data" / "assessments" / "apsp-2017.wording.txt").read_text()
    assert "In December 2016 we published" in text
    assert f"sha256 {fingerprint(text)}" in result.output
    assert f'wording_sha256: "{fingerprint(text)}"' in assessment.read_text()
    assert [line for line in assessment.read_text().splitlines() if line.startswith("#")] == comments
    # Each approval covers the wording in force: the approved letters are to be approved again.
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{LETTERS}/cleveland.yaml:3: changed since it was approved by HMICFRS" in result.output
    assert letters("approve", "cleveland", "north-yorkshire").exit_code == 0
    assert letters("check", "--no-pages").exit_code == 0
    assert letters("approve-wording").output.startswith("Unchanged: approved wording of apsp-2017")


def test_a_new_assessment_gets_the_key_added_and_a_warning_until_then(letters, project):
    for slug in ("cleveland", "north-yorkshire"):  # a new assessment has no approved letter yet
        edit(letter_file(project, slug), "status: approved", "status: draft")
    assessment = project / ASSESSMENT
    lines = assessment.read_text().splitlines(keepends=True)
    assessment.write_text("".join(line for line in lines if "wording" not in line and "a newly approved" not in line))
    (project / "data" / "assessments" / "apsp-2017.wording.txt").unlink()
    result = letters("check", "--no-pages")
    assert result.exit_code == 0
    assert f"{ASSESSMENT}: warning: no approved wording recorded ('wording_sha256'); run `letters approve-wording`" in result.output
    assert letters("approve-wording").exit_code == 0
    assert "\nwording_sha256: " in assessment.read_text()
    assert assessment.read_text().startswith("# What every letter")
    assert letters("check", "--no-pages").exit_code == 0


def test_without_the_approved_text_the_check_still_fails(letters, project):
    (project / "data" / "assessments" / "apsp-2017.wording.txt").unlink()
    edit(template(project), "In December 2016, we published", "In December 2016 we published")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert "(the approved text, data/assessments/apsp-2017.wording.txt, is missing: no diff to show)" in result.output


def test_a_broken_template_is_reported_by_approve_wording(letters, project):
    edit(template(project), "{% include", "{% includ")
    result = letters("approve-wording")
    assert result.exit_code == 1
    assert result.output.startswith("Error: templates/apsp-2017/letter.html.j2:")


# --- every path through the templates: an approval made before they were locked -------------------------

VARIANTS = "data/assessments/apsp-2017.variants.txt"
# apsp-2017's approved wording: every approval of its letters holds it.
APSP_WORDING = "2e3712eadfbf6b2f4794dd7c7ead5775fa1c25abb30408795de2ac3e8254b37a"


def test_the_other_paths_of_apsp_2017_are_recorded_and_leave_its_approvals_as_they_were(fixture_project):
    batch = load_batch(Project.at(fixture_project))
    variants = wording_variants(Templates(batch.project.templates_dir), batch.assessment)
    # The address and copy line of a letter that names no chief officer, nor whom it copies in.
    assert list(variants) == ["when 'recipient_name' is not written", "when 'copied_to_name' is not written"]
    recorded = (fixture_project / VARIANTS).read_text()
    assert recorded == variants_text(variants)
    assert fingerprint(recorded) == batch.assessment.variants_sha256
    assert "\n  Copied to: {recipient.copied_to}\n" in recorded
    assert batch.assessment.wording_sha256 == APSP_WORDING


def test_an_approval_from_before_the_other_paths_were_locked_warns_until_they_are(letters, project):
    assessment = project / ASSESSMENT
    before = assessment.read_text()
    lines = before.splitlines(keepends=True)
    assessment.write_text("".join(line for line in lines if "variants" not in line and "the letters' other paths" not in line))
    (project / VARIANTS).unlink()
    result = letters("check", "--no-pages")
    assert result.exit_code == 0, result.output  # the approved letters stand: their approvals hold wording_sha256 only
    assert (
        f"{ASSESSMENT}: warning: the wording the letters print when 'recipient_name' is not written, when 'copied_to_name' is "
        "not written is not locked yet ('variants_sha256'); run `letters approve-wording` once it is approved"
    ) in result.output.splitlines()
    assert "changed since it was approved" not in result.output
    result = letters("approve-wording")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Recorded the new approved wording of apsp-2017, sha256 {APSP_WORDING};")
    assert f'wording_sha256: "{APSP_WORDING}"' in assessment.read_text()
    assert (project / VARIANTS).is_file() and "variants_sha256: " in assessment.read_text()
    result = letters("check", "--no-pages")
    assert result.exit_code == 0 and "wording" not in result.output, result.output


def test_a_chief_officers_name_and_a_named_copy_replace_no_standard_passage(letters, project):
    path = letter_file(project, "sussex")
    path.write_text(path.read_text() + "recipient_name: Giles York QPM\ncopied_to_name: Katy Bourne\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 0
    assert "replaces the standard passage" not in result.output
