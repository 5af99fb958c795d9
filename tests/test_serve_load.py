"""The preview server with many clients at once: no errors, every client sees an edit, each PDF
rendered once per content. How fast, how much memory and under how much load is a benchmark, not a
test: `make bench` runs benchmarks/load.py (200 clients for 30 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from serving import running

LOAD = Path(__file__).resolve().parent.parent / "benchmarks" / "load.py"
CLIENTS = 20
SECONDS = 6  # the edit is made half-way: three seconds for every client to see it, on a loaded machine
PDF_LETTERS = 3  # the load script asks for the PDFs of its first three letters


@pytest.mark.empty_cache  # counts the PDFs rendered
def test_many_clients_at_once_see_an_edit_with_no_errors_and_each_pdf_rendered_once(project):
    with running(project) as server:
        preview = server.preview
        result = subprocess.run(
            [sys.executable, str(LOAD), "--json", "--url", server.url, "--project", str(project), "--pid", str(os.getpid()),
             "--clients", str(CLIENTS), "--seconds", str(SECONDS)],
            capture_output=True, text=True, timeout=SECONDS + 60, check=True,
        )  # fmt: skip
        report = json.loads(result.stdout)
        pdf_renders = preview.pdf_renders

    assert report["error_count"] == 0, report["errors"]
    assert report["edit_seen_by"] == CLIENTS
    # Clients asking for the same PDF at once wait for one rendering: three letters, one of them edited half-way.
    assert pdf_renders <= PDF_LETTERS + 1
