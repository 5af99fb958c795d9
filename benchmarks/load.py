"""Load on the preview server: many keep-alive clients on loopback for a bounded time.

    python benchmarks/load.py                  # starts `letters serve` on this project; 200 clients, 30 s
    python benchmarks/load.py --url http://127.0.0.1:8000 --clients 50 --seconds 10

Each client fetches, in turn, the index, letter pages, letters and PDFs. Half-way through, the
findings of one force are edited (in a copy of the project when this script starts the server);
every client then keeps asking for that letter until it sees the new text, and the time from the
save to each client's first sight of it is reported. Prints the figures, each against its bound
(errors: none; every client sees the edit within 1 s; the server's memory, once warm, within
50 MB of where it was after the first seconds); with --json, one JSON object instead: request
count, errors, latency percentiles, the edit's latency per client (max), the server's RSS over time.

Sends traffic only to the loopback address it is given; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
EDITED_SLUG = "cumbria"  # a draft: an approved letter, once edited, has no PDF until approved again
MARKER = "Edited under load"


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str) -> tuple[int, bytes]:
    """One HTTP/1.1 GET on a kept-alive connection: (status, body)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:  # chunked
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    return status, body


async def client(url: str, paths: list[str], deadline: float, edit: dict, stats: dict, seed: int) -> None:
    parts = urlsplit(url)
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    seen_edit = False
    try:
        while time.monotonic() < deadline:
            edited = edit.get("at") is not None and not seen_edit
            path = f"/apsp-2017/letters/{EDITED_SLUG}.html" if edited else rng.choice(paths)
            started = time.monotonic()
            try:
                status, body = await fetch(reader, writer, parts.netloc, path)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                stats["errors"].append(f"{path}: {type(exc).__name__}")
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                continue
            stats["latencies"].append(time.monotonic() - started)
            if status != 200:
                stats["errors"].append(f"{path}: HTTP {status}")
            if edited and MARKER.encode() in body:
                seen_edit = True
                stats["edit_seen"].append(time.monotonic() - edit["at"])
            elif edited:
                await asyncio.sleep(0.02)
    finally:
        writer.close()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def edit_findings(project: Path) -> None:
    path = project / "data" / "assessments" / "apsp-2017" / f"{EDITED_SLUG}.yaml"
    text = path.read_text()
    path.write_text(text.replace("Your plans submitted", f"{MARKER}: your plans submitted", 1))


async def run(url: str, project: Path, clients: int, seconds: float, server_pid: int, slugs: list[str], pdf_slugs: list[str]) -> dict:
    paths = [
        "/apsp-2017/",
        *(f"/apsp-2017/letters/{s}" for s in slugs),
        *(f"/apsp-2017/letters/{s}.html" for s in slugs),
        *(f"/apsp-2017/letters/{s}.pdf" for s in pdf_slugs),
    ]
    stats: dict = {"latencies": [], "errors": [], "edit_seen": []}
    edit: dict = {"at": None}
    started = time.monotonic()
    deadline = started + seconds
    tasks = [asyncio.create_task(client(url, paths, deadline, edit, stats, i)) for i in range(clients)]
    rss = []
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        rss.append(round(rss_mb(server_pid), 1))
        if edit["at"] is None and time.monotonic() - started >= seconds / 2:
            edit_findings(project)
            edit["at"] = time.monotonic()
    await asyncio.gather(*tasks)
    latencies = sorted(stats["latencies"])

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else 0.0

    return {
        "clients": clients,
        "seconds": seconds,
        "requests": len(latencies),
        "errors": stats["errors"][:20],
        "error_count": len(stats["errors"]),
        "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
        "edit_seen_by": len(stats["edit_seen"]),
        "edit_seen_max_s": round(max(stats["edit_seen"]), 3) if stats["edit_seen"] else None,
        "rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running preview server on loopback (default: start one on a copy of this project)")
    parser.add_argument("--project", type=Path, help="the project the server at --url serves (edited half-way)")
    parser.add_argument("--pid", type=int, help="the server's process id, for its memory")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--slugs", default="cleveland,cumbria,kent,cheshire,north-yorkshire,derbyshire")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args()
    slugs = args.slugs.split(",")
    server = None
    if args.url is None:
        workdir = Path(tempfile.mkdtemp(prefix="letters-load-"))
        shutil.copytree(ROOT / "tests" / "fixtures" / "project" / "data", workdir / "data")  # the 43 letters of 2017
        shutil.copytree(ROOT / "templates", workdir / "templates")
        server = subprocess.Popen(
            [sys.executable, "-m", "hmicfrs_letters", "--project", str(workdir), "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = server.stdout.readline()  # "Previewing apsp-2017 at http://127.0.0.1:PORT/ (Ctrl+C to stop)"
        url = line.split(" at ")[1].split()[0].rstrip("/")
        project, pid = workdir, server.pid
    else:
        url, project, pid = args.url.rstrip("/"), args.project, args.pid or os.getpid()
    if urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        sys.exit("load is only ever sent to this machine's loopback address")
    try:
        report = asyncio.run(run(url, project, args.clients, args.seconds, pid, slugs, slugs[:3]))
    finally:
        if server:
            server.terminate()
            server.wait(10)
            shutil.rmtree(project, ignore_errors=True)
    print(json.dumps(report) if args.json else summary(report))


# The bounds the figures are read against.
EDIT_SEEN_BOUND_S = 1.0
RSS_GROWTH_BOUND_MB = 50


def summary(report: dict) -> str:
    """The figures, each with its ratio to its bound (below 1 is within it)."""
    rss = report["rss_mb"]
    growth = max(rss[len(rss) // 2 :]) - max(rss[2:4]) if len(rss) >= 4 else float("nan")
    seen = report["edit_seen_max_s"]
    latency = report["latency_ms"]
    return "\n".join(
        [
            f"{report['clients']} clients for {report['seconds']:g} s: {report['requests']} requests, {report['error_count']} errors",
            f"latency (ms):                          p50 {latency['p50']}  p90 {latency['p90']}  p99 {latency['p99']}  max {latency['max']}",
            f"clients that saw the edit:             {report['edit_seen_by']} of {report['clients']}",
            f"edit seen, slowest client / {EDIT_SEEN_BOUND_S:g} s:   {seen / EDIT_SEEN_BOUND_S:.2f}"
            if seen is not None
            else "edit seen: never",
            f"server memory growth / {RSS_GROWTH_BOUND_MB} MB:       {growth / RSS_GROWTH_BOUND_MB:.2f}  ({growth:.1f} MB; RSS {rss})",
            *(f"error: {error}" for error in report["errors"]),
        ]
    )


if __name__ == "__main__":
    main()
