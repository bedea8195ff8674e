# Sourced by the benchmark scripts: `measure LABEL COMMAND...` runs the command under
# /usr/bin/time -v into $WORK/LABEL.log and prints its wall time, peak RSS and exit code (a
# non-zero exit is printed, not fatal: a night that keeps its champion exits 3).
measure() {
  local label=$1; shift
  /usr/bin/time -v "$@" > "$WORK/$label.log" 2>&1 || true
  local wall peak code
  wall=$(grep "Elapsed (wall clock)" "$WORK/$label.log" | awk '{print $NF}')
  peak=$(grep "Maximum resident set size" "$WORK/$label.log" | awk '{printf "%.2f", $NF/1048576}')
  code=$(grep "Exit status" "$WORK/$label.log" | awk '{print $NF}')
  printf "%-28s wall %-9s peak %6s GiB  exit %s\n" "$label" "$wall" "$peak" "$code"
}
