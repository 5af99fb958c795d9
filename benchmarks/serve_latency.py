"""The preview server's two figures: how long `letters serve` takes to start (43 letters), and how
long a saved edit takes to show in an open page (save to repaint, in headless Chromium).

    .venv/bin/python benchmarks/serve_latency.py [--edits 20] [--starts 5]

Works on a temporary copy of data/ and templates/. Needs /usr/bin/chromium (scripts/system-deps.sh
browser). Timings on a shared machine are noisy: read the medians, and compare runs made together.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from serving import chromium  # noqa: E402  (the tests' way of launching Debian's Chromium)

# After each swap the page stamps the time of its next paint: a timer queued from inside
# requestAnimationFrame runs once that frame has been painted.
STAMP_PAINTS = """
window.painted = [];
document.addEventListener("preview:refreshed", () => {
  const swapped = Date.now();
  requestAnimationFrame(() => setTimeout(() => window.painted.push([swapped, Date.now()])));
});
"""


def start(project: Path) -> tuple[subprocess.Popen, str, float, float]:
    """`letters serve --port 0`: the process, its URL, seconds to its address line and to a served index."""
    began = time.perf_counter()
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    listening = time.perf_counter() - began
    url = line.split(" at ")[1].split()[0]
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200 and response.read().count(b'<th scope="row"') == 43
    return process, url, listening, time.perf_counter() - began


def stop(process: subprocess.Popen) -> None:
    process.send_signal(2)  # Ctrl+C
    process.wait(timeout=30)


def summary(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return f"median {statistics.median(values):6.1f}  p90 {p90:6.1f}  max {values[-1]:6.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--starts", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        shutil.copytree(ROOT / "tests" / "fixtures" / "project" / "data", project / "data")  # the 43 letters of 2017
        shutil.copytree(ROOT / "templates", project / "templates")

        listening, ready, listing = [], [], []
        for _ in range(options.starts):
            process, _url, to_line, to_index = start(project)
            stop(process)
            listening.append(to_line * 1000)
            ready.append(to_index * 1000)
            # For scale, on the same machine at the same time: `letters list` reads the same 43 files.
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "list"], capture_output=True, check=True)
            listing.append((time.perf_counter() - began) * 1000)
        print(f"`letters list`, for scale (ms):         {summary(listing)}")
        print(f"start, to the address line (ms):       {summary(listening)}")
        print(f"start, to the index of 43 letters (ms): {summary(ready)}")
        print(f"start to index / `letters list`:        {statistics.median(ready) / statistics.median(listing):.2f}")

        process, url, _, _ = start(project)
        path = project / "data" / "assessments" / "apsp-2017" / "cleveland.yaml"
        to_swap, to_paint = [], []
        try:
            with sync_playwright() as playwright:
                browser = chromium(playwright)
                page = browser.new_page(bypass_csp=True)  # the stamps are a script of ours, which the page's policy refuses
                page.add_init_script(STAMP_PAINTS)
                page.goto(url + "apsp-2017/letters/cleveland")
                page.frame_locator("#letter").get_by_text("We were pleased").wait_for()
                page.wait_for_timeout(500)
                for number in range(options.edits):
                    saved = time.time() * 1000
                    path.write_text(f"outcome: implementation-started\nstatus: approved\nfindings: Edit number {number}.\n")
                    page.wait_for_function(f"window.painted.length > {number}", timeout=10_000)
                    swapped, painted = page.evaluate(f"window.painted[{number}]")
                    to_swap.append(swapped - saved)
                    to_paint.append(painted - saved)
                    page.wait_for_timeout(300)
                assert page.frame_locator("#letter").get_by_text(f"Edit number {options.edits - 1}.").count() == 1
                browser.close()
        finally:
            stop(process)
        print(f"save to new letter in the page (ms):    {summary(to_swap)}")
        print(f"save to repaint (ms):                   {summary(to_paint)}   ({options.edits} saves)")
        print(f"save to repaint / 300 ms budget:        {statistics.median(to_paint) / 300:.2f}")


if __name__ == "__main__":
    main()
