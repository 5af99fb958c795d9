"""The letter page as the place where a letter is written, checked and approved: its form's posts,
through Starlette's TestClient, without a script (the page must work without one)."""

from __future__ import annotations

import hashlib
import re

import pytest
from starlette.testclient import TestClient

from conftest import letter_file
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.preview.app import create_app
from hmicfrs_letters.preview.state import Preview

ORIGIN = "http://testserver"
KENT = "/apsp-2017/letters/kent"
TWO_PARAGRAPHS_AND_A_LIST = (
    "Your plans were thorough.\n\nThey covered three things:\n\n- a review of the unit;\n- new monitoring;\n- outreach."
)


@pytest.fixture
def preview(project) -> Preview:
    return Preview(Project.at(project))


@pytest.fixture
def client(preview) -> TestClient:
    client = TestClient(create_app(preview, allowed_hosts=["testserver"], watching=False), follow_redirects=False)
    client.cookies.set("letters-approver", "Sam%20Writer")  # a browser that gave its name: saves record it
    return client


def form_of(page: str) -> dict[str, str]:
    """The hidden inputs of the page's editing form: its token and the version it shows."""
    form = page[page.index('<form id="editor"') :].split("</form>")[0]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))


def post(client: TestClient, url: str, data: dict, origin: str | None = ORIGIN):
    headers = {"origin": origin} if origin else {}
    return client.post(url, data=data, headers=headers)


def version(project, slug: str) -> str:
    return hashlib.sha256(letter_file(project, slug).read_bytes()).hexdigest()


def test_the_page_is_a_form_with_a_control_for_each_field_its_token_and_the_files_version(client, project):
    page = client.get(KENT).text
    hidden = form_of(page)
    assert hidden["version"] == version(project, "kent") and len(hidden["token"]) > 30
    assert '<select id="control-outcome" name="outcome" aria-describedby="hint-outcome">' in page
    assert page.count("<select id=") == 1  # one outcome control, also the one a draft starts from
    assert '<textarea id="control-findings" name="field:findings"' in page
    assert '<input id="control-recipient_name" name="field:recipient_name" type="text"' in page
    assert '<label for="control-recipient_name">Chief officer&#39;s name <span class="optional">(optional)</span></label>' in page
    assert 'name="action" value="start" aria-describedby="hint-start">Start the draft</button>' in page  # Kent: nothing written


def test_saving_writes_the_file_as_literal_blocks_keeping_its_comments(client, project):
    before = letter_file(project, "cumbria").read_text()
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    response = post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "save", "field:findings": TWO_PARAGRAPHS_AND_A_LIST})
    assert response.status_code == 303 and response.headers["location"] == "/apsp-2017/letters/cumbria?done=saved"
    text = letter_file(project, "cumbria").read_text()
    assert text.splitlines()[0] == before.splitlines()[0]  # its comment kept
    assert "findings: |\n  Your plans were thorough.\n\n  They covered three things:\n\n  - a review of the unit;" in text
    assert "Saved." in client.get(response.headers["location"]).text
    html = client.get("/apsp-2017/letters/cumbria.html").text
    assert html.count("<li>") == 3 and "<p>Your plans were thorough.</p>" in html


def test_a_save_that_would_make_the_letter_invalid_writes_nothing_and_marks_the_field(client, project):
    before = letter_file(project, "cumbria").read_bytes()
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    response = post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "save", "field:findings": "See ![x](file:///etc/passwd)"})
    assert response.status_code == 422
    assert letter_file(project, "cumbria").read_bytes() == before
    page = response.text
    assert "Not saved: fix what is marked below." in page
    assert '<a href="#control-findings">Take the image out of the findings.</a>' in page
    assert 'aria-describedby="hint-findings error-findings" aria-invalid="true"' in page
    assert page.count('class="field-error"') == 1  # one message by the field (GOV.UK), and the summary's link to it
    assert "See ![x](file:///etc/passwd)</textarea>" in page  # what was typed is kept, not lost


def test_a_file_changed_since_the_page_was_made_is_not_overwritten_both_versions_are_shown(client, project):
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    path = letter_file(project, "cumbria")
    path.write_text(path.read_text().replace("Your plans submitted", "Their plans, saved in an editor,"))
    theirs = path.read_bytes()
    response = post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "save", "field:findings": "Mine, typed in the page."})
    assert response.status_code == 409
    assert path.read_bytes() == theirs  # nothing lost
    assert "Their plans, saved in an editor," in response.text and "Mine, typed in the page." in response.text
    assert "<textarea" not in response.text and "status: draft" not in response.text  # no YAML on the page
    # Choosing mine is a deliberate second post, of the version now seen.
    again = dict(re.findall(r'<input type="hidden" name="([\w:]+)" value="([^"]*)">', response.text.split('class="resolve"')[1]))
    assert again["version"] == hashlib.sha256(theirs).hexdigest()
    response = post(client, "/apsp-2017/letters/cumbria", {**again, "action": "resolve", "choice:findings": "mine"})
    assert response.status_code == 303
    assert "Mine, typed in the page." in path.read_text()


def test_a_conflict_is_resolved_field_by_field_keeping_the_version_on_disk_by_default(client, project):
    url = "/apsp-2017/letters/cumbria"
    hidden = form_of(client.get(url).text)
    path = letter_file(project, "cumbria")
    path.write_text(path.read_text().replace("Your plans submitted", "Their plans submitted"))
    mine = {**hidden, "action": "save", "field:findings": "Mine, typed in the page.", "field:recipient_name": "Chief Constable Roe"}
    response = post(client, url, mine)
    assert response.status_code == 409
    page = response.text
    assert page.count('<fieldset class="difference"') == 2  # the findings and the chief officer's name; nothing else differs
    assert "<h2>Findings</h2>" in page and "<h2>Chief officer&#39;s name</h2>" in page
    assert 'name="choice:findings" value="theirs" checked' in page  # the safe choice is the one chosen
    assert '<a class="button" href="/apsp-2017/letters/cumbria">Keep the version saved meanwhile' in page  # and the primary button
    again = dict(re.findall(r'<input type="hidden" name="([\w:]+)" value="([^"]*)">', page.split('class="resolve"')[1]))
    response = post(client, url, {**again, "action": "resolve", "choice:findings": "theirs", "choice:recipient_name": "mine"})
    assert response.status_code == 303
    text = path.read_text()
    assert "Their plans submitted" in text and "Mine, typed" not in text and "Chief Constable Roe" in text


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda form: {**form, "token": "forged"}, 403),
        (lambda form: {k: v for k, v in form.items() if k != "token"}, 403),
    ],
    ids=["a wrong token", "no token"],
)
def test_a_post_without_our_token_is_refused_and_changes_nothing(client, project, change, status):
    before = letter_file(project, "cumbria").read_bytes()
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    response = post(client, "/apsp-2017/letters/cumbria", change({**hidden, "action": "save", "field:findings": "Forged."}))
    assert response.status_code == status
    assert "this form is not one this server gave" in response.text
    assert letter_file(project, "cumbria").read_bytes() == before


@pytest.mark.parametrize("origin", ["http://evil.example", "null", None])
def test_a_post_from_another_origin_is_refused(client, project, origin):
    before = letter_file(project, "cumbria").read_bytes()
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    response = post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "approve", "by": "Mallory"}, origin=origin)
    assert response.status_code == 403
    assert "did not come from this server&#39;s own pages" in response.text
    assert letter_file(project, "cumbria").read_bytes() == before


def test_nothing_but_a_post_changes_state_and_no_post_reaches_another_file(client, project):
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    assert client.get("/apsp-2017/letters/cumbria", params={**hidden, "action": "save", "field:findings": "x"}).status_code == 200
    assert "field:findings" not in letter_file(project, "cumbria").read_text() and "x\n" not in letter_file(project, "cumbria").read_text()
    for url in (
        "/apsp-2017/letters/..%2F..%2Frecipients%2Fpolice-forces",
        "/apsp-2017/letters/not-a-force",
        "/apsp-2017.wording/letters/kent",
    ):
        assert post(client, url, {**hidden, "action": "save", "field:findings": "x"}).status_code in (403, 404)
    response = post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "save", "approved": "yes", "status": "approved"})
    assert response.status_code == 303
    assert "status: draft" in letter_file(project, "cumbria").read_text()  # only the form's own keys are written


def test_start_draft_does_what_letters_new_does(client, project):
    hidden = form_of(client.get(KENT).text)
    response = post(client, KENT, {**hidden, "action": "start", "outcome": "plans-not-commenced"})
    assert response.status_code == 303
    text = letter_file(project, "kent").read_text()
    assert "outcome: plans-not-commenced" in text and "findings: |\n  Your plans submitted in response" in text
    assert "Start the draft" not in client.get(KENT).text


def test_approve_from_the_page_records_who_and_when_as_letters_approve_does(client, project):
    page = client.get("/apsp-2017/letters/cumbria").text
    assert (
        "Every check passes: it is ready to approve." in page
        and '<button class="button" id="approve-button" name="action" value="approve" aria-describedby="approve-why">Approve</button>'
        in page
    )
    hidden = form_of(page)
    response = post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "approve", "by": "Jane Smith"})
    assert response.status_code == 303, response.text
    text = letter_file(project, "cumbria").read_text()
    assert "status: approved\napproved:\n  by: Jane Smith\n  on: " in text
    page = client.get("/apsp-2017/letters/cumbria").text
    assert "The approval stands" in page
    assert 'id="control-by"' not in page  # the approval stands: no approver's name is asked
    assert response.headers["set-cookie"].startswith("letters-approver=Jane%20Smith;")
    assert "HttpOnly" in response.headers["set-cookie"] and "SameSite=strict" in response.headers["set-cookie"]


def test_the_approvers_name_is_never_guessed_from_git_only_remembered_by_the_browser_that_gave_it(client, project):
    import subprocess

    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "config", "user.name", "Shared Team Identity"], check=True)
    client.cookies.clear()  # a browser that has given no name
    page = client.get("/apsp-2017/letters/cumbria").text
    assert "Shared Team Identity" not in page
    assert '<input id="control-by" name="by" type="text" autocomplete="name" value=""' in page
    client.cookies.set("letters-approver", "Zo%C3%AB%20Roe")
    assert 'value="Zoë Roe"' in client.get("/apsp-2017/letters/cumbria").text
    response = post(client, "/apsp-2017/letters/cumbria", {**form_of(page), "action": "approve", "by": "  "})
    assert response.status_code == 422 and "Enter your name: the approval records who approved the letter." in response.text
    assert '<p class="field-error" id="error-by">' in response.text


def test_approve_is_always_a_button_and_pressed_too_soon_it_lists_what_stops_it(client, project):
    page = client.get(KENT).text
    assert '<li class="check failed"><span class="visually-hidden">Not passed: </span>Choose the outcome:' in page
    assert " disabled" not in page
    response = post(client, KENT, {**form_of(page), "action": "approve", "by": "Jane Smith"})
    assert response.status_code == 422 and "Not approved: first put right what is listed here." in response.text
    summary = response.text.split('id="error-summary"')[1].split("</div>")[0]
    assert '<a href="#control-outcome">Choose the outcome: the letter cannot be approved while it is pending.</a>' in summary
    assert '<a href="#control-findings">Write the findings.</a>' in summary
    assert "approved:" not in letter_file(project, "kent").read_text()


def test_approving_a_version_other_than_the_one_shown_is_refused(client, project):
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    path = letter_file(project, "cumbria")
    path.write_text(path.read_text().replace("Your plans submitted", "Unchecked words"))
    response = post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "approve", "by": "Jane Smith"})
    assert response.status_code == 422
    assert "the file changed on disk since it was shown" in response.text
    assert "approved:" not in path.read_text()


def test_the_live_look_renders_the_unsaved_values_counts_pages_and_saves_nothing(client, project):
    before = letter_file(project, "cumbria").read_bytes()
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    words = " ".join(f"word{n}" for n in range(900))
    response = post(client, "/apsp-2017/letters/cumbria/live", {**hidden, "field:findings": f"Typed, not saved. {words}"})
    assert response.status_code == 200
    look = response.json()
    assert "Typed, not saved." in look["html"] and look["pages"] > 2 and look["limit"] == 2
    assert len(look["breaks"]) == look["pages"] - 1 and all(look["breaks"])
    assert look["breaks"][0].split()[0].startswith("word")  # page 2 starts inside the findings
    assert letter_file(project, "cumbria").read_bytes() == before
    bad = post(client, "/apsp-2017/letters/cumbria/live", {**hidden, "field:recipient_name": "two\nlines"}).json()
    assert [p["field"] for p in bad["problems"] if p["severity"] == "error"] == ["recipient_name"]
    assert post(client, "/apsp-2017/letters/cumbria/live", {"field:findings": "x"}).status_code == 403


def test_compare_shows_the_findings_against_the_standard_wording_and_the_last_approved(client, project):
    hidden = form_of(client.get("/apsp-2017/letters/cumbria").text)
    assert post(client, "/apsp-2017/letters/cumbria", {**hidden, "action": "approve", "by": "Jane Smith"}).status_code == 303
    path = letter_file(project, "cumbria")
    assert "No changes since it was approved by Jane Smith on " in client.get("/apsp-2017/letters/cumbria/compare").text
    path.write_text(path.read_text().replace("Your plans submitted", "Your plans\n  submitted"))  # wrapped: no change
    assert "No changes since it was approved by Jane Smith on " in client.get("/apsp-2017/letters/cumbria/compare").text
    text = path.read_text().replace("Your plans\n  submitted", "Your revised plans submitted")
    path.write_text(text)
    page = client.get("/apsp-2017/letters/cumbria/compare").text
    assert "Against the standard wording for “" in page
    assert "Against the version last approved (by Jane Smith on " in page and "No changes since" not in page
    assert 'Your <ins><span class="visually-hidden">put in: </span>revised</ins> plans submitted' in page


def test_a_yaml_slip_made_in_an_editor_shows_the_lines_a_marker_and_a_plain_hint(client, preview, project):
    path = letter_file(project, "cumbria")
    path.write_text(path.read_text().replace("status: draft", "status: draft\n  recipient_name: Michelle Skeer"))
    preview.reload([path])
    page = client.get("/apsp-2017/letters/cumbria").text
    assert "This letter cannot be read" in page
    assert "line 4 has &#39;: &#39; inside a value, or is indented more than the lines above it" in page
    assert '<pre class="excerpt">  2 | outcome: plans-not-commenced\n  3 | status: draft\n  4 |   recipient_name: Michelle Skeer\n' in page
    frame = client.get("/apsp-2017/letters/cumbria.html").text
    assert '<pre class="excerpt">' in frame and "^" in frame


def test_a_pasted_line_separator_is_saved_as_a_line_break_and_later_saves_still_work(client, project):
    url = "/apsp-2017/letters/cumbria"
    for findings in ("First line.\u2028Same paragraph.\u2029\u2029Second\x85paragraph.", "Saved again."):
        hidden = form_of(client.get(url).text)
        response = post(client, url, {**hidden, "action": "save", "field:findings": findings})
        assert response.status_code == 303, response.text[-2000:]
        text = letter_file(project, "cumbria").read_text()
        assert not {"\u2028", "\u2029", "\x85"} & set(text)
    assert "Saved again." in letter_file(project, "cumbria").read_text()


def test_a_value_that_would_read_back_as_something_else_is_written_quoted(client, project):
    url = "/apsp-2017/letters/cumbria"
    hidden = form_of(client.get(url).text)
    response = post(client, url, {**hidden, "action": "save", "salutation": "1:20"})  # YAML 1.1 reads 1:20 plain as 80
    assert response.status_code == 303
    assert 'salutation: "1:20"' in letter_file(project, "cumbria").read_text()


def test_start_draft_keeps_the_addressees_salutation_and_copies_written_by_hand(client, project):
    path = letter_file(project, "kent")
    path.write_text(
        path.read_text()
        + "addressees:\n  - name: Alan Pughsley\n    role: Chief Constable\nsalutation: Dear Alan\ncopied_to:\n  - Matthew Scott\n"
    )
    hidden = form_of(client.get(KENT).text)
    response = post(client, KENT, {**hidden, "action": "start", "outcome": "plans-not-commenced"})
    assert response.status_code == 303
    text = letter_file(project, "kent").read_text()
    assert "outcome: plans-not-commenced" in text and "findings: |\n  Your plans submitted in response" in text
    assert "name: Alan Pughsley" in text and "salutation: Dear Alan" in text and "- Matthew Scott" in text


def test_start_over_typed_findings_asks_first_and_the_server_refuses_it_unconfirmed(client, project):
    before = letter_file(project, "kent").read_bytes()
    hidden = form_of(client.get(KENT).text)
    typed = {**hidden, "action": "start", "outcome": "plans-not-commenced", "field:findings": "My own findings, typed."}
    response = post(client, KENT, typed)
    assert response.status_code == 200 and letter_file(project, "kent").read_bytes() == before
    assert "Starting the draft replaces what you typed" in response.text
    assert "My own findings, typed.</textarea>" in response.text  # kept on the page
    assert '<input type="hidden" name="confirm" value="replace">' in response.text
    # The safe choice: keep them, and save them.
    response = post(client, KENT, {**typed, "action": "save", "confirm": "replace"})
    assert response.status_code == 303 and "My own findings, typed." in letter_file(project, "kent").read_text()


def test_start_over_typed_findings_replaces_them_once_confirmed(client, project):
    hidden = form_of(client.get(KENT).text)
    typed = {**hidden, "action": "start", "outcome": "plans-not-commenced", "field:findings": "Mine.", "confirm": "replace"}
    assert post(client, KENT, typed).status_code == 303
    assert "findings: |\n  Your plans submitted in response" in letter_file(project, "kent").read_text()


def test_saving_a_change_to_an_approved_letter_asks_first_then_withdraws_the_approval(client, project):
    url = "/apsp-2017/letters/cumbria"
    assert post(client, url, {**form_of(client.get(url).text), "action": "approve", "by": "Jane Smith"}).status_code == 303
    page = client.get(url).text
    assert "Saving a change withdraws the approval by Jane Smith on " in page
    approved = letter_file(project, "cumbria").read_bytes()
    change = {**form_of(page), "action": "save", "field:findings": "A late change."}
    response = post(client, url, change)
    assert response.status_code == 200 and letter_file(project, "cumbria").read_bytes() == approved
    assert "Saving withdraws the approval" in response.text and "approved by Jane Smith on " in response.text
    assert "A late change.</textarea>" in response.text
    assert post(client, url, {**change, "action": "keep", "confirm": "withdraw"}).status_code == 303
    assert letter_file(project, "cumbria").read_bytes() == approved  # kept
    assert post(client, url, {**change, "confirm": "withdraw"}).status_code == 303
    assert "A late change." in letter_file(project, "cumbria").read_text()
    assert "Changed since approval" in client.get(url).text or "changed" in client.get(url).text


def test_lines_are_saved_as_typed_never_wrapped(client, project):
    url = "/apsp-2017/letters/cumbria"
    sentence = "This one sentence is typed on one line and runs on well past the width a text editor would wrap it at, " * 2
    response = post(client, url, {**form_of(client.get(url).text), "action": "save", "field:findings": sentence.strip()})
    assert response.status_code == 303
    assert f"findings: |\n  {sentence.strip()}\n" in letter_file(project, "cumbria").read_text()
    assert f">{sentence.strip()}\n</textarea>" in client.get(url).text


def test_a_server_started_with_a_user_approves_as_that_user_read_only(preview, project):
    app = create_app(preview, allowed_hosts=["testserver"], watching=False)
    app.state.user = "Pat Doe"  # letters serve --user "Pat Doe", or LETTERS_USER
    client = TestClient(app, follow_redirects=False)
    page = client.get("/apsp-2017/letters/cumbria").text
    assert "Approving as <strong>Pat Doe</strong>." in page and 'id="control-by"' not in page
    response = post(client, "/apsp-2017/letters/cumbria", {**form_of(page), "action": "approve", "by": "Pat Doe"})
    assert response.status_code == 303 and "set-cookie" not in response.headers
    assert "  by: Pat Doe\n" in letter_file(project, "cumbria").read_text()


def _visible_outside_details(page: str) -> str:
    """The words a page shows, without what sits behind a "Details" disclosure, its styles and scripts."""
    import html as entities

    page = re.sub(r"<(details|style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<title>.*?</title>", " ", page, flags=re.S)
    return entities.unescape(re.sub(r"<[^>]+>", " ", page))


ENGINE_WORDS = re.compile(
    r"\bdata/|templates/|\.ya?ml\b|\bletters (?:approve|check|new|build|serve|list|verify)\b|--[a-z]|`|git pull|sha-?256"
    r"|'(?:findings|outcome|status|approved|page_limit|recipient_name)'|\bstatus: |page_limit|:\d+:\d+:"
)


def test_no_page_of_the_preview_shows_a_path_a_yaml_key_a_command_or_an_outcome_slug_outside_details(client, preview, project):
    slugs = [category.key for category in preview.get("apsp-2017").batch.assessment.categories]
    pages = {url: client.get(url).text for url in ("/apsp-2017/", KENT, "/apsp-2017/letters/cumbria", "/apsp-2017/letters/cleveland")}
    pages["compare"] = client.get("/apsp-2017/letters/cleveland/compare").text
    pages["not found"] = client.get("/apsp-2017/letters/kentt").text
    hidden = form_of(pages[KENT])
    pages["start asks"] = post(client, KENT, {**hidden, "action": "start", "outcome": slugs[0], "field:findings": "Typed."}).text
    pages["approve refused"] = post(client, KENT, {**hidden, "action": "approve", "by": "Jane Smith"}).text
    pages["save refused"] = post(client, KENT, {**hidden, "action": "save", "field:findings": "# A top heading\n\n![x](y.png)"}).text
    cleveland = form_of(pages["/apsp-2017/letters/cleveland"])
    pages["withdraw asks"] = post(
        client, "/apsp-2017/letters/cleveland", {**cleveland, "action": "save", "field:findings": "Changed."}
    ).text
    path = letter_file(project, "cumbria")
    mine = form_of(pages["/apsp-2017/letters/cumbria"])
    path.write_text(path.read_text().replace("Your plans submitted", "Their plans submitted"))
    pages["conflict"] = post(client, "/apsp-2017/letters/cumbria", {**mine, "action": "save", "field:findings": "Mine."}).text
    path.write_text(path.read_text().replace("status: draft", "status: [draft"))
    preview.reload([path])
    pages["cannot be read"] = client.get("/apsp-2017/letters/cumbria").text
    pages["cannot be read, its frame"] = client.get("/apsp-2017/letters/cumbria.html").text
    for name, page in pages.items():
        words = _visible_outside_details(page)
        assert not ENGINE_WORDS.search(words), (
            name,
            ENGINE_WORDS.search(words)[0],
            words[max(0, ENGINE_WORDS.search(words).start() - 200) :][:400],
        )
        assert not [slug for slug in slugs if slug in words], (name, slugs)
    assert (
        "Details" in pages["cannot be read"] and "data/assessments/apsp-2017/cumbria.yaml" in pages["cannot be read"]
    )  # for the data team
