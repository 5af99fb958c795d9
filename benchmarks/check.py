"""`letters check` of 43 letters with a warm cache, against `letters list` on the same project.

    .venv/bin/python benchmarks/check.py [--repeat 7]

Works on a temporary copy of the test fixture (43 letters) and the shipped templates. One
`letters build` fills the PDF cache first; then the two commands are run alternately, so that both
see the same load. `list` loads and validates every letter and makes no PDF: it is the floor of
any command over the series. A warm check adds the letters' HTML, their approval and the page
count read from the cache; its target is 0.6 s on 2 quiet cores (the ratio says how much of it is
the check's own work, whatever the load).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LETTERS = [str(Path(sys.executable).with_name("letters"))]


def timed(project: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([*LETTERS, "--project", str(project), *args], capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        shutil.copytree(ROOT / "tests/fixtures/project", project)
        shutil.copytree(ROOT / "templates", project / "templates")
        subprocess.run([*LETTERS, "--project", str(project), "build"], capture_output=True, check=True)
        checks, lists = [], []
        for _ in range(options.repeat):
            checks.append(timed(project, "check"))
            lists.append(timed(project, "list"))
    check, floor = statistics.median(checks), statistics.median(lists)
    print(f"warm check of 43 letters: {check:.2f} s (target 0.6 s on 2 quiet cores)")
    print(f"letters list (the floor): {floor:.2f} s")
    print(f"check / list: {check / floor:.2f} x")


if __name__ == "__main__":
    main()
