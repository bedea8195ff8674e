#!/usr/bin/env python3
"""Checks under strace that every publishing rename is made durable: after each rename into a
directory D, the process fsyncs D (issue 12: a power cut must not undo a registered model, the
CHAMPION pointer, a committed night, the published snapshot, a decision-log line or a score-log
file).

    python3 scripts/durability.py --lapse BIN

Runs the real binary under `strace -f -y` on a small generated book: `lapse train --promote`,
`lapse models promote`, `lapse nightly` (which commits: promote, snapshot, decision log, the
night's reports) and `lapse serve` with a score log, then reads the trace. Exits 1 naming every
rename whose directory was not fsynced afterwards. Needs strace (Debian package `strace`).
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RENAME = re.compile(r'^(\d+ +)?(rename|renameat|renameat2)\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)", (?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)"(?:, \w+)?\) = 0')
FSYNC = re.compile(r'^(\d+ +)?(fsync|fdatasync)\(\d+<([^>]+)>\) = 0')
CREATE = re.compile(r'^(\d+ +)?openat\(AT_FDCWD(?:<[^>]*>)?, "([^"]+)", [^)]*O_CREAT[^)]*\) = \d+')


def traced(trace, *command):
    result = subprocess.run(["strace", "-f", "-y", "-qq", "-e", "trace=rename,renameat,renameat2,fsync,fdatasync,openat", "-o", str(trace), *command],
                            env={**os.environ, "LAPSE_LOG": "warn"}, capture_output=True, text=True)
    if result.returncode not in (0, 3):
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")


def check(trace, label, watch_creates=None):
    """(renames checked, problems) of one trace: every rename's target directory is fsynced later;
    files created under `watch_creates` (the score log) have their directory fsynced later too."""
    lines = Path(trace).read_text().splitlines()
    pending, checked, problems = [], 0, []
    for line in lines:
        if m := RENAME.match(line):
            pending.append(("rename", m.group(4), os.path.dirname(m.group(4))))
            checked += 1
        elif watch_creates and (m := CREATE.match(line)) and m.group(2).startswith(str(watch_creates)) and ".jsonl" in m.group(2):
            pending.append(("create", m.group(2), os.path.dirname(m.group(2))))
            checked += 1
        elif m := FSYNC.match(line):
            synced = os.path.realpath(m.group(3))
            pending = [p for p in pending if os.path.realpath(p[2]) != synced]
    problems = [f"{label}: {kind} of {path} not followed by an fsync of {directory}" for kind, path, directory in pending]
    return checked, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lapse", type=Path, required=True)
    args = parser.parse_args()
    binary = str(args.lapse.resolve())
    work = Path(tempfile.mkdtemp(prefix="lapse-durability-"))
    book, models, reports = work / "book", work / "models", work / "reports"
    subprocess.run([binary, "generate", "--policies", "1500", "--seed", "3", "--out", str(book)], check=True, capture_output=True)
    subprocess.run([binary, "features", "--data", str(book), "--as-of", "2025-06-30..2026-03-31", "--out", str(work / "train.parquet")],
                   check=True, capture_output=True)
    total, problems = 0, []
    steps = [
        ("train --promote", [binary, "train", "--features", str(work / "train.parquet"), "--model", "logistic", "--models", str(models), "--promote"]),
        ("models promote", [binary, "models", "promote", "v0001", "--models", str(models)]),
        ("nightly", [binary, "nightly", "--data", str(book), "--models", str(models), "--out", str(reports), "--as-of", "2026-09-30"]),
    ]
    for label, command in steps:
        trace = work / f"{label.split()[0]}.trace"
        traced(trace, *command)
        checked, found = check(trace, label)
        print(f"{label}: {checked} renames, {len(found)} without a directory fsync")
        total += checked
        problems += found
    # The score log: a new day's file is a new directory entry.
    trace = work / "serve.trace"
    log = work / "score-log"
    server = subprocess.Popen(["strace", "-f", "-y", "-qq", "-e", "trace=rename,renameat,renameat2,fsync,fdatasync,openat", "-o", str(trace), binary, "serve",
                               "--no-auth", "--addr", "127.0.0.1:0", "--models", str(models), "--snapshot", str(reports / "snapshot.parquet"),
                               "--score-log", str(log), "--store", f"sqlite://{work / 'store.sqlite'}"], stdout=subprocess.PIPE, text=True, env={**os.environ, "LAPSE_LOG": "warn"})
    base = server.stdout.readline().strip().removeprefix("listening on ")
    urllib.request.urlopen(f"{base}/v1/queue?capacity=5", timeout=30).read()
    time.sleep(0.3)
    # SIGTERM to the traced server itself (strace's child), which drains and exits; strace follows.
    children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
    for pid in children:
        os.kill(int(pid), signal.SIGTERM)
    server.wait(timeout=60)
    checked, found = check(trace, "serve", watch_creates=log)
    print(f"serve: {checked} score-log files created or renamed, {len(found)} without a directory fsync")
    total += checked
    problems += found
    if total == 0:
        sys.exit("no rename seen: is strace working?")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
