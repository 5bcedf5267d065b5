#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs to build and run, if any are missing. With
# --tests also what the tests need beyond the build: clang-14 with its runtime libraries for the
# libFuzzer targets (libclang-rt-14-dev holds libFuzzer and the sanitizer runtimes, llvm-14 the
# symbolizer for readable crash stacks), and for the browser tests and the API lint Debian's
# chromium, Node.js (Debian's, unless some node is on PATH already) and the npm packages of
# tests/browser (playwright-core) and tests/api (Redocly CLI), each from its package-lock.json,
# and, as with --cluster (what scripts/cluster.sh needs), redis-server, nginx-light and
# postgresql-15.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
with_cluster=0
[ "${1:-}" = "--tests" ] && with_tests=1 && with_cluster=1
[ "${1:-}" = "--cluster" ] && with_cluster=1

# libyaml-dev: the route test of docs/openapi.yaml (tests/api) reads it (tests build by default).
# libpq-dev: message-service's PostgreSQL store (STORE=postgres) and the tests' PostgresServer.
packages=(g++ cmake make pkg-config libcpp-httplib-dev nlohmann-json3-dev libfmt-dev doctest-dev
          libyaml-dev libsqlite3-dev libjwt-dev libargon2-dev libhiredis-dev libpq-dev curl
          ca-certificates)
if [ "$with_cluster" -eq 1 ]; then
  # scripts/cluster.sh and the cluster tests run Redis 7, PostgreSQL 15 and nginx in front (their
  # own processes, on ports of their own; the packages' system services are not used).
  packages+=(redis-server nginx-light postgresql-15)
fi
if [ "$with_tests" -eq 1 ]; then
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
  # The browser tests drive Debian's /usr/bin/chromium (no browser download).
  packages+=(chromium)
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

# Debian's nodejs comes without npm (a nodejs from elsewhere may bring its own).
if [ "$with_tests" -eq 1 ] && ! command -v npm >/dev/null 2>&1; then
  echo "installing: npm"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
fi

if [ "$with_tests" -eq 1 ] && [ ! -d tests/browser/node_modules ]; then
  echo "installing: npm packages of tests/browser (npm ci)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

if [ "$with_tests" -eq 1 ] && [ ! -d tests/api/node_modules ]; then
  echo "installing: npm packages of tests/api (npm ci)"
  (cd tests/api && npm ci --no-audit --no-fund)
fi
