#!/usr/bin/env bash
# The two stores side by side: durable inserts/s through MessageStore::insert_async on SQLite and
# on a real PostgreSQL 15 (started here by scripts/postgres.sh on a free port, in a temp folder,
# stopped by PID at the end), same submitters, same disk.
#   bash bench/store/postgres.sh [BUILD_DIR] [store_bench options...]
# Default options: --messages 100000 --submitters 64. Prints store_bench's line for each engine.
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
shift || true
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--messages 100000 --submitters 64)
bench="$build/bench/store/store_bench"
[ -x "$bench" ] || { echo "postgres.sh: build $bench first (cmake --build $build --target store_bench)" >&2; exit 1; }
pg_bin="${POSTGRES_BIN_DIR:-/usr/lib/postgresql/15/bin}"

dir="$(mktemp -d /tmp/relay-store-bench-XXXXXX)"
chmod o+x "$dir"
port=""
for _ in $(seq 50); do  # a port nothing listens on, below the ephemeral range (no python3 needed)
  candidate=$((20000 + RANDOM % 10000))
  (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null || { port=$candidate; break; }
done
[ -n "$port" ] || { echo "postgres.sh: no free port found" >&2; exit 1; }
pid=""
cleanup() {
  [ -z "$pid" ] || { kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$dir"
}
trap cleanup EXIT
bash scripts/postgres.sh "$dir/postgres" "$port" "$dir" >"$dir/postgres.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/postgres.log" >&2; exit 1; }
  sleep 0.1
done
"$pg_bin/psql" -X -q -h 127.0.0.1 -p "$port" -U relay -d postgres -c "CREATE DATABASE relay_bench"

mkdir -p "$dir/sqlite"
"$bench" "${args[@]}" --dir "$dir/sqlite"
"$bench" "${args[@]}" --dir "$dir" --database-url "postgresql://relay@127.0.0.1:$port/relay_bench"
