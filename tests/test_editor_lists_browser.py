"""A group that repeats (the fixture series' causes of concern) in a real browser (Debian's Chromium,
driven by Playwright): at 320 pixels wide, add items, type in them, remove one and save; and the page
with a list, an item just added and an item's error passes axe-core and reflows without scrolling sideways."""

from __future__ import annotations

from pathlib import Path

import yaml
from playwright.sync_api import Browser, Page, expect

from conftest import add_series
from test_editor_browser import _assert_no_violations_and_no_sideways_scrolling, _axe_page, _look

LONDON = "frs-2023/letters/london"


def test_at_320_pixels_a_cause_of_concern_is_added_typed_removed_and_saved(page: Page, project: Path):
    from serving import running

    add_series(project)
    page.set_viewport_size({"width": 320, "height": 800})
    with running(project) as server:
        page.goto(server.url + LONDON)
        page.get_by_role("button", name="Add a cause of concern").click()
        expect(page.get_by_role("group", name="Cause of concern 1")).to_be_visible()
        expect(page.locator("#control-causes-1-cause")).to_be_focused()  # the new item's first box
        page.keyboard.type("Fire engines take too long to arrive.")
        page.get_by_label("Our recommendations").fill("Buy more fire engines.")
        page.get_by_role("button", name="Add another cause of concern").click()
        page.locator("#control-causes-2-cause").fill("A second cause, soon removed.")
        page.get_by_role("button", name="Remove cause of concern 2").click()
        expect(page.get_by_role("group", name="Cause of concern 2")).to_have_count(0)
        expect(page.locator("#control-causes-1-cause")).to_have_value("Fire engines take too long to arrive.")  # kept
        assert page.evaluate("document.documentElement.scrollWidth") == 320
        page.locator("#control-saved-by").fill("Sam Writer")
        page.locator("#save-button").click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    written = yaml.safe_load((project / "data" / "assessments" / "frs-2023" / "london.yaml").read_text())
    assert written["causes"] == [{"cause": "Fire engines take too long to arrive.\n", "recommendations": "Buy more fire engines.\n"}]


def test_a_page_with_a_list_passes_axe_and_reflows(browser: Browser, project: Path):
    found, wide = {}, {}
    with _axe_page(browser, project) as (page, url):
        page.goto(url + "frs-2023/letters/london-revisit")
        page.wait_for_load_state("networkidle")
        _look(page, found, wide, "a list")
        page.get_by_role("button", name="Add another cause of concern").click()
        page.wait_for_load_state("networkidle")
        _look(page, found, wide, "an item added")
        page.locator("#control-causes-3-cause").fill("# A heading the letter may not have")
        page.locator("#control-saved-by").fill("Sam Writer")
        page.locator("#save-button").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator("#error-summary a[href='#control-causes-3-cause']")).to_be_visible()
        _look(page, found, wide, "an item's error")
    _assert_no_violations_and_no_sideways_scrolling(found, wide)
