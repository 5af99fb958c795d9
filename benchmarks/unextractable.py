"""Which characters do not come back out of a letter's PDF text: the measurement behind core.chars.UNEXTRACTABLE.

    python benchmarks/unextractable.py                 # the listed characters: does each still fail?
    python benchmarks/unextractable.py 2000-206F 2011  # these too (ranges and code points, in hex)

Each character is put alone in the findings of one letter ("We found a<char>b here."), drafted
and approved, rendered to PDF as a build renders it, and its text checked as a build checks it.
One character a letter, because characters that no font has share one glyph in a PDF, and then
fail together where they pass alone. Prints the listed characters that now pass, and the
others that fail. Re-run it after upgrading WeasyPrint, PDFium or the letters' fonts.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_points(args: list[str]) -> list[int]:
    found = []
    for arg in args:
        first, _, last = arg.partition("-")
        found += [cp for cp in range(int(first, 16), int(last or first, 16) + 1) if unicodedata.category(chr(cp)) != "Cn"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extra", nargs="*", help="more code points or ranges to try, in hex: 2011, 2000-206F")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from hmicfrs_letters.core.chars import UNEXTRACTABLE
    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.core.render import render_letter
    from hmicfrs_letters.core.templates import Templates
    from hmicfrs_letters.core.validate import load_batch
    from hmicfrs_letters.pdf.engine import PdfRenderer
    from hmicfrs_letters.pdf.verify import missing_passages

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copytree(ROOT / "tests" / "fixtures" / "project" / "data", root / "data")
        shutil.copytree(ROOT / "templates", root / "templates")
        project = Project.at(root)
        batch = load_batch(project)
        (kent,) = batch.select(["kent"])
        templates = Templates(project.templates_dir)
        renderer = PdfRenderer(project.templates_dir / "assets")
        listed = [cp for cp in range(sys.maxunicode + 1) if UNEXTRACTABLE.match(chr(cp))]
        extra = [cp for cp in code_points(args.extra) if cp not in set(listed)]
        failing = set()
        for cp in listed + extra:
            for status in ("draft", "approved"):
                letter = dataclasses.replace(kent.letter, findings=f"We found a{chr(cp)}b here.", status=status, outcome="all-in-place")
                html = render_letter(templates, batch.assessment, letter, kent.shown)
                if missing_passages(html, renderer.render(html).data):
                    failing.add(cp)
    print(f"{len(listed)} listed; listed but passing: {[f'U+{cp:04X}' for cp in listed if cp not in failing]}")
    print(f"not listed but failing: {[f'U+{cp:04X}' for cp in extra if cp in failing]}")


if __name__ == "__main__":
    main()
