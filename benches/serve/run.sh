#!/usr/bin/env bash
# Load benchmark of `lapse serve` with real load generators on loopback (issue 4).
#
#   bash benches/serve/run.sh            # needs wrk (apt-get install wrk) and oha (cargo install oha)
#
# Phase A, a 1,000,000-renewal snapshot: server memory; batches of 100 keys (wrk, random keys);
# single keys at max rate (wrk) and at a fixed 2,000 requests/s (oha, latency-corrected); work-list
# pages (total and per-action capacities).
# Phase B, a 60,000-policy book's snapshot: inline raw records (features built per request);
# a reload every second during a load run.
# Data is generated once into $LAPSE_BENCH_DIR (default $CARGO_TARGET_DIR/bench-books/serve).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/benches/serve"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/lapse-target}
WORK=${LAPSE_BENCH_DIR:-$CARGO_TARGET_DIR/bench-books}/serve
SECONDS_PER_RUN=${LAPSE_BENCH_SECONDS:-30}
PORT=${LAPSE_BENCH_PORT:-18181}
BASE="http://127.0.0.1:$PORT"
TOKEN=bench-score-token
ADMIN=bench-admin-token
export LAPSE_SCORE_TOKEN=$TOKEN LAPSE_ADMIN_TOKEN=$ADMIN LAPSE_LOG=warn

for tool in wrk curl python3; do
  command -v "$tool" > /dev/null || { echo "this benchmark needs $tool on PATH" >&2; exit 1; }
done
# oha (the fixed-rate, latency-corrected run) is optional: `cargo install oha` takes minutes.
HAVE_OHA=0
command -v oha > /dev/null && HAVE_OHA=1 || echo "oha not on PATH: the fixed-rate run is skipped" >&2
cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" 2>&1 | tail -1
BIN="$CARGO_TARGET_DIR/release/lapse"
mkdir -p "$WORK"

echo "== data (cached in $WORK)"
[ -f "$WORK/book/policies.csv" ] || "$BIN" generate --policies 60000 --seed 5 --out "$WORK/book"
[ -f "$WORK/train.parquet" ] || "$BIN" features --data "$WORK/book" --as-of 2025-07-31..2026-06-30 --every 1mo --out "$WORK/train.parquet"
[ -f "$WORK/models/CHAMPION" ] || "$BIN" train --features "$WORK/train.parquet" --model gbdt --models "$WORK/models" --promote
[ -f "$WORK/snapshot.parquet" ] || "$BIN" features --data "$WORK/book" --as-of 2026-09-01 --out "$WORK/snapshot.parquet"
[ -f "$WORK/book-2500k/policies.parquet" ] || "$BIN" generate --policies 2500000 --seed 1 --format parquet --out "$WORK/book-2500k"
# The next renewal of every policy in force of a 2.5M-policy book due within a year: 1,004,303
# renewals at risk in one snapshot.
[ -f "$WORK/snapshot-1m.parquet" ] || "$BIN" features --data "$WORK/book-2500k" --as-of 2026-09-01 --horizon-days 365 --out "$WORK/snapshot-1m.parquet"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2> /dev/null || true; wait "$SERVER_PID" 2> /dev/null || true; SERVER_PID=; fi
}
trap stop_server EXIT

start_server() { # snapshot
  rm -rf "$WORK/score-log" "$WORK"/store.sqlite*
  local started=$(date +%s.%N)
  "$BIN" serve --models "$WORK/models" --snapshot "$1" --addr "127.0.0.1:$PORT" --score-log "$WORK/score-log" --store "sqlite://$WORK/store.sqlite" > "$WORK/server.out" 2> "$WORK/server.err" &
  SERVER_PID=$!
  until grep -q "listening on" "$WORK/server.out" 2> /dev/null; do
    kill -0 "$SERVER_PID" 2> /dev/null || { cat "$WORK/server.err"; exit 1; }
    sleep 0.2
  done
  echo "server up in $(echo "$(date +%s.%N) - $started" | bc) s: $(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/v1/models/current" | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["snapshot"]; print(d["version"], d["family"], s["renewals"], "renewals, scored and explained in", round(s["load_seconds"], 2), "s")')"
}

memory() { # label
  echo "server memory ($1): $(grep -E 'VmHWM|VmRSS' /proc/$SERVER_PID/status | tr -s ' \t' ' ' | tr '\n' ' ')"
}

summary() { # label rows-per-request wrk-output-file
  python3 - "$1" "$2" "$3" << 'EOF'
import re, sys
label, rows, text = sys.argv[1], float(sys.argv[2]), open(sys.argv[3]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(pct):
    m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
print(f"RESULT {label}: {rps:,.0f} requests/s = {rps * rows:,.0f} renewals/s; p50 {ms(50):.2f} ms, p99 {ms(99):.2f} ms; "
      f"non-2xx {non2xx.group(1) if non2xx else 0}; socket errors {errors.group(1) if errors else 'none'}")
EOF
}

echo "== phase A: 1M-renewal snapshot"
start_server "$WORK/snapshot-1m.parquet"
memory "after load"
[ -s "$WORK/keys-1m.jsonl" ] || python3 "$HERE/prepare.py" keys "$BASE" "$TOKEN" "$WORK/keys-1m.jsonl"
memory "after paging the whole work list"

wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" --latency -s "$HERE/batch.lua" "$BASE" -- "$WORK/keys-1m.jsonl" 100 "$TOKEN" > "$WORK/wrk-batch100.txt"
cat "$WORK/wrk-batch100.txt"
summary "batch of 100 keys (wrk -t1 -c32)" 100 "$WORK/wrk-batch100.txt"
memory "after batch run"

wrk -t1 -c16 -d"${SECONDS_PER_RUN}s" --latency -s "$HERE/batch.lua" "$BASE" -- "$WORK/keys-1m.jsonl" 1 "$TOKEN" > "$WORK/wrk-single.txt"
summary "single key, max rate (wrk -t1 -c16)" 1 "$WORK/wrk-single.txt"

# The work list: a page of 100 from a total capacity (a filtered walk of the sorted list), and a
# page of 100 under per-action capacities (an exact assignment over every matching renewal of the
# 1M-renewal snapshot, per request).
wrk -t1 -c4 -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/v1/queue?capacity=2500&limit=100" > "$WORK/wrk-queue.txt"
summary "queue page of 100, capacity 2500 (wrk -t1 -c4)" 100 "$WORK/wrk-queue.txt"
wrk -t1 -c2 -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/v1/queue?capacity=visit:300,call:800,sms:5000&limit=100" > "$WORK/wrk-queue-assign.txt"
summary "queue page of 100, per-action capacities over 1M renewals (wrk -t1 -c2)" 100 "$WORK/wrk-queue-assign.txt"

if [ "$HAVE_OHA" = 1 ]; then
# 20,000 single-key bodies drawn at random (seeded), one per line; oha sends them in turn.
shuf -n 20000 --random-source=<(yes) "$WORK/keys-1m.jsonl" | sed 's/^/{"renewals":[/; s/$/]}/' > "$WORK/single-bodies.jsonl"
oha -z "${SECONDS_PER_RUN}s" -q 2000 -c 16 --latency-correction --no-tui --output-format json --worker-threads 1 \
  -m POST -H "Authorization: Bearer $TOKEN" -T application/json -Z "$WORK/single-bodies.jsonl" \
  "$BASE/v1/score" > "$WORK/oha-single-2000.json"
python3 - "$WORK/oha-single-2000.json" << 'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
print(f"RESULT single key at 2,000/s (oha -q 2000 -c 16, latency-corrected): {s['requestsPerSec']:,.0f} requests/s; "
      f"p50 {p['p50'] * 1000:.2f} ms, p99 {p['p99'] * 1000:.2f} ms, p99.9 {p['p99.9'] * 1000:.2f} ms; status codes {codes}; "
      f"errors {d.get('errorDistribution', {})}")
EOF
fi
memory "end of phase A"
echo "score log: $(cat "$WORK"/score-log/*.jsonl | wc -l) lines, $(du -sh "$WORK/score-log" | cut -f1)"
stop_server

echo "== phase B: 60k-policy book"
start_server "$WORK/snapshot.parquet"
for CUSTOMERS in 1 10 50; do
  [ -s "$WORK/inline-$CUSTOMERS.jsonl" ] || python3 "$HERE/prepare.py" inline "$WORK/book" 2026-09-01 "$CUSTOMERS" 300 "$BASE" "$TOKEN" "$WORK/inline-$CUSTOMERS.jsonl" > "$WORK/inline-$CUSTOMERS.txt"
  cat "$WORK/inline-$CUSTOMERS.txt"
  PER_BODY=$(grep -o 'mean renewals per body [0-9.]*' "$WORK/inline-$CUSTOMERS.txt" | awk '{print $5}')
  wrk -t1 -c8 -d"${SECONDS_PER_RUN}s" --latency -s "$HERE/bodies.lua" "$BASE" -- "$WORK/inline-$CUSTOMERS.jsonl" "$TOKEN" > "$WORK/wrk-inline-$CUSTOMERS.txt"
  summary "inline records, $CUSTOMERS customer(s) per request, $(du -k "$WORK/inline-$CUSTOMERS.jsonl" | awk -v n=300 '{printf "%.0f", $1/n}') KiB a body (wrk -t1 -c8)" "$PER_BODY" "$WORK/wrk-inline-$CUSTOMERS.txt"
done

[ -s "$WORK/keys-60k.jsonl" ] || python3 "$HERE/prepare.py" keys "$BASE" "$TOKEN" "$WORK/keys-60k.jsonl"
rm -f "$WORK/reloads.txt"
( for _ in $(seq 1 "$SECONDS_PER_RUN"); do
    curl -s -o /dev/null -w "%{http_code}\n" -X POST -H "Authorization: Bearer $ADMIN" "$BASE/v1/admin/reload" >> "$WORK/reloads.txt"
    sleep 1
  done ) &
RELOADER=$!
wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" --latency -s "$HERE/batch.lua" "$BASE" -- "$WORK/keys-60k.jsonl" 100 "$TOKEN" > "$WORK/wrk-reload.txt"
wait "$RELOADER"
summary "batch of 100 keys while reloading every second" 100 "$WORK/wrk-reload.txt"
echo "RESULT reloads: $(grep -c '^200$' "$WORK/reloads.txt") of $(wc -l < "$WORK/reloads.txt") answered 200; lapse_reloads_total: $(curl -s "$BASE/metrics" | grep '^lapse_reloads_total' | tr '\n' ' ')"
stop_server
