#!/usr/bin/env bash
# Boosting speed against LightGBM, whole process, paired runs (issue 13, part 5).
#
#   bash benches/gbdt_speed.sh [POLICIES]   # default 200000; needs lightgbm, polars, pandas,
#                                           # scikit-learn in $LAPSE_VENV (or python3)
#
# Builds (once, cached under $CARGO_TARGET_DIR/bench-books/gbdt) a generated book and its
# stacked table of 12 monthly snapshots, then alternates 5 times: `lapse train --model gbdt
# --no-refit` (read, out-of-time fit on the earlier snapshots, predict and calibrate the held-out
# ones, register) and `benches/gbdt_peer.py` (Python: import, read the same Parquet, the same
# training rows, LightGBM at the same settings, predict the held-out rows). Prints each run and
# the medians.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
POLICIES="${1:-200000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lapse-target}"
PY="${LAPSE_VENV:-$HOME/.cache/lapse-venv}/bin/python"
[ -x "$PY" ] || PY=python3
cargo build --release --quiet
B="$CARGO_TARGET_DIR/release/lapse"
W="$CARGO_TARGET_DIR/bench-books/gbdt-$POLICIES"
mkdir -p "$W"
if [ ! -f "$W/train.parquet" ]; then
  LAPSE_LOG=warn "$B" generate --policies "$POLICIES" --seed 42 --format parquet --out "$W/book" >/dev/null
  LAPSE_LOG=warn "$B" features --data "$W/book" --as-of 2025-04-30..2026-03-31 --every 1mo --out "$W/train.parquet" >/dev/null
fi
ours=(); theirs=()
for i in 1 2 3 4 5; do
  rm -rf "$W/models"
  s=$(date +%s.%N); LAPSE_LOG=warn "$B" train --features "$W/train.parquet" --model gbdt --no-refit --models "$W/models" | grep kept; e=$(date +%s.%N)
  ours+=("$(echo "$e - $s" | bc)")
  s=$(date +%s.%N); "$PY" benches/gbdt_peer.py "$W/train.parquet"; e=$(date +%s.%N)
  theirs+=("$(echo "$e - $s" | bc)")
  echo "run $i: lapse ${ours[-1]} s, LightGBM ${theirs[-1]} s"
done
median() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
echo "median of 5: lapse $(median "${ours[@]}") s, python + LightGBM $(median "${theirs[@]}") s"
