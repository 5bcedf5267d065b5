# shellcheck shell=bash
# Helpers shared by the bench/ scripts (sourced, not run): bench/compare (run.sh, ab.sh, chart.sh)
# and bench/cluster/run.sh.

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

median_of() {  # SERVER SCENARIO KEY: the median over the runs kept in $results that reported it, or "-"
  local file values=()
  for file in "${results:?}/$1-$2-"*.json; do
    [ -s "$file" ] || continue
    values+=("$(json_field "$3" "$file")")
  done
  printf '%s\n' "${values[@]}" | awk '
    $0 ~ /^-?[0-9.eE+-]+$/ { v[n++] = $0 + 0 }
    END {
      if (n == 0) { print "-"; exit }
      for (i = 1; i < n; i++) for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
        t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
      }
      print (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
    }'
}
