"""A group that repeats (a `list` field: the fixture series' causes of concern) in the letter page's form,
through Starlette's TestClient, without a script: "Add another" and "Remove" post the form back with
the item added or removed and nothing saved; "Save" writes the YAML list of mappings."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient
from typer.testing import CliRunner

from editing import edit
from hmicfrs_letters.cli import app
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.preview.app import create_app
from hmicfrs_letters.preview.state import Preview

ORIGIN = {"origin": "http://testserver"}
LETTERS = Path("data/assessments/frs-2023")
REVISIT = "/frs-2023/letters/london-revisit"
LONDON = "/frs-2023/letters/london"


def serving(root: Path) -> TestClient:
    client = TestClient(create_app(Preview(Project.at(root)), allowed_hosts=["testserver"], watching=False), follow_redirects=False)
    client.cookies.set("letters-approver", "Sam%20Writer")  # a browser that gave its name: saves record it
    return client


@pytest.fixture
def client(series) -> TestClient:
    return serving(series)


def editor(page: str) -> str:
    return page[page.index('<form id="editor"') :].split("</form>")[0]


def fields(page: str) -> dict[str, str]:
    """What the page's editing form would post (its hidden inputs, text boxes and text areas), as a browser sends it."""
    form = editor(page)
    found = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    found |= dict(re.findall(r'<input id="[^"]+" name="([^"]+)" type="(?:text|date)" value="([^"]*)"', form))
    found |= {name: text for name, text in re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S)}
    return {name: unescape(value) for name, value in found.items()}


def text(page: str) -> str:
    """The page's words, without its tags."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def causes(root: Path, slug: str) -> list | None:
    return yaml.safe_load((root / LETTERS / f"{slug}.yaml").read_text()).get("causes")


def test_each_item_is_a_fieldset_with_its_sub_fields_a_remove_button_and_an_add_another_button(client):
    page = client.get(REVISIT).text
    form = editor(page)
    assert '<input type="hidden" name="field:causes" value="2">' in form
    assert "<legend>Cause of concern 1</legend>" in form and "<legend>Cause of concern 2</legend>" in form
    assert '<label for="control-causes-2-cause">The cause of concern</label>' in form
    assert '<textarea id="control-causes-2-recommendations" name="field:causes-2-recommendations"' in form
    assert 'value="remove:causes:2">Remove<span class="visually-hidden"> cause of concern 2</span></button>' in form
    assert 'value="add:causes">Add another cause of concern</button>' in form
    assert "You can add up to 5." in form
    assert fields(page)["field:causes-1-cause"] == "The brigade does not inspect its high-risk buildings on time."
    # A letter with none: no item, and the button adds the first.
    london = editor(client.get(LONDON).text)
    assert '<input type="hidden" name="field:causes" value="0">' in london and "<legend>Cause of concern" not in london
    assert 'value="add:causes">Add a cause of concern</button>' in london
    # The page names no file, key or command outside its Details.
    assert "causes:" not in text(page) and ".yaml" not in text(london).replace("data/assessments/frs-2023", "")


def test_add_another_shows_the_form_again_with_an_empty_item_keeping_what_was_typed_and_saving_nothing(client, series):
    before = (series / LETTERS / "london-revisit.yaml").read_bytes()
    posted = fields(client.get(REVISIT).text)
    posted |= {"field:strengths": "Typed, not saved.", "field:causes-2-cause": "Changed, not saved.", "action": "add:causes"}
    response = client.post(REVISIT, data=posted, headers=ORIGIN)
    assert response.status_code == 200
    assert (series / LETTERS / "london-revisit.yaml").read_bytes() == before  # nothing written
    again = fields(response.text)
    assert again["field:causes"] == "3" and again["field:strengths"] == "Typed, not saved."
    assert again["field:causes-2-cause"] == "Changed, not saved."
    assert again["field:causes-3-cause"] == "" and again["field:causes-3-recommendations"] == ""
    assert '<textarea id="control-causes-3-cause" name="field:causes-3-cause" rows="4" spellcheck="true" autofocus>' in response.text
    assert "Cause of concern 3 added: save to keep it." in text(response.text)
    assert " data-unsaved>" in response.text  # editor.js warns before the page is left


def test_remove_takes_out_that_item_and_renumbers_the_rest_saving_nothing(client, series):
    before = (series / LETTERS / "london-revisit.yaml").read_bytes()
    posted = fields(client.get(REVISIT).text) | {"field:strengths": "Typed too.", "action": "remove:causes:1"}
    response = client.post(REVISIT, data=posted, headers=ORIGIN)
    assert response.status_code == 200 and (series / LETTERS / "london-revisit.yaml").read_bytes() == before
    again = fields(response.text)
    assert again["field:causes"] == "1" and again["field:strengths"] == "Typed too."
    assert again["field:causes-1-cause"] == "Its staff do not all know how to raise a concern."
    assert "field:causes-2-cause" not in again
    assert "Cause of concern 1 removed: save to keep the change." in text(response.text)


def test_save_writes_the_items_as_a_yaml_list_of_mappings_dropping_empty_ones_and_records_who_saved(client, series):
    posted = fields(client.get(LONDON).text) | {"action": "add:causes"}
    posted = fields(client.post(LONDON, data=posted, headers=ORIGIN).text) | {"action": "add:causes"}
    posted = fields(client.post(LONDON, data=posted, headers=ORIGIN).text)
    assert posted["field:causes"] == "2"
    posted |= {
        "field:causes-1-cause": "Fire engines are late.",
        "field:causes-1-recommendations": "- Buy more.\n- Drive faster.",
        "action": "save",
    }
    response = client.post(LONDON, data=posted, headers=ORIGIN)  # item 2 left blank: no item
    assert response.status_code == 303, text(response.text)
    written = (series / LETTERS / "london.yaml").read_text()
    assert causes(series, "london") == [{"cause": "Fire engines are late.\n", "recommendations": "- Buy more.\n- Drive faster.\n"}]
    assert (
        "causes:\n  - cause: |\n      Fire engines are late.\n    recommendations: |\n      - Buy more.\n      - Drive faster.\n" in written
    )
    assert yaml.safe_load(written)["edited"]["by"] == "Sam Writer"
    assert "Fire engines are late." in client.get(LONDON + ".html").text
    # Saving every item removed takes the key out.
    posted = fields(client.get(LONDON).text) | {"action": "remove:causes:1"}
    posted = fields(client.post(LONDON, data=posted, headers=ORIGIN).text) | {"action": "save"}
    assert client.post(LONDON, data=posted, headers=ORIGIN).status_code == 303
    assert causes(series, "london") is None


def test_a_save_that_changes_nothing_keeps_the_files_bytes_and_its_comments(client, series):
    path = series / LETTERS / "london-revisit.yaml"
    edit(path, "  - cause: |\n      Its staff", "  # the second cause\n  - cause: |\n      Its staff")
    before = path.read_bytes()
    posted = fields(client.get(REVISIT).text) | {"action": "save"}
    assert client.post(REVISIT, data=posted, headers=ORIGIN).status_code == 303
    assert path.read_bytes() == before
    posted = fields(client.get(REVISIT).text) | {"field:causes-2-recommendations": "Tell them.", "action": "save"}
    assert client.post(REVISIT, data=posted, headers=ORIGIN).status_code == 303
    assert "  # the second cause\n  - cause: |\n      Its staff" in path.read_text()
    assert causes(series, "london-revisit")[1]["recommendations"] == "Tell them.\n"


def test_add_stops_at_max_items_and_remove_at_min_items(client, series):
    posted = fields(client.get(REVISIT).text)
    for _ in range(3):
        posted = fields(client.post(REVISIT, data=posted | {"action": "add:causes"}, headers=ORIGIN).text)
    page = client.post(REVISIT, data=posted | {"action": "add:causes"}, headers=ORIGIN).text
    assert fields(page)["field:causes"] == "5"  # the fixture's max_items
    assert 'value="add:causes"' not in page and "You have added 5, the most a letter can have." in text(page)
    assert "You cannot add more than 5." in text(page)  # a sixth asked for (an old page): none added
    # At least 2: no Remove button at 2, and an old page's Remove removes nothing.
    edit(series / "data" / "assessments" / "frs-2023.yaml", "    max_items: 5\n", "    max_items: 5\n    min_items: 2\n")
    client = serving(series)
    page = client.get(REVISIT).text
    assert 'value="remove:causes:' not in page
    page = client.post(REVISIT, data=fields(page) | {"action": "remove:causes:1"}, headers=ORIGIN).text
    assert fields(page)["field:causes"] == "2" and "The letter needs at least 2." in text(page)
    london = fields(client.get(LONDON).text)  # none written: two empty items to write in
    assert london["field:causes"] == "2" and london["field:causes-2-recommendations"] == ""


def test_an_unknown_list_or_item_is_refused_and_a_post_without_the_token_changes_nothing(client):
    posted = fields(client.get(REVISIT).text)
    assert client.post(REVISIT, data=posted | {"action": "add:strengths"}, headers=ORIGIN).status_code == 400
    assert client.post(REVISIT, data=posted | {"action": "remove:causes"}, headers=ORIGIN).status_code == 400
    assert client.post(REVISIT, data=posted | {"action": "add:causes", "token": "x"}, headers=ORIGIN).status_code == 403


def test_an_error_in_item_2s_sub_field_is_summarised_linked_and_shown_beside_it(client, series):
    posted = fields(client.get(REVISIT).text) | {"field:causes-2-cause": "# Staff\n\nThey do not know.", "action": "save"}
    response = client.post(REVISIT, data=posted, headers=ORIGIN)
    assert response.status_code == 422 and causes(series, "london-revisit")[1]["cause"].startswith("Its staff")
    said = "The cause of concern in item 2 of the causes of concern has a top-level heading"
    assert re.search(rf'<a href="#control-causes-2-cause">{said}', response.text)  # the error summary's link
    assert re.search(rf'<p class="field-error" id="error-causes-2-cause"><span class="visually-hidden">Error: </span>{said}', response.text)
    assert re.search(
        r'id="control-causes-2-cause" name="field:causes-2-cause" rows="\d+" spellcheck="true" aria-describedby="error-causes-2-cause"',
        response.text,
    )
    assert fields(response.text)["field:causes-2-cause"] == "# Staff\n\nThey do not know."  # kept as typed


def test_check_gives_markdown_problems_of_an_items_sub_field_at_its_line(series):
    edit(series / LETTERS / "london-revisit.yaml", "      Its staff do not", "      <b>Its</b> staff do not")
    edit(series / LETTERS / "london-revisit.yaml", "      - Set a date", "      ![plan](plan.png)\n      - Set a date")
    result = CliRunner().invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert f"{LETTERS}/london-revisit.yaml:13: 'causes/1/recommendations' may not contain images" in result.output
    assert f"{LETTERS}/london-revisit.yaml:17: warning: 'causes/2/cause' contains HTML tags" in result.output


def test_a_value_by_language_is_shown_not_as_a_text_box_and_left_as_it_is(client, series):
    path = series / LETTERS / "london.yaml"
    edit(path, "word: brigade\n", "word:\n  cy: frigâd\n  en-GB: brigade\n")
    page = client.get(LONDON).text
    assert 'name="field:word"' not in page and "it cannot be changed here" in page
    posted = fields(page) | {"field:strengths": "New strengths.", "action": "save"}
    client.post(LONDON, data=posted, headers=ORIGIN)
    assert yaml.safe_load(path.read_text())["word"] == {"cy": "frigâd", "en-GB": "brigade"}


def test_a_post_made_by_hand_changes_no_value_by_language(client, series):
    path = series / "data" / "assessments" / "frs-2023-cy" / "mid-and-west-wales.yaml"
    page = client.get("/frs-2023-cy/letters/mid-and-west-wales").text
    assert 'name="field:strengths"' not in page
    posted = fields(page) | {"field:strengths": "One text for both.", "field:report_date": "2023-11-08", "by": "Tester", "action": "save"}
    client.post("/frs-2023-cy/letters/mid-and-west-wales", data=posted, headers=ORIGIN)
    saved = yaml.safe_load(path.read_text())
    assert saved["report_date"].isoformat() == "2023-11-08"  # saved: what the page shows changed, the rest kept
    assert saved["strengths"]["en-GB"] == "The service keeps people safe from fire.\n"


def test_items_the_page_cannot_show_are_left_to_the_file(client, series):
    path = series / LETTERS / "london-revisit.yaml"
    edit(path, "  - cause: |\n      Its staff", "  - caus: |\n      Its staff")
    page = client.get(REVISIT).text
    assert 'name="field:causes' not in page and "cannot be changed here" in page
    posted = fields(page) | {"field:strengths": "New strengths.", "action": "save"}
    client.post(REVISIT, data=posted, headers=ORIGIN)
    assert "caus" in causes(series, "london-revisit")[1]


def test_a_save_that_meets_a_change_on_disk_offers_the_list_as_one_choice_and_loses_neither(client, series):
    path = series / LETTERS / "london-revisit.yaml"
    posted = fields(client.get(REVISIT).text) | {"field:causes-2-cause": "Mine, typed in the page.", "action": "save"}
    edit(path, "We revisited the brigade", "Their words: we revisited the brigade")
    theirs = path.read_bytes()
    response = client.post(REVISIT, data=posted, headers=ORIGIN)
    assert response.status_code == 409 and path.read_bytes() == theirs
    page = response.text
    assert page.count('<fieldset class="difference"') == 2  # the strengths (changed on disk) and the list (changed in the page)
    assert "<h2>What the service does well</h2>" in page and "<h2>Causes of concern</h2>" in page
    assert "Mine, typed in the page." in page and "Its staff do not all know" in page
    again = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.split('class="resolve"')[1]))
    assert again["field:causes"] == "2"
    response = client.post(
        REVISIT, data=again | {"action": "resolve", "choice:causes": "mine", "choice:strengths": "theirs"}, headers=ORIGIN
    )
    assert response.status_code == 303
    assert causes(series, "london-revisit")[1]["cause"] == "Mine, typed in the page.\n" and b"Their words" in path.read_bytes()


def test_a_placeholder_left_in_an_items_sub_field_is_named_at_its_line_and_stops_the_approval(series):
    edit(series / LETTERS / "london-revisit.yaml", "      Tell every member", "      TODO: tell every member")
    client = serving(series)
    result = CliRunner().invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert f"{LETTERS}/london-revisit.yaml:18: warning: 'causes/2/recommendations' holds a placeholder: 'TODO'" in result.output
    page = client.post(REVISIT, data=fields(client.get(REVISIT).text) | {"action": "approve", "by": "Sam Writer"}, headers=ORIGIN).text
    said = "Replace “TODO” in the recommendations in item 2 of the causes of concern with what it stands for."
    assert f'<a href="#control-causes-2-recommendations">{said}' in page  # the approval refused, the reason linked to its box
    assert "status: draft" in (series / LETTERS / "london-revisit.yaml").read_text()


def test_a_required_sub_field_left_out_of_an_item_is_named_by_check_and_by_the_refused_approval(series):
    edit(
        series / LETTERS / "london-revisit.yaml",
        "    recommendations: |\n      Tell every member of staff how to raise one by the end of the year.\n",
        "",
    )
    client = serving(series)
    result = CliRunner().invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    said = "'causes/2/recommendations' not written yet: the letter shows a placeholder"
    assert f"{LETTERS}/london-revisit.yaml:16: warning: {said}" in result.output  # at its item's line
    page = client.post(REVISIT, data=fields(client.get(REVISIT).text) | {"action": "approve", "by": "Sam Writer"}, headers=ORIGIN).text
    assert '<a href="#control-causes-2-recommendations">Write the recommendations in item 2 of the causes of concern.' in page
    assert "status: draft" in (series / LETTERS / "london-revisit.yaml").read_text()


def test_an_items_sub_field_over_the_length_limit_is_an_error_at_its_line(series):
    from hmicfrs_letters.core.validate import MAX_FIELD_CHARS

    edit(
        series / LETTERS / "london-revisit.yaml",
        "      Tell every member",
        "      " + "Too long. " * (MAX_FIELD_CHARS // 10 + 1) + "Tell every member",
    )
    result = CliRunner().invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert result.exit_code == 1
    assert f"{LETTERS}/london-revisit.yaml:18: 'causes/2/recommendations' is {MAX_FIELD_CHARS + 78:,} characters long" in result.output


def test_compare_shows_a_value_by_language_language_by_language(client, series):
    path = series / "data" / "assessments" / "frs-2023-cy" / "mid-and-west-wales.yaml"
    copy = Project.at(series).approved_copy("frs-2023-cy", "mid-and-west-wales")
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(path.read_bytes())  # the version last approved, as `letters approve` keeps it
    edit(path, "Mae'r gwasanaeth yn cadw", "Mae'r gwasanaeth bob amser yn cadw")
    page = client.get("/frs-2023-cy/letters/mid-and-west-wales/compare").text
    welsh = page.split('<h2 id="field-strengths-cy">What the service does well (Welsh)</h2>')[1].split("</section>")[0]
    english = page.split('<h2 id="field-strengths-en-GB">What the service does well (English (United Kingdom))</h2>')[1].split(
        "</section>"
    )[0]
    assert 'gwasanaeth <ins><span class="visually-hidden">put in: </span>bob amser</ins> yn cadw' in welsh
    assert "No changes since the version last approved." in english
    assert "{'cy'" not in page and "{&#39;cy&#39;" not in page


def test_item_label_names_one_item_and_is_for_a_list_field_only(series):
    assessment = series / "data" / "assessments" / "frs-2023.yaml"
    edit(assessment, "item_label: Cause of concern", "item_label: Concern")
    page = serving(series).get(REVISIT).text
    assert "<legend>Concern 1</legend>" in page and "Add another concern" in page
    assert "Cause of concern 1" not in page
    edit(assessment, "    item_label: Concern\n", "")  # without it, the label in the singular
    assert "Cause of concern 1</legend>" in serving(series).get(REVISIT).text
    edit(assessment, "      cause:\n        type: markdown\n", "      cause:\n        type: markdown\n        item_label: Cause\n")
    result = CliRunner().invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert "'items', 'min_items', 'max_items' and 'item_label' are for a field of type 'list'" in result.output
