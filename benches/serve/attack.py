"""Replays issue 22's attacks against the real server and measures what they cost it.

    python benches/serve/attack.py --lapse $CARGO_TARGET_DIR/release/lapse [--work /tmp/lapse-attack]

Builds a 5,000-policy book, one night (a champion and a snapshot), starts `lapse serve` on
127.0.0.1 with tokens and a score log, and measures, from /proc: the idle resident memory, the
peak (VmHWM) after each attack, the metrics page, the disk used, the time to close silent and
half-sent connections and to exit on SIGTERM with one open. Prints one line per attack; the
numbers go to BENCHMARKS.md ("What one caller can cost the server"). Traffic goes to 127.0.0.1
only, in bounded loops.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SCORE = "attack-score-token-0123456789"
ADMIN = "attack-admin-token-0123456789"


def status_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def request(port, method, path, body=None, headers=None, token=SCORE, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def closed_within(sock, limit):
    sock.settimeout(limit)
    started = time.time()
    try:
        while sock.recv(65536):
            pass
        return time.time() - started
    except (socket.timeout, TimeoutError):
        return None
    except ConnectionResetError:
        return time.time() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lapse", required=True)
    parser.add_argument("--work", default="/tmp/lapse-attack")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "LAPSE_LOG": "warn"}
    subprocess.run([args.lapse, "generate", "--policies", "5000", "--seed", "22", "--out", work / "book"], check=True, env=env, capture_output=True)
    subprocess.run([args.lapse, "nightly", "--data", work / "book", "--models", work / "models", "--out", work / "reports", "--as-of", "2026-09-30"], env=env, capture_output=True)
    server = subprocess.Popen(
        [args.lapse, "serve", "--models", work / "models", "--snapshot", work / "reports" / "snapshot.parquet", "--addr", "127.0.0.1:0",
         "--score-log", work / "score-log", "--campaigns", work / "campaigns"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**env, "LAPSE_SCORE_TOKEN": SCORE, "LAPSE_ADMIN_TOKEN": ADMIN})
    port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
    pid = server.pid
    time.sleep(1)
    idle = status_kb(pid, "VmRSS")
    print(f"idle: {idle / 1024:.0f} MiB resident")

    # 1. Inline records with a new column name on every event row.
    for size_kb in (56, 84, 210, 450, 3900):
        rows, body = [], ""
        i = 0
        while len(body) < size_kb * 1024:
            rows.append(f'{{"policy_id":"P1","event_date":"2026-01-01","event_type":"sms","c{i}":1}}')
            i += 1
            if i % 200 == 0:
                body = '{"records":{"as_of":"2026-09-30","customers":[],"policies":[],"installments":[],"events":[' + ",".join(rows) + "]}}"
        status, answer = request(port, "POST", "/v1/score", body)
        print(f"inline body {len(body) / 1024:.0f} KB with {i} column names: {status} {json.loads(answer)['code']}; peak {status_kb(pid, 'VmHWM') / 1024:.0f} MiB")

    # 2. 3,000 requests with different 100 KB methods to an unknown path, no token.
    rng = random.Random(22)
    refused = 0
    for n in range(3000):
        method = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(16)) * 6400
        try:
            status, _ = request(port, method, "/nowhere", token=None, timeout=10)
            refused += status >= 400
        except (http.client.HTTPException, OSError):
            refused += 1
    status, page = request(port, "GET", "/metrics", token=None)
    print(f"3,000 odd 100 KB methods: all refused {refused == 3000}; metrics page {len(page)} bytes; resident {status_kb(pid, 'VmRSS') / 1024:.0f} MiB, peak {status_kb(pid, 'VmHWM') / 1024:.0f} MiB")

    # 3. 300 silent connections, then /healthz; how long until they are closed.
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
    started = time.time()
    status, _ = request(port, "GET", "/healthz", token=None, timeout=5)
    print(f"/healthz with 300 silent connections open: {status} in {time.time() - started:.3f} s")
    still_open = sum(closed_within(s, 30 - (time.time() - started)) is None for s in silent)
    print(f"all 300 silent connections closed {time.time() - started:.1f} s after they opened (header timeout 10 s); still open: {still_open}")
    for s in silent:
        s.close()

    # 4. Campaign names and an oversized request id.
    codes = {}
    for n in range(2000):
        status, answer = request(port, "GET", f"/v1/queue?capacity=50&limit=1&campaign=attack{n}&holdout=0.5")
        codes[status] = codes.get(status, 0) + 1
        if status == 429 and codes[429] >= 200:
            break
    campaigns_bytes = sum(f.stat().st_size for f in (work / "campaigns").iterdir())
    big_id = "i" * 100_000
    before = sum(f.stat().st_size for f in (work / "score-log").iterdir())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/v1/queue?limit=1000&capacity=1000", headers={"Authorization": f"Bearer {SCORE}", "x-request-id": big_id})
    r = conn.getresponse()
    r.read()
    echoed = r.getheader("x-request-id")
    conn.close()
    time.sleep(1.5)
    after = sum(f.stat().st_size for f in (work / "score-log").iterdir())
    print(f"campaign names: {codes}; campaigns directory {campaigns_bytes / 1e6:.2f} MB; "
          f"a 100 KB x-request-id answered with id {echoed!r} and added {(after - before) / 1e6:.2f} MB to the score log for 1,000 scores")

    # 5. SIGTERM with a half-sent request open.
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"renew")
    time.sleep(0.3)
    peak = status_kb(pid, "VmHWM")
    started = time.time()
    server.send_signal(signal.SIGTERM)
    server.wait(60)
    print(f"SIGTERM with a half-sent request open: exited {server.returncode} after {time.time() - started:.2f} s")
    print(f"peak resident over the whole run: {peak / 1024:.0f} MiB (idle {idle / 1024:.0f} MiB, +{(peak - idle) / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
