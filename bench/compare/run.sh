#!/usr/bin/env bash
# bench/compare: measures relay (message-service + notify-service, the real POST /messages path)
# against nginx + nchan with the same sse_load scenarios, and prints one table side by side.
#
#   bash bench/compare/run.sh [--runs K] [--quick] [--out DIR]
#   bash bench/compare/run.sh --report DIR [--quick]   # the table again from a kept --out DIR
#
# Builds in Release if needed, installs nginx-light + libnginx-mod-nchan if missing (without letting
# the package start a system nginx), starts a fresh server for every run on 127.0.0.1 (relay: new
# DATA_DIR and notify-service; nchan: new nginx with its own config, pid file and logs in a temp
# dir), runs each scenario K times per server (default 3), and prints medians. Every run is bounded
# in messages and seconds; everything started here is stopped by PID on exit. With --out DIR, the
# table, the per-run reports and compare.svg (the medians drawn by bench/compare/chart.sh) are kept
# there.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/bench/common.sh"
build="${BUILD_DIR:-$root/build-bench}"
runs=3
quick=0
out=""
report_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --report) report_dir="${2:?--report needs a directory}"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]?$ ]] || { echo "compare: --runs wants 1..99" >&2; exit 2; }

# --- scenarios -------------------------------------------------------------------------------
# Latency: 100 msg/s for 10 s from 4 publishers. Throughput: a bounded message count as fast as 8
# publishers can post, about half a million deliveries per run. POST: 64 publishers, no streams.
# floor-1000 (ours only): the latency load published straight to POST /notify, to show what the
# fan-out alone costs on this machine.
# Both servers get exactly the same arguments (publisher counts included).
sizes=(100 1000 5000 10000)
latency_seconds=10
declare -A throughput_messages=([100]=2000 [1000]=500 [5000]=100 [10000]=50)
post_messages=60000
time_limit=60
if [ "$quick" -eq 1 ]; then
  sizes=(100 1000)
  latency_seconds=2
  throughput_messages=([100]=300 [1000]=100)
  post_messages=300
  time_limit=30
  [ "$runs" -eq 3 ] && runs=1
fi
latency_publishers=4
throughput_publishers=8
post_publishers=64
floor_size=1000    # the fan-out floor scenario: ours only, straight to POST /notify
max_streams=12000  # notify-service's MAX_SUBSCRIBERS, above the largest size

# --- processes we start, and how they are stopped ------------------------------------------------
work="$(mktemp -d)"
chmod 755 "$work"  # nginx's workers run as an unprivileged user and read below it
started=()         # every pid started here; cleanup stops them
created_policy=0   # whether we wrote /usr/sbin/policy-rc.d (then we remove it)

cleanup() {
  local pid
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$created_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() {  # drops pids from `started` once they are stopped
  local keep=() pid gone
  for pid in "${started[@]}"; do
    for gone in "$@"; do [ "$pid" = "$gone" ] && continue 2; done
    keep+=("$pid")
  done
  started=("${keep[@]}")
}

stop_pids() {  # TERM, up to 15 s, then KILL; only pids this script started
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  forget "$@"
}

say() { echo "compare: $*" >&2; }

if [ -z "$report_dir" ]; then  # (the whole setup is skipped when only re-reading results)

# --- build and install -----------------------------------------------------------------------
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
bash "$root/scripts/install-deps.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
fi
grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" ||
  say "note: $build is not a Release build; numbers may be slower than they should be"
cmake --build "$build" -j "$(nproc)" --target message-service notify-service sse_load fanout_floor \
  >/dev/null
sse_load="$build/bench/load/sse_load"
fanout_floor="$build/bench/floor/fanout_floor"
notify_bin="$build/notify-service/notify-service"
message_bin="$build/message-service/message-service"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if ! installed nginx-light || ! installed libnginx-mod-nchan; then
  say "installing nginx-light libnginx-mod-nchan"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # Keeps the package from starting a system nginx on port 80; removed again on exit.
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${as_root[@]}" chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    nginx-light libnginx-mod-nchan >/dev/null
  if [ "$created_policy" -eq 1 ]; then
    "${as_root[@]}" rm -f /usr/sbin/policy-rc.d
    created_policy=0
  fi
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
nchan_module=/usr/lib/nginx/modules/ngx_nchan_module.so
[ -f "$nchan_module" ] || { say "no $nchan_module"; exit 1; }

# Streams need one descriptor each, in sse_load and in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile="$(ulimit -n)"
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((sizes[-1] + 500)) ]; then
  say "open-file limit $nofile is below $((sizes[-1] + 500)): the largest runs will fail to connect"
fi

# --- servers ----------------------------------------------------------------------------------
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

relay_pids=()
notify_port=""
message_port=""
start_relay() {  # fresh DATA_DIR and notify-service: message ids start at 1 again
  local dir="$1"
  mkdir -p "$dir/data"
  relay_pids=()
  # MESSAGE_SERVICE_URL serves resumes only, which these runs never make; port 1 keeps it from
  # reaching anyone else's message-service on the default port.
  PORT=0 BIND_ADDRESS=127.0.0.1 MAX_SUBSCRIBERS="$max_streams" \
    MESSAGE_SERVICE_URL=http://127.0.0.1:1 "$notify_bin" >"$dir/notify.log" 2>&1 &
  local notify_pid=$!
  started+=("$notify_pid")
  relay_pids=("$notify_pid")
  notify_port=$(port_of_log "$dir/notify.log") || { say "notify-service did not start"; return 1; }
  PORT=0 BIND_ADDRESS=127.0.0.1 DATA_DIR="$dir/data" \
    NOTIFICATION_SERVICE_URL="http://127.0.0.1:$notify_port" \
    "$message_bin" >"$dir/message.log" 2>&1 &
  local message_pid=$!
  started+=("$message_pid")
  relay_pids+=("$message_pid")
  message_port=$(port_of_log "$dir/message.log") || { say "message-service did not start"; return 1; }
}

nginx_pids=()
nchan_port=""
write_nginx_conf() {  # dir port
  cat >"$1/nginx.conf" <<EOF
# Minimal nginx + nchan for bench/compare: loopback only, everything under this directory.
load_module $nchan_module;
daemon off;
worker_processes auto;
worker_rlimit_nofile $nofile;
pid $1/nginx.pid;
error_log $1/error.log warn;
events {
  worker_connections 16384;
}
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $1/client_body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
  server {
    listen 127.0.0.1:$2;
    location = /pub/bench {
      nchan_publisher;
      nchan_channel_id bench;
    }
    location = /sub/bench {
      nchan_subscriber eventsource;
      nchan_channel_id bench;
      nchan_subscriber_first_message newest;
    }
  }
}
EOF
}

start_nchan() {  # a new nginx on a free port; nginx_pids = master then workers
  local dir="$1" attempt master workers
  mkdir -p "$dir"
  for attempt in 1 2 3 4 5; do
    nchan_port=$((20000 + RANDOM % 10000))  # below the ephemeral range sse_load's sockets use
    listening "$nchan_port" && continue
    write_nginx_conf "$dir" "$nchan_port"
    "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/nginx.out" 2>&1 &
    master=$!
    started+=("$master")
    for _ in $(seq 100); do
      listening "$nchan_port" && break
      kill -0 "$master" 2>/dev/null || break
      sleep 0.05
    done
    if listening "$nchan_port" && kill -0 "$master" 2>/dev/null; then
      for _ in $(seq 50); do
        workers=$(pgrep -P "$master" | tr '\n' ' ')
        [ "$(wc -w <<<"$workers")" -ge "$(nproc)" ] && break
        sleep 0.05
      done
      nginx_pids=("$master" $workers)
      return 0
    fi
    stop_pids "$master"
    say "nginx attempt $attempt on port $nchan_port failed: $(tail -n 2 "$dir/error.log" 2>/dev/null)"
  done
  return 1
}

fi

# --- one run --------------------------------------------------------------------------------

# run_one SERVER SCENARIO RUN SUBSCRIBERS MESSAGES PUBLISHERS RATE
run_one() {
  local server="$1" scenario="$2" run="$3" subs="$4" messages="$5" publishers="$6" rate="$7"
  local name="$server-$scenario-$run" dir="$work/$server-$scenario-$run" rc=0
  local args=(--subscribers "$subs" --messages "$messages" --publishers "$publishers"
              --rate "$rate" --time-limit "$time_limit" --drain-ms 2000)
  local pids=() pid
  mkdir -p "$dir"
  if [ "$server" = ours ]; then
    if ! start_relay "$dir"; then
      echo 98 >"$results/$name.rc"
      stop_pids "${relay_pids[@]}"
      return
    fi
    pids=("${relay_pids[@]}")
    if [ "${scenario#floor-}" != "$scenario" ]; then
      # The fan-out floor: the same load published straight to POST /notify (no store, no
      # forwarder), so what is left is notify-service writing every stream.
      args+=(--path notify --notify "http://127.0.0.1:$notify_port")
    else
      args+=(--path messages --notify "http://127.0.0.1:$notify_port"
             --message "http://127.0.0.1:$message_port")
    fi
  else
    if ! start_nchan "$dir"; then
      echo 98 >"$results/$name.rc"
      return
    fi
    pids=("${nginx_pids[@]}")
    args+=(--target nchan --sub-url "http://127.0.0.1:$nchan_port/sub/bench"
           --pub-url "http://127.0.0.1:$nchan_port/pub/bench")
  fi
  for pid in "${pids[@]}"; do args+=(--server-pid "$pid"); done
  timeout --kill-after=5 $((time_limit + 30)) "$sse_load" "${args[@]}" >"$dir/sse_load.out" \
    2>"$dir/sse_load.err" &
  local load_pid=$!
  started+=("$load_pid")
  wait "$load_pid" || rc=$?
  forget "$load_pid"
  stop_pids "${pids[@]}"
  echo "$rc" >"$results/$name.rc"
  grep '^{' "$dir/sse_load.out" | tail -n 1 >"$results/$name.json" || true
  cp "$dir/sse_load.out" "$results/$name.txt" 2>/dev/null || true
  say "$(printf '%-5s %-10s run %s: exit %s %s' "$server" "$scenario" "$run" "$rc" \
    "$(summary_of "$results/$name.json")")"
}

summary_of() {
  [ -s "$1" ] || { echo "(no report)"; return; }
  printf 'conn %s dlv/s %.0f p50 %.2f p99 %.2f ms lost %s POST/s %.0f' \
    "$(json_field subscribers_connected "$1")" "$(json_field deliveries_per_s "$1")" \
    "$(json_field latency_p50_ms "$1")" "$(json_field latency_p99_ms "$1")" \
    "$(json_field missing "$1")" "$(json_field publish_rate "$1")"
}

results="$work/results"

run_floor() {  # NAME RUN [fanout_floor flags]: one bench/floor run, kept as NAME-floor-N-RUN.*
  local name="$1" run="$2" rc=0 base
  shift 2
  base="$results/$name-floor-$floor_size-$run"
  "$fanout_floor" --streams "$floor_size" --rate 100 --seconds "$latency_seconds" --senders 2 \
    "$@" >"$base.txt" 2>&1 || rc=$?
  echo "$rc" >"$base.rc"
  grep '^{' "$base.txt" >"$base.json" || true
  say "$name floor-$floor_size run $run: exit $rc $(head -n 1 "$base.txt")"
}
mkdir -p "$results"

# --- all runs -------------------------------------------------------------------------------
scenarios=()
start_s=$SECONDS
[ -n "$report_dir" ] && results="$report_dir"
[ -n "$report_dir" ] || for run in $(seq "$runs"); do
  for server in ours nchan; do
    for n in "${sizes[@]}"; do
      run_one "$server" "lat-$n" "$run" "$n" $((latency_seconds * 100)) \
        "$latency_publishers" 100
      run_one "$server" "thr-$n" "$run" "$n" "${throughput_messages[$n]}" \
        "$throughput_publishers" 0
    done
    run_one "$server" post-64 "$run" 0 "$post_messages" "$post_publishers" 0
  done
  run_one ours "floor-$floor_size" "$run" "$floor_size" $((latency_seconds * 100)) \
    "$latency_publishers" 100
  # The kernel's own floor: the same fan-out by a program that only sends and receives; then the
  # same with each event written and fdatasync'd first, on the filesystem of the relay's DATA_DIR
  # (the floor of any relay that stores a message before showing it).
  run_floor kernel "$run"
  run_floor durable "$run" --sync-file "$work/floor.sync"
done
for n in "${sizes[@]}"; do scenarios+=("lat-$n" "thr-$n"); done

# --- medians and the table ----------------------------------------------------------------------

clean_count() {  # SERVER SCENARIO: "clean/runs", plus a mark per run that went wrong
  local clean=0 total=0 marks="" rc file json
  for file in "$results/$1-$2-"*.rc; do
    [ -f "$file" ] || continue
    rc=$(cat "$file")
    json="${file%.rc}.json"
    total=$((total + 1))
    [ "$rc" = 0 ] && clean=$((clean + 1))
    case "$rc" in 124 | 137) marks="${marks}K" ;; 98) marks="${marks}S" ;; esac
    [ "$(json_field time_limit_hit "$json")" = true ] && marks="${marks}t"
    [ "$(json_field publish_errors "$json")" != 0 ] && [ -s "$json" ] && marks="${marks}e"
  done
  echo "$clean/$total$marks"
}

floor_row() {  # NAME TEXT: one line of a bench/floor run's medians
  printf '%s\n' "$(median_of "$1" "floor-$floor_size" latency_p50_ms)" \
    "$(median_of "$1" "floor-$floor_size" latency_p99_ms)" \
    "$(median_of "$1" "floor-$floor_size" cpu_us_per_delivery)" \
    "$(clean_count "$1" "floor-$floor_size")" | awk -v text="$2" '
    function num(v) { return v ~ /^-?[0-9.eE+-]+$/ }
    function f(v, fmt) { return num(v) ? sprintf(fmt, v) : v }
    { c[NR] = $0 }
    END {
      printf "%s: p50 %s p99 %s ms, %s us CPU per delivery  clean %s\n",
        text, f(c[1], "%.2f"), f(c[2], "%.2f"), f(c[3], "%.2f"), c[4]
    }'
}

table="$work/table.txt"
{
  echo "bench/compare: relay (POST /messages -> notify-service) vs nginx + nchan, median of $runs"
  echo "run(s); 127.0.0.1; $(nproc) cores; ratio x = ours / nchan; lat = 100 msg/s for" \
    "${latency_seconds} s ($latency_publishers publishers), thr = fixed count as fast as" \
    "$throughput_publishers publishers go"
  printf '%-10s|%25s |%22s |%22s |%22s |%24s |%14s |%12s |%19s\n' "" "deliveries/s" \
    "latency p50 ms" "latency p99 ms" "latency max ms" "lost/dup/reordered" "CPU us/dlv" \
    "connected" "clean"
  printf '%-10s|%9s%9s%7s |%8s%8s%6s |%8s%8s%6s |%8s%8s%6s |%12s%12s |%7s%7s |%6s%6s |%9s%10s\n' \
    scenario ours nchan x ours nchan x ours nchan x ours nchan x ours nchan ours nchan ours \
    nchan ours nchan
  for scenario in "${scenarios[@]}"; do
    row=("$scenario")
    for key in deliveries_per_s latency_p50_ms latency_p99_ms latency_max_ms; do
      row+=("$(median_of ours "$scenario" "$key")" "$(median_of nchan "$scenario" "$key")")
    done
    for server in ours nchan; do
      row+=("$(median_of "$server" "$scenario" missing)/$(median_of "$server" "$scenario" \
        duplicated)/$(median_of "$server" "$scenario" out_of_order)")
    done
    for server in ours nchan; do row+=("$(median_of "$server" "$scenario" server_cpu_us_per_delivery)"); done
    for server in ours nchan; do row+=("$(median_of "$server" "$scenario" subscribers_connected)"); done
    for server in ours nchan; do row+=("$(clean_count "$server" "$scenario")"); done
    printf '%s\n' "${row[@]}" | awk '
      function num(v) { return v ~ /^-?[0-9.eE+-]+$/ }
      function ratio(a, b) { return (num(a) && num(b) && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
      function f(v, fmt) { return num(v) ? sprintf(fmt, v) : v }
      { c[NR] = $0 }
      END {
        printf "%-10s|%9s%9s%7s |%8s%8s%6s |%8s%8s%6s |%8s%8s%6s |%12s%12s |%7s%7s |%6s%6s |%9s%10s\n",
          c[1], f(c[2], "%.0f"), f(c[3], "%.0f"), ratio(c[2], c[3]),
          f(c[4], "%.2f"), f(c[5], "%.2f"), ratio(c[4], c[5]),
          f(c[6], "%.2f"), f(c[7], "%.2f"), ratio(c[6], c[7]),
          f(c[8], "%.1f"), f(c[9], "%.1f"), ratio(c[8], c[9]),
          c[10], c[11], f(c[12], "%.2f"), f(c[13], "%.2f"), f(c[14], "%.0f"), f(c[15], "%.0f"),
          c[16], c[17]
      }'
  done
  big="lat-${sizes[-1]}"
  printf '%s\n' "$(median_of ours "$big" server_rss_kb_per_subscriber)" \
    "$(median_of nchan "$big" server_rss_kb_per_subscriber)" | awk -v n="${sizes[-1]}" '
    function num(v) { return v ~ /^-?[0-9.eE+-]+$/ }
    { c[NR] = $0 }
    END {
      printf "idle RSS per subscriber at %s streams (KB, server processes summed): ours %s  nchan %s  x %s\n",
        n, num(c[1]) ? sprintf("%.2f", c[1]) : c[1], num(c[2]) ? sprintf("%.2f", c[2]) : c[2],
        (num(c[1]) && num(c[2]) && c[2] > 0) ? sprintf("%.2f", c[1] / c[2]) : "-"
    }'
  printf '%s\n' "$(median_of ours post-64 publish_rate)" "$(median_of nchan post-64 publish_rate)" \
    "$(median_of ours post-64 post_latency_p50_ms)" "$(median_of nchan post-64 post_latency_p50_ms)" \
    "$(median_of ours post-64 post_latency_p99_ms)" "$(median_of nchan post-64 post_latency_p99_ms)" \
    "$(clean_count ours post-64)" "$(clean_count nchan post-64)" |
    awk -v p="$post_publishers" -v m="$post_messages" '
    function num(v) { return v ~ /^-?[0-9.eE+-]+$/ }
    function f(v, fmt) { return num(v) ? sprintf(fmt, v) : v }
    { c[NR] = $0 }
    END {
      printf "POST/s, %s publishers, %s messages, no subscribers (ours durable POST /messages, nchan publish): ours %s  nchan %s  x %s\n",
        p, m, f(c[1], "%.0f"), f(c[2], "%.0f"),
        (num(c[1]) && num(c[2]) && c[2] > 0) ? sprintf("%.2f", c[1] / c[2]) : "-"
      printf "  POST latency p50 / p99 ms: ours %s / %s  nchan %s / %s   clean: ours %s  nchan %s\n",
        f(c[3], "%.2f"), f(c[5], "%.2f"), f(c[4], "%.2f"), f(c[6], "%.2f"), c[7], c[8]
    }'
  printf '%s\n' "$(median_of ours "floor-$floor_size" latency_p50_ms)" \
    "$(median_of ours "floor-$floor_size" latency_p99_ms)" "$(median_of ours "lat-$floor_size" latency_p99_ms)" \
    "$(clean_count ours "floor-$floor_size")" | awk -v n="$floor_size" '
    function num(v) { return v ~ /^-?[0-9.eE+-]+$/ }
    function f(v, fmt) { return num(v) ? sprintf(fmt, v) : v }
    { c[NR] = $0 }
    END {
      printf "fan-out floor, %s subscribers x 100 msg/s straight to POST /notify (no store, no forwarder): p50 %s p99 %s ms (real path lat-%s p99 %s ms)  clean %s\n",
        n, f(c[1], "%.2f"), f(c[2], "%.2f"), n, f(c[3], "%.2f"), c[4]
    }'
  floor_row kernel "kernel floor, $floor_size loopback TCP streams x 100 events/s, no server (bench/floor/fanout_floor, 2 senders, 1 reader)"
  floor_row durable "durable floor, the same with each event appended to a file and fdatasync-ed before it is sent (what a store must do first)"
  echo "clean = runs with every stream connected and every message once, in order; marks per bad" \
    "run: t = sse_load's time limit hit, e = some POSTs failed, K = killed, S = server did not start."
  echo "lost/dup/reordered = totals over all streams, median of runs; lost counts every message" \
    "a stream did not get, including messages never published (POST failed or time limit hit)."
  [ -n "$report_dir" ] || echo "took $((SECONDS - start_s)) s"
} >"$table"

cat "$table"
if [ -n "$out" ]; then
  mkdir -p "$out"
  cp "$table" "$out/table.txt"
  [ -n "$report_dir" ] || cp "$results"/* "$out/"
  bash "$root/bench/compare/chart.sh" "$results" "$floor_size" "${sizes[@]}" >"$out/compare.svg"
  say "table, per-run reports and compare.svg in $out"
fi
