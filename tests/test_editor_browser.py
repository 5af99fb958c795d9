"""A policy officer's journey in a real browser (Debian's Chromium, driven by Playwright), keyboard
only: start a draft, write two paragraphs and a list, save, see the checks pass, approve, and
`letters build --final` issues the verified PDF. A save that meets a change on disk loses nothing.
And every page passes axe-core with no violation of any impact, at 320 pixels and at desktop width,
and reflows at 320 pixels without scrolling sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from conftest import add_series, letter_file
from hmicfrs_letters.cli import app
from hmicfrs_letters.pdf.verify import pdf_text
from serving import AXE, running

KENT = "apsp-2017/letters/kent"
PARAGRAPHS = ["Your plans were thorough and well founded.", "They covered three things:"]
ITEMS = ["a review of the unit;", "new monitoring of IT systems;", "work with those who support vulnerable people."]


def tab_to(page: Page, element_id: str, limit: int = 80) -> None:
    """Press Tab until the element has the focus, as a keyboard user would (at most `limit` presses)."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"#{element_id} cannot be reached with the Tab key")


def test_a_pending_letter_to_an_approved_verified_pdf_with_the_keyboard_alone(page: Page, project: Path):
    with running(project) as server:
        page.goto(server.url + KENT)
        tab_to(page, "control-outcome")
        page.keyboard.press("ArrowDown")  # from Pending (first) past the first outcome to
        page.keyboard.press("ArrowDown")  # Plans in place, implementation not yet commenced
        tab_to(page, "start-button")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status").filter(has_text="Draft started")).to_be_visible()

        tab_to(page, "control-findings")
        page.keyboard.press("Control+A")
        page.keyboard.type(f"{PARAGRAPHS[0]}\n\n{PARAGRAPHS[1]}\n\n" + "".join(f"- {item}\n" for item in ITEMS))
        letter = page.frame_locator("#letter")
        expect(letter.locator("li", has_text=ITEMS[2])).to_be_visible(timeout=10_000)
        expect(page.locator("#pages")).to_have_text("2 pages of at most 2")

        expect(page.locator("#control-saved-by")).to_have_value("")  # asked for, never guessed
        tab_to(page, "control-saved-by")
        page.keyboard.type("Sam Writer")
        tab_to(page, "save-button")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        expect(page.locator("#approval")).to_contain_text("Last savedby Sam Writer on")
        expect(page.locator("#approve-why")).to_have_text("Every check passes: it is ready to approve.")
        expect(page.locator("#control-by")).to_have_value("Sam Writer")  # the name this browser gave, never guessed

        tab_to(page, "control-by")
        page.keyboard.press("Control+A")
        page.keyboard.type("Jane Smith")
        tab_to(page, "approve-button")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status").filter(has_text="Approved")).to_be_visible()
        expect(page.locator("#heading")).to_contain_text("Approved")

    text = letter_file(project, "kent").read_text()
    assert "findings: |\n" in text and "approved:\n  by: Jane Smith\n" in text and "edited:\n  by: Sam Writer\n" in text
    result = CliRunner().invoke(app, ["--project", str(project), "build", "--final", "--recipient", "kent"])
    assert result.exit_code == 0, result.output
    pdf = pdf_text((project / "output" / "apsp-2017" / "final" / "pdf" / "kent.pdf").read_bytes())
    for words in (*PARAGRAPHS, *ITEMS):
        assert words in pdf


def test_a_save_that_meets_a_change_on_disk_shows_both_and_loses_neither(page: Page, project: Path):
    path = letter_file(project, "cumbria")
    with running(project) as server:
        page.goto(server.url + "apsp-2017/letters/cumbria")
        page.locator("#control-findings").fill("Mine, typed in the page.")
        page.locator("#control-saved-by").fill("Sam Writer")
        path.write_text(path.read_text().replace("Your plans submitted", "Theirs, saved in an editor,"))
        theirs = path.read_bytes()
        expect(page.locator("#live")).to_have_text("Changed on disk: saving will show both versions", timeout=10_000)
        expect(page.locator("#control-findings")).to_have_value("Mine, typed in the page.")  # what was typed stays
        page.locator("#save-button").click()
        expect(page.get_by_role("heading", name="Someone else saved this letter while you were editing it")).to_be_visible()
        expect(page.locator(".error-summary")).to_be_focused()  # GOV.UK: the summary receives the focus
        expect(page.locator("#theirs-1")).to_contain_text("Theirs, saved in an editor,")
        expect(page.locator("#mine-1")).to_contain_text("Mine, typed in the page.")
        assert path.read_bytes() == theirs
        page.get_by_label("Use mine").check()
        page.get_by_role("button", name="Save my choices").click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    assert "Mine, typed in the page." in path.read_text()


WIDTHS = (1280, 320)  # desktop, and the 320 CSS pixels of WCAG's reflow criterion


def _axe(page: Page) -> list[tuple[str, str, str]]:
    if "axe" not in page.evaluate("Object.keys(window)"):
        page.add_script_tag(path=AXE)
    # The DRAFT watermark is left out: faint on purpose, aria-hidden, pure decoration (WCAG 1.4.3
    # exempts it); the draft banner above the letter says the same in full contrast.
    violations = page.evaluate("async () => (await axe.run({ exclude: [['.watermark']] }, { iframes: false })).violations")
    return [(v["id"], v["impact"], v["help"]) for v in violations]


def _look(page: Page, found: dict, wide: dict, name: str) -> None:
    """axe's violations and the page's width, at each width in turn: the page loaded once, then laid out again as a window resized."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        found[width, name] = _axe(page)
        wide[width, name] = page.evaluate("document.documentElement.scrollWidth")


def _assert_no_violations_and_no_sideways_scrolling(found: dict, wide: dict) -> None:
    assert found == {key: [] for key in found}
    assert {key: px for key, px in wide.items() if key[0] == 320} == {key: 320 for key in wide if key[0] == 320}


# The preview's pages, in two groups that run side by side under pytest-xdist.
PAGES = {
    "indexes and letters": ("", "apsp-2017/", "frs-2022/", KENT, "apsp-2017/letters/cumbria"),
    "others": (
        "apsp-2017/letters/cleveland",
        "apsp-2017/letters/cumbria/compare",
        "frs-2022/letters/london",
        f"{KENT}.html",
        "apsp-2017/letters/kentt",
    ),
}


@contextmanager
def _axe_page(browser: Browser, project: Path) -> Iterator[tuple[Page, str]]:
    """A page that may run axe (injected as a script, which the pages' own policy would refuse), and the
    preview serving the project with a second series, so that the home page lists two."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    add_series(project)
    context = browser.new_context(bypass_csp=True)
    with running(project) as server:
        yield context.new_page(), server.url
    context.close()


@pytest.mark.parametrize("group", PAGES)
def test_every_page_passes_axe_and_reflows_without_scrolling_sideways(browser: Browser, project: Path, group: str):
    found, wide = {}, {}
    with _axe_page(browser, project) as (page, url):
        for path in PAGES[group]:
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            _look(page, found, wide, path)
    _assert_no_violations_and_no_sideways_scrolling(found, wide)


def test_the_pages_a_form_answers_pass_axe_and_reflow(browser: Browser, project: Path):
    found, wide = {}, {}
    with _axe_page(browser, project) as (page, url):
        # The page a save gets when the file changed meanwhile.
        page.goto(url + "apsp-2017/letters/cumbria")
        path = letter_file(project, "cumbria")
        path.write_text(path.read_text() + "\n")
        page.locator("#save-button").click()
        page.wait_for_load_state("networkidle")
        _look(page, found, wide, "conflict")
        # The question asked before typed findings are replaced, and a refused approval's error summary.
        page.goto(url + KENT)
        page.locator("#control-findings").fill("Typed, not saved.")
        page.locator("#start-button").click()
        page.wait_for_load_state("networkidle")
        _look(page, found, wide, "start asks")
        page.goto(url + KENT)
        page.locator("#approve-button").click()
        page.wait_for_load_state("networkidle")
        _look(page, found, wide, "approve refused")
    _assert_no_violations_and_no_sideways_scrolling(found, wide)


def test_the_built_index_overview_and_home_pass_axe_and_reflow(browser: Browser, project: Path):
    result = CliRunner().invoke(app, ["--project", str(project), "build", "--format", "html"])
    assert result.exit_code == 0, result.output
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    found, wide = {}, {}
    for name in ("index.html", "apsp-2017/index.html", "apsp-2017/overview.html"):
        page.goto((project / "output" / name).as_uri())
        _look(page, found, wide, name)
    context.close()
    _assert_no_violations_and_no_sideways_scrolling(found, wide)


def test_leaving_with_unsaved_text_and_starting_over_it_ask_first_with_the_keyboard_alone(page: Page, project: Path):
    with running(project) as server:
        page.goto(server.url + KENT)
        page.locator("#control-saved-by").fill("Sam Writer")
        tab_to(page, "control-findings")
        page.keyboard.type("My own words, not yet saved.")
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
        page.get_by_role("link", name="All letters").click()
        expect(page).to_have_url(server.url + KENT)  # stayed: the browser asked first
        assert dialogs == ["beforeunload"]

        tab_to(page, "start-button")
        page.keyboard.press("Enter")
        expect(page.locator("#ask")).to_be_focused()  # the question takes the focus
        expect(page.locator("#ask")).to_contain_text("Starting the draft replaces what you typed")
        expect(page.locator("#control-findings")).to_have_value("My own words, not yet saved.")
        page.keyboard.press("Tab")  # the safe choice comes first
        expect(page.get_by_role("button", name="Keep what I typed and save it")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    assert "My own words, not yet saved." in letter_file(project, "kent").read_text()


def test_compare_after_a_change_shows_the_text_as_it_prints_a_rewritten_sentence_as_one_change(page: Page, project: Path):
    url = "apsp-2017/letters/cumbria"
    with running(project) as server:
        page.goto(server.url + url)
        page.locator("#control-by").fill("Jane Smith")
        page.locator("#approve-button").click()
        expect(page.get_by_role("status").filter(has_text="Approved")).to_be_visible()
        findings = page.locator("#control-findings").input_value()
        rewritten = findings.replace(
            "Your plans submitted in response to our recommendation", "The plans you sent us in reply to our *recommendation*"
        )
        page.locator("#control-findings").fill(rewritten)
        page.locator("#save-button").click()
        page.get_by_role("button", name="Save and withdraw the approval").click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        page.get_by_role("link", name=re.compile("^Compare")).click()
        approved = page.locator("h3:has-text('Against the version last approved') + .changes")
        expect(approved.locator("del")).to_have_count(1)
        expect(approved.locator("ins")).to_have_count(1)
        expect(approved.locator("ins em")).to_have_text("recommendation")
        assert "*" not in approved.inner_text()
