# Timing helpers for the benchmarks (source it; needs $REPO and $WORK).

# time_cmd LABEL CMD [ARGS...]: runs CMD (stdout discarded, stderr shown only if it fails)
# and appends "<wall seconds> <peak RSS KiB>" to $WORK/times.LABEL.
time_cmd() {
  local label=$1
  shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%e %M' -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/stderr.out" || { cat "$WORK/stderr.out" >&2; return 1; }
  else
    node "$REPO/bench/lib/time-cmd.mjs" "$WORK/time.out" "$@" >/dev/null 2>"$WORK/stderr.out" || { cat "$WORK/stderr.out" >&2; return 1; }
  fi
  cat "$WORK/time.out" >>"$WORK/times.$label"
}

# summary LABEL: "min median peak-RSS-MiB" over the runs recorded for LABEL.
summary() {
  sort -n "$WORK/times.$1" | awk '
    { wall[NR] = $1; if ($2 > rss) rss = $2 }
    END { med = (NR % 2) ? wall[(NR + 1) / 2] : (wall[NR / 2] + wall[NR / 2 + 1]) / 2
          printf "%.2f %.2f %.0f\n", wall[1], med, rss / 1024 }'
}

div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
