#!/usr/bin/env bash
# Prints the WebAssembly bundle's gzip size and fails when it exceeds the budget.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUDGET=${WASM_GZIP_BUDGET:-307200}   # 300 KB
wasm="$ROOT/target/site/pkg/seatgate.wasm"
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js=$(gzip -9 -c "$ROOT/target/site/pkg/seatgate.js" | wc -c)
css=$(gzip -9 -c "$ROOT/target/site/pkg/seatgate.css" | wc -c)
echo "wasm: $raw bytes, $gz gzip -9 (budget $BUDGET); js: $js gzip; css: $css gzip"
[ "$gz" -le "$BUDGET" ] || { echo "the WebAssembly bundle is over its size budget"; exit 1; }
