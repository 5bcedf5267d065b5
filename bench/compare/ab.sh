#!/usr/bin/env bash
# bench/compare/ab.sh: the same throughput scenario against two notify-service binaries, run
# alternately in one sitting, so a change can be told from this machine's run-to-run spread.
#
#   bash bench/compare/ab.sh OLD_NOTIFY NEW_NOTIFY [--rounds K] [--subscribers N] [--messages M]
#
# Each run starts a fresh pair (the given notify-service and build-bench's message-service, new
# DATA_DIR) on free ports on 127.0.0.1, holds N streams (default 10,000), posts M messages (default
# 300) as fast as 8 publishers go on the real path (POST /messages), and prints deliveries/s, idle
# RSS per stream (both services summed, as bench/compare reports it) and lost/duplicated; then the
# medians per binary. Build the old binary from a worktree, e.g.
#   git worktree add /tmp/old <commit> && cmake -S /tmp/old -B /tmp/old/b -DCMAKE_BUILD_TYPE=Release
#   cmake --build /tmp/old/b --target notify-service
# Every run is bounded (60 s); everything started here is stopped by PID.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/bench/common.sh"
build="${BUILD_DIR:-$root/build-bench}"
[ $# -ge 2 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
old_bin="$1" new_bin="$2"
shift 2
rounds=3 subscribers=10000 messages=300
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?}"; shift 2 ;;
    --subscribers) subscribers="${2:?}"; shift 2 ;;
    --messages) messages="${2:?}"; shift 2 ;;
    *) echo "ab: unknown argument $1" >&2; exit 2 ;;
  esac
done
for bin in "$old_bin" "$new_bin"; do [ -x "$bin" ] || { echo "ab: no binary $bin" >&2; exit 2; }; done
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target message-service sse_load >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_one() {  # LABEL NOTIFY_BIN -> one line "LABEL rate rss lost dup" in $work/results
  local label="$1" bin="$2" dir notify_port message_port notify_pid message_pid
  dir="$(mktemp -d -p "$work")"
  mkdir -p "$dir/data"
  PORT=0 BIND_ADDRESS=127.0.0.1 MAX_SUBSCRIBERS=$((subscribers + 2000)) \
    MESSAGE_SERVICE_URL=http://127.0.0.1:1 "$bin" >"$dir/notify.log" 2>&1 &
  notify_pid=$!
  pids=("$notify_pid")
  notify_port=$(port_of_log "$dir/notify.log") || { echo "ab: notify-service did not start" >&2; return 1; }
  PORT=0 BIND_ADDRESS=127.0.0.1 DATA_DIR="$dir/data" \
    NOTIFICATION_SERVICE_URL="http://127.0.0.1:$notify_port" \
    "$build/message-service/message-service" >"$dir/message.log" 2>&1 &
  message_pid=$!
  pids+=("$message_pid")
  message_port=$(port_of_log "$dir/message.log") || { echo "ab: message-service did not start" >&2; return 1; }
  timeout --kill-after=5 90 "$build/bench/load/sse_load" --subscribers "$subscribers" \
    --messages "$messages" --publishers 8 --rate 0 --time-limit 60 --drain-ms 2000 \
    --path messages --notify "http://127.0.0.1:$notify_port" \
    --message "http://127.0.0.1:$message_port" --server-pid "$notify_pid" \
    --server-pid "$message_pid" >"$dir/out.txt" 2>"$dir/err.txt" || true
  kill -TERM "$notify_pid" "$message_pid" 2>/dev/null || true
  wait "$notify_pid" "$message_pid" 2>/dev/null || true
  pids=()
  grep '^{' "$dir/out.txt" | tail -n 1 >"$dir/report.json" || true
  local rate
  rate=$(json_field deliveries_per_s "$dir/report.json")
  printf '%s %.0f %s %s %s\n' "$label" "${rate:-0}" \
    "$(json_field server_rss_kb_per_subscriber "$dir/report.json")" \
    "$(json_field missing "$dir/report.json")" "$(json_field duplicated "$dir/report.json")" |
    tee -a "$work/results"
}

echo "label deliveries/s rss_kb_per_stream lost duplicated"
for round in $(seq "$rounds"); do
  run_one old "$old_bin"
  run_one new "$new_bin"
done
for label in old new; do  # medians per binary (the middle value; the lower middle for even K)
  awk -v label="$label" '$1 == label { rate[++n] = $2; runs = runs (n > 1 ? " / " : "") $2
                                       if ($3 != "null" && $3 != "") rss[++m] = $3 }
    function median(a, k,   i, j, t) {
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return k ? a[int((k + 1) / 2)] : "-"
    }
    END { printf "median %s: %s deliveries/s (runs %s), %s KB per idle stream\n", label,
          median(rate, n), runs, median(rss, m) }' "$work/results"
done
