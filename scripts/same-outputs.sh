#!/usr/bin/env bash
# Runs the README's pipeline (and the hand-run commands) with one `lapse` binary and prints a
# digest of every output: byte digests for tables, models and snapshots; for JSON reports the
# digest after removing what a clock decides (times, durations). Two binaries that print the
# same digests produce the same outputs. Used to check that a refactor changes no behaviour:
#
#   bash scripts/same-outputs.sh OLD_BIN /tmp/old > old.txt
#   bash scripts/same-outputs.sh NEW_BIN /tmp/new > new.txt
#   diff old.txt new.txt
set -euo pipefail
BIN=$1
OUT=$(realpath -m "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$OUT" && mkdir -p "$OUT"
run() { "$BIN" "$@" > /dev/null 2>> "$OUT/stderr.log"; }
export LAPSE_LOG=warn NO_COLOR=1
run generate --policies 20000 --out "$OUT/book"
run generate --policies 400 --seed 7 --format parquet --out "$OUT/book-parquet"
# The README's first command (without cargo), then a second night.
set +e
"$BIN" nightly --data "$OUT/book" --models "$OUT/models" --out "$OUT/reports" --as-of 2026-08-31 > "$OUT/night1.txt" 2>> "$OUT/stderr.log"; echo "night 1 exit $?"
"$BIN" nightly --data "$OUT/book" --models "$OUT/models" --out "$OUT/reports" --as-of 2026-09-30 > "$OUT/night2.txt" 2>> "$OUT/stderr.log"; echo "night 2 exit $?"
set -e
BOOK="$ROOT/training-data-samples/book"
run features --data "$BOOK" --as-of 2024-09-30..2026-06-30 --every 1mo --out "$OUT/train.parquet"
run features --data "$BOOK" --as-of 2025-09-30..2026-06-30 --every 1mo --out "$OUT/train.csv"
run features --data "$BOOK" --as-of 2026-09-30 --out "$OUT/snapshot.parquet"
run train --features "$OUT/train.parquet" --model auto --models "$OUT/hand-models"
run train --features "$OUT/train.csv" --model logistic --validation kfold --models "$OUT/hand-models"
run drift --model champion --models "$OUT/hand-models" --current "$OUT/snapshot.parquet" --out "$OUT/drift.json"
run drift --reference "$OUT/train.parquet" --current "$OUT/snapshot.parquet" --out "$OUT/drift-tables.json"
run persistency --data "$BOOK" --out "$OUT/persistency.json"
# Work lists: an exact assignment per action, and a campaign with a holdout (flags given in
# full, so binaries with other defaults list the same).
run queue --models "$OUT/hand-models" --snapshot "$OUT/snapshot.parquet" --capacity visit=50,call=100,sms=300 --out "$OUT/queue-per-action.csv"
run queue --models "$OUT/hand-models" --snapshot "$OUT/snapshot.parquet" --capacity 400 --campaign same-outputs --holdout 0.2 \
    --campaigns "$OUT/campaigns" --out "$OUT/queue-campaign.csv"
"$BIN" catalog --format json > "$OUT/catalog.json"
"$BIN" catalog > "$OUT/catalog.md"
"$BIN" openapi > "$OUT/openapi.json"
python3 - "$OUT" << 'PY'
import hashlib, json, os, sys
out = sys.argv[1]
CLOCK = {"created_at", "started_at", "finished_at", "generated_at", "decided_at", "fit_seconds", "search_seconds", "seconds", "steps", "load_seconds", "trained_at"}
def scrub(v):
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in CLOCK}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v
for d, _, files in sorted(os.walk(out)):
    for f in sorted(files):
        p = os.path.join(d, f)
        rel = os.path.relpath(p, out)
        if f in ("stderr.log",) or f.endswith((".html", ".md", ".txt")) and f not in ("catalog.md",):
            continue
        # The output directory differs between runs: written as OUT.
        data = open(p, "rb").read().replace(os.path.abspath(out).encode(), b"OUT")
        if f.endswith(".json"):
            data = json.dumps(scrub(json.loads(data)), sort_keys=True).encode()
        elif f.endswith(".jsonl"):
            data = b"\n".join(json.dumps(scrub(json.loads(l)), sort_keys=True).encode() for l in data.splitlines() if l.strip())
        print(hashlib.sha256(data).hexdigest()[:16], rel)
PY
