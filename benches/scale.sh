#!/usr/bin/env bash
# The scale benchmark (issue 14): for each book size, generate a Parquet book (streamed) and run
# the first night on it, then the next night (which audits the extract against the first's
# fingerprint), each under /usr/bin/time -v; prints wall time and peak memory.
#
#   bash benches/scale.sh [SIZES...]        default: 1000000 5000000 10000000
#
# Uses the release binary ($CARGO_TARGET_DIR/release/lapse, built first) and a work directory
# ($LAPSE_SCALE_DIR, default /tmp/lapse-scale; a 10M-policy book is 0.75 GB of Parquet).
# Targets (BENCHMARKS.md, docs/scale.md): 10M generated in < 8 GiB; its night in < 15 min and
# < 16 GiB; the 1M night no slower than 66 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lapse-target}"
cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/lapse"
WORK="${LAPSE_SCALE_DIR:-/tmp/lapse-scale}"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1000000 5000000 10000000)
source "$(dirname "${BASH_SOURCE[0]}")/measure.sh"
mkdir -p "$WORK"
for n in "${SIZES[@]}"; do
  rm -rf "$WORK/book-$n" "$WORK/models-$n" "$WORK/reports-$n"
  measure "generate-$n" "$BIN" generate --policies "$n" --format parquet --out "$WORK/book-$n"
  measure "nightly-$n" "$BIN" nightly --data "$WORK/book-$n" --models "$WORK/models-$n" --out "$WORK/reports-$n" --as-of 2026-09-30
  grep -o 'step="[a-z-]*" seconds=[0-9.]*' "$WORK/nightly-$n.log" | sed 's/step=//; s/ seconds=/ /' | awk '{printf "    %-18s %7.1f s\n", $1, $2}'
  # The next night on the same extract: audited against the first night's fingerprint.
  measure "nightly-2-$n" "$BIN" nightly --data "$WORK/book-$n" --models "$WORK/models-$n" --out "$WORK/reports-$n" --as-of 2026-10-01
  grep -o 'step="[a-z-]*" seconds=[0-9.]*' "$WORK/nightly-2-$n.log" | sed 's/step=//; s/ seconds=/ /' | awk '{printf "    %-18s %7.1f s\n", $1, $2}'
done
