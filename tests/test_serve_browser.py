"""`letters serve` in a real browser: Debian's headless Chromium, driven by Playwright for Python.

Playwright's own browser download is not used (nor reachable): it drives /usr/bin/chromium,
which `make test` installs (scripts/system-deps.sh browser). axe-core comes from npm (`npm ci`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import SOME_LETTERS, letter_file
from serving import AXE, running

CLEVELAND_START = "We were pleased to find that your plans submitted in response to our recommendation"
CUMBRIA_START = "Your plans submitted in response to our recommendation reflected the national strategy"
NEW_FINDINGS = "Your plans were rewritten while this page was open, and they arrived by themselves."


def frame_scroll(page: Page) -> int:
    return page.evaluate("document.getElementById('letter').contentWindow.scrollY")


def test_saved_edit_appears_in_the_open_letter_by_itself(page: Page, project: Path, tmp_path: Path):
    with running(project) as server:
        page.goto(server.url + "apsp-2017/letters/cumbria")
        letter = page.frame_locator("#letter")
        expect(letter.get_by_text(CUMBRIA_START)).to_be_visible()
        page.evaluate("window.notReloaded = true; document.getElementById('letter').contentWindow.scrollTo(0, 300)")
        assert frame_scroll(page) == 300

        # A draft stays a draft: what stands above the reader's place (the draft banner) does not change.
        letter_file(project, "cumbria").write_text(f"outcome: plans-not-commenced\nstatus: draft\nfindings: >-\n  {NEW_FINDINGS}\n")

        expect(letter.get_by_text(NEW_FINDINGS)).to_be_visible(timeout=10_000)
        expect(letter.get_by_text(CUMBRIA_START)).to_have_count(0)
        assert page.evaluate("window.notReloaded") is True  # the page itself was not reloaded
        assert frame_scroll(page) == 300  # and the reader's place in the letter is kept
        page.screenshot(path=tmp_path / "cumbria-after-edit.png")
    assert (tmp_path / "cumbria-after-edit.png").stat().st_size > 10_000


def test_broken_yaml_shows_its_error_and_recovers_by_itself(page: Page, project: Path, tmp_path: Path):
    path = letter_file(project, "cleveland")
    good = path.read_text()
    with running(project) as server:
        page.goto(server.url + "apsp-2017/letters/cleveland")
        letter = page.frame_locator("#letter")
        expect(letter.get_by_text(CLEVELAND_START)).to_be_visible()

        path.write_text(good.replace("status: approved", "status: [approved"))
        line = (
            "data/assessments/apsp-2017/cleveland.yaml:3:9: the '[' on line 3 is not closed: close it with ']', or put the value in quotes"
        )
        # In plain words for the officer; the line `letters check` prints behind "Details", for the data team.
        expect(letter.get_by_text("Something in the letter's file needs the data team's help to fix.")).to_be_visible(timeout=10_000)
        letter.get_by_text("Details").click()
        expect(letter.get_by_text(line)).to_be_visible()
        expect(page.locator("#problems")).to_contain_text(line)
        expect(page.locator("#actions")).to_have_text("No PDF until the errors are fixed")
        page.screenshot(path=tmp_path / "cleveland-broken.png")

        path.write_text(good)
        expect(letter.get_by_text(CLEVELAND_START)).to_be_visible(timeout=10_000)
        expect(page.locator("#problems")).to_have_text("No problems")
        expect(page.locator("#actions a")).to_have_attribute("href", "/apsp-2017/letters/cleveland.pdf")


def test_index_follows_edits_and_filters(page: Page, project: Path, tmp_path: Path):
    with running(project) as server:
        page.goto(server.url)
        expect(page.locator("tbody tr")).to_have_count(len(SOME_LETTERS))
        kent = page.locator("tbody tr", has_text="Kent Police")
        expect(kent).to_contain_text("0 errors, 3 warnings")

        letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: ''\nsumary: x\n")
        expect(kent).to_contain_text("1 error, 0 warnings", timeout=10_000)
        expect(kent).to_contain_text("Cannot be shown: ask the data team")
        page.screenshot(path=tmp_path / "index.png", full_page=True)

        page.select_option("select[name=status]", "approved")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("tbody tr")).to_have_count(2)
        page.get_by_role("link", name="Cleveland Police", exact=True).click()
        expect(page).to_have_url(re.compile(r"/apsp-2017/letters/cleveland$"))
        page.goto("about:blank")  # before the server stops: the letter page's own requests are not cut short


def test_no_serious_accessibility_problems(browser: Browser, project: Path):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    # axe is injected as a script of the page, which the pages' own policy would refuse.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    found = {}
    with running(project) as server:
        for url in ("", "letters/kent", "letters/kent.html", "letters/kentt"):
            page.goto(server.url + url)
            page.add_script_tag(path=AXE)
            # The letter's own document is checked at its own address: the frame runs no script.
            # The DRAFT watermark is left out: faint on purpose, aria-hidden, pure decoration (WCAG
            # 1.4.3 exempts it); the draft banner above the letter says the same in full contrast.
            violations = page.evaluate("async () => (await axe.run({ exclude: [['.watermark']] }, { iframes: false })).violations")
            found[url] = [(v["id"], v["impact"], v["help"]) for v in violations if v["impact"] in ("serious", "critical")]
    context.close()
    assert found == {url: [] for url in found}
