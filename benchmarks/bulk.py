"""Bulk build benchmark: `letters build` against the floor and against `weasyprint` per letter.

Measures, in one run, on a temporary copy of the project:
  (1) a cold build of all 43 letters (new process, empty cache), HTML and PDF;
  (2) the same right after changing one force's findings;
  (3) the baseline: the `weasyprint` command run once per letter on the HTML of (1);
  (4) the floor: one process's in-process time per letter (HTML, PDF and its text checked, as a
      build's worker does; warm), summed with the overview's PDF, divided by the cores, plus one
      interpreter start;
  (4b) the hand-written floor: what a user could write without this engine, a minimal script
      that starts one process per core together, each importing WeasyPrint and rendering its
      share of the same 43 letters' HTML (from (1)) with the PDF stylesheet; alternated with
      cold builds, so that both see the same load;
  (5) cold builds of 1,000 (and with --large, 10,000) synthetic letters: time and peak memory.
Peak memory is the largest sum of the resident memory (RSS) of the build and all its processes,
sampled every 20 ms (every 100 ms after the first five seconds), with the largest single process
in brackets. A build also lays out the national overview, one document listing every force: with
10,000 synthetic forces it has a hundred pages and its worker alone needs about 500 MB.
Timings are medians of --repeat runs; compare them as ratios taken in the same run: on a shared
machine absolute times vary with the load.

    .venv/bin/python benchmarks/bulk.py            # about two minutes on 2 cores
    .venv/bin/python benchmarks/bulk.py --large    # adds 10,000 letters (ten minutes or more)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LETTERS = [PYTHON, "-m", "hmicfrs_letters"]
CHANGED = "kent"
PAGE = os.sysconf("SC_PAGE_SIZE")
# A recipient list of 10,000 forces is over the loader's limits for one file (meant for hostile
# input, not for a synthetic benchmark); the synthetic builds run with the limits raised.
LARGE_LIMITS = (
    "import sys, hmicfrs_letters.core.load as load; load.MAX_NODES = 10**7; load.MAX_FILE_BYTES = 10**9; "
    "from hmicfrs_letters.launch import main; sys.argv[0] = 'letters'; main()"
)


# --- measuring a process tree ---------------------------------------------------------------


def _tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes of `root` and every process descended from it, and of the largest one (Linux /proc)."""
    total, largest, frontier = 0, 0, [root]
    while frontier:
        pid = frontier.pop()
        try:
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            for task in Path(f"/proc/{pid}/task").iterdir():
                frontier += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):  # the process ended while we looked
            continue
        total, largest = total + rss, max(largest, rss)
    return total, largest


@dataclass
class Run:
    seconds: float  # wall-clock
    cpu: float  # user + system time of the process and all its children
    peak: int  # bytes: the largest sum of RSS over the process tree
    stdout: str
    largest: int = 0  # bytes: the largest RSS of any one process of the tree


def run(command: list[str], cwd: Path | None = None) -> Run:
    """Run a command; measure its wall time, CPU time and the peak RSS of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = largest = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, largest
        while not done.is_set():
            total, one = _tree_rss(process.pid)
            peak, largest = max(peak, total), max(largest, one)
            done.wait(0.02 if time.perf_counter() - started < 5 else 0.1)  # often while workers start, then lightly

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    _reap_orphans()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{err}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(seconds, cpu, peak, out, largest)


def _become_subreaper() -> None:
    """Have this process adopt the orphans of the commands it runs (Linux): a build's fork server
    outlives the build by a moment, and its workers are its children, not the build's. Reaped here,
    their CPU time counts in this process's RUSAGE_CHILDREN like the build's own."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def letters(project: Path, *args: str, limits: bool = False) -> Run:
    command = [PYTHON, "-c", LARGE_LIMITS] if limits else LETTERS
    return run([*command, "--project", str(project), *args])


def rendered(stdout: str) -> int:
    return int(re.search(r"(\d+) PDFs? rendered", stdout)[1])


# --- the projects ---------------------------------------------------------------------------


def copy_project(folder: Path) -> Path:
    # The tests' frozen copy of the 43 letters of 2017, so that what users add to data/ does not change the figures.
    shutil.copytree(ROOT / "tests" / "fixtures" / "project" / "data", folder / "data")
    shutil.copytree(ROOT / "templates", folder / "templates")
    return folder


def synthetic_project(folder: Path, count: int) -> Path:
    """A project of `count` forces, whose letters take their contents from the real 43 in turn."""
    project = copy_project(folder)
    letters_dir = project / "data" / "assessments" / "apsp-2017"
    real = [p.read_text() for p in sorted(letters_dir.glob("*.yaml"))]
    shutil.rmtree(letters_dir)
    letters_dir.mkdir()
    forces = ["singular: force", "plural: forces", "recipients:"]
    for n in range(count):
        slug = f"force-{n:05d}"
        forces += [
            f"  - slug: {slug}",
            f"    name: Synthetic Police {n}",
            "    chief_officer_title: Chief Constable",
            "    copied_to: Police and Crime Commissioner",
            f"    copied_to_full: Police and Crime Commissioner for Synthetic {n}",
            "    nation: England",
        ]
        (letters_dir / f"{slug}.yaml").write_text(real[n % len(real)])
    (project / "data" / "recipients" / "police-forces.yaml").write_text("\n".join(forces) + "\n")
    return project


# --- the measurements -----------------------------------------------------------------------

FLOOR = """
import json, sys, time
from pathlib import Path
from hmicfrs_letters.build.overview import render_overview
from hmicfrs_letters.pdf.engine import PdfRenderer
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.state import assess
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.pdf.verify import check_rendered

project = Project.at(Path(sys.argv[1]))
batch = load_batch(project)
templates = Templates(project.templates_dir)
started = time.perf_counter()
renderer = PdfRenderer(project.templates_dir / "assets")
letters = [i for i in batch.letters if i.letter]


def make(item):  # what a build's worker does for one letter: its state (HTML, approval), PDF, the PDF's text checked
    html = assess(templates, batch.assessment, item).html
    check_rendered(html, renderer.render(html).data)


make(letters[0])
first = time.perf_counter() - started
times = {}
for item in letters:
    t = time.perf_counter()
    make(item)
    times[item.slug] = time.perf_counter() - t
t = time.perf_counter()
renderer.render(render_overview(templates, batch, [assess(templates, batch.assessment, item) for item in batch.letters]))
print(json.dumps({"times": times, "first": first, "overview": time.perf_counter() - t}))
"""

# (4b): the minimal script a user could write. It starts the processes; each renders its share.
HAND_WRITTEN = """
import subprocess, sys
from pathlib import Path
assets, cores, files = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
WORKER = (
    "import sys\\n"
    "from weasyprint import HTML\\n"
    "for name in sys.argv[3:]:\\n"
    "    HTML(filename=name, base_url=sys.argv[1]).write_pdf(name + '.pdf', stylesheets=[sys.argv[2]])\\n"
)
share = [[sys.executable, "-c", WORKER, assets.as_uri() + "/", str(assets / "pdf.css"), *files[i::cores]] for i in range(cores)]
for process in [subprocess.Popen(command) for command in share]:
    process.wait()
"""


def median(runs: list[Run]) -> Run:
    """The run of median wall time, with the largest peak memory of them all."""
    middle = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return Run(middle.seconds, middle.cpu, max(r.peak for r in runs), middle.stdout, max(r.largest for r in runs))


def mb(run: Run) -> str:
    return f"{run.peak / 2**20:.0f} MB ({run.largest / 2**20:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="also build 10,000 synthetic letters (ten minutes or more)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each small measurement; the median is kept (default 3)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: the build's own default, the cores)")
    options = parser.parse_args()
    _become_subreaper()

    from hmicfrs_letters.pool import default_jobs

    cores = default_jobs()
    jobs = ["--jobs", str(options.jobs)] if options.jobs else []
    weasyprint = shutil.which("weasyprint", path=str(Path(PYTHON).parent)) or "weasyprint"
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="letters-bench-") as tmp:
        tmp = Path(tmp)
        project = copy_project(tmp / "project")
        output = project / "output"

        # (4) the floor, from one process's own time per letter
        start = statistics.median(run([PYTHON, "-c", "pass"]).seconds for _ in range(5))
        floor_run = json.loads(run([PYTHON, "-c", FLOOR, str(project)]).stdout)
        per_letter = floor_run["times"]
        count = len(per_letter)
        floor = (sum(per_letter.values()) + floor_run["overview"]) / cores + start  # a build makes the overview's PDF too
        letter = statistics.median(per_letter.values())

        # (1) cold builds
        def cold() -> Run:
            shutil.rmtree(output, ignore_errors=True)
            result = letters(project, "build", *jobs)
            assert rendered(result.stdout) == count, result.stdout
            return result

        cold_run = median([cold() for _ in range(options.repeat)])

        # (4b) the hand-written floor, on the HTML of (1), alternated with cold builds
        hand_dir = tmp / "hand"
        shutil.copytree(output / "apsp-2017" / "html", hand_dir)
        hand_files = [str(p) for p in sorted(hand_dir.glob("*.html"))]
        assets = project / "templates" / "assets"
        hand_runs, cold_again = [], []
        for _ in range(options.repeat):
            hand_runs.append(run([PYTHON, "-c", HAND_WRITTEN, str(assets), str(cores), *hand_files]))
            cold_again.append(cold())
        hand = median(hand_runs)
        cold_alternated = median(cold_again)

        # (2) one force's findings changed, and one letter alone in a new process for comparison
        findings = project / "data" / "assessments" / "apsp-2017" / f"{CHANGED}.yaml"
        original = findings.read_text()

        def one_change(n: int) -> Run:
            findings.write_text(original.replace('findings: ""', f'findings: "Edit number {n}."'))
            result = letters(project, "build", *jobs)
            assert rendered(result.stdout) == 1, result.stdout
            return result

        change_run = median([one_change(n) for n in range(options.repeat)])
        one_args = ("build", "--force", CHANGED, "--rebuild", "--out", str(tmp / "one"))
        one_run = median([letters(project, *one_args) for _ in range(options.repeat)])

        # (3) the baseline: the weasyprint command once per letter, on the same HTML
        command = [weasyprint, "--base-url", assets.as_uri() + "/", "--stylesheet", str(assets / "pdf.css")]
        (tmp / "baseline").mkdir()
        baseline_runs = [
            run([*command, str(html), str(tmp / "baseline" / f"{html.stem}.pdf")])
            for html in sorted((output / "apsp-2017" / "html").glob("*.html"))
        ]
        baseline = Run(
            sum(r.seconds for r in baseline_runs),
            sum(r.cpu for r in baseline_runs),
            max(r.peak for r in baseline_runs),
            "",
            max(r.largest for r in baseline_runs),
        )

        # (5) synthetic projects
        synthetic: dict[int, Run] = {}
        for size in [1000, 10000] if options.large else [1000]:
            big = synthetic_project(tmp / f"synthetic-{size}", size)
            synthetic[size] = letters(big, "build", *jobs, limits=True)
            assert rendered(synthetic[size].stdout) == size, synthetic[size].stdout
            shutil.rmtree(big)

    two_letters = one_run.seconds + letter  # one_run is start-up and one letter
    floor_per_letter = sum(per_letter.values()) / count / cores
    rows = [
        (
            "(4) floor",
            f"{floor:.2f} s",
            f"{floor / count * 1000:.0f} ms",
            "",
            "",
            f"({count} x {letter * 1000:.0f} ms + overview {floor_run['overview'] * 1000:.0f} ms) / {cores} cores + {start * 1000:.0f} ms start",
        ),
        (
            "(4b) hand-written floor",
            f"{hand.seconds:.2f} s",
            f"{hand.seconds / count * 1000:.0f} ms",
            f"{hand.cpu:.1f} s",
            mb(hand),
            f"{cores} processes, each importing WeasyPrint and rendering {count} / {cores} letters",
        ),
        (
            "    cold build, alternated with (4b)",
            f"{cold_alternated.seconds:.2f} s",
            "",
            f"{cold_alternated.cpu:.1f} s",
            mb(cold_alternated),
            f"{cold_alternated.seconds / hand.seconds:.2f} x the hand-written floor (target <= 1.10)",
        ),
        (
            "(1) cold build, 43 letters",
            f"{cold_run.seconds:.2f} s",
            f"{cold_run.seconds / count * 1000:.0f} ms",
            f"{cold_run.cpu:.1f} s",
            mb(cold_run),
            f"{cold_run.seconds / floor:.2f} x floor (target <= 1.15)",
        ),
        (
            "(3) weasyprint command per letter",
            f"{baseline.seconds:.1f} s",
            f"{baseline.seconds / count * 1000:.0f} ms",
            f"{baseline.cpu:.1f} s",
            mb(baseline),
            f"(1) is {baseline.seconds / cold_run.seconds:.1f} x faster (target >= 10)",
        ),
        (
            "    one letter in a new process",
            f"{one_run.seconds:.2f} s",
            "",
            f"{one_run.cpu:.1f} s",
            mb(one_run),
            f"start-up {one_run.seconds - letter:.2f} s + one letter {letter:.2f} s",
        ),
        (
            "(2) after changing one force",
            f"{change_run.seconds:.2f} s",
            "",
            f"{change_run.cpu:.1f} s",
            mb(change_run),
            f"{change_run.seconds / two_letters:.2f} x start-up + 2 letters ({two_letters:.2f} s; target <= 1)",
        ),
    ]
    for size, result in synthetic.items():
        per = result.seconds / size
        rows.append(
            (
                f"(5) {size:,} synthetic letters",
                f"{result.seconds:.1f} s",
                f"{per * 1000:.0f} ms",
                f"{result.cpu:.0f} s",
                mb(result),
                f"{per / floor_per_letter:.2f} x floor per letter; memory target < 500 MB",
            )
        )
    if len(synthetic) == 2:
        small, large = (synthetic[size].seconds / size for size in synthetic)
        rows.append(("    10,000 against 1,000", "", "", "", "", f"time per letter {large / small:.2f} x (linear: 1.00)"))

    print(
        f"Bulk build benchmark: {cores} cores, Python {platform.python_version()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"Medians of {options.repeat} runs. A process's first letter takes {floor_run['first']:.2f} s (fonts and caches warming).")
    print(
        f"CPU time of the cold build: {cold_run.cpu:.1f} s, against {sum(per_letter.values()) + start:.1f} s for the letters alone in one process.\n"
    )
    header = ("case", "wall time", "per letter", "CPU time", "peak RSS (largest process)", "ratio")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
