#!/usr/bin/env bash
# Sets up what is missing and runs every test: formatting and lints, unit and integration
# tests on SQLite and PostgreSQL, the release build (server + WebAssembly browser half, with
# its size budget), and the Playwright suite in Debian's Chromium against a server it starts
# on a throw-away database.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
T0=$(date +%s)
section() { printf '\n== %s  [%ss]\n' "$*" "$(( $(date +%s) - T0 ))"; }

section "setup"
./scripts/setup.sh
# shellcheck disable=SC1091
source target/setup.env

section "format and lints"
cargo fmt --check
cargo clippy --features ssr --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings

# PostgreSQL for the integration tests: TEST_DATABASE_URL, else the local server on
# 127.0.0.1:5432, else a private throw-away cluster from the installed binaries.
PG_TMP=""
cleanup() {
  if [ -n "$PG_TMP" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}
trap cleanup EXIT
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  else
    section "starting a private PostgreSQL cluster"
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    PG_TMP=$(mktemp -d /tmp/seatgate-pg-XXXXXX)
    chown postgres "$PG_TMP" 2>/dev/null || true
    as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -o "-p 55432 -k $PG_TMP -c listen_addresses=127.0.0.1" -l "$PG_TMP/pg.log" -w start >/dev/null
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:55432/postgres"
  fi
fi
echo "PostgreSQL for tests: $TEST_DATABASE_URL"

section "unit and integration tests (SQLite and PostgreSQL)"
cargo test --features ssr

section "release build: server and WebAssembly browser half"
cargo leptos build --release
# the SAML IdP the browser tests sign in at, and the reference desktop client they activate
cargo build --release --features ssr --example test_idp --bin seatgate-desktop
./scripts/bench-footprint.sh

section "end-to-end tests (Playwright, Debian Chromium)"
(cd end2end && npx playwright test)

section "all tests passed"
