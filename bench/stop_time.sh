#!/usr/bin/env bash
# Measures how long each service takes to exit after SIGTERM with clients connected:
# notify-service with N open SSE streams (default 200) plus an idle keep-alive connection,
# message-service with an idle keep-alive connection. Loopback only; stops everything it started,
# by PID. Usage: bash bench/stop_time.sh [streams]   (after a build: scripts/run.sh or test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
streams="${1:-200}"
bin=build
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port_of() {  # the port from a service's first log line
  for _ in $(seq 200); do
    local port
    port=$(head -n 1 "$1" 2>/dev/null | sed -nE 's/.*msg=listening port=([0-9]+).*/\1/p')
    [ -n "$port" ] && { echo "$port"; return; }
    sleep 0.02
  done
  echo "service did not start: $(cat "$1")" >&2
  exit 1
}
running() {  # a zombie has exited: it only waits to be reaped
  [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
stop_and_time() {  # pid, label
  local start end
  start=$(date +%s%N)
  kill -TERM "$1"
  for _ in $(seq 1000); do running "$1" || break; sleep 0.005; done
  end=$(date +%s%N)
  printf '%-60s %6d ms\n' "$2" $(((end - start) / 1000000))
}

PORT=0 BIND_ADDRESS=127.0.0.1 "$bin/notify-service/notify-service" >"$work/notify.log" 2>&1 &
notify_pid=$!
pids+=("$notify_pid")
notify_port=$(port_of "$work/notify.log")
PORT=0 BIND_ADDRESS=127.0.0.1 DATA_DIR="$work/data" \
  NOTIFICATION_SERVICE_URL="http://127.0.0.1:$notify_port" \
  "$bin/message-service/message-service" >"$work/message.log" 2>&1 &
message_pid=$!
pids+=("$message_pid")
message_port=$(port_of "$work/message.log")

for _ in $(seq "$streams"); do
  curl -sN --max-time 30 "http://127.0.0.1:$notify_port/events" >/dev/null 2>&1 &
  pids+=("$!")
done
for _ in $(seq 500); do
  open=$(curl -s "http://127.0.0.1:$notify_port/health" | sed -nE 's/.*"subscribers":([0-9]+).*/\1/p')
  [ "${open:-0}" -ge "$streams" ] && break
  sleep 0.02
done
# One idle keep-alive connection to each service, after one request.
exec 3<>"/dev/tcp/127.0.0.1/$notify_port"
printf 'GET /health HTTP/1.1\r\nHost: bench\r\n\r\n' >&3
exec 4<>"/dev/tcp/127.0.0.1/$message_port"
printf 'GET /health HTTP/1.1\r\nHost: bench\r\n\r\n' >&4
sleep 0.2

stop_and_time "$notify_pid" "notify-service: SIGTERM with $open streams + 1 idle keep-alive"
stop_and_time "$message_pid" "message-service: SIGTERM with 1 idle keep-alive"
exec 3>&- 4>&-
