#!/usr/bin/env bash
# bench/cluster: what the Redis bus costs and how far three notify-service instances go.
#
#   bash bench/cluster/run.sh [--runs K] [--quick] [--out DIR]
#
# Scale: Redis, one message-service (BROKER=redis) and three notify-services on this machine; one
# broadcast (messages posted to POST /messages at a fixed rate) to 10,000 / 30,000 / 50,000
# subscribers, split over the three instances and held by three sse_load processes (a process may
# open 20,000 files): one publishes and listens, two only listen (sse_load --listen-only). Every
# message must reach every stream once, in order. Bus cost: 1,000 subscribers on one
# notify-service, the same load, with BROKER=direct and with BROKER=redis. Single pair: the scale
# broadcast to one message-service and one notify-service (BROKER=direct) at the sizes one process
# can hold (10,000), the chart's second line. Each point K times
# (default 3), medians printed; results and an SVG chart in --out DIR (default a temp dir, kept).
# Everything runs on 127.0.0.1, bounded in messages and seconds, and is stopped by PID.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/bench/common.sh"
build="${BUILD_DIR:-$root/build-bench}"
runs=3
quick=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]?$ ]] || { echo "cluster bench: --runs wants 1..99" >&2; exit 2; }

sizes=(10000 30000 50000)
pair_sizes=(10000)  # one notify-service holds at most about 19,000 streams (20,000 files)
scale_messages=50 scale_rate=10    # 5 s of broadcast: 2.5 M deliveries at 50,000
cost_subscribers=1000 cost_messages=1000 cost_rate=100 cost_publishers=4
time_limit=120
if [ "$quick" -eq 1 ]; then
  sizes=(3000 6000)
  pair_sizes=(3000 6000)
  scale_messages=10
  cost_messages=200
  time_limit=60
  [ "$runs" -eq 3 ] && runs=1
fi

say() { echo "cluster bench: $*" >&2; }
work="$(mktemp -d)"
out="${out:-$work/out}"
mkdir -p "$out"
started=()
stop_started() {
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  started=()
}
trap 'stop_started; rm -rf "$work/run"' EXIT

bash "$root/scripts/install-deps.sh" --cluster
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target message-service notify-service sse_load >/dev/null
sse_load="$build/bench/load/sse_load"
notify_bin="$build/notify-service/notify-service"
message_bin="$build/message-service/message-service"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true


# Starts Redis (when $1 = redis), message-service and $2 notify-services in $3; sets message_port,
# notify_ports and notify_pids.
start_relay() {
  local broker="$1" instances="$2" dir="$3"
  mkdir -p "$dir/data" "$dir/redis"
  local env=(BIND_ADDRESS=127.0.0.1 MAX_SUBSCRIBERS=20000 BROKER="$broker")
  local notify_url
  notify_ports=() notify_pids=()
  if [ "$broker" = redis ]; then
    local redis_port=$((20000 + RANDOM % 10000))  # below the ephemeral range sse_load uses
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --save "" \
      --appendonly yes --appendfsync everysec --daemonize no >"$dir/redis.log" 2>&1 &
    started+=($!)
    for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    env+=(REDIS_URL="redis://127.0.0.1:$redis_port")
    notify_url="http://127.0.0.1:1"  # not used with Redis
  fi
  if [ "$broker" = direct ]; then
    env PORT=0 "${env[@]}" MESSAGE_SERVICE_URL=http://127.0.0.1:1 "$notify_bin" \
      >"$dir/notify-1.log" 2>&1 &
    started+=($!) && notify_pids+=($!)
    notify_ports+=("$(port_of_log "$dir/notify-1.log")")
    notify_url="http://127.0.0.1:${notify_ports[0]}"
  fi
  env PORT=0 "${env[@]}" DATA_DIR="$dir/data" NOTIFICATION_SERVICE_URL="$notify_url" \
    "$message_bin" >"$dir/message.log" 2>&1 &
  started+=($!)
  message_pid=$!
  message_port="$(port_of_log "$dir/message.log")"
  if [ "$broker" = redis ]; then
    for i in $(seq "$instances"); do
      env PORT=0 "${env[@]}" MESSAGE_SERVICE_URL="http://127.0.0.1:$message_port" "$notify_bin" \
        >"$dir/notify-$i.log" 2>&1 &
      started+=($!) && notify_pids+=($!)
      notify_ports+=("$(port_of_log "$dir/notify-$i.log")")
    done
    sleep 0.5  # each feed has primed its ring from the (empty) stream
  fi
}


# One run: $1 name, $2 broker, $3 instances, $4 subscribers, $5 messages, $6 rate, $7 publishers.
# Writes $out/<name>.tsv: connected deliveries dlv/s p50 p99 missing duplicated out_of_order rss/sub
one_run() {
  local name="$1" broker="$2" instances="$3" subscribers="$4" messages="$5" rate="$6"
  local publishers="$7"
  local dir="$work/run"
  rm -rf "$dir" && mkdir -p "$dir"
  start_relay "$broker" "$instances" "$dir"
  local per=$(((subscribers + instances - 1) / instances))
  local common=(--subscribers "$per" --messages "$messages" --publishers "$publishers"
                --path messages --time-limit "$time_limit" --drain-ms 5000 --max-connecting 200)
  local loads=()
  for i in $(seq 2 "$instances"); do  # the listeners first, each on its own instance
    "$sse_load" "${common[@]}" --listen-only --notify "http://127.0.0.1:${notify_ports[$((i - 1))]}" \
      --message "http://127.0.0.1:$message_port" --server-pid "${notify_pids[$((i - 1))]}" \
      >"$dir/load-$i.out" 2>"$dir/load-$i.err" &
    loads+=($!) && started+=($!)
  done
  for i in $(seq 2 "$instances"); do
    for _ in $(seq 1200); do grep -q "sse_load: listening" "$dir/load-$i.err" && break; sleep 0.1; done
  done
  "$sse_load" "${common[@]}" --rate "$rate" --notify "http://127.0.0.1:${notify_ports[0]}" \
    --message "http://127.0.0.1:$message_port" --server-pid "${notify_pids[0]}" \
    >"$dir/load-1.out" 2>"$dir/load-1.err" || true
  for pid in "${loads[@]}"; do wait "$pid" || true; done
  local connected=0 deliveries=0 rate_sum=0 p50=0 p99=0 missing=0 duplicated=0 disorder=0 rss=0
  for i in $(seq 1 "$instances"); do
    local report="$dir/load-$i.json"
    grep '^{' "$dir/load-$i.out" | tail -n 1 >"$report" || true
    cp "$dir/load-$i.out" "$out/$name.load-$i.txt"
    [ -s "$report" ] || { say "$name: load process $i gave no report"; continue; }
    connected=$((connected + $(json_field subscribers_connected "$report")))
    deliveries=$((deliveries + $(json_field deliveries "$report")))
    missing=$((missing + $(json_field missing "$report")))
    duplicated=$((duplicated + $(json_field duplicated "$report")))
    disorder=$((disorder + $(json_field out_of_order "$report")))
    rate_sum=$(awk -v a="$rate_sum" -v b="$(json_field deliveries_per_s "$report")" 'BEGIN{print a+b}')
    p50=$(awk -v a="$p50" -v b="$(json_field latency_p50_ms "$report")" 'BEGIN{print (b>a)?b:a}')
    p99=$(awk -v a="$p99" -v b="$(json_field latency_p99_ms "$report")" 'BEGIN{print (b>a)?b:a}')
    local r
    r="$(json_field server_rss_kb_per_subscriber "$report")"
    [ "$r" != null ] && [ -n "$r" ] && rss=$(awk -v a="$rss" -v b="$r" 'BEGIN{print (b>a)?b:a}')
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$connected" "$deliveries" "$rate_sum" "$p50" \
    "$p99" "$missing" "$duplicated" "$disorder" "$rss" >"$out/$name.tsv"
  say "$(printf '%-22s conn %6s dlv %8s dlv/s %9.0f p50 %7.2f p99 %7.2f ms lost %s dup %s' \
    "$name" "$connected" "$deliveries" "$rate_sum" "$p50" "$p99" "$missing" "$duplicated")"
  stop_started
}

for run in $(seq "$runs"); do
  for size in "${sizes[@]}"; do
    one_run "scale-$size-run$run" redis 3 "$size" "$scale_messages" "$scale_rate" 1
  done
  for size in "${pair_sizes[@]}"; do  # the same broadcast to one pair, for the chart's other line
    one_run "pair-$size-run$run" direct 1 "$size" "$scale_messages" "$scale_rate" 1
  done
  one_run "cost-direct-run$run" direct 1 "$cost_subscribers" "$cost_messages" "$cost_rate" \
    "$cost_publishers"
  one_run "cost-redis-run$run" redis 1 "$cost_subscribers" "$cost_messages" "$cost_rate" \
    "$cost_publishers"
done

# --- medians, the table and the chart -------------------------------------------------------
median() {  # NAME COLUMN: the median over the runs
  for f in "$out/$1"-run*.tsv; do cut -f "$2" "$f"; done | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print "n/a"; else print v[int((NR+1)/2)]}'
}
sum_over_runs() {  # NAME COLUMN: the total over the runs (lost, duplicated)
  for f in "$out/$1"-run*.tsv; do cut -f "$2" "$f"; done | awk '{s+=$1} END {print s+0}'
}
{
  echo "| point | streams | deliveries/s | p50 ms | p99 ms | lost | duplicated | out of order | KB/stream |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for point in "${sizes[@]/#/scale-}" "${pair_sizes[@]/#/pair-}" cost-direct cost-redis; do
    printf '| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %.2f |\n' "$point" \
      "$(median "$point" 1)" "$(median "$point" 3)" "$(median "$point" 4)" "$(median "$point" 5)" \
      "$(sum_over_runs "$point" 6)" "$(sum_over_runs "$point" 7)" "$(sum_over_runs "$point" 8)" \
      "$(median "$point" 9)"
  done
  echo
  echo "scale: $scale_messages messages at $scale_rate/s, 3 notify-services on one Redis; pair: the"
  echo "same broadcast to one message-service and one notify-service (BROKER=direct); cost:"
  echo "$cost_subscribers streams on one notify-service, $cost_messages messages at $cost_rate/s" \
    "from $cost_publishers publishers; median of $runs; lost/duplicated summed over the runs."
} | tee "$out/table.md"

bash "$root/bench/cluster/chart.sh" "$out" "${sizes[@]}" -- "${pair_sizes[@]}" >"$out/cluster.svg"
say "results, per-process reports and cluster.svg in $out"
