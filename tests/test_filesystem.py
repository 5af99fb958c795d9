"""The file system under abuse: links out of the project and in loops, FIFOs, devices, unreadable
and binary files. Every file the engine reads goes in one way (core.reading): each case is one
line naming the file, fails only what depends on it, and never hangs or shows a traceback."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import SOME_LETTERS, copy_data, letter_file
from editing import edit

KENT = "data/assessments/apsp-2017/kent.yaml"
SECRET = "SECRET-FROM-OUTSIDE-THE-PROJECT"
# Long enough for a cold `letters check`; a command that waits on a FIFO would never finish.
COMMAND_SECONDS = 60


def run(project: Path, *args: str, memory: int = 2 << 30) -> subprocess.CompletedProcess:
    """`letters --project DIR ARGS...` in its own process, bounded in time and memory: a hang or an
    endless read fails the test instead of holding up the suite or the machine."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_SECONDS, preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`letters {' '.join(args)}` did not finish in {COMMAND_SECONDS} s")


def no_traceback(result) -> None:
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    assert "Traceback" not in output and "Error" not in output.replace("Error: ", ""), output[-2000:]


def outputs_hold(project: Path, text: str) -> bool:
    return any(text.encode() in p.read_bytes() for p in (project / "output").rglob("*") if p.is_file())


def link_outside(project: Path, relative: str, outside: Path, change: tuple[str, str]) -> None:
    """Replace a project file by a link to a copy of it outside the project, changed so that its content would show."""
    path = project / relative
    outside.parent.mkdir(exist_ok=True)
    shutil.copy(path, outside)
    edit(outside, *change)
    path.unlink()
    path.symlink_to(outside)


# --- links out of the project --------------------------------------------------------------------

SHARED = {
    "data/recipients/police-forces.yaml": ("name: Kent Police", f"name: Kent {SECRET}"),
    "data/assessments/apsp-2017.yaml": ("subject: ", f"subject: {SECRET} "),
    "templates/apsp-2017/letter.html.j2": ("{% block body %}", "{% block body %}" + SECRET),
    "templates/base/letter.css": (":root {", f"/* {SECRET} */ :root {{"),
}


@pytest.mark.parametrize("relative", SHARED)
def test_a_shared_file_linking_outside_its_folder_is_refused_and_never_read(project, letters, tmp_path, relative):
    link_outside(project, relative, tmp_path / "outside" / Path(relative).name, SHARED[relative])
    folder = relative.split("/")[0]
    line = f"{relative}: links to a file outside {folder}/; the engine reads only files that are in it"

    checked = letters("check", "--no-pages")
    assert checked.exit_code == 1
    assert line in checked.output
    no_traceback(checked)
    built = letters("build", "--format", "html", "--force", "kent")
    assert built.exit_code == 1
    assert {x.removeprefix("Error: ") for x in built.output.splitlines() if x.startswith("Error:")} == {line}
    assert not outputs_hold(project, SECRET)


def test_a_stylesheet_linking_outside_the_assets_is_refused(project, letters, tmp_path):
    link_outside(project, "templates/assets/pdf.css", tmp_path / "outside" / "pdf.css", ("@page", f"/* {SECRET} */ @page"))
    built = letters("build", "--force", "kent", "--format", "pdf")
    assert built.exit_code == 1
    reason = "refused: templates/assets/pdf.css: links to a file outside templates/assets/; the engine reads only files that are in it"
    errors = [x for x in built.output.splitlines() if x.startswith("Error:")]
    assert [x.split(": PDF rendering failed: ")[0] for x in errors] == [f"Error: {KENT}", "Error: output/apsp-2017/overview.pdf"]
    assert all(x.endswith(reason) for x in errors)
    assert not outputs_hold(project, SECRET)


@pytest.mark.parametrize(
    ("wording", "change", "reworded"),
    [  # the neutral letter's wording, and the text of the other paths through the templates (issue 20, item 5)
        (
            "data/assessments/apsp-2017.wording.txt",
            ("Yours sincerely", f"Yours {SECRET}"),
            ("If you have any queries", "If you have any questions"),
        ),
        (
            "data/assessments/apsp-2017.variants.txt",
            ("when 'recipient_name' is not written:", f"when 'recipient_name' is not written: {SECRET}"),
            ("Copied to: {% if copied_to %}", "Copy to: {% if copied_to %}"),
        ),
    ],
)
def test_the_approved_wording_linking_outside_is_never_shown(project, letters, tmp_path, wording, change, reworded):
    link_outside(project, wording, tmp_path / "outside" / "wording.txt", change)
    edit(project / "templates" / "apsp-2017" / "letter.html.j2", *reworded)
    checked = letters("check", "--no-pages")
    assert checked.exit_code == 1
    assert (
        f"(the approved text, {wording}, cannot be read (links to a file outside data/; the engine reads only files that are in it)"
        in checked.output
    )
    assert SECRET not in checked.output


# --- FIFOs and devices ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "commands"),
    [
        (KENT, (["list"], ["check", "--no-pages"])),
        ("data/recipients/police-forces.yaml", (["list"], ["check", "--no-pages"])),
        ("templates/base/letter.css", (["check", "--no-pages"],)),
    ],
)
def test_a_fifo_in_a_files_place_is_refused_at_once(project, relative, commands):
    path = project / relative
    path.unlink()
    os.mkfifo(path)
    for command in commands:
        result = run(project, *command)
        no_traceback(result)
        if command == ["list"] and relative == KENT:  # the table shows the letter as unreadable
            assert re.search(r"^kent +- +invalid +1$", result.stdout, flags=re.MULTILINE)
        else:
            assert (
                f"{relative}: is a FIFO (named pipe), not a regular file; the engine reads only regular files"
                in result.stdout + result.stderr
            )


def _device(path: Path, major: int, minor: int) -> None:
    path.unlink()
    try:
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("cannot make a device file here (needs root)")


@pytest.mark.parametrize("relative", [KENT, "data/recipients/police-forces.yaml"])
def test_an_endless_device_is_refused_without_reading_it(project, relative):
    _device(project / relative, 1, 5)  # /dev/zero: its st_size is 0, and it never ends
    result = run(project, "check", "--no-pages", memory=1 << 30)
    assert f"{relative}: is a character device, not a regular file; the engine reads only regular files" in result.stdout + result.stderr
    no_traceback(result)


def test_a_link_to_a_device_is_refused(project, letters):
    path = letter_file(project, "kent")
    path.unlink()
    path.symlink_to("/dev/zero")
    result = letters("check", "--no-pages")
    assert f"{KENT}: links to a file outside data/; the engine reads only files that are in it" in result.output


@pytest.mark.empty_cache
def test_fifos_left_in_the_output_and_the_cache_are_no_hang(project):
    assert run(project, "build", "--force", "kent").returncode == 0
    pdf = project / "output" / "apsp-2017" / "pdf" / "kent.pdf"
    entries = [p for p in (project / "output" / ".cache" / "pdf").rglob("*") if p.is_file()]  # kent's and the overview's
    for path in (pdf, *entries):
        path.unlink()
        os.mkfifo(path)
    verified = run(project, "verify", "--force", "kent")
    assert (
        "output/apsp-2017/pdf/kent.pdf: is a FIFO (named pipe), not a regular file; the engine reads only regular files" in verified.stderr
    )
    rebuilt = run(project, "build", "--force", "kent")  # the cache entry is no entry: rendered again, both written as files
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "1 PDF rendered" in rebuilt.stdout
    assert pdf.is_file() and all(entry.is_file() for entry in entries)


# --- link loops, folders, dangling links ---------------------------------------------------------------


def test_letter_files_linking_to_each_other_in_a_loop(project, letters):
    kent, sussex = letter_file(project, "kent"), letter_file(project, "sussex")
    kent.unlink()
    sussex.unlink()
    kent.symlink_to(sussex.name)
    sussex.symlink_to(kent.name)
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    for slug in ("kent", "sussex"):
        line = f"data/assessments/apsp-2017/{slug}.yaml: is a symbolic link in a loop; make it a file, or link it to one"
        assert line in result.output
    built = letters("build", "--format", "html")
    assert f"Built {len(SOME_LETTERS) - 2} letters" in built.output
    no_traceback(built)


def test_a_loop_in_the_shared_files_and_the_templates(project, letters):
    forces = project / "data" / "recipients" / "police-forces.yaml"
    good = forces.read_bytes()
    forces.unlink()
    forces.symlink_to("police-forces.yaml")
    result = letters("list")
    assert result.exit_code == 1
    assert result.output == "Error: data/recipients/police-forces.yaml: is a symbolic link in a loop; make it a file, or link it to one\n"

    (project / "templates" / "loop.html.j2").symlink_to("loop.html.j2")
    forces.unlink()
    forces.write_bytes(good)
    result = letters("check", "--no-pages")
    assert "templates/loop.html.j2: is a symbolic link in a loop; make it a file, or link it to one" in result.output


@pytest.mark.parametrize("kind", ["folder", "dangling link"])
def test_a_folder_or_a_dangling_link_as_a_letter_file(project, letters, kind):
    path = letter_file(project, "kent")
    path.unlink()
    if kind == "folder":
        path.mkdir()
        expected = f"{KENT}: is a folder, not a regular file; the engine reads only regular files"
    else:
        path.symlink_to("nowhere.yaml")
        expected = f"{KENT}: is a symbolic link to a file that does not exist"
    result = letters("check", "--no-pages")
    assert expected in result.output
    assert f"Built {len(SOME_LETTERS) - 1} letters" in letters("build", "--format", "html").output


def test_a_project_folder_that_is_a_link_loop(tmp_path, letters):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    from typer.testing import CliRunner

    from hmicfrs_letters.cli import app

    result = CliRunner().invoke(app, ["--project", str(loop), "list"], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output == f"Error: {loop}: not a letters project: the folder is a symbolic link in a loop\n"


# --- unreadable and binary files --------------------------------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch):
    """Make a file unreadable: by its mode, or, for root (whom modes do not stop), by refusing to open it."""

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0)
            return
        denied = os.path.realpath(path)
        real_os_open, real_io_open = os.open, io.open

        def refuse(name) -> None:
            with contextlib.suppress(TypeError):
                if os.path.realpath(name) == denied:
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(name))

        def os_open(name, *args, **kwargs):
            refuse(name)
            return real_os_open(name, *args, **kwargs)

        def io_open(name, *args, **kwargs):
            refuse(name)
            return real_io_open(name, *args, **kwargs)

        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(io, "open", io_open)

    return make


def test_an_unreadable_letter_file_fails_alone_and_the_manifest_is_written(project, letters, unreadable):
    unreadable(letter_file(project, "kent"))
    result = letters("build", "--format", "html", "--force", "kent", "--force", "cleveland")
    assert result.exit_code == 1
    assert [x for x in result.output.splitlines() if x.startswith("Error:")] == [f"Error: {KENT}: cannot read file: Permission denied"]
    assert "Built 1 letter" in result.output
    manifest = json.loads((project / "output" / "apsp-2017" / "manifest.json").read_text())
    assert manifest["inputs"][KENT] is None
    assert manifest["letters"]["kent"]["status"] == "invalid"
    assert len(manifest["inputs"]["data/assessments/apsp-2017/cleveland.yaml"]) == 64


def test_a_template_naming_a_binary_file(project, letters):
    edit(
        project / "data" / "assessments" / "apsp-2017.yaml",
        "template: apsp-2017/letter.html.j2",
        "template: assets/fonts/LiberationSans-Regular.ttf",
    )
    line = "templates/assets/fonts/LiberationSans-Regular.ttf:1:1: a binary file, not text (it holds NUL bytes)"
    checked = letters("check", "--no-pages")
    assert checked.exit_code == 1
    assert line in checked.output
    built = letters("build", "--format", "html")
    assert built.exit_code == 1
    assert built.output == f"Error: {line}\n"


# --- property-based: any shape of data/ ends in letters or our own one-line errors --------------------------

LETTERS = "data/assessments/apsp-2017"
PLACES = [
    "data/recipients/police-forces.yaml",
    "data/assessments/apsp-2017.yaml",
    "data/assessments/apsp-2017.wording.txt",
    "data/assessments/apsp-2017.variants.txt",
    LETTERS,
    *(f"{LETTERS}/{slug}.yaml" for slug in ("kent", "sussex", "durham", "cleveland", "extra")),
]
KINDS = ["garbage", "fifo", "folder", "link in", "link out", "link to itself", "links in a loop", "dangling link", "link to a device"]
SECONDS = 30  # for one example's commands: a command that waits on a FIFO would never end


def _shape(root: Path, outside: Path, place: str, kind: str, data: bytes) -> None:
    """Put a file of this kind where `place` is (replacing what was there)."""
    path = root / place
    if path.parent.is_symlink() or not path.parent.is_dir():  # its folder was itself replaced earlier in the shape
        return
    if path.is_symlink() or (os.path.lexists(path) and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    if kind == "garbage":
        path.write_bytes(data)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "link in":
        path.symlink_to(root / "data" / "assessments" / "apsp-2017.yaml")
    elif kind == "link out":
        path.symlink_to(outside)
    elif kind == "link to itself":
        path.symlink_to(path.name)
    elif kind == "links in a loop":
        other = path.with_name(path.name + ".other")
        other.unlink(missing_ok=True)
        other.symlink_to(path.name)
        path.symlink_to(other.name)
    elif kind == "dangling link":
        path.symlink_to("nowhere")
    elif kind == "link to a device":
        path.symlink_to("/dev/zero")


def _run_bounded(project: Path, *args: str):
    """A command in this process, on a thread: a hang fails the test instead of holding it up."""
    from typer.testing import CliRunner

    from hmicfrs_letters.cli import app

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = CliRunner().invoke(app, ["--project", str(project), *args], catch_exceptions=False)
        except BaseException as exc:  # reported by the test, with its traceback
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(SECONDS)
    assert not thread.is_alive(), f"`letters {' '.join(args)}` did not finish in {SECONDS} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# Under an error in a YAML file, its lines with a marker under the place (core.yamlerrors.excerpt), indented.
EXCERPT_LINE = re.compile(r"  [ \d]+ \| .*")


def assert_only_our_errors(command: tuple[str, ...], stderr: str) -> None:
    """Nothing but our own `Error: ` lines (each with the excerpt of its file under it, if any) and the count."""
    after_error = False
    for line in stderr.splitlines():
        if EXCERPT_LINE.fullmatch(line):
            assert after_error, (command, line)
            continue
        after_error = line.startswith("Error: ")
        assert after_error or re.fullmatch(r"\d+ errors?, \d+ warnings?", line), (command, line)


shapes = st.lists(
    st.tuples(st.sampled_from(PLACES), st.sampled_from(KINDS), st.binary(max_size=64)), min_size=1, max_size=4, unique_by=lambda t: t[0]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(shape=shapes, build=st.booleans())
@example(shape=[("data/recipients/police-forces.yaml", "garbage", b"%")], build=False)  # an error with its file's lines under it
def test_any_shape_of_data_gives_letters_or_our_own_one_line_errors(tmp_path_factory, shape, build):
    root = tmp_path_factory.mktemp("shape")
    project = root / "project"
    copy_data(project, SOME_LETTERS)
    (project / "templates").symlink_to(Path(__file__).resolve().parent.parent / "templates")
    outside = root / "outside.yaml"
    outside.write_text(f"forces: [{{slug: kent, name: {SECRET}}}]\noutcome: pending\nstatus: draft\nfindings: {SECRET}\n")
    for place, kind, data in shape:
        _shape(project, outside, place, kind, data)

    commands = [("list",), ("check", "--no-pages")] + ([("build", "--format", "html", "--jobs", "1")] if build else [])
    for command in commands:
        result = _run_bounded(project, *command)
        assert result.exit_code in (0, 1), (command, result.output)
        assert SECRET not in result.output
        assert_only_our_errors(command, result.stderr)
    assert not (project / "output").exists() or not outputs_hold(project, SECRET)
