"""The preview server under load: 200 clients on loopback for 30 s, with an edit half-way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from serving import running

LOAD = Path(__file__).resolve().parent.parent / "benchmarks" / "load.py"
CLIENTS = 200
SECONDS = float(os.environ.get("LETTERS_LOAD_SECONDS", "30"))
PDF_LETTERS = 3  # the load script asks for the PDFs of its first three letters


def test_200_clients_for_30_seconds(project):
    with running(project) as server:
        preview = server.preview
        result = subprocess.run(
            [sys.executable, str(LOAD), "--url", server.url, "--project", str(project), "--pid", str(os.getpid()),
             "--clients", str(CLIENTS), "--seconds", str(SECONDS)],
            capture_output=True, text=True, timeout=SECONDS + 120, check=True,
        )  # fmt: skip
        report = json.loads(result.stdout)
        pdf_renders = preview.pdf_renders
    print(
        f"\nload: {report['requests']} requests, latency {report['latency_ms']}, edit seen within {report['edit_seen_max_s']} s, RSS {report['rss_mb']}"
    )

    assert report["error_count"] == 0, report["errors"]
    assert report["requests"] > CLIENTS * 10
    # Every client saw the edit, each within a second of the save.
    assert report["edit_seen_by"] == CLIENTS
    assert report["edit_seen_max_s"] < 1.0
    # Each PDF rendered once per content: three letters, one of them edited half-way.
    assert pdf_renders <= PDF_LETTERS + 1
    # Memory flat once warm: the last samples within 50 MB of those after the first seconds.
    rss = report["rss_mb"]
    assert max(rss[len(rss) // 2 :]) - max(rss[2:4]) < 50, rss
