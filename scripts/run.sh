#!/usr/bin/env bash
# Sets up what is missing, builds the release and runs seatgate on http://127.0.0.1:3000
# with an embedded SQLite database in ./data/ (created and migrated on start).
# Extra arguments go to `seatgate serve` (see `./target/release/seatgate serve --help`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
# shellcheck disable=SC1091
source target/setup.env
cargo leptos build --release
# the desktop client offered at /directdownload/pd (served from next to the server binary)
cargo build --release --features ssr --bin seatgate-desktop
export LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=seatgate LEPTOS_SITE_PKG_DIR=pkg
exec ./target/release/seatgate serve "$@"
