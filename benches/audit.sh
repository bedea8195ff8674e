#!/usr/bin/env bash
# The data-quality audit benchmark (issue 26): a pair of extracts of an N-policy book (yesterday:
# the generated Parquet book; today: the same with changes in known numbers, by
# benches/audit_changes.py), audited by the release binary under /usr/bin/time -v, from
# yesterday's files and from yesterday's fingerprint.
#
#   bash benches/audit.sh [N]        default: 10000000 (target: < 3 min, < 8 GiB)
#
# Uses $LAPSE_SCALE_DIR (default /tmp/lapse-scale): the book of benches/scale.sh is reused when
# it is there. Needs the notebooks' virtualenv (polars) at $LAPSE_VENV (default
# ~/.cache/lapse-venv) for the changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lapse-target}"
cargo build --release --locked --quiet
BIN="$CARGO_TARGET_DIR/release/lapse"
WORK="${LAPSE_SCALE_DIR:-/tmp/lapse-scale}"
VENV="${LAPSE_VENV:-$HOME/.cache/lapse-venv}"
N="${1:-10000000}"
mkdir -p "$WORK"
source "$(dirname "${BASH_SOURCE[0]}")/measure.sh"
[ -d "$WORK/book-$N" ] || measure "generate-$N" "$BIN" generate --policies "$N" --format parquet --out "$WORK/book-$N"
rm -rf "$WORK/today-$N"
"$VENV/bin/python" benches/audit_changes.py "$WORK/book-$N" "$WORK/today-$N"
measure "audit-files-$N" "$BIN" audit --data "$WORK/today-$N" --previous "$WORK/book-$N" --out "$WORK/audit-$N.json"
grep -E "^(late_entry|changed|vanished|status|amount)" "$WORK/audit-files-$N.log"
# What a night does: the audit, then tonight's fingerprint in a second pass.
measure "audit+fingerprint-$N" "$BIN" audit --data "$WORK/book-$N" --previous "$WORK/book-$N" --fingerprint-out "$WORK/yesterday-$N.fp"
measure "audit-from-fingerprint-$N" "$BIN" audit --data "$WORK/today-$N" --previous "$WORK/yesterday-$N.fp" --out "$WORK/audit-fp-$N.json"
cmp <(grep -o '"rows": *[0-9]*' "$WORK/audit-$N.json") <(grep -o '"rows": *[0-9]*' "$WORK/audit-fp-$N.json") && echo "the fingerprint gives the counts the files give"
ls -la "$WORK/yesterday-$N.fp" | awk '{printf "fingerprint of the %s-policy extract: %.0f MB\n", "'"$N"'", $5/1e6}'
du -sbL "$WORK/book-$N" | awk '{printf "the extract itself: %.0f MB\n", $1/1e6}'
