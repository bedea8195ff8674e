#!/usr/bin/env bash
# Outcome recording and the work list with outcomes (issue 24):
#   bash benches/serve/outcomes.sh     # needs wrk; the data of benches/serve/run.sh (made if missing)
# 1. POST /v1/outcomes in batches of 100 new outcomes, SQLite store (WAL, full sync), then the
#    same on a PostgreSQL store (a throwaway local cluster, scripts/postgres.sh).
# 2. GET /v1/queue on the 1,004,303-renewal snapshot with an empty store (and the exact
#    per-action assignment over it), then with 100,000 recorded outcomes (for customers of that
#    snapshot). LAPSE_BENCH_ONLY_QUEUE=1 runs this part alone.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/benches/serve"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/lapse-target}
WORK=${LAPSE_BENCH_DIR:-$CARGO_TARGET_DIR/bench-books}/serve
SECONDS_PER_RUN=${LAPSE_BENCH_SECONDS:-20}
PORT=${LAPSE_BENCH_PORT:-18183}
BASE="http://127.0.0.1:$PORT"
TOKEN=bench-score-token
export LAPSE_SCORE_TOKEN=$TOKEN LAPSE_ADMIN_TOKEN=bench-admin-token LAPSE_LOG=warn
cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" 2>&1 | tail -1
BIN="$CARGO_TARGET_DIR/release/lapse"
[ -f "$WORK/snapshot-1m.parquet" ] && [ -s "$WORK/keys-1m.jsonl" ] && [ -s "$WORK/keys-60k.jsonl" ] || {
  echo "run benches/serve/run.sh once first (it makes the books, models, snapshots and key files)" >&2
  exit 1
}

SERVER_PID=
stop_server() { if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2> /dev/null || true; wait "$SERVER_PID" 2> /dev/null || true; SERVER_PID=; fi; }
PG=
cleanup() { stop_server; [ -n "$PG" ] && bash "$ROOT/scripts/postgres.sh" stop "$PG/cluster" || true; }
trap cleanup EXIT
start_server() { # snapshot store-url
  "$BIN" serve --models "$WORK/models" --snapshot "$1" --addr "127.0.0.1:$PORT" --no-score-log --store "$2" > "$WORK/outcomes-server.out" 2> "$WORK/outcomes-server.err" &
  SERVER_PID=$!
  until grep -q "listening on" "$WORK/outcomes-server.out" 2> /dev/null; do
    kill -0 "$SERVER_PID" 2> /dev/null || { cat "$WORK/outcomes-server.err"; exit 1; }
    sleep 0.2
  done
}
rate() { # label wrk-output
  python3 - "$1" "$2" << 'PY'
import re, sys
label, text = sys.argv[1], open(sys.argv[2]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(pct):
    m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"RESULT {label}: {rps:,.1f} requests/s = {rps * 100:,.0f} outcomes/s; p50 {ms(50):.2f} ms, p99 {ms(99):.2f} ms; non-2xx {non2xx.group(1) if non2xx else 0}")
PY
}
queue_time() { # label
  wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/v1/queue?capacity=2500&limit=100" > "$WORK/wrk-queue-outcomes.txt"
  python3 - "$1" "$WORK/wrk-queue-outcomes.txt" << 'PY'
import re, sys
label, text = sys.argv[1], open(sys.argv[2]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", text)
print(f"RESULT queue page of 100 {label}: {rps:,.1f} requests/s, {1000 / rps:.1f} ms a request; p50 {p50.group(1)}{p50.group(2)}")
PY
}

if [ "${LAPSE_BENCH_ONLY_QUEUE:-0}" != 1 ]; then
echo "== 1. recording outcomes, batches of 100 (wrk -t1 -c4)"
rm -f "$WORK"/outcomes-bench.sqlite*
start_server "$WORK/snapshot.parquet" "sqlite://$WORK/outcomes-bench.sqlite"
wrk -t1 -c4 -d"${SECONDS_PER_RUN}s" --latency -s "$HERE/outcomes.lua" "$BASE" -- "$WORK/keys-60k.jsonl" 100 "$TOKEN" sqlite > "$WORK/wrk-outcomes-sqlite.txt"
rate "POST /v1/outcomes, SQLite" "$WORK/wrk-outcomes-sqlite.txt"
stop_server
PG=$(mktemp -d)
PG_URL=$(bash "$ROOT/scripts/postgres.sh" start "$PG/cluster" "${LAPSE_PG_PORT:-55433}")
start_server "$WORK/snapshot.parquet" "$PG_URL"
wrk -t1 -c4 -d"${SECONDS_PER_RUN}s" --latency -s "$HERE/outcomes.lua" "$BASE" -- "$WORK/keys-60k.jsonl" 100 "$TOKEN" postgres > "$WORK/wrk-outcomes-pg.txt"
rate "POST /v1/outcomes, PostgreSQL" "$WORK/wrk-outcomes-pg.txt"
stop_server
fi

echo "== 2. the work list of the 1M-renewal snapshot, without and with 100,000 outcomes"
rm -f "$WORK"/outcomes-queue.sqlite*
start_server "$WORK/snapshot-1m.parquet" "sqlite://$WORK/outcomes-queue.sqlite"
queue_time "with no outcome"
# The contact-grouped exact assignment over the whole snapshot (per-action capacities).
for i in 1 2 3; do
  curl -s -o /dev/null -w "RESULT queue with per-action capacities visit:300,call:800,sms:5000 (exact assignment over 1M renewals): %{time_total} s\n" \
    -H "Authorization: Bearer $TOKEN" "$BASE/v1/queue?capacity=visit:300,call:800,sms:5000&limit=100"
done
python3 - "$BASE" "$TOKEN" "$WORK/keys-1m.jsonl" << 'PY'
import json, random, sys, time, urllib.request
base, token, keys_file = sys.argv[1], sys.argv[2], sys.argv[3]
keys = [json.loads(l) for l in open(keys_file)]
rng = random.Random(3)
results = [{"result": "no_answer"}, {"result": "reached"}, {"result": "wrong_number"},
           {"result": "refused", "reason": "cannot_afford"}, {"result": "promised", "promised_date": "2026-09-20"}]
started = time.time()
for b in range(1000):
    batch = [dict(id=f"q-{b}-{i}", action=rng.choice(["call", "sms", "visit"]), at="2026-08-31T10:00:00+08:00", **rng.choice(keys), **rng.choice(results))
             for i in range(100)]
    req = urllib.request.Request(f"{base}/v1/outcomes", data=json.dumps({"outcomes": batch}).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=60).read()
print(f"recorded 100,000 outcomes in {time.time() - started:.1f} s (one client, sequential)")
PY
queue_time "with 100,000 outcomes"
held=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/v1/queue?capacity=2500&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["held_back"])')
echo "held back on that list: $held"
stop_server
