#!/usr/bin/env bash
# Starts the relay as several instances on this machine, behind nginx: Redis 7 as the bus
# (BROKER=redis), message-service on SQLite, NOTIFY_INSTANCES notify-services (default 3), and
# nginx in front with the message API and chat page on :8080 and the streams on :8081
# (configuration from scripts/nginx-conf.sh). Prints what it started; Ctrl-C stops everything.
#
# Settings (environment): API_PORT (8080), STREAM_PORT (8081), NOTIFY_INSTANCES (3),
# INTERNAL_PORT_BASE (18000: Redis on +379, message-service on +80, notify-services on +91...),
# CLUSTER_DIR (./cluster-data: each part's data and logs), SKIP_BUILD=1 (use ./build as it is),
# BUILD_DIR (./build). Any service setting of README's table (AUTH_MODE=accounts, ...) passes
# through to every instance.
#
# One message-service for now: several need a shared store (STORE=postgres), which is not built
# yet. Every other part is the production topology.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="${BUILD_DIR:-$root/build}"
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  bash scripts/install-deps.sh --cluster
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target message-service notify-service relay
fi

api_port="${API_PORT:-8080}"
stream_port="${STREAM_PORT:-8081}"
instances="${NOTIFY_INSTANCES:-3}"
base="${INTERNAL_PORT_BASE:-18000}"
redis_port=$((base + 379))
message_port=$((base + 80))
dir="$(mkdir -p "${CLUSTER_DIR:-$root/cluster-data}" && cd "${CLUSTER_DIR:-$root/cluster-data}" && pwd)"
mkdir -p "$dir/redis" "$dir/message" "$dir/nginx" "$dir/logs"

pids=()
stopped=0
stop_all() {
  [ "$stopped" -eq 1 ] && return
  stopped=1
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "cluster: stopped"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# Waits until `$2` (a command) succeeds, or fails the script after 30 s naming `$1`.
wait_for() {
  local what="$1"
  shift
  for _ in $(seq 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "cluster: $what did not start; see $dir/logs" >&2
  exit 1
}
healthy() { curl -sf -o /dev/null "http://127.0.0.1:$1/health"; }

# Redis: the append-only file, fsynced every second, keeps what it acknowledged across restarts.
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --save "" \
  --appendonly yes --appendfsync everysec --daemonize no >"$dir/logs/redis.log" 2>&1 &
pids+=($!)
wait_for "redis-server" redis-cli -p "$redis_port" ping
# nginx (on 127.0.0.1) names each client in X-Forwarded-For: the per-address limits count clients.
export BROKER=redis REDIS_URL="redis://127.0.0.1:$redis_port" TRUSTED_PROXIES=127.0.0.1

# The page learns the streams' port from NOTIFICATION_SERVICE_URL: nginx's stream port.
PORT="$message_port" DATA_DIR="$dir/message" \
  NOTIFICATION_SERVICE_URL="http://127.0.0.1:$stream_port" \
  "$build/message-service/message-service" >"$dir/logs/message-service.log" 2>&1 &
pids+=($!)
wait_for "message-service" healthy "$message_port"
if [ "${AUTH_MODE:-open}" = "accounts" ] && [ -z "${AUTH_SECRET:-}" ]; then
  export AUTH_KEY_FILE="$dir/message/auth.key"
fi

notify_list=""
for i in $(seq "$instances"); do
  port=$((base + 90 + i))
  PORT="$port" MESSAGE_SERVICE_URL="http://127.0.0.1:$message_port" \
    "$build/notify-service/notify-service" >"$dir/logs/notify-service-$i.log" 2>&1 &
  pids+=($!)
  wait_for "notify-service $i" healthy "$port"
  notify_list+="127.0.0.1:$port "
done

bash scripts/nginx-conf.sh "$dir/nginx" "$api_port" "$stream_port" "127.0.0.1:$message_port" \
  "$notify_list" >"$dir/nginx/nginx.conf"
nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" -g "daemon off;" >"$dir/logs/nginx.log" 2>&1 &
pids+=($!)
wait_for "nginx" healthy "$api_port"

cat <<INFO
cluster: started (logs in $dir/logs)
  redis-server     127.0.0.1:$redis_port (append-only file in $dir/redis)
  message-service  127.0.0.1:$message_port (SQLite in $dir/message)
  notify-service   $notify_list(BROKER=redis)
  nginx            http://localhost:$api_port/ (API and chat page), http://localhost:$stream_port/events (streams)
Try: curl -N localhost:$stream_port/events   and   curl -X POST localhost:$api_port/messages -H 'Content-Type: application/json' -d '{"user":"me","content":"hi"}'
Ctrl-C stops everything.
INFO
# Returns when any part exits (or on Ctrl-C); the trap stops the rest.
wait -n "${pids[@]}" || true
echo "cluster: a part exited; stopping the rest" >&2
exit 1
