"""Faults during a build: letters that never finish, workers that die, output/ full or read-only,
and the build itself killed part way. Each letter fails alone; nothing half-written is left."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

import hmicfrs_letters.core.files
from conftest import keep_letters, letter_file
from hmicfrs_letters.core.files import STOPPED
from hmicfrs_letters.pdf.cache import PdfCache

TEMPLATE = Path("templates") / "apsp-2017" / "letter.html.j2"
FORCES = ["--force", "cleveland", "--force", "kent", "--force", "sussex"]
OS = "cycler.__init__.__globals__.os"  # templates are trusted code: this one reaches the os module


def for_kent(project: Path, code: str) -> None:
    """Make the letter template do `code` for Kent's letter only."""
    path = project / TEMPLATE
    text = path.read_text()
    path.write_text(text.replace("{% block body %}", "{% block body %}{% if force.slug == 'kent' %}" + code + "{% endif %}", 1))


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def built(project: Path, kind: str) -> list[str]:
    return sorted(p.stem for p in (project / "output" / "apsp-2017" / kind).glob(f"*.{kind}"))


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("{% for i in range(10 ** 12) %}{% endfor %}", id="a template that loops forever"),
        # a hundred thousand paragraphs: quick to write as HTML, minutes of work for WeasyPrint
        pytest.param("{% for i in range(100000) %}<p>line</p>{% endfor %}", id="a layout that never ends in time"),
    ],
)
def test_a_letter_over_the_time_limit_fails_alone(project, letters, code):
    for_kent(project, code)
    result = letters("build", *FORCES, "--jobs", "2", "--timeout", "3")
    assert result.exit_code == 1
    assert errors(result) == ["Error: data/assessments/apsp-2017/kent.yaml: stopped after the time limit of 3 s; the worker was replaced"]
    assert built(project, "pdf") == built(project, "html") == ["cleveland", "sussex"]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("death", [f"{OS}.kill({OS}.getpid(), 9)", f"{OS}._exit(70)"])
def test_a_worker_that_dies_costs_only_its_letter_after_one_retry(project, letters, death):
    for_kent(project, "{{ " + death + " }}")
    result = letters("build", *FORCES, "--jobs", "2")
    assert result.exit_code == 1
    how = "killed by SIGKILL" if "kill" in death else "exit status 70"
    assert errors(result) == [f"Error: data/assessments/apsp-2017/kent.yaml: the worker process died while rendering it ({how}), 2 times"]
    assert built(project, "pdf") == ["cleveland", "sussex"]
    assert "Built 2 letters" in result.output


def _no_temps(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.startswith(hmicfrs_letters.core.files.TEMP_PREFIX)]


class _FullDisk:
    """A file object that takes a few bytes, then fails as a full disk does."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()

    def write(self, data: bytes) -> int:
        self.handle.write(data[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_stops_the_build_with_one_line_and_keeps_earlier_output(project, letters, monkeypatch):
    assert letters("build", *FORCES).exit_code == 0
    out = project / "output"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    kent = letter_file(project, "kent")
    kent.write_text(kent.read_text().replace('findings: ""', 'findings: "New findings."'))

    real_fdopen = os.fdopen
    monkeypatch.setattr(hmicfrs_letters.core.files.os, "fdopen", lambda fd, mode: _FullDisk(real_fdopen(fd, mode)))
    result = letters("build", *FORCES)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: output/apsp-2017/html/kent.html: cannot write: No space left on device; the build stopped, earlier output is unchanged"
    ]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert _no_temps(out)


@contextlib.contextmanager
def small_disk(path: Path, size: str):
    """A real, small file system (tmpfs) at path; skips the test where mounting is not allowed."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_real_full_or_read_only_output_folder(project, letters, tmp_path, fault):
    with small_disk(tmp_path / "disk", "1m") as disk:
        assert letters("build", *FORCES, "--out", str(disk)).exit_code == 0
        before = {p: p.read_bytes() for p in disk.rglob("*") if p.is_file()}
        kent = letter_file(project, "kent")
        kent.write_text(kent.read_text().replace('findings: ""', 'findings: "New findings."'))
        if fault == "full":
            with contextlib.suppress(OSError), (disk / "filler").open("wb") as filler:
                while True:
                    filler.write(b"\0" * 4096)
                    filler.flush()
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = letters("build", *FORCES, "--out", str(disk))
        assert result.exit_code == 1
        reason = "No space left on device" if fault == "full" else "Read-only file system"
        assert result.output.splitlines() == [
            f"Error: {disk}/apsp-2017/html/kent.html: cannot write: {reason}; the build stopped, earlier output is unchanged"
        ]
        assert {p: p.read_bytes() for p in disk.rglob("*") if p.is_file() and p.name != "filler"} == before
        assert _no_temps(disk)


def _session_processes(session: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] != "Z":
                pids.append(int(stat.parent.name))
    return pids


@pytest.fixture
def private_temp() -> Iterator[dict[str, str]]:
    """An environment whose temporary folder is a new empty one, to see what a build leaves in it. Its
    path is short (multiprocessing's fork server binds a socket in it: AF_UNIX paths stop at 107 bytes),
    so not under pytest's own temporary folder, whose paths are longer with pytest-xdist."""
    temp = tempfile.mkdtemp(prefix="letters-")
    yield {**os.environ, "TMPDIR": temp}
    shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.empty_cache
def test_a_build_leaves_nothing_in_the_temporary_folder(project, private_temp):
    env = private_temp
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "build", *FORCES, "--jobs", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "3 PDFs rendered" in done.stdout
    assert list(Path(env["TMPDIR"]).iterdir()) == []  # no weasyprint-* font folder, no scratch, no socket folder


@pytest.mark.empty_cache
def test_a_build_killed_part_way_leaves_no_partial_file_and_the_next_one_completes(project, private_temp):
    env = private_temp
    total = keep_letters(project, 16)
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "build", "--jobs", "2"]
    out = project / "output"
    pdfs = out / "apsp-2017" / "pdf"
    build = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while len(list(pdfs.glob("*.pdf"))) < 6 and time.monotonic() < deadline and build.poll() is None:
        time.sleep(0.02)
    os.kill(build.pid, signal.SIGKILL)  # the build's own process only: its workers must follow it
    build.wait()
    written = list(pdfs.glob("*.pdf"))
    assert 6 <= len(written) < total, "the build was not killed part way"
    deadline = time.monotonic() + 10
    while _session_processes(build.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session_processes(build.pid) == [], "a worker outlived the build"
    # Nothing in the temporary folder, killed or not: the workers remove their scratch (with
    # WeasyPrint's weasyprint-* font folders) as they leave, the fork server its socket's folder.
    assert list(Path(env["TMPDIR"]).iterdir()) == []

    # every file under its final name is whole; every cache entry is sound
    for pdf in written:
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF") and len(PdfReader(pdf).pages) >= 1
    for html in (out / "apsp-2017" / "html").glob("*.html"):
        assert html.read_text().rstrip().endswith("</html>")
    cache = PdfCache(out / ".cache" / "pdf", "")
    entries = [p for p in (out / ".cache" / "pdf").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert all(cache.get(p.name) is not None for p in entries)

    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert f"Built {total} letters" in done.stdout
    rendered = int(re.search(r"(\d+) PDFs? rendered", done.stdout)[1])
    # What was written whole before the kill is served from the cache, but for a PDF written in the
    # instant between its file and its cache entry (at most one a worker): it is laid out again.
    assert rendered <= total - len(written) + 2
    assert len(list(pdfs.glob("*.pdf"))) == total
    assert _no_temps(out)
    assert list(Path(env["TMPDIR"]).iterdir()) == []


# --- every write of a build, names too long, read-only data, builds at once -------------------------


class _FullDiskFor:
    """os.fdopen for write_atomic, failing as a full disk does for the temporary files of one target only."""

    def __init__(self, part: str) -> None:
        self.part, self.real = part, os.fdopen

    def __call__(self, fd, mode):
        handle = self.real(fd, mode)
        return _FullDisk(handle) if self.part in os.readlink(f"/proc/self/fd/{fd}") else handle


def _manifest_tells_the_truth(out: Path) -> None:
    """No manifest, or one whose outputs are the files there: a build that stopped part way never leaves a stale one."""
    path = out / "apsp-2017" / "manifest.json"
    if path.exists():
        recorded = json.loads(path.read_text())["outputs"]
        assert recorded == {name: hashlib.sha256((out / "apsp-2017" / name).read_bytes()).hexdigest() for name in recorded}


@pytest.mark.parametrize(
    ("part", "shown", "then"),
    [
        ("html/.tmp-", "output/apsp-2017/html/kent.html", STOPPED),
        ("pdf/.tmp-", "output/apsp-2017/pdf/kent.pdf", STOPPED),
        (".cache/pdf/", "output/.cache/pdf/", STOPPED),
        ("index.html", "output/apsp-2017/index.html", STOPPED),
        ("overview.html", "output/apsp-2017/overview.html", STOPPED),
        ("overview.pdf", "output/apsp-2017/overview.pdf", STOPPED),
        ("manifest.json", "output/apsp-2017/manifest.json", "the letters are written, but not the manifest that records them"),
    ],
)
def test_a_full_disk_at_every_write_of_a_build(project, letters, monkeypatch, part, shown, then):
    assert letters("build", "--force", "kent").exit_code == 0
    out = project / "output"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    kent = letter_file(project, "kent")  # a new outcome changes the letter, the index, the overview and the manifest
    kent.write_text(kent.read_text().replace("outcome: pending", "outcome: all-in-place"))

    monkeypatch.setattr(hmicfrs_letters.core.files.os, "fdopen", _FullDiskFor(part))
    result = letters("build", "--force", "kent")
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith(f"Error: {shown}") and line.endswith(f": cannot write: No space left on device; {then}")
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    if part == "manifest.json":  # the letters changed: the previous manifest, which no longer describes them, is gone
        assert project / shown not in after
    elif ".cache" not in part:  # the file whose write failed is as it was
        assert after[project / shown] == before[project / shown]
    assert all(_whole(p, data) for p, data in after.items())  # and every file is whole: as it was, or replaced whole
    _manifest_tells_the_truth(out)
    assert _no_temps(out)


def _whole(path: Path, data: bytes) -> bool:
    if path.suffix == ".pdf":
        return data.rstrip().endswith(b"%%EOF")
    if path.suffix == ".html":
        return data.rstrip().endswith(b"</html>")
    if path.suffix == ".json":
        return bool(json.loads(data))
    return PdfCache(path.parent.parent, "").get(path.name) is not None  # a cache entry, checked by its checksum


LONG = "k" * 250  # slug.yaml is then 255 bytes, the longest name ext4 and tmpfs allow


def _long_slug(project: Path) -> None:
    forces = project / "data" / "recipients" / "police-forces.yaml"
    forces.write_text(forces.read_text().replace("slug: kent\n", f"slug: {LONG}\n"))
    letter_file(project, "kent").rename(letter_file(project, LONG))


def test_a_slug_as_long_as_a_file_name_may_be_builds(project, letters):
    _long_slug(project)
    result = letters("build", "--force", LONG, "--force", "cleveland")
    assert result.exit_code == 0, result.output
    assert (project / "output" / "apsp-2017" / "pdf" / f"{LONG}.pdf").is_file()


def test_a_name_too_long_for_the_file_system_fails_its_letter_alone(project, letters, monkeypatch):
    real_replace = os.replace

    def replace(src, dst):  # as a file system with shorter names than ext4's would
        if str(dst).endswith("/kent.pdf"):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        return real_replace(src, dst)

    monkeypatch.setattr(hmicfrs_letters.core.files.os, "replace", replace)
    result = letters("build", *FORCES)
    assert result.exit_code == 1
    assert errors(result) == ["Error: output/apsp-2017/pdf/kent.pdf: cannot write: File name too long"]
    assert built(project, "pdf") == ["cleveland", "sussex"]
    assert json.loads((project / "output" / "apsp-2017" / "manifest.json").read_text())["letters"]["kent"]["built"] is False


def test_letters_new_with_a_slug_too_long_for_a_file_name(project, letters):
    slug = "x" * 252
    forces = project / "data" / "recipients" / "police-forces.yaml"
    forces.write_text(
        forces.read_text()
        + f"  - slug: {slug}\n    name: X\n    chief_officer_title: a\n    copied_to: b\n    copied_to_full: c\n    nation: England\n"
    )
    result = letters("new", "--force", slug)
    assert result.exit_code == 1
    assert result.output == f"Error: data/assessments/apsp-2017/{slug}.yaml: cannot write: File name too long\n"


@contextlib.contextmanager
def read_only_data(project: Path):
    """The project's data/ on a read-only file system (a tmpfs holding a copy); skips where mounting is not allowed."""
    data = project / "data"
    shutil.move(data, project / "data.copy")
    with small_disk(data, "8m"):
        shutil.copytree(project / "data.copy", data, dirs_exist_ok=True)
        subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        yield data


def test_approve_new_and_approve_wording_in_a_read_only_data_folder(project, letters):
    cleveland = letter_file(project, "cleveland")
    cleveland.write_text(cleveland.read_text().replace("status: approved", "status: draft"))
    letter_file(project, "kent").unlink()
    with read_only_data(project):
        approved = letters("approve", "cleveland")
        assert approved.exit_code == 1
        assert errors(approved) == [
            "Error: data/assessments/apsp-2017/cleveland.yaml: not approved: cannot write: Read-only file system; the file is as it was"
        ]
        started = letters("new", "--force", "kent")
        assert (
            started.output
            == "Error: data/assessments/apsp-2017/kent.yaml: cannot write: Read-only file system; the letter was not started\n"
        )
        template = project / "templates" / "apsp-2017" / "letter.html.j2"  # new fixed wording, to approve
        template.write_text(template.read_text().replace("If you have any queries", "If you have any questions"))
        wording = letters("approve-wording")
        assert wording.output == (
            "Error: data/assessments/apsp-2017.wording.txt: cannot write: Read-only file system; the wording was not approved\n"
        )


def test_a_build_removes_only_the_temporary_files_of_writers_that_are_gone(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = tmp_path / "pdf"
    folder.mkdir()
    mine = folder / f".tmp-{os.getpid()}-kent.pdf.abc"  # a build still writing: this process
    theirs = folder / f".tmp-{gone.pid}-kent.pdf.def"  # a build killed part way
    old = folder / ".tmp-kent.pdf.ghi"  # named before writers put their process id in
    for temp in (mine, theirs, old):
        temp.write_bytes(b"half")
    hmicfrs_letters.core.files.remove_stale_temps(tmp_path)
    assert [p.name for p in folder.iterdir()] == [mine.name]


def test_two_builds_at_once_both_complete(project):
    total = keep_letters(project, 8)
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "build", "--rebuild", "--jobs", "1"]
    builds = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [build.communicate(timeout=300) for build in builds]
    for build, (out, err) in zip(builds, outcomes, strict=True):
        assert build.returncode == 0, err
        assert f"Built {total} letters" in out
    assert _no_temps(project / "output")
    _manifest_tells_the_truth(project / "output")
