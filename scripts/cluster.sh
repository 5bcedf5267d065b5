#!/usr/bin/env bash
# Starts the relay as several instances on this machine, behind nginx: Redis 7 as the bus
# (BROKER=redis), PostgreSQL 15 as the store (STORE=postgres), MESSAGE_INSTANCES message-services
# (default 2) on it, NOTIFY_INSTANCES notify-services (default 3), and nginx in front with the
# message API and chat page on :8080 and the streams on :8081 (configuration from
# scripts/nginx-conf.sh). Prints what it started; Ctrl-C stops everything.
#
# PostgreSQL keeps its data in CLUSTER_DIR/postgres (initdb on the first run: trust authentication
# on 127.0.0.1, superuser and database `relay`) and listens on 127.0.0.1 only. It refuses to run as
# root: when this script runs as root, initdb and postgres run as `nobody` (setpriv), who must be
# able to reach CLUSTER_DIR. The notify-services read history through nginx, from whichever
# message-service answers (they share the store); with STORE=sqlite from the one message-service.
#
# STORE=sqlite instead keeps the single-node store: no PostgreSQL, one message-service on SQLite
# (MESSAGE_INSTANCES is then 1; several cannot share one SQLite file).
#
# Settings (environment): API_PORT (8080), STREAM_PORT (8081), MESSAGE_INSTANCES (2, at most 10),
# NOTIFY_INSTANCES (3), STORE (postgres), INTERNAL_PORT_BASE (18000: Redis on +379, PostgreSQL on
# +432, message-services on +80..+89, notify-services on +91...), CLUSTER_DIR (./cluster-data: each
# part's data and logs), POSTGRES_BIN_DIR (/usr/lib/postgresql/15/bin), SKIP_BUILD=1 (use ./build
# as it is), BUILD_DIR (./build). Any service setting of README's table (AUTH_MODE=accounts, ...)
# passes through to every instance.
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
store="${STORE:-postgres}"
case "$store" in
  postgres) message_instances="${MESSAGE_INSTANCES:-2}" ;;
  sqlite)
    if [ "${MESSAGE_INSTANCES:-1}" != "1" ]; then
      echo "cluster: STORE=sqlite runs one message-service (MESSAGE_INSTANCES ignored)" >&2
    fi
    message_instances=1
    ;;
  *)
    echo "cluster: STORE must be postgres or sqlite, not '$store'" >&2
    exit 1
    ;;
esac
if ! [ "$message_instances" -ge 1 ] 2>/dev/null || [ "$message_instances" -gt 10 ]; then
  echo "cluster: MESSAGE_INSTANCES must be 1 to 10 (ports +80..+89), not '$message_instances'" >&2
  exit 1
fi
base="${INTERNAL_PORT_BASE:-18000}"
redis_port=$((base + 379))
postgres_port=$((base + 432))
first_message_port=$((base + 80))
pg_bin="${POSTGRES_BIN_DIR:-/usr/lib/postgresql/15/bin}"
dir="$(mkdir -p "${CLUSTER_DIR:-$root/cluster-data}" && cd "${CLUSTER_DIR:-$root/cluster-data}" && pwd)"
mkdir -p "$dir/redis" "$dir/nginx" "$dir/logs"

pids=()
postgres_pid=""
stopped=0
stop_all() {
  [ "$stopped" -eq 1 ] && return
  stopped=1
  # The services first, then PostgreSQL once none of them uses it, with SIGINT: its fast shutdown
  # (SIGTERM, its smart shutdown, would wait for every client to leave).
  for pid in "${pids[@]}"; do
    [ "$pid" = "$postgres_pid" ] || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    [ "$pid" = "$postgres_pid" ] || wait "$pid" 2>/dev/null || true
  done
  [ -z "$postgres_pid" ] || kill -INT "$postgres_pid" 2>/dev/null || true
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

if [ "$store" = "postgres" ]; then
  # scripts/postgres.sh execs postgres, so $! is the postmaster itself.
  bash scripts/postgres.sh "$dir/postgres" "$postgres_port" "$dir/logs" \
    >"$dir/logs/postgres.log" 2>&1 &
  postgres_pid=$!
  pids+=($!)
  wait_for "postgres" "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$postgres_port"
  psql=("$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$postgres_port" -U relay
    -d postgres)
  if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'relay'")" ]; then
    "${psql[@]}" -c "CREATE DATABASE relay"
  fi
  export DATABASE_URL="postgresql://relay@127.0.0.1:$postgres_port/relay"
fi
export STORE="$store"

# Message-service N's DATA_DIR (the SQLite store's files live there).
data_dir() {
  if [ "$store" = "sqlite" ]; then echo "$dir/message"; else echo "$dir/message-$1"; fi
}
# In accounts mode every instance signs and checks tokens with one key: the first message-service
# creates it (unless AUTH_SECRET or AUTH_KEY_FILE names one), the rest and the notify-services
# read it.
if [ "${AUTH_MODE:-open}" = "accounts" ] && [ -z "${AUTH_SECRET:-}" ] &&
  [ -z "${AUTH_KEY_FILE:-}" ]; then
  AUTH_KEY_FILE="$(data_dir 1)/auth.key"
  export AUTH_KEY_FILE
fi

# The page learns the streams' port from NOTIFICATION_SERVICE_URL: nginx's stream port.
message_list=""
for i in $(seq "$message_instances"); do
  port=$((base + 79 + i))
  mkdir -p "$(data_dir "$i")"
  PORT="$port" DATA_DIR="$(data_dir "$i")" \
    NOTIFICATION_SERVICE_URL="http://127.0.0.1:$stream_port" \
    "$build/message-service/message-service" >"$dir/logs/message-service-$i.log" 2>&1 &
  pids+=($!)
  wait_for "message-service $i" healthy "$port"
  message_list+="127.0.0.1:$port "
done

# History for resumes: through nginx from any message-service when they share PostgreSQL (nginx
# skips one that is down), else from the one there is.
if [ "$store" = "postgres" ]; then
  history_url="http://127.0.0.1:$api_port"
else
  history_url="http://127.0.0.1:$first_message_port"
fi
notify_list=""
for i in $(seq "$instances"); do
  port=$((base + 90 + i))
  PORT="$port" MESSAGE_SERVICE_URL="$history_url" \
    "$build/notify-service/notify-service" >"$dir/logs/notify-service-$i.log" 2>&1 &
  pids+=($!)
  wait_for "notify-service $i" healthy "$port"
  notify_list+="127.0.0.1:$port "
done

bash scripts/nginx-conf.sh "$dir/nginx" "$api_port" "$stream_port" "$message_list" \
  "$notify_list" >"$dir/nginx/nginx.conf"
nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" -g "daemon off;" >"$dir/logs/nginx.log" 2>&1 &
pids+=($!)
wait_for "nginx" healthy "$api_port"

if [ "$store" = "postgres" ]; then
  store_info="STORE=postgres, DATA_DIR $dir/message-N"
  postgres_info="  postgres         127.0.0.1:$postgres_port (data in $dir/postgres; psql -h 127.0.0.1 -p $postgres_port -U relay relay)
"
else
  store_info="STORE=sqlite in $dir/message"
  postgres_info=""
fi
cat <<INFO
cluster: started (logs in $dir/logs)
  redis-server     127.0.0.1:$redis_port (append-only file in $dir/redis)
${postgres_info}  message-service  $message_list($store_info)
  notify-service   $notify_list(BROKER=redis, history from ${history_url#http://})
  nginx            http://localhost:$api_port/ (API and chat page), http://localhost:$stream_port/events (streams)
Try: curl -N localhost:$stream_port/events   and   curl -X POST localhost:$api_port/messages -H 'Content-Type: application/json' -d '{"user":"me","content":"hi"}'
Ctrl-C stops everything.
INFO
# Returns when any part exits (or on Ctrl-C); the trap stops the rest.
wait -n "${pids[@]}" || true
echo "cluster: a part exited; stopping the rest" >&2
exit 1
