#!/usr/bin/env bash
# Runs PostgreSQL 15 in the foreground for the relay, in a data folder of its own:
#   bash scripts/postgres.sh DIR PORT [LOG_DIR]
# initdb on the first run (trust authentication, superuser `relay`, UTF8, locale C), then exec
# postgres on 127.0.0.1:PORT with its socket in DIR, fsync and synchronous commit on, so every
# commit it acknowledges survives a crash. PostgreSQL refuses to run as root: as root, initdb and
# postgres run as `nobody` (setpriv), who must be able to reach DIR (the script says so if not).
# Since postgres is exec'd, the caller's $! is the postmaster: stop it with SIGINT (fast
# shutdown). Create the database `relay` once it answers (scripts/cluster.sh does).
# POSTGRES_BIN_DIR: where initdb and postgres are (/usr/lib/postgresql/15/bin).
set -euo pipefail
dir="$1"
port="$2"
log_dir="${3:-$dir}"
pg_bin="${POSTGRES_BIN_DIR:-/usr/lib/postgresql/15/bin}"
as_postgres=()
mkdir -p "$dir"
if [ "$(id -u)" -eq 0 ]; then
  as_postgres=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  chown nobody:nogroup "$dir"
  if ! "${as_postgres[@]}" test -w "$dir"; then
    echo "postgres.sh: PostgreSQL runs as nobody, who cannot reach $dir: let others search its" \
      "parent folders (chmod o+x) or use a folder under /tmp" >&2
    exit 1
  fi
fi
# Locale C: the sort order of text does not change with the C library's collation data.
if [ ! -f "$dir/PG_VERSION" ]; then
  if ! "${as_postgres[@]}" "$pg_bin/initdb" --pgdata="$dir" --username=relay --auth=trust \
    --encoding=UTF8 --locale=C >"$log_dir/postgres-initdb.log" 2>&1; then
    echo "postgres.sh: initdb failed; see $log_dir/postgres-initdb.log" >&2
    exit 1
  fi
fi
exec "${as_postgres[@]}" "$pg_bin/postgres" -D "$dir" -p "$port" -k "$dir" \
  -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on
