#!/usr/bin/env bash
# Installs what is missing, builds, and runs both services on their defaults:
# message-service on :8080 (chat page at http://localhost:8080/) and notify-service on :8081.
# Ctrl-C stops both. Any setting in README's table can be passed in the environment; PORT is per
# service, so here it is MESSAGE_PORT and NOTIFY_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target message-service notify-service relay

notify_pid=""
message_pid=""
stop_all() {
  trap - INT TERM EXIT
  [ -n "$message_pid" ] && kill -TERM "$message_pid" 2>/dev/null || true
  [ -n "$notify_pid" ] && kill -TERM "$notify_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# POST /notify is credentialed even here: both services get one random NOTIFY_TOKEN per run
# (message-service sends it as a bearer token) unless one is set already.
if [ -z "${NOTIFY_TOKEN:-}" ]; then
  NOTIFY_TOKEN="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
fi
export NOTIFY_TOKEN

message_port="${MESSAGE_PORT:-8080}"
notify_port="${NOTIFY_PORT:-8081}"
PORT="$message_port" \
  NOTIFICATION_SERVICE_URL="${NOTIFICATION_SERVICE_URL:-http://127.0.0.1:$notify_port}" \
  ./build/message-service/message-service &
message_pid=$!

# AUTH_MODE=accounts: notify-service checks tokens with message-service's key. Without AUTH_SECRET
# (or AUTH_KEY_FILE) that is the key file message-service creates in its DATA_DIR on first start.
if [ "${AUTH_MODE:-open}" = "accounts" ] && [ -z "${AUTH_SECRET:-}" ] && [ -z "${AUTH_KEY_FILE:-}" ]; then
  export AUTH_KEY_FILE="${DATA_DIR:-./data}/auth.key"
  for _ in $(seq 100); do
    [ -s "$AUTH_KEY_FILE" ] || ! kill -0 "$message_pid" 2>/dev/null && break
    sleep 0.1
  done
fi
PORT="$notify_port" \
  MESSAGE_SERVICE_URL="${MESSAGE_SERVICE_URL:-http://127.0.0.1:$message_port}" \
  ./build/notify-service/notify-service &
notify_pid=$!

echo "relay: chat page http://localhost:$message_port/, terminal client build/cli/relay  (Ctrl-C stops both services)"
# Returns when either service exits (or on Ctrl-C); the trap then stops the other.
wait -n "$notify_pid" "$message_pid" || true
