"""Bulk builds: parallel, incremental (the PDF cache), and deterministic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import build_letters, keep_letters, letter_file
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.pdf.cache import PdfCache, environment_digest
from hmicfrs_letters.workflow.final import publish
from hmicfrs_letters.workflow.series import Workflow
from textutil import fold, pdf_text

# These tests count what a build renders and read the cache: every project starts with none.
pytestmark = pytest.mark.empty_cache

SOME = ["cleveland", "north-yorkshire", "kent", "sussex", "metropolitan", "dyfed-powys", "city-of-london", "gwent"]


def summary(result) -> str:
    return result.output.strip().splitlines()[-1]


def letter_files(folder: Path) -> dict[str, bytes]:
    """The letters (HTML and PDF) and the index of a build, by path."""
    files = [*folder.glob("html/*.html"), *folder.glob("pdf/*.pdf"), folder / "index.html"]
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(files)}


def cache_entries(out: Path) -> list[Path]:
    return sorted(p for p in (out / ".cache" / "pdf").rglob("*") if p.is_file())


def cache_entry(project: Path, slug: str) -> Path:
    """The cache entry of a built letter's PDF, found from its HTML."""
    html = (project / "output" / "apsp-2017" / "html" / f"{slug}.html").read_text()
    cache = PdfCache(project / "output" / ".cache" / "pdf", environment_digest(project / "templates" / "assets"))
    return cache.path(cache.key(html))


def test_a_parallel_build_renders_every_letter_then_only_those_whose_inputs_changed(project, letters):
    total = keep_letters(project, 10, "cleveland", "north-yorkshire", "kent", "sussex")  # two of them approved
    result = letters("build", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert summary(result).startswith(f"Built {total} letters ({total - 2} drafts, {total} PDFs rendered), 0 failed")
    out = project / "output" / "apsp-2017"
    assert len(list((out / "html").glob("*.html"))) == total
    pdfs = sorted((out / "pdf").glob("*.pdf"))
    assert len(pdfs) == total
    assert all(len(PdfReader(p).pages) >= 1 for p in pdfs)
    assert "0 PDFs rendered" in summary(letters("build"))

    kent = letter_file(project, "kent")
    kent.write_text(kent.read_text().replace('findings: ""', 'findings: "A sentence added today."'))
    result = letters("build")
    assert result.exit_code == 0, result.output
    assert f"Built {total} letters ({total - 2} drafts, 1 PDF rendered)" in summary(result)
    assert "A sentence added today." in fold(pdf_text(out / "pdf" / "kent.pdf"))

    # a change to the PDF's stylesheet touches every PDF (and no HTML)
    css = project / "templates" / "assets" / "pdf.css"
    css.write_text(css.read_text() + "\n/* a comment */\n")
    assert "Built 2 letters (2 drafts, 2 PDFs rendered)" in summary(letters("build", "--force", "kent", "--force", "sussex"))


def test_rebuild_ignores_the_cache(letters):
    assert "2 PDFs rendered" in summary(letters("build", "--force", "kent", "--force", "sussex"))
    assert "0 PDFs rendered" in summary(letters("build", "--force", "kent", "--force", "sussex"))
    assert "2 PDFs rendered" in summary(letters("build", "--force", "kent", "--force", "sussex", "--rebuild"))


def test_a_damaged_or_partial_cache_entry_is_never_served(project, letters):
    slugs = ["kent", "sussex", "gwent", "durham"]
    forces = [arg for slug in slugs for arg in ("--force", slug)]
    assert "4 PDFs rendered" in summary(letters("build", *forces))
    out = project / "output"
    truncated, flipped, empty, foreign = entries = [cache_entry(project, slug) for slug in slugs]
    assert all(entry.is_file() for entry in entries)
    truncated.write_bytes(truncated.read_bytes()[: len(truncated.read_bytes()) // 2])
    raw = bytearray(flipped.read_bytes())
    raw[-100] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    empty.write_bytes(b"")
    foreign.write_bytes(b"%PDF-1.7\nnot one of our entries\n")

    result = letters("build", *forces)
    assert result.exit_code == 0, result.output
    assert "4 PDFs rendered" in summary(result)
    for slug in slugs:
        pdf = out / "apsp-2017" / "pdf" / f"{slug}.pdf"
        assert len(PdfReader(pdf).pages) >= 1
        assert "abuse of position for a sexual purpose" in fold(pdf_text(pdf))
    cache = PdfCache(out / ".cache" / "pdf", "")
    assert all(cache.get(p.name) is not None for p in cache_entries(out))


def test_a_cache_entry_is_checked_before_it_is_used(tmp_path):
    cache = PdfCache(tmp_path, "environment")
    key = cache.key("<html>letter</html>")
    assert cache.get(key) is None
    cache.put(key, b"%PDF-1.7 the letter %%EOF", 2)
    assert cache.get(key) == (b"%PDF-1.7 the letter %%EOF", 2)
    path = cache.path(key)
    whole = path.read_bytes()
    for damaged in (whole[:-1], whole[:10], whole[:-3] + b"XXX", b"", whole.replace(b"HMICFRS", b"hmicfrs")):
        path.write_bytes(damaged)
        assert cache.get(key) is None
    assert cache.key("<html>letter</html>") != PdfCache(tmp_path, "other assets").key("<html>letter</html>")


def test_a_cache_entry_is_bound_to_its_key_and_page_count(tmp_path):
    cache = PdfCache(tmp_path, "environment")
    cleveland, kent = cache.key("<html>Cleveland</html>"), cache.key("<html>Kent</html>")
    cache.put(cleveland, b"%PDF-1.7 Cleveland's letter %%EOF", 2)
    whole = cache.path(cleveland).read_bytes()
    cache.path(kent).parent.mkdir(parents=True, exist_ok=True)
    cache.path(kent).write_bytes(whole)  # a sound entry, copied under another letter's key
    assert cache.get(kent) is None
    pages_at = whole.index(b"\n") + 1 + 32
    cache.path(cleveland).write_bytes(whole[:pages_at] + (1).to_bytes(4, "big") + whole[pages_at + 4 :])  # its page count edited
    assert cache.get(cleveland) is None


def test_a_cache_entry_moved_to_another_letters_key_is_rendered_again(project, letters):
    assert "2 PDFs rendered" in summary(letters("build", "--force", "cleveland", "--force", "kent"))
    kent = cache_entry(project, "kent")
    kent.write_bytes(cache_entry(project, "cleveland").read_bytes())
    result = letters("build", "--force", "kent")
    assert result.exit_code == 0, result.output
    assert "1 PDF rendered" in summary(result)
    text = fold(pdf_text(project / "output" / "apsp-2017" / "pdf" / "kent.pdf"))
    assert "Kent Police" in text and "Cleveland Police" not in text


def test_output_is_byte_identical_whatever_the_workers_their_order_or_hash_seed(project, tmp_path):
    # One worker in alphabetical order, in this process...
    one = tmp_path / "one"
    report = build_letters(project, chosen=sorted(SOME), out=one, jobs=1)
    assert not report.failed and report.rendered == len(SOME)
    # ...and three workers in reverse order, in another process with another hash seed.
    three = tmp_path / "three"
    forces = [arg for slug in sorted(SOME, reverse=True) for arg in ("--force", slug)]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "build", "--jobs", "3", "--out", str(three), *forces]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, second = letter_files(one / "apsp-2017"), letter_files(three / "apsp-2017")
    assert len(first) == 2 * len(SOME) + 1
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_workers_recycled_after_each_few_letters_still_build_them_all(project, tmp_path):
    report = build_letters(project, chosen=SOME[:5], out=tmp_path, jobs=2, tasks_per_worker=2)
    assert not report.failed
    assert report.rendered == 5
    assert all(len(PdfReader(r.pdf).pages) >= 1 for r in report.results)


def test_the_building_process_itself_never_imports_weasyprint(project):
    """Workers make every PDF (the overview's too): the build's own process skips WeasyPrint's half-second import."""
    script = (
        "import atexit, sys; atexit.register(lambda: print('weasyprint imported:', 'weasyprint' in sys.modules)); "
        "from hmicfrs_letters.cli import main; main()"
    )
    command = [sys.executable, "-c", script, "--project", str(project), "build", "--force", "kent", "--force", "gwent"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 PDFs rendered" in done.stdout
    assert done.stdout.strip().endswith("weasyprint imported: False")
    assert (project / "output" / "apsp-2017" / "overview.pdf").read_bytes().startswith(b"%PDF")


def test_without_a_pdf_renderer_each_letter_fails_with_the_reason_and_its_html_is_still_made(project, tmp_path):
    """WeasyPrint's system libraries missing: importing it fails as it does then (OSError), in every worker."""
    fake = tmp_path / "fake" / "weasyprint"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise OSError(\"cannot load library 'libpango-1.0-0': no such file\")\n")
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "build", *(f"--force={slug}" for slug in SOME[:3])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(fake.parent)})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    reason = "PDF rendering failed: OSError: cannot load library 'libpango-1.0-0': no such file"
    assert errors == [f"Error: data/assessments/apsp-2017/{slug}.yaml: {reason}" for slug in SOME[:3]] + [
        f"Error: output/apsp-2017/overview.pdf: {reason}"
    ]
    out = project / "output" / "apsp-2017"
    assert sorted(p.stem for p in (out / "html").iterdir()) == sorted(SOME[:3])
    assert not (out / "pdf").exists()


def test_outputs_are_created_with_the_users_umask(project):
    """Drafts are confidential: with umask 077 every file a build writes is 0600, the cache's too."""
    before = os.umask(0o077)
    try:
        report = build_letters(project, chosen=["kent", "sussex"], jobs=1)
    finally:
        os.umask(before)
    assert not report.failed
    files = [p for p in (project / "output").rglob("*") if p.is_file()]
    assert len(files) >= 8
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o600"}
    # A file that is replaced keeps its own mode.
    kent = project / "output" / "apsp-2017" / "pdf" / "kent.pdf"
    kent.chmod(0o640)
    edit_kent = letter_file(project, "kent")
    edit_kent.write_text(edit_kent.read_text().replace("outcome: pending", "outcome: all-in-place"))
    assert not build_letters(project, chosen=["kent"], jobs=1).failed
    assert oct(kent.stat().st_mode & 0o777) == "0o640"


@pytest.mark.all_letters
@pytest.mark.parametrize(("letters", "workers"), [(16, 1), (43, 2)])
def test_a_build_of_html_alone_starts_one_worker_for_each_twenty_letters(project, monkeypatch, letters, workers):
    """A letter's HTML takes milliseconds, a worker's start far more: 16 letters' HTML is made by one worker, 43 letters' by two."""
    from hmicfrs_letters.pdf import service

    pools = []

    class Counted(service.WorkerPool):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            pools.append(self)

    monkeypatch.setattr(service, "WorkerPool", Counted)
    keep_letters(project, letters)
    with Workflow.load(Project.at(project), pdf=False, jobs=2) as work:
        report = publish(work, formats=("html",))
    assert len(report.results) == letters and not report.failed
    assert [pool.started for pool in pools] == [workers]
