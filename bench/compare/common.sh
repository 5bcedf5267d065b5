# Helpers shared by bench/compare/run.sh and ab.sh (sourced, not run).

port_of_log() {  # LOG: the port from a relay service's first log line (waits up to 5 s)
  local port
  for _ in $(seq 250); do
    port=$(head -n 1 "$1" 2>/dev/null | sed -nE 's/.*msg=listening port=([0-9]+).*/\1/p')
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.02
  done
  return 1
}

json_field() {  # KEY FILE: a number (or null) from sse_load's one-line JSON
  awk -v key="$1" '{
    if (match($0, "\"" key "\":[^,}]*")) print substr($0, RSTART + length(key) + 3,
                                                     RLENGTH - length(key) - 3)
  }' "$2" 2>/dev/null
}
