"""The letter page's live look, in headless Chromium: from the last key typed to the repainted
sheet, and to the page count.

    .venv/bin/python benchmarks/live_look.py [--bursts 20]

Each burst types a few words into the findings of a letter at a typist's pace, then waits for the
sheet and the page count to follow. Works on a temporary copy of data/ and templates/. Needs
/usr/bin/chromium (scripts/system-deps.sh browser). Prints the load average beside the figures:
timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from serve_latency import start, stop, summary  # noqa: E402

from serving import chromium  # noqa: E402  (the tests' way of launching Debian's Chromium)

# The time of the last key, and of the first paint after the sheet and the page count followed it.
STAMP = """
window.stamps = { key: 0, shown: [], counted: [] };
document.addEventListener("keydown", () => { window.stamps.key = performance.now(); }, true);
for (const [name, list] of [["preview:shown", "shown"], ["preview:looked", "counted"]]) {
  document.addEventListener(name, () => {
    const key = window.stamps.key;
    requestAnimationFrame(() => setTimeout(() => window.stamps[list].push([key, performance.now()])));
  });
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        shutil.copytree(ROOT / "tests" / "fixtures" / "project" / "data", project / "data")
        shutil.copytree(ROOT / "templates", project / "templates")
        process, url, _, _ = start(project)
        shown, counted, loads = [], [], []
        try:
            with sync_playwright() as playwright:
                browser = chromium(playwright)
                page = browser.new_page(bypass_csp=True)  # the stamps are a script of ours
                page.add_init_script(STAMP)
                page.goto(url + "apsp-2017/letters/cumbria")
                page.wait_for_function("window.stamps.counted.length > 0", timeout=30_000)  # the first look, on load
                page.locator("#control-findings").click()
                page.keyboard.press("Control+End")
                for burst in range(options.bursts):
                    page.evaluate("window.stamps.shown = []; window.stamps.counted = []")
                    page.keyboard.type(f" and word{burst}", delay=70)
                    last = page.evaluate("window.stamps.key")
                    page.wait_for_function(f"window.stamps.counted.some(([key]) => key === {last})", timeout=30_000)
                    shown += [end - key for key, end in page.evaluate("window.stamps.shown") if key == last][:1]
                    counted += [end - key for key, end in page.evaluate("window.stamps.counted") if key == last][:1]
                    loads.append(os.getloadavg()[0])
                    page.wait_for_timeout(400)  # a pause before the next burst
                assert page.frame_locator("#letter").get_by_text(f"word{options.bursts - 1}").count() == 1
                browser.close()
        finally:
            stop(process)
    print(f"last key to repainted sheet (ms): {summary(shown)}   ({len(shown)} bursts)")
    print(f"last key to page count (ms):      {summary(counted)}   ({len(counted)} bursts)")
    print(f"load average (1 min) while measured: {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
